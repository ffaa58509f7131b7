"""`gan`: the noise-to-image GAN (MNIST, CelebA; unconditional or conditional)."""

import keras
import numpy as np
import tensorflow as tf

from kgan import conditioning, data, images, latent, models
from kgan.config import Config
from kgan.errors import ConfigError
from kgan.tasks.adversarial import LatentGAN, recipe_arguments
from kgan.tasks.base import LatentServing, Preview, TaskData


@keras.saving.register_keras_serializable(package="kgan")
class ImageGAN(LatentGAN):
    """Latent z (and labels) -> image, judged by an image discriminator.

    The architectures are `kgan.models.ARCHITECTURES` (DCGAN, MLP); the data
    are the image datasets of `kgan.data.DATASETS`. Evaluation: FID, KID and,
    for MNIST, mode coverage by kgan's digit classifier.
    """

    NAME = "gan"
    SAMPLE_KEY = "image"
    EVALUATION_METRICS = ("fid", "kid", "classifier")

    @classmethod
    def resolve(cls, config: Config) -> Config:
        config = data.resolve(config)
        models.get_architecture(config.model.architecture)
        spec = data.get_dataset_spec(config.data.dataset)
        if config.data.examples_per_class and spec.label_kind != "class":
            raise ConfigError(f"data.examples_per_class={config.data.examples_per_class} needs "
                              f"a dataset of classes (mnist, a folder of class folders); "
                              f"{config.data.dataset!r} has {spec.label_kind} labels")
        cls.check_recipe(config)
        m, t = config.model, config.train
        penalized = [name for name in ("r1_gamma", "r2_gamma", "gp_weight") if getattr(t, name)]
        if penalized and m.architecture == "dcgan" and m.d_normalization == "batch":
            raise ConfigError(
                f"train.{penalized[0]} penalizes each example's input gradient, which "
                f"BatchNorm in the discriminator mixes across the batch: set "
                f"model.d_normalization to layer or none")
        return config

    @classmethod
    def describe(cls, config: Config) -> str:
        return (f"{'conditional ' if config.model.conditional else ''}"
                f"{config.model.architecture} on {config.data.dataset}")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        dataset = data.load(config.data, split)
        image_array, label_array = data.materialize(dataset)
        num_examples, source = dataset.num_examples, dataset.source
        per_class, seed = config.data.examples_per_class, config.train.seed
        if per_class and split == "train":
            chosen = data.per_class_indices(label_array.numpy(), per_class, seed)
            image_array, label_array = (tf.gather(array, chosen)
                                        for array in (image_array, label_array))
            num_examples = len(chosen)
            source = f"{per_class} per class of {source}, drawn by seed {seed}"
        conditional = config.model.conditional
        element_spec = {"image": tf.TensorSpec([None, *dataset.image_shape], tf.float32)}
        arrays = {"image": image_array}
        if conditional:
            element_spec["label"] = tf.TensorSpec([None, dataset.num_labels], tf.float32)
            arrays["label"] = label_array

        return TaskData(arrays, num_examples, source, element_spec,
                        data.image_batch_transform(dataset, conditional), noun="images")

    @classmethod
    def evaluation_split(cls, config: Config) -> str:
        return data.get_dataset_spec(config.data.dataset).evaluation_split

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "ImageGAN":
        generator_ema = None
        if config.train.ema_half_life:
            generator_ema = models.build_generator(config.model, synchronized_batch_norm)
        return cls(models.build_generator(config.model, synchronized_batch_norm),
                   models.build_discriminator(config.model, synchronized_batch_norm),
                   config.model.latent_dim, label_kind=config.model.label_kind,
                   label_names=config.model.label_names,
                   **recipe_arguments(config, generator_ema))

    def serving_spec(self) -> LatentServing:
        return LatentServing(
            network=self.serving_network, latent_dim=self.latent_dim, output_key="images",
            output_shape=tuple(self.sampler.image_shape), output_dtype="uint8",
            to_output=images.to_uint8, unit="uint8 pixel levels (0..255)", tolerance=1,
            label_kind=self.label_kind, label_names=self.label_names, kind="image")

    def preview(self) -> Preview:
        """A grid from latents fixed by the seed; a conditional grid has a row
        per class or attribute combination (`kgan.conditioning.grid_rows`),
        each column one latent under every row's label."""
        if not hasattr(self, "_preview_inputs"):
            self._preview_inputs = preview_inputs(self.seed, self.preview_samples,
                                                  self.latent_dim, self.label_kind,
                                                  self.label_names)
        latents, labels, columns, row_names = self._preview_inputs
        generated = self.sample(latents, labels)
        return Preview(images.make_grid(np.asarray(generated), columns=columns), row_names)


def preview_inputs(seed: int, count: int, latent_dim: int, label_kind, label_names):
    """(latents, label vectors or None, columns or None, row names or None) of a
    run's sample grids; they depend only on the seed, so grids of different
    steps (and of a resumed run) show the same latents evolving."""
    if not label_kind:
        return (latent.standard_normal(seed, latent.Purpose.SAMPLE_GRID, count, latent_dim),
                None, None, None)
    row_labels, row_names = conditioning.grid_rows(label_kind, label_names)
    columns = max(1, count // len(row_labels))
    column_latents = latent.standard_normal(seed, latent.Purpose.SAMPLE_GRID, columns,
                                            latent_dim)
    return (np.tile(column_latents, (len(row_labels), 1)),
            np.repeat(row_labels, columns, axis=0), columns, row_names)
