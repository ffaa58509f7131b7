"""What the image-to-image families (`pix2pix`, `cyclegan`) share.

Both translate CelebA faces at `data.resolution` (64 or 128) with a U-Net or
ResNet generator judged by PatchGAN discriminators (`kgan.models.translation`),
train with one Adam per player, and are served as uint8 images in, uint8
images out (`TranslationServing`: one signature per direction). What a run
shows (`preview`), what export calibrates and verifies with
(`serving_examples`) and what evaluation compares (`examples`) are the
held-out faces of the family's data, through the same served function.
"""

import dataclasses
from typing import ClassVar, Optional

import keras
import numpy as np
import tensorflow as tf

from kgan import data, images, losses
from kgan.config import Config
from kgan.errors import ConfigError
from kgan.models.translation import PatchDiscriminator, ResnetTranslator, UNetGenerator
from kgan.tasks.adversarial import adam_optimizers
from kgan.tasks.base import Preview, Task, TranslationServing

GENERATOR_ARCHITECTURES = ("unet", "resnet")
RESOLUTIONS = (64, 128)
EVALUATION_SPLIT = "heldout"
PREVIEW_COLUMNS = 8
# Noise streams of the game (`Task.noise`): the mirroring of each example,
# and the history buffer's draws.
MIRROR, HISTORY = 1, 2


@dataclasses.dataclass(frozen=True)
class TranslationExamples:
    """Held-out examples of one direction, as the served function takes them.

    Attributes:
        inputs: uint8 RGB `[n, h, w, 3]`, what the direction's signature takes.
        targets: uint8 RGB `[n, h, w, 3]`, the true output of each input
            (paired data), or None.
        attributes: float32 {0, 1} `[n, 40]` CelebA attributes of each input
            (unpaired attribute domains), or None.
        attribute_names: The names of those attributes, in column order.
        labels: int64 `[n]` class of each input, which a faithful translation
            keeps (rendered digits), or None.
        real: uint8 RGB `[m, h, w, 3]` real images of the target domain, not
            paired with the inputs (the realism reference), or None.
        description: What the inputs are, for reports.
    """

    inputs: np.ndarray
    targets: Optional[np.ndarray] = None
    attributes: Optional[np.ndarray] = None
    attribute_names: Optional[tuple] = None
    labels: Optional[np.ndarray] = None
    real: Optional[np.ndarray] = None
    description: str = ""


def generator_for(config: Config, input_channels: int, name: str) -> keras.Model:
    """The configured translator (`model.architecture`: unet or resnet), built."""
    m, size = config.model, config.data.resolution
    if m.architecture == "unet":
        network = UNetGenerator(input_channels, 3, image_size=size, base_filters=m.base_filters,
                                dropout=m.dropout, upsampling=m.upsampling, name=name)
    else:
        network = ResnetTranslator(input_channels, 3, base_filters=m.base_filters,
                                   blocks=m.generator_blocks, upsampling=m.upsampling,
                                   name=name)
    network.build((None, size, size, input_channels))
    return network


def patch_discriminator_for(config: Config, input_channels: int, name: str) -> keras.Model:
    m, size = config.model, config.data.resolution
    network = PatchDiscriminator(input_channels, base_filters=m.base_filters,
                                 patch_layers=m.patch_layers, name=name)
    network.build((None, size, size, input_channels))
    return network


def history_pool(history, filled, generated, draws, slots):
    """The history buffer's exchange for one batch (Shrivastava et al. 2017,
    "Learning from Simulated and Unsupervised Images through Adversarial
    Training", Sec. 2.3; CycleGAN's `ImagePool`).

    Each generated image in turn: while the buffer has free slots it is stored
    and judged itself; once full, with probability 1/2 (`draws[i] > 0.5`) it
    replaces the image in slot `slots[i]`, which is judged in its place,
    otherwise it is judged itself. A discriminator that sees older generated
    images as well cannot chase the generator's latest change alone.

    Args:
        history: `[size, h, w, c]` stored images (size 0: no buffer).
        filled: int32 scalar, slots in use.
        generated: `[n, h, w, c]` this step's generated images.
        draws: float `[n]` uniform in [0, 1).
        slots: int32 `[n]` uniform in [0, size).

    Returns:
        (images to judge `[n, h, w, c]`, the new history, the new `filled`).
    """
    size = history.shape[0]
    generated = tf.cast(generated, history.dtype)
    if not size:
        return generated, history, filled
    count = tf.shape(generated)[0]
    judged = tf.TensorArray(history.dtype, size=count, element_shape=history.shape[1:])

    def exchange(i, history, filled, judged):
        image = generated[i]

        def store():
            return image, tf.tensor_scatter_nd_update(history, [[filled]], [image]), filled + 1

        def swap():
            slot = slots[i]
            return (history[slot], tf.tensor_scatter_nd_update(history, [[slot]], [image]),
                    filled)

        def keep():
            return image, history, filled

        shown, history, filled = tf.cond(
            filled < size, store, lambda: tf.cond(draws[i] > 0.5, swap, keep))
        return i + 1, history, filled, judged.write(i, shown)

    _, history, filled, judged = tf.while_loop(
        lambda i, *_: i < count, exchange, [tf.constant(0), history, filled, judged])
    return judged.stack(), history, filled


def mirrored(flips, *batches):
    """Each batch with the examples where `flips` is true mirrored left-right
    (the same examples in every batch, so pairs stay aligned)."""
    where = tf.reshape(flips, [-1, 1, 1, 1])
    return [tf.where(where, tf.reverse(batch, axis=[2]), batch) for batch in batches]


class TranslationTask(Task):
    """Base of the image-to-image tasks (see the module docstring).

    Subclasses set `NAME`, `PLAYERS`, `METRICS`, implement `examples`,
    `load_data`, `build`, `serving_spec` and `phases`, and list their
    preview rows in `preview_rows`.
    """

    EVALUATION_METRICS: ClassVar[tuple] = ("fid", "kid")
    SERVING: ClassVar[str] = "translation"
    # `generate.py`'s mode for a user's pictures: `translate` (at the served
    # size) or `upscale` (at their own size, enlarged).
    GENERATE_MODE: ClassVar[str] = "translate"

    # ----- the family, described without building it -----

    @classmethod
    def resolve(cls, config: Config) -> Config:
        """Checks the settings the image-to-image families share (`check_data`
        for their data and networks); subclasses add theirs."""
        m, t = config.model, config.train
        data.check_examples_per_class(config, cls.NAME)
        cls.check_data(config)
        refused = {
            "model.conditional": m.conditional, "model.spectral_norm": m.spectral_norm,
            "model.minibatch_std": m.minibatch_std,
            "model.minibatch_discrimination": m.minibatch_discrimination,
            "model.pack": m.pack > 1, "train.augment": t.augment,
            "train.ema_half_life": t.ema_half_life, "train.r1_gamma": t.r1_gamma,
            "train.r2_gamma": t.r2_gamma, "train.gp_weight": t.gp_weight,
            "train.lecam_weight": t.lecam_weight, "train.unrolled_steps": t.unrolled_steps,
            "train.d_steps": t.d_steps > 1, "train.reuse_fakes": t.reuse_fakes,
            "train.label_smoothing": t.label_smoothing,
        }
        for name, value in refused.items():
            if value:
                raise ConfigError(f"{name} is an option of the noise-to-image GAN; task "
                                  f"{cls.NAME} does not take it (got {value!r})")
        if t.eval_every:
            raise ConfigError(f"in-training evaluation (train.eval_every) samples from noise; "
                              f"evaluate a {cls.NAME} run with evaluate.py")
        if t.loss == "wasserstein":
            raise ConfigError(f"train.loss='wasserstein' needs a Lipschitz constraint that task "
                              f"{cls.NAME}'s PatchGAN does not have; use least_squares, "
                              f"non_saturating, hinge or relativistic")
        losses.get_loss_family(t.loss)
        return config

    @classmethod
    def check_data(cls, config: Config) -> None:
        """Checks the data and networks: CelebA faces at a supported
        resolution, a U-Net or ResNet generator."""
        d, m = config.data, config.model
        if d.dataset != "celeba":
            raise ConfigError(f"task {cls.NAME} translates CelebA faces: data.dataset must be "
                              f"'celeba', got {d.dataset!r}")
        if d.resolution not in RESOLUTIONS:
            raise ConfigError(f"task {cls.NAME} translates faces of side "
                              f"{' or '.join(map(str, RESOLUTIONS))}: data.resolution "
                              f"{d.resolution} is not one")
        if m.architecture not in GENERATOR_ARCHITECTURES:
            raise ConfigError(f"task {cls.NAME}'s generator is one of "
                              f"{', '.join(GENERATOR_ARCHITECTURES)}: model.architecture "
                              f"{m.architecture!r} is not (use --preset={cls.NAME})")

    @classmethod
    def image_side(cls, config: Config) -> int:
        """The side of the square images the task serves."""
        return int(config.data.resolution)

    @classmethod
    def evaluation_split(cls, config: Config) -> str:
        return EVALUATION_SPLIT

    @classmethod
    def examples(cls, config: Config, split: str = EVALUATION_SPLIT) -> dict:
        """`{signature: TranslationExamples}` of a split, per served direction."""
        raise NotImplementedError

    @classmethod
    def chosen_examples(cls, config: Config, count: int, seed: int) -> dict:
        """`{signature: TranslationExamples}` of `count` held-out examples per
        direction, drawn by `seed` (repeated if the split holds fewer)."""
        chosen = {}
        for signature, examples in cls.examples(config).items():
            rows = np.sort(np.random.default_rng(seed).choice(
                len(examples.inputs), count, replace=count > len(examples.inputs)))
            chosen[signature] = dataclasses.replace(examples, **{
                name: getattr(examples, name)[rows]
                for name in ("inputs", "targets", "attributes", "labels")
                if getattr(examples, name) is not None})
        return chosen

    @classmethod
    def serving_examples(cls, config: Config, count: int, seed: int) -> dict:
        """`{signature: uint8 [count, h, w, 3]}`: held-out inputs of each
        direction, drawn by `seed`; export calibrates and verifies with them.

        Raises:
            DataError: if the run's data cannot be read.
        """
        return {signature: examples.inputs
                for signature, examples in cls.chosen_examples(config, count, seed).items()}

    # ----- training -----

    def __init__(self, networks: dict, config: Config, metric_names=None, **kwargs):
        super().__init__(networks, seed=config.train.seed, metric_names=metric_names, **kwargs)
        self.run_config = config
        self.image_size = type(self).image_side(config)
        self.loss_family = losses.get_loss_family(config.train.loss)

    def configure(self, config: Config) -> None:
        t = config.train
        self.compile(optimizers=adam_optimizers(config), jit_compile=t.jit_compile,
                     steps_per_execution=t.steps_per_execution)
        self._configured_rates = {"g": t.g_learning_rate, "d": t.d_learning_rate}

    def learning_rates(self) -> dict:
        return dict(self._configured_rates)

    def mirror_flags(self, batch_size) -> tf.Tensor:
        """Which examples of this step are mirrored (pix2pix's and CycleGAN's
        only augmentation), keyed by the step so a resumed run repeats them."""
        draws = self.noise(batch_size, (), self.step_counter, stream=MIRROR,
                           distribution="uniform")
        return draws < 0.5

    def judge(self, discriminator, real, fake):
        """`DiscriminatorOutputs` of one discriminator on real and fake
        inputs, judged in one call (instance norm keeps examples apart)."""
        logits = discriminator(tf.concat([real, tf.cast(fake, real.dtype)], 0), training=True)
        count = tf.shape(real)[0]
        return losses.DiscriminatorOutputs(real_logits=logits[:count], fake_logits=logits[count:],
                                           real_inputs=real, fake_inputs=fake)

    def update_then_judge(self, tape, discriminator, real, fake, batch_size):
        """The order of pix2pix's and SRGAN's authors' code, from one
        generator forward pass: one update of `discriminator` (player "d") on
        `real` against `fake`, then the generator's adversarial term from the
        updated discriminator. Call inside `tape`, which records the
        generator's pass that made `fake`.

        Returns:
            (the discriminator's loss, the generator's adversarial term).
        """
        with tape.stop_recording():
            with tf.GradientTape() as d_tape:
                outputs = self.judge(discriminator, real, tf.stop_gradient(fake))
                d_total, differentiated = self.player_loss(
                    "d", {"adversarial": self.loss_family.discriminator_loss(outputs)},
                    batch_size)
            self.apply_update("d", d_tape, differentiated)
        judged = discriminator(fake, training=True)
        real_logits = (discriminator(real, training=True)
                       if self.loss_family.generator_needs_real else None)
        return d_total, self.loss_family.generator_loss(
            losses.DiscriminatorOutputs(real_logits=real_logits, fake_logits=judged))

    # ----- what is saved, shown and served -----

    def translate(self, signature: str, inputs_uint8) -> np.ndarray:
        """uint8 RGB images -> uint8 RGB translations, as the export serves them."""
        spec = self.serving_spec()
        network = getattr(self, spec.direction(signature).network)
        outputs = []
        for start in range(0, len(inputs_uint8), 64):
            chunk = tf.convert_to_tensor(inputs_uint8[start:start + 64])
            outputs.append(spec.to_output(network(spec.to_input(chunk), training=False)))
        return np.concatenate([np.asarray(o) for o in outputs]) if outputs else \
            np.zeros((0, *spec.scaled(np.shape(inputs_uint8))), np.uint8)

    def serving_items(self) -> dict:
        return {d.network: getattr(self, d.network) for d in self.serving_spec().directions}

    def preview_rows(self, examples: dict) -> list:
        """`[(row name, uint8 images)]` of the preview, from `{signature:
        TranslationExamples}` of `PREVIEW_COLUMNS` held-out examples."""
        raise NotImplementedError

    def preview(self) -> Preview:
        """Rows of held-out inputs and their translations (fixed by the seed,
        so previews of different steps show the same faces)."""
        if not hasattr(self, "_preview_examples"):
            self._preview_examples = type(self).chosen_examples(
                self.run_config, PREVIEW_COLUMNS, self.seed)
        rows = self.preview_rows(self._preview_examples)
        grid = images.make_grid(np.concatenate([row for _, row in rows]).astype(np.float32)
                                / 127.5 - 1.0, columns=PREVIEW_COLUMNS)
        return Preview(grid, [name for name, _ in rows])

    def serving_spec(self) -> TranslationServing:
        raise NotImplementedError

    def call(self, inputs, training=None):
        return getattr(self, self.serving_spec().network)(inputs, training=training)
