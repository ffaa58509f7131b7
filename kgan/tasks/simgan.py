"""`simgan`: refine synthetic digits until they look like MNIST (Shrivastava et al. 2017).

A refiner R takes a digit rendered from a font (`kgan.data.synthetic_digits`)
and changes it so that a patch discriminator cannot tell it from real MNIST
digits (`model.patch_layers`: 1 judges the paper's local 16x16-pixel
patches, 2 the whole digit), while a self-regularization L1
term keeps it close to its input, so the rendered digit's label still holds:
the refined digits are labelled training data for a classifier of real
handwriting (`bench/simgan.py` measures that). The discriminator sees half
of its refined images from a history buffer of earlier refinements (Sec.
2.3), so the refiner cannot win by undoing what an older discriminator
rejected.

Served as an image-to-image task: uint8 images in (a rendered digit; RGB is
read as its luma), uint8 refined images out, 28x28.

Shrivastava, Pfister, Tuzel, Susskind, Wang, Webb, "Learning from Simulated
and Unsupervised Images through Adversarial Training", CVPR 2017
(https://arxiv.org/abs/1612.07828).
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import data, images
from kgan.config import Config
from kgan.data import synthetic_digits
from kgan.data import translation as translation_data
from kgan.errors import ConfigError
from kgan.losses import DiscriminatorOutputs
from kgan.models.simgan import SimGANRefiner
from kgan.models.translation import PatchDiscriminator
from kgan.tasks.base import Direction, Phase, TaskData, TranslationServing
from kgan.tasks.translation import (HISTORY, TranslationExamples, TranslationTask,
                                    history_pool)
from kgan.tasks.translation_losses import simgan_self_regularization_loss

ARCHITECTURE = "simgan"
HELD_OUT_EXAMPLES = 1000
# The refiner trains towards MNIST's train digits; it is judged against the test digits.
REAL_SPLIT = "test"
# Stride-2 stages of the discriminator on a 28x28 digit: 1 judges 16x16-pixel
# patches (the preset, the paper's local loss), 2 judges 34x34 (the whole digit).
MAX_PATCH_LAYERS = 2
SOURCE, TARGET = "synthetic digits", "MNIST-like digits"


def _gray_to_rgb(digits) -> np.ndarray:
    return np.repeat(np.asarray(digits), 3, axis=-1)


def _to_rgb_uint8(refined):
    return tf.repeat(images.to_uint8(refined), 3, axis=-1)


@keras.saving.register_keras_serializable(package="kgan")
class SimGAN(TranslationTask):
    """Synthetic digit x -> refined digit R(x), judged by patches against MNIST."""

    NAME = "simgan"
    PLAYERS = {"d": ("discriminator",), "g": ("refiner",)}
    METRICS = ("d_loss", "g_loss", "g_adversarial", "g_self_regularization")
    EVALUATION_METRICS = ("change_levels", "digit_accuracy", "digit_frechet_distance", "fid",
                          "kid")

    @classmethod
    def check_data(cls, config: Config) -> None:
        d, m = config.data, config.model
        if d.dataset != "mnist":
            raise ConfigError(f"task simgan refines rendered digits towards MNIST: "
                              f"data.dataset must be 'mnist', got {d.dataset!r}")
        if m.architecture != ARCHITECTURE:
            raise ConfigError(f"task simgan's refiner is its own: model.architecture must be "
                              f"{ARCHITECTURE!r}, got {m.architecture!r} (use --preset=simgan)")
        if m.patch_layers > MAX_PATCH_LAYERS:
            raise ConfigError(f"model.patch_layers={m.patch_layers} halves a 28x28 digit "
                              f"below 7x7; simgan takes 1 (16x16 patches) or 2 (34x34)")

    @classmethod
    def image_side(cls, config: Config) -> int:
        return synthetic_digits.IMAGE_SIZE

    @classmethod
    def describe(cls, config: Config) -> str:
        baseline = "" if config.train.adversarial_weight else " (self-regularization only)"
        return (f"SimGAN: {config.data.synthetic_examples} digits rendered from "
                f"{len(synthetic_digits.font_files())} fonts refined towards MNIST{baseline}")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        """Every real training digit beside a synthetic one: the synthetic set
        tiled in seeded shuffled copies to the real set's length (no term
        compares a pair's two digits)."""
        real = data.load(config.data, split)
        real_images, _ = data.materialize(real)
        count = config.data.synthetic_examples
        rendered, _ = synthetic_digits.render(count, config.train.seed)
        order = data.tiled_order(count, real.num_examples, config.train.seed)
        spec = tf.TensorSpec([None, *synthetic_digits.IMAGE_SHAPE], tf.float32)
        return TaskData({"synthetic": rendered[order], "real": np.asarray(real_images)},
                        real.num_examples,
                        f"{count} rendered digits, {real.num_examples} from {real.source}",
                        {"synthetic": spec, "real": spec},
                        lambda rows: {name: data.to_unit_range(v) for name, v in rows.items()},
                        noun="digit pairs")

    @classmethod
    def examples(cls, config: Config, split: str = "heldout") -> dict:
        """Held-out synthetic digits (the rendered indices after the training
        ones) with their classes, and MNIST's test digits as the real reference."""
        digits, labels = synthetic_digits.render(HELD_OUT_EXAMPLES, config.train.seed,
                                                 start=config.data.synthetic_examples)
        real, _ = data.split_arrays(config.data, REAL_SPLIT)
        return {"serving_default": TranslationExamples(
            _gray_to_rgb(digits), labels=labels, real=_gray_to_rgb(real),
            description=f"{HELD_OUT_EXAMPLES} held-out {SOURCE}")}

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "SimGAN":
        m = config.model
        shape = (None, *synthetic_digits.IMAGE_SHAPE)
        refiner = SimGANRefiner(1, base_filters=m.base_filters, blocks=m.generator_blocks,
                                name="refiner")
        refiner.build(shape)
        discriminator = PatchDiscriminator(1, base_filters=m.base_filters,
                                           patch_layers=m.patch_layers, name="discriminator")
        discriminator.build(shape)
        return cls(refiner, discriminator, config)

    def __init__(self, refiner, discriminator, config: Config, **kwargs):
        t = config.train
        self.adversarial_weight = float(t.adversarial_weight)
        names = self.METRICS if self.adversarial_weight else ("g_loss",)
        super().__init__({"refiner": refiner, "discriminator": discriminator}, config,
                         metric_names=names, **kwargs)
        self.self_regularization_weight = float(t.l1_weight)
        # The first replica's exchange is kept: every replica's buffered
        # images are equally old refinements.
        self.history_buffer = keras.Variable(
            np.zeros([t.history_size, *synthetic_digits.IMAGE_SHAPE], np.float32),
            trainable=False, aggregation="only_first_replica", name="history")
        self.history_filled = keras.Variable(0, dtype="int32", trainable=False,
                                             aggregation="only_first_replica",
                                             name="history_filled")

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        """As `Task.compile`; lambda (`train.l1_weight`) and the adversarial
        weight are the defaults of `loss_weights`."""
        weights = {("g", "self_regularization"): self.self_regularization_weight,
                   ("g", "adversarial"): self.adversarial_weight}
        super().compile(optimizers=optimizers, loss_weights={**weights, **(loss_weights or {})},
                        **kwargs)

    def checkpoint_items(self) -> dict:
        return {**super().checkpoint_items(), "history": self.history_buffer,
                "history_filled": self.history_filled}

    def phases(self):
        return [Phase("GD", self._step)]

    def _step(self, batch):
        """One refiner update, then one discriminator update on this step's
        refinements through the history buffer."""
        synthetic, real = batch["synthetic"], batch["real"]
        batch_size = tf.shape(synthetic)[0]
        with tf.GradientTape() as tape:
            refined = self.refiner(synthetic, training=True)
            terms = {"self_regularization": simgan_self_regularization_loss(synthetic, refined)}
            if self.adversarial_weight:
                real_logits = (self.discriminator(real, training=True)
                               if self.loss_family.generator_needs_real else None)
                terms["adversarial"] = self.loss_family.generator_loss(DiscriminatorOutputs(
                    real_logits=real_logits,
                    fake_logits=self.discriminator(refined, training=True)))
            total, differentiated = self.player_loss("g", terms, batch_size)
        self.apply_update("g", tape, differentiated)
        if not self.adversarial_weight:
            return [total]
        return [self._discriminator_update(real, refined, batch_size), total]

    def _discriminator_update(self, real, refined, batch_size):
        key = self.step_counter
        size = self.history_buffer.shape[0]
        draws = self.noise(batch_size, (), key, stream=HISTORY, distribution="uniform")
        slot_draws = self.noise(batch_size, (), key, stream=HISTORY + 1, distribution="uniform")
        slots = tf.minimum(tf.cast(slot_draws * size, tf.int32), max(size - 1, 0))
        judged, history, filled = history_pool(
            tf.convert_to_tensor(self.history_buffer), self.history_filled,
            tf.stop_gradient(refined), draws, slots)
        self.history_buffer.assign(history)
        self.history_filled.assign(filled)
        with tf.GradientTape() as tape:
            total, differentiated = self.player_loss("d", {
                "adversarial": self.loss_family.discriminator_loss(
                    self.judge(self.discriminator, real, judged))}, batch_size)
        self.apply_update("d", tape, differentiated)
        return total

    def serving_spec(self) -> TranslationServing:
        return TranslationServing(
            directions=(Direction("serving_default", "refiner", SOURCE, TARGET),),
            image_shape=(*synthetic_digits.IMAGE_SHAPE[:2], 3),
            to_input=translation_data.to_network_input("sketch"),
            to_output=_to_rgb_uint8)

    def preview_rows(self, examples: dict) -> list:
        chosen = examples["serving_default"]
        return [("synthetic", chosen.inputs),
                ("refined", self.translate("serving_default", chosen.inputs))]
