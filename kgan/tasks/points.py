"""`points`: the 2-D toy family of the mode-collapse literature.

Data are points from a ring of 8 Gaussians or a 5x5 grid of 25 Gaussians
(`kgan.data.points`; Metz et al. 2016, Unrolled GANs; Lin et al. 2018,
PacGAN), the networks are MLPs (`kgan.models.points`), the preview is a
scatter plot of samples over the true modes, evaluation reports modes
recovered, the share of high-quality samples and the reverse KL of the mode
histogram (`kgan.evaluation.points`), and the export serves z -> points.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import data, images, latent
from kgan.config import Config
from kgan.data import points as point_data
from kgan.errors import ConfigError
from kgan.models.points import PointDiscriminator, PointGenerator
from kgan.tasks.adversarial import LatentGAN, recipe_arguments
from kgan.tasks.base import LatentServing, Preview, TaskData

# Points in the fixed training set; the test set (what samples are judged
# against) has as many as PacGAN's evaluation draws.
TRAIN_POINTS = 100_000
TEST_POINTS = 2_500
ARCHITECTURE = "mlp"


@keras.saving.register_keras_serializable(package="kgan")
class PointGAN(LatentGAN):
    """Latent z -> a 2-D point, judged by an MLP discriminator.

    `data.dataset` names the mixture (`ring8`, `grid25`); `model.hidden_units`
    are the generator's hidden widths (the discriminator's, reversed),
    `model.latent_dim` the latent size. The game, losses and every training
    option are those of the image GAN (`kgan.tasks.adversarial.LatentGAN`).
    """

    NAME = "points"
    SAMPLE_KEY = "points"
    EVALUATION_METRICS = ("modes",)

    @classmethod
    def resolve(cls, config: Config) -> Config:
        point_data.get_mixture(config.data.dataset)
        data.check_examples_per_class(config, cls.NAME)
        cls.check_recipe(config)
        if config.train.augment:
            raise ConfigError(f"train.augment={','.join(config.train.augment)} augments images; "
                              f"task points has points")
        m = config.model
        if m.architecture != ARCHITECTURE:
            raise ConfigError(f"task points trains MLPs: model.architecture must be "
                              f"{ARCHITECTURE!r}, got {m.architecture!r}")
        if m.conditional:
            raise ConfigError("task points has no labels to condition on: model.conditional "
                              "must be false")
        if config.train.eval_every:
            raise ConfigError("in-training evaluation (train.eval_every) measures images; "
                              "evaluate a points run with evaluate.py (modes, high-quality "
                              "share, reverse KL)")
        unsupported = [name for name in ("spectral_norm", "minibatch_std") if getattr(m, name)]
        if unsupported:
            raise ConfigError(f"task points' MLP discriminator has no model.{unsupported[0]}; "
                              "its batch-level options are model.minibatch_discrimination and "
                              "model.pack")
        if m.image_shape is not None:
            raise ConfigError(f"task points makes points, not images: model.image_shape must "
                              f"be unset, got {m.image_shape!r}")
        return config

    @classmethod
    def describe(cls, config: Config) -> str:
        widths = "x".join(str(u) for u in config.model.hidden_units)
        return (f"points GAN (MLP {widths}, latent {config.model.latent_dim}) on "
                f"{config.data.dataset}")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        mixture = point_data.get_mixture(config.data.dataset)
        count = TRAIN_POINTS if split == "train" else TEST_POINTS
        values = point_data.points_split(mixture, split, count, config.train.seed)
        return TaskData({"points": values}, count,
                        f"{mixture.name} mixture, {split} split of seed {config.train.seed}",
                        {"points": tf.TensorSpec([None, 2], tf.float32)}, lambda rows: rows,
                        noun="points")

    @classmethod
    def evaluation_split(cls, config: Config) -> str:
        return "test"

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "PointGAN":
        m, t = config.model, config.train
        generator = PointGenerator(m.latent_dim, hidden_units=m.hidden_units, name="generator")
        generator.build((None, m.latent_dim))
        discriminator = PointDiscriminator(
            hidden_units=tuple(reversed(m.hidden_units)),
            minibatch_discrimination=m.minibatch_discrimination,
            minibatch_kernel_dim=m.minibatch_kernel_dim, name="discriminator")
        discriminator.build((None, 2 * m.pack))  # PacGAN: `pack` points side by side
        generator_ema = None
        if t.ema_half_life:
            generator_ema = PointGenerator(m.latent_dim, hidden_units=m.hidden_units,
                                           name="generator")
            generator_ema.build((None, m.latent_dim))
        return cls(generator, discriminator, m.latent_dim, mixture=config.data.dataset,
                   **recipe_arguments(config, generator_ema))

    def __init__(self, generator, discriminator, latent_dim, mixture="ring8", **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.mixture = point_data.get_mixture(mixture)

    def get_config(self):
        return {**super().get_config(), "mixture": self.mixture.name}

    def serving_spec(self) -> LatentServing:
        return LatentServing(
            network=self.serving_network, latent_dim=self.latent_dim, output_key="points",
            output_shape=(2,), output_dtype="float32",
            to_output=lambda x: tf.cast(x, tf.float32), unit="coordinate units",
            tolerance=1e-3, kind="points")

    def preview(self) -> Preview:
        """A scatter plot of samples from latents fixed by the seed, over the
        true modes (circles of 3 standard deviations)."""
        if not hasattr(self, "_preview_latents"):
            # Scatter plots need many points; the image grid's 64 would show little.
            count = max(self.preview_samples, 1000)
            self._preview_latents = latent.standard_normal(
                self.seed, latent.Purpose.SAMPLE_GRID, count, self.latent_dim)
        samples = np.asarray(self.sample(self._preview_latents), np.float32)
        return Preview(images.scatter_plot(samples, self.mixture.centers,
                                           std=self.mixture.std))
