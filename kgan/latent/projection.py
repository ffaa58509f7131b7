"""Projection: the latent a generator needs to reproduce a given image.

The iGAN idea (Zhu et al. 2016, "Generative Visual Manipulation on the
Natural Image Manifold"): optimize z so that G(z) matches the image, then
edit the image by moving z (here with the concept vectors of
`kgan.latent.concepts`). As in StyleGAN2's projector, the loss compares
features as well as pixels, because the squared pixel error alone prefers a
blurred average over a sharp image that is slightly misaligned.

Which features. The discriminator's features are not in an export, and
Inception (the usual perceptual network) runs ~35 images/s here, so a few
hundred optimization steps would take minutes per image. kgan's own dataset
classifiers (the MNIST digit classifier, the CelebA attribute classifier)
run in milliseconds, are differentiable, and were trained on exactly these
images to see what the edits change (digit identity, smiles, glasses); their
convolution activations serve as the features. Each layer's squared error is
divided by the target's mean squared activation on that layer, so layers of
any scale weigh alike and the loss is unitless.

Procedure: `candidates` random latents are scored and each target starts
from its closest; then Adam on z with a cosine-decayed learning rate, plus a
small penalty `(|z|^2 / d - 1)^2` that keeps z near the sphere where
standard-normal latents lie (far from it the generator was never trained).
Targets are projected together as one batch; with BatchNorm in inference
mode each target's loss depends on its own latent only.
"""

import dataclasses
import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from kgan.config import ProjectionConfig
from kgan.images import to_uint8
from kgan.latent.seeds import Purpose, standard_normal


@dataclasses.dataclass(frozen=True)
class Projection:
    """Latents found for target images, and how well they reproduce them.

    Attributes:
        latents: float32 `[n, latent_dim]`.
        images: The reconstructions, uint8 `[n, h, w, c]`.
        pixel_rmse: Root mean squared error of each reconstruction against
            its target, in uint8 levels (0..255).
        feature_error: Each one's relative feature error (0 without features;
            measured even when the features have no weight in the loss).
        loss_history: Mean loss over the targets at each step.
        seconds: Time the optimization took.
    """

    latents: np.ndarray
    images: np.ndarray
    pixel_rmse: np.ndarray
    feature_error: np.ndarray
    loss_history: np.ndarray
    seconds: float


def feature_model(classifier: keras.Model) -> keras.Model:
    """The activations of a classifier's convolution layers (after their
    nonlinearity), for uint8-range images: a list of `[n, h, w, c]` tensors.

    Conv2D layers with their own activation (the MNIST classifier) are taken
    as they are; a Conv2D followed by normalization is taken at the ReLU that
    ends its block (the attribute classifier's `conv<i>_relu`).
    """
    outputs = []
    for layer in classifier.layers:
        if isinstance(layer, keras.layers.Conv2D) and layer.activation is not keras.activations.linear:
            outputs.append(layer.output)
        elif isinstance(layer, keras.layers.ReLU):
            outputs.append(layer.output)
    if not outputs:
        raise ValueError(f"{classifier.name} has no convolution activations to compare")
    return keras.Model(classifier.inputs[0], outputs, name=f"{classifier.name}_features")


def _to_levels(images: tf.Tensor) -> tf.Tensor:
    """[-1, 1] -> float 0..255, unrounded (rounding has no gradient)."""
    return (images + 1.0) * 127.5


def pixel_rmse(a, b) -> np.ndarray:
    """Per-image root mean squared difference of two uint8 batches, in levels."""
    difference = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return np.sqrt(np.mean(difference.reshape(len(difference), -1) ** 2, axis=1))


class _Loss:
    """Per-image pixel, feature and latent terms against fixed targets."""

    def __init__(self, targets: np.ndarray, features: keras.Model | None, config: ProjectionConfig):
        self.targets = tf.constant(np.asarray(targets, np.float32) / 127.5 - 1.0)
        # With weight 0 the features are still compared once at the end, for the report.
        self.features = features
        self.config = config
        if self.features is not None:
            target_features = self.features(_to_levels(self.targets), training=False)
            self.target_features = [tf.stop_gradient(f) for f in target_features]
            # Per image and layer: the target's mean squared activation (energy).
            self.energies = [tf.reduce_mean(tf.square(f), axis=[1, 2, 3]) + 1e-6
                             for f in self.target_features]

    def terms(self, images: tf.Tensor, z: tf.Tensor, rows=None, report: bool = False):
        """(total, pixel, feature) per image against the targets, or against
        target `rows[i]` for image i (scoring candidates). Features are
        compared when they weigh in the total, or for the `report`."""
        pick = (lambda t: t) if rows is None else (lambda t: tf.gather(t, rows))
        pixel = tf.reduce_mean(tf.square(images - pick(self.targets)), axis=[1, 2, 3])
        feature = tf.zeros_like(pixel)
        if self.features is not None and (report or self.config.feature_weight > 0):
            generated = self.features(_to_levels(images), training=False)
            for g, t, energy in zip(generated, self.target_features, self.energies):
                feature += tf.reduce_mean(tf.square(g - pick(t)), axis=[1, 2, 3]) / pick(energy)
            feature /= len(generated)
        shell = tf.square(tf.reduce_mean(tf.square(z), axis=1) - 1.0)
        total = pixel + self.config.feature_weight * feature + self.config.latent_weight * shell
        return total, pixel, feature


def _starting_latents(images_fn, loss: _Loss, count: int, latent_dim: int, labels,
                      config: ProjectionConfig, seed: int) -> np.ndarray:
    """For each target, the closest of `config.candidates` seeded random latents."""
    candidates = standard_normal(seed, Purpose.PROJECTION, config.candidates, latent_dim)
    best = np.zeros((count, latent_dim), np.float32)
    # Without labels every target is scored against the same candidate images.
    unlabelled = None if labels is not None else images_fn(tf.constant(candidates), None)
    for target in range(count):
        images = unlabelled if labels is None else images_fn(
            tf.constant(candidates), np.repeat(labels[target:target + 1], len(candidates), axis=0))
        rows = tf.fill([len(candidates)], target)
        total, _, _ = loss.terms(images, tf.constant(candidates), rows)
        best[target] = candidates[int(tf.argmin(total))]
    return best


def project(images_fn: Callable, targets, latent_dim: int, config: ProjectionConfig,
            labels=None, features: keras.Model | None = None, seed: int = 0,
            log=None) -> Projection:
    """Finds latents whose images reproduce `targets`.

    Args:
        images_fn: `images_fn(z, labels)` -> float images in [-1, 1],
            differentiable in z (`GeneratorSource.images`); `labels` is None
            for an unconditional generator.
        targets: uint8 images `[n, h, w, c]` of the generator's shape.
        latent_dim: The generator's latent size.
        config: Steps, learning rate and loss weights.
        labels: Generator labels for conditional generators, one per target.
        features: A `feature_model` of a classifier of these images, or None
            (the pixel loss alone, no feature error reported).
        seed: Seed of the candidate latents.
        log: Told the loss now and then, if given.

    Returns:
        A `Projection`.
    """
    targets = np.asarray(targets)
    began = time.perf_counter()
    loss = _Loss(targets, features, config)
    labels = None if labels is None else np.asarray(labels)
    z = tf.Variable(_starting_latents(images_fn, loss, len(targets), latent_dim, labels,
                                      config, seed))
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.steps)
    optimizer = keras.optimizers.Adam(schedule)
    label_tensor = None if labels is None else tf.constant(labels)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            total, _, _ = loss.terms(images_fn(z, label_tensor), z)
            # Summed, not averaged: each target's latent gets its own loss's gradient.
            objective = tf.reduce_sum(total)
        optimizer.apply_gradients([(tape.gradient(objective, z), z)])
        return tf.reduce_mean(total)

    history = []
    for i in range(config.steps):
        history.append(float(step()))
        if log and (i + 1) % 100 == 0:
            log(f"projection step {i + 1}/{config.steps}: loss {history[-1]:.4f}")
    final = images_fn(z, label_tensor)
    _, _, feature = loss.terms(final, z, report=True)
    reconstructions = np.asarray(to_uint8(final))
    return Projection(z.numpy(), reconstructions, pixel_rmse(reconstructions, targets),
                      feature.numpy(), np.asarray(history, np.float32),
                      time.perf_counter() - began)
