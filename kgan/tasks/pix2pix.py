"""`pix2pix`: paired image-to-image translation (Isola et al. 2017).

Pairs are built from CelebA faces by the pipeline (`kgan.data.translation`):
`data.translation=colorization` turns a face's grayscale into the face,
`sketch` an edge drawing computed from it. A U-Net generator (dropout as
its noise) is judged by a PatchGAN discriminator that sees the input beside
the output; the generator minimizes the conditional GAN term plus `l1_weight`
(lambda, 100) times the L1 distance to the target. `adversarial_weight=0`
is the paper's L1-only baseline (Table 1): the discriminator is then
neither run nor updated, so the baseline gets the whole compute budget.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import images
from kgan.config import Config
from kgan.data import to_unit_range
from kgan.data import translation as translation_data
from kgan.tasks.base import Direction, Phase, TaskData, TranslationServing
from kgan.tasks.translation import (TranslationExamples, TranslationTask, generator_for,
                                    mirrored, patch_discriminator_for)
from kgan.tasks.translation_losses import pix2pix_l1_loss

# The discriminator's objective is halved "which slows down the rate at which
# D learns relative to G" (Isola et al. 2017, Sec. 3.3).
D_LOSS_WEIGHT = 0.5
_TARGETS = {"colorization": ("grayscale faces", "colour faces"),
            "sketch": ("face sketches", "faces")}


@keras.saving.register_keras_serializable(package="kgan")
class Pix2Pix(TranslationTask):
    """Input image x (one channel) -> face y, judged as the pair (x, y)."""

    NAME = "pix2pix"
    PLAYERS = {"d": ("discriminator",), "g": ("generator",)}
    METRICS = ("d_loss", "g_loss", "g_adversarial", "g_l1")
    EVALUATION_METRICS = ("psnr", "ssim", "fid", "kid", "colourfulness")

    @classmethod
    def describe(cls, config: Config) -> str:
        source, target = _TARGETS[config.data.translation]
        baseline = "" if config.train.adversarial_weight else ", L1 only"
        return (f"pix2pix {source} -> {target} at {config.data.resolution}x"
                f"{config.data.resolution} ({config.model.architecture} generator{baseline})")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        pairs = translation_data.paired_split(config.data, split)
        size = config.data.resolution
        return TaskData(
            {"input": pairs.inputs, "target": pairs.targets}, len(pairs.targets),
            f"{pairs.source}, {config.data.translation} pairs",
            {"input": tf.TensorSpec([None, size, size, 1], tf.float32),
             "target": tf.TensorSpec([None, size, size, 3], tf.float32)},
            lambda rows: {name: to_unit_range(value) for name, value in rows.items()},
            noun="pairs")

    @classmethod
    def examples(cls, config: Config, split: str = "heldout") -> dict:
        pairs = translation_data.paired_split(config.data, split)
        source, target = _TARGETS[config.data.translation]
        # Served inputs are RGB: the one-channel input repeated, which the
        # served function's grayscale maps back to itself.
        return {"serving_default": TranslationExamples(
            np.repeat(pairs.inputs, 3, axis=-1), targets=pairs.targets,
            description=f"{len(pairs.targets)} {split} {source} of {pairs.source}")}

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "Pix2Pix":
        generator = generator_for(config, 1, "generator")
        discriminator = patch_discriminator_for(config, 1 + 3, "discriminator")
        return cls(generator, discriminator, config)

    def __init__(self, generator, discriminator, config: Config, **kwargs):
        self.adversarial_weight = float(config.train.adversarial_weight)
        names = self.METRICS if self.adversarial_weight else ("g_loss",)
        super().__init__({"generator": generator, "discriminator": discriminator}, config,
                         metric_names=names, **kwargs)
        self.translation = config.data.translation
        self.l1_weight = float(config.train.l1_weight)

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        """As `Task.compile`; `l1_weight`, `adversarial_weight` and the halved
        discriminator objective are the defaults of `loss_weights`."""
        weights = {("g", "l1"): self.l1_weight, ("g", "adversarial"): self.adversarial_weight,
                   ("d", "adversarial"): D_LOSS_WEIGHT}
        super().compile(optimizers=optimizers, loss_weights={**weights, **(loss_weights or {})},
                        **kwargs)

    def get_config(self):
        return {**super().get_config(), "translation": self.translation}

    def checkpoint_items(self) -> dict:
        """The base items plus the state of the generator's dropout seeds:
        dropout is pix2pix's noise, and a resumed run must draw the masks an
        uninterrupted one would."""
        # Numbered in layer order: Keras names seed generators uniquely per
        # process, so their names differ between a run and its resumption.
        states = [v for v in self.generator.non_trainable_variables
                  if "seed_generator" in v.path]
        return {**super().checkpoint_items(),
                **{f"generator_noise_{index}": v for index, v in enumerate(states)}}

    def phases(self):
        return [Phase("DG", self._step)]

    def _step(self, batch):
        """One discriminator update on the generator's output, then one
        generator update judged by the updated discriminator, from a single
        generator forward pass (the order of the authors' code)."""
        inputs, targets = mirrored(self.mirror_flags(tf.shape(batch["target"])[0]),
                                   batch["input"], batch["target"])
        batch_size = tf.shape(targets)[0]
        step_losses = []
        with tf.GradientTape() as tape:
            generated = self.generator(inputs, training=True)
            terms = {"l1": pix2pix_l1_loss(targets, generated)}
            if self.adversarial_weight:
                conditioned = tf.cast(inputs, generated.dtype)
                real = tf.concat([conditioned, tf.cast(targets, generated.dtype)], -1)
                fake = tf.concat([conditioned, generated], -1)
                d_loss, terms["adversarial"] = self.update_then_judge(
                    tape, self.discriminator, real, fake, batch_size)
                step_losses.append(d_loss)
            total, differentiated = self.player_loss("g", terms, batch_size)
        self.apply_update("g", tape, differentiated)
        return [*step_losses, total]

    def serving_spec(self) -> TranslationServing:
        source, target = _TARGETS[self.translation]
        return TranslationServing(
            directions=(Direction("serving_default", "generator", source, target),),
            image_shape=(self.image_size, self.image_size, 3),
            to_input=translation_data.to_network_input(self.translation),
            to_output=images.to_uint8)

    def preview_rows(self, examples: dict) -> list:
        chosen = examples["serving_default"]
        return [("input", chosen.inputs),
                ("pix2pix output", self.translate("serving_default", chosen.inputs)),
                ("target", chosen.targets)]

