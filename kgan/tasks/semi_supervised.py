"""`semi_supervised`: a GAN whose discriminator is the classifier (Salimans et al. 2016).

The discriminator is a K-class classifier of real images whose logits also
decide real against generated (`kgan.tasks.semi_supervised_losses`); it
learns from `data.labeled_per_class` labelled training images per class
and from every training image unlabelled, while the generator, trained by
feature matching, supplies the generated class. The paper reports 0.93%
(+-0.07) MNIST test error with 100 labels; the classifier is what the run
is for, the generator is a by-product that can still be sampled and exported.

Batches follow the paper's code: every unlabelled image of a step is paired
with a labelled one, the labelled set tiled (in a shuffled order fixed by
the seed) to the length of the training set, so each epoch shows every
labelled image equally often and the shared seeded pipeline still resumes
at any step. Which images are labelled depends on `train.seed` alone.

Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen, "Improved Techniques
for Training GANs", NeurIPS 2016 (https://arxiv.org/abs/1606.03498).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from kgan import data
from kgan.config import Config
from kgan.errors import ConfigError
from kgan.models.semi_supervised import FeatureMatchingGenerator, NoisyClassifier
from kgan.tasks.adversarial import recipe_arguments
from kgan.tasks.base import ClassifierServing, LatentServing, Phase, TaskData
from kgan.tasks.gan import ImageGAN
from kgan.tasks.semi_supervised_losses import (semi_supervised_class_loss,
                                               semi_supervised_discriminator_loss,
                                               semi_supervised_generator_loss)

# Noise streams of the discriminator's Gaussian noise, beside LatentGAN's 0..3.
LABELLED_NOISE, UNLABELLED_NOISE, GENERATED_NOISE = 4, 5, 6
ARCHITECTURE = "mlp"
UNSUPERVISED_WEIGHT = 0.5
# Options of the image GAN's recipe that this game does not play.
_UNUSED_OPTIONS = ("r1_gamma", "r2_gamma", "gp_weight", "lecam_weight", "unrolled_steps",
                   "ema_half_life", "label_smoothing", "reuse_fakes", "augment")


@keras.saving.register_keras_serializable(package="kgan")
class SemiSupervisedGAN(ImageGAN):
    """Latent z -> image against a K-class discriminator that learns to classify.

    Each step: one discriminator update on the class term (the labelled
    images) plus the unsupervised term (the unlabelled images against as many
    generated ones), then one generator update by feature matching on the
    updated discriminator's last hidden layer, with fresh latents.

    Under a strategy with several replicas, feature matching compares each
    replica's batch means (the paper's single-device loss per replica), so
    the update is not exactly the single-device one on the global batch.

    With `adversarial_weight` 0 (`train.adversarial_weight`) the task is its
    own baseline: the same classifier, noise and optimizer on the labelled
    images alone, with no generator updates.
    """

    NAME = "semi_supervised"
    METRICS = ("d_loss", "d_class", "d_adversarial", "g_loss", "labelled_accuracy")
    SUPERVISED_METRICS = ("d_loss", "labelled_accuracy")

    def __init__(self, generator, discriminator, latent_dim, adversarial_weight=1.0,
                 class_names=None, **kwargs):
        self.adversarial_weight = float(adversarial_weight)
        self.class_names = tuple(class_names or (str(k) for k in range(
            discriminator.num_classes)))
        if not self.adversarial_weight:
            self.METRICS = self.SUPERVISED_METRICS  # what LatentGAN logs
        super().__init__(generator, discriminator, latent_dim, **kwargs)

    def get_config(self):
        return {**super().get_config(), "adversarial_weight": self.adversarial_weight,
                "class_names": self.class_names}

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        # The paper's code halves the unsupervised term (`loss_unl = 0.5 * ...`).
        super().compile(optimizers=optimizers, loss_weights={
            ("d", "adversarial"): UNSUPERVISED_WEIGHT * self.adversarial_weight,
            **(loss_weights or {})}, **kwargs)

    @classmethod
    def resolve(cls, config: Config) -> Config:
        config = data.resolve(config)
        spec = data.get_dataset_spec(config.data.dataset)
        m, t = config.model, config.train
        if spec.label_kind != "class" or len(spec.label_names(config.data)) < 2:
            raise ConfigError(f"task semi_supervised classifies: data.dataset must have two or "
                              f"more classes (mnist, a folder of class folders), got "
                              f"{config.data.dataset!r}")
        if m.architecture != ARCHITECTURE:
            raise ConfigError(f"task semi_supervised trains Salimans et al.'s MLPs: "
                              f"model.architecture must be {ARCHITECTURE!r}, got "
                              f"{m.architecture!r}")
        data.check_examples_per_class(config, cls.NAME)
        if m.conditional:
            raise ConfigError("task semi_supervised gives labels to the discriminator, not the "
                              "generator: model.conditional must be false")
        unused = [f"train.{name}" for name in _UNUSED_OPTIONS if getattr(t, name)]
        unused += ["train.d_steps"] * (t.d_steps != 1) + ["model.pack"] * (m.pack != 1)
        if unused:
            raise ConfigError(f"task semi_supervised plays Salimans et al.'s game (one "
                              f"discriminator update, feature matching): {unused[0]} does not "
                              f"apply; leave it at its default")
        return config

    @classmethod
    def describe(cls, config: Config) -> str:
        return (f"semi-supervised GAN on {config.data.dataset}, "
                f"{config.data.labeled_per_class} labelled images per class")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        dataset = data.load(config.data, split)
        images, labels = (np.asarray(array) for array in data.materialize(dataset))
        element_spec = {"image": tf.TensorSpec([None, *dataset.image_shape], tf.float32)}
        if split != "train":
            return TaskData({"image": images, "label": labels}, dataset.num_examples,
                            dataset.source, element_spec, _image_rows, noun="images")
        chosen = data.per_class_indices(labels, config.data.labeled_per_class, config.train.seed)
        order = chosen[data.tiled_order(len(chosen), dataset.num_examples, config.train.seed)]
        arrays = {"image": images, "labelled_image": images[order],
                  "labelled_class": labels[order].astype(np.int64)}
        element_spec.update(
            labelled_image=tf.TensorSpec([None, *dataset.image_shape], tf.float32),
            labelled_class=tf.TensorSpec([None], tf.int64))
        return TaskData(arrays, dataset.num_examples,
                        f"{dataset.source}; {len(chosen)} of them labelled", element_spec,
                        _labelled_rows, noun="images")

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "SemiSupervisedGAN":
        m = config.model
        generator = FeatureMatchingGenerator(m.latent_dim, m.image_shape,
                                             hidden_units=m.hidden_units, name="generator")
        generator.build((None, m.latent_dim))
        class_names = data.get_dataset_spec(config.data.dataset).label_names(config.data)
        discriminator = NoisyClassifier(m.image_shape, num_classes=len(class_names),
                                        hidden_units=m.classifier_units, name="discriminator")
        discriminator.build((None, *m.image_shape))
        return cls(generator, discriminator, m.latent_dim,
                   adversarial_weight=config.train.adversarial_weight, class_names=class_names,
                   **recipe_arguments(config))

    def phases(self):
        return [Phase("DG", self._play)]

    def _play(self, batch):
        real = batch["image"]
        labelled, classes = batch["labelled_image"], batch["labelled_class"]
        batch_size = tf.shape(real)[0]
        d = self.discriminator
        with tf.GradientTape() as d_tape:
            _, labelled_logits = d.features_and_logits(
                labelled, self.noise_seed(self._key(0), LABELLED_NOISE))
            terms = {"class": semi_supervised_class_loss(labelled_logits, classes)}
            if self.adversarial_weight:
                fakes = self.generate(self.sample_latents(batch_size, 0), training=True)
                _, real_logits = d.features_and_logits(
                    real, self.noise_seed(self._key(0), UNLABELLED_NOISE))
                _, fake_logits = d.features_and_logits(
                    fakes, self.noise_seed(self._key(0), GENERATED_NOISE))
                terms["adversarial"] = semi_supervised_discriminator_loss(real_logits,
                                                                          fake_logits)
            d_loss, d_differentiated = self.player_loss("d", terms, batch_size)
        self.apply_update("d", d_tape, d_differentiated)
        correct = tf.equal(tf.argmax(labelled_logits, axis=-1), classes)
        self.track("labelled_accuracy", tf.reduce_mean(tf.cast(correct, tf.float32)))
        if not self.adversarial_weight:
            return [d_loss]

        with tf.GradientTape() as g_tape:
            fakes = self.generate(self.sample_latents(batch_size, 1), training=True)
            real_features, _ = d.features_and_logits(
                real, self.noise_seed(self._key(1), UNLABELLED_NOISE))
            fake_features, _ = d.features_and_logits(
                fakes, self.noise_seed(self._key(1), GENERATED_NOISE))
            g_loss, g_differentiated = self.player_loss("g", {
                "feature_matching": semi_supervised_generator_loss(
                    tf.stop_gradient(real_features), fake_features)}, batch_size)
        self.apply_update("g", g_tape, g_differentiated)
        return [d_loss, g_loss]

    def classify(self, images) -> tf.Tensor:
        """Class probabilities `[batch, K]` of images in [-1, 1] (no training noise)."""
        return tf.nn.softmax(self.discriminator(images))

    def serving_spec(self) -> LatentServing:
        return dataclasses.replace(super().serving_spec(), classifier=ClassifierServing(
            network="discriminator", image_shape=tuple(self.discriminator.image_shape),
            class_names=self.class_names, to_input=data.to_unit_range))

    def serving_items(self) -> dict:
        # The classifier is what the run is for: loaders restore it beside the generator.
        return {**super().serving_items(), "discriminator": self.discriminator}


def _image_rows(rows):
    return {"image": data.to_unit_range(rows["image"]), "label": rows["label"]}


def _labelled_rows(rows):
    return {"image": data.to_unit_range(rows["image"]),
            "labelled_image": data.to_unit_range(rows["labelled_image"]),
            "labelled_class": rows["labelled_class"]}
