"""`srgan`: super-resolution of CelebA faces (Ledig et al. 2017).

The generator (`SRResNet`) turns a face downscaled by `data.scale` (2, 4 or
8; `kgan.data.super_resolution`) back into the original. With
`adversarial_weight=0` it learns the pixel loss alone (`train.pixel_loss`,
MSE): that is SRResNet, the paper's baseline and the best PSNR it can get.
With a weight (1e-3 in the paper) a VGG-style discriminator judges
`data.crop_size` crops of real faces against reconstructed ones, and the
generator trades some PSNR for detail that looks real.

`content_weight` adds the paper's content loss: the squared distance between
feature maps of the output and of the original, from a network trained for
something else. The paper's is VGG19 on ImageNet; kgan's is its own CelebA
attribute classifier (`kgan.features`), never the Inception graph that FID
judges with. Its third block (`CONTENT_LAYER`, 1/8 of the crop's side, 128
channels) is deep enough to ignore the exact pixels and keeps the crop's
layout.

The paper trains SRResNet first and starts SRGAN from it; in kgan that is
one run, resumed with changed settings: train with `--adversarial_weight=0`,
then run again in the same workdir with `--adversarial_weight=1e-3` and a
larger `--steps`. The discriminator, saved untrained, then starts learning.

Served as an image-to-image task whose output is `scale` times larger:
uint8 RGB faces of any size in (a SavedModel; TFLite models take the held-out
faces' low-resolution size), uint8 RGB out.

Ledig, Theis, Huszar, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz,
Wang, Shi, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017 (https://arxiv.org/abs/1609.04802).
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import images
from kgan.config import Config
from kgan.data import celeba, super_resolution, to_unit_range
from kgan.errors import ConfigError
from kgan.features import attribute_classifier
from kgan.models.super_resolution import DISCRIMINATOR_STRIDES, SRDiscriminator, SRResNet
from kgan.tasks.base import Direction, Phase, TaskData, TranslationServing
from kgan.tasks.translation import TranslationExamples, TranslationTask
from kgan.tasks.srgan_losses import srgan_content_loss, srgan_pixel_loss

ARCHITECTURE = "srresnet"
# Noise stream of the training crops (top, left, mirroring).
CROPS = 1
SOURCE, TARGET = "low-resolution faces", "high-resolution faces"
CONTENT_LAYER = "conv2_relu"


class _Frozen:
    """Holds a network out of Keras's tracking: it is neither trained nor
    checkpointed nor served."""

    def __init__(self, network):
        self.network = network


def _identity(batch):
    return batch


@keras.saving.register_keras_serializable(package="kgan")
class SRGAN(TranslationTask):
    """Low-resolution face x -> face G(x), `scale` times larger."""

    NAME = "srgan"
    PLAYERS = {"d": ("discriminator",), "g": ("generator",)}
    METRICS = ("d_loss", "g_loss", "g_adversarial", "g_pixel", "g_content")
    EVALUATION_METRICS = ("psnr_y", "ssim_y", "fid", "kid")
    GENERATE_MODE = "upscale"

    @classmethod
    def check_data(cls, config: Config) -> None:
        d, m = config.data, config.model
        if d.dataset != "celeba":
            raise ConfigError(f"task srgan upscales CelebA faces: data.dataset must be "
                              f"'celeba', got {d.dataset!r}")
        if m.architecture != ARCHITECTURE:
            raise ConfigError(f"task srgan's generator is SRResNet: model.architecture must be "
                              f"{ARCHITECTURE!r}, got {m.architecture!r} (use --preset=srgan)")
        super_resolution.check_scale(d.scale)
        multiple = int(np.lcm(2 ** DISCRIMINATOR_STRIDES, d.scale))
        if d.crop_size % multiple or d.crop_size > min(super_resolution.HR_FRAME):
            raise ConfigError(f"data.crop_size={d.crop_size} must be a multiple of {multiple} "
                              f"(the discriminator's strides and the scale) and at most "
                              f"{min(super_resolution.HR_FRAME)} (a face's width)")

    @classmethod
    def image_side(cls, config: Config) -> int:
        return int(config.data.crop_size)

    @classmethod
    def describe(cls, config: Config) -> str:
        d, t = config.data, config.train
        kind = (f"SRGAN (adversarial weight {t.adversarial_weight:g})" if t.adversarial_weight
                else "SRResNet")
        content = (f", content loss {t.content_weight:g} ({CONTENT_LAYER} of the attribute "
                   "classifier)" if t.content_weight else "")
        return (f"{kind}: CelebA faces upscaled {d.scale}x from {d.crop_size // d.scale}x"
                f"{d.crop_size // d.scale} crops, {t.pixel_loss} pixel loss{content}")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        """Whole high-resolution faces; the step crops and downscales them."""
        faces = super_resolution.faces(config.data, split)
        return TaskData({"face": faces}, len(faces), f"{len(faces)} CelebA {split} faces",
                        {"face": tf.TensorSpec([None, *faces.shape[1:]], tf.uint8)},
                        _identity, noun="faces")

    @classmethod
    def examples(cls, config: Config, split: str = super_resolution.EVALUATION_SPLIT) -> dict:
        """Whole held-out faces: their downscaled copies in, the faces as targets."""
        faces = super_resolution.faces(config.data, split)
        low = np.concatenate([super_resolution.downscale(faces[i:i + 256], config.data.scale)
                              .numpy() for i in range(0, len(faces), 256)])
        return {"serving_default": TranslationExamples(
            low, targets=faces,
            description=f"{len(faces)} {split} CelebA faces downscaled {config.data.scale}x")}

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "SRGAN":
        d, m = config.data, config.model
        generator = SRResNet(d.scale, base_filters=m.base_filters, blocks=m.generator_blocks,
                             name="generator")
        generator.build((None, None, None, 3))
        discriminator = SRDiscriminator(d.crop_size, base_filters=m.base_filters,
                                        name="discriminator")
        discriminator.build((None, d.crop_size, d.crop_size, 3))
        return cls(generator, discriminator, config)

    def __init__(self, generator, discriminator, config: Config, **kwargs):
        t = config.train
        self.adversarial_weight = float(t.adversarial_weight)
        self.content_weight = float(t.content_weight)
        terms = [name for name, weight in (("adversarial", self.adversarial_weight),
                                           ("pixel", 1.0), ("content", self.content_weight))
                 if weight]
        # Terms are tracked beside the total only when there are several (`player_loss`).
        names = (("d_loss",) if self.adversarial_weight else ()) + ("g_loss",) + (
            tuple(f"g_{term}" for term in terms) if len(terms) > 1 else ())
        super().__init__({"generator": generator, "discriminator": discriminator}, config,
                         metric_names=names, **kwargs)
        self.scale = int(config.data.scale)
        self.crop_size = int(config.data.crop_size)
        self.pixel_loss = t.pixel_loss
        self._content = None

    def configure(self, config: Config) -> None:
        """As `TranslationTask.configure`; loads (or first trains and caches)
        the content loss's classifier: only training needs it."""
        super().configure(config)
        if self.content_weight:
            t = config.train
            if t.content_classifier:
                classifier = attribute_classifier.from_weights(t.content_classifier)
            else:
                classifier = attribute_classifier.load_classifier(
                    [celeba.image_folder(config.data)])
            self._content = _Frozen(attribute_classifier.feature_network(classifier,
                                                                         CONTENT_LAYER))

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        """As `Task.compile`; the adversarial and content weights are the
        defaults of `loss_weights`."""
        weights = {("g", "adversarial"): self.adversarial_weight,
                   ("g", "content"): self.content_weight}
        super().compile(optimizers=optimizers, loss_weights={**weights, **(loss_weights or {})},
                        **kwargs)

    def phases(self):
        return [Phase("DG", self._step)]

    def _step(self, batch):
        """One discriminator update on the generator's output, then one
        generator update judged by the updated discriminator, from a single
        generator forward pass (as `pix2pix`)."""
        faces = batch["face"]
        batch_size = tf.shape(faces)[0]
        draws = self.noise(batch_size, (3,), self.step_counter, stream=CROPS,
                           distribution="uniform")
        low, high = super_resolution.crop_and_downscale(faces, draws, self.crop_size,
                                                        self.scale)
        low, high = to_unit_range(low), to_unit_range(high)
        step_losses = []
        with tf.GradientTape() as tape:
            generated = self.generator(low, training=True)
            terms = {"pixel": srgan_pixel_loss(high, generated, self.pixel_loss)}
            if self.content_weight:
                features = self._content.network
                terms["content"] = srgan_content_loss(features(high, training=False),
                                                      features(generated, training=False))
            if self.adversarial_weight:
                d_loss, terms["adversarial"] = self.update_then_judge(
                    tape, self.discriminator, high, generated, batch_size)
                step_losses.append(d_loss)
            total, differentiated = self.player_loss("g", terms, batch_size)
        self.apply_update("g", tape, differentiated)
        return [*step_losses, total]

    def serving_spec(self) -> TranslationServing:
        fixed = tuple(side // self.scale for side in super_resolution.HR_FRAME)
        return TranslationServing(
            directions=(Direction("serving_default", "generator", SOURCE, TARGET),),
            image_shape=(None, None, 3), to_input=to_unit_range, to_output=images.to_uint8,
            scale=self.scale, tflite_image_shape=(*fixed, 3))

    def preview_rows(self, examples: dict) -> list:
        chosen = examples["serving_default"]
        return [("bicubic", super_resolution.bicubic_upscale(chosen.inputs, self.scale)
                 .numpy()),
                ("srgan output", self.translate("serving_default", chosen.inputs)),
                ("original", chosen.targets)]
