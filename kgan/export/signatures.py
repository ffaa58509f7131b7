"""The serving signatures of an exported generator.

Every signature returns `{"images": uint8 [batch, height, width, channels]}`
in 0..255, computed with BatchNorm in inference mode, so a client can encode
the images as PNG directly:

* `serving_default`: `z` float32 `[batch, latent_dim]`, standard-normal latents.
* `generate_from_seed`: `seed` int64 `[batch]`, one image per seed. The latent
  of seed s is `stateless_normal([latent_dim], seed=[s, 0], alg="philox")`:
  Philox is counter-based and specified bit for bit, so a seed gives the same
  image on every call, every machine and every device type.

A conditional generator takes a `labels` input in both signatures, one row
per image: int32 class ids `[batch]` (MNIST digits; an id outside the
classes is an InvalidArgument error, not a silent blank label), or float32
attribute vectors `[batch, num_attributes]` (CelebA; 1 = present, 0 =
absent; values in between give intermediate strengths).
"""

import dataclasses
from typing import Callable

import tensorflow as tf

from kgan.conditioning import label_vectors
from kgan.config import ModelConfig
from kgan.images import to_uint8

SERVING_SIGNATURE = "serving_default"
SEED_SIGNATURE = "generate_from_seed"
OUTPUT_KEY = "images"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A serving function and the tensor specs it is traced for."""

    fn: Callable
    input_signature: list


def latents_from_seeds(seeds, latent_dim: int) -> tf.Tensor:
    """One standard-normal latent per int64 seed, reproducible anywhere."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    return tf.map_fn(
        lambda seed: tf.random.stateless_normal(
            [latent_dim], seed=tf.stack([seed, tf.zeros_like(seed)]), alg="philox"),
        seeds, fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))


def labels_spec(model: ModelConfig) -> tf.TensorSpec | None:
    """The `labels` input of a conditional generator's signatures (None if unconditional)."""
    if not model.num_labels:
        return None
    if model.label_kind == "class":
        return tf.TensorSpec([None], tf.int32, name="labels")
    return tf.TensorSpec([None, model.num_labels], tf.float32, name="labels")


def checked_label_vectors(labels, model: ModelConfig) -> tf.Tensor:
    """`labels` as the generator's label vectors, refusing class ids out of range."""
    if model.label_kind == "class":
        labels = tf.convert_to_tensor(labels, tf.int32)
        tf.debugging.assert_non_negative(labels, message="labels must be class ids >= 0")
        tf.debugging.assert_less(labels, tf.constant(model.num_labels, tf.int32),
                                 message=f"labels must be class ids < {model.num_labels}")
    return label_vectors(labels, model.label_kind, model.num_labels)


def endpoints(generator, model: ModelConfig) -> dict[str, Endpoint]:
    """The signatures of `generator` (built from `model`), by signature name."""
    latent_dim = model.latent_dim
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    seed_spec = tf.TensorSpec([None], tf.int64, name="seed")
    label_spec = labels_spec(model)

    if label_spec is None:
        def from_latents(z):
            return {OUTPUT_KEY: to_uint8(generator(z, training=False))}

        def from_seeds(seed):
            return from_latents(latents_from_seeds(seed, latent_dim))

        return {SERVING_SIGNATURE: Endpoint(from_latents, [z_spec]),
                SEED_SIGNATURE: Endpoint(from_seeds, [seed_spec])}

    def from_latents_and_labels(z, labels):
        vectors = checked_label_vectors(labels, model)
        return {OUTPUT_KEY: to_uint8(generator([z, vectors], training=False))}

    def from_seeds_and_labels(seed, labels):
        return from_latents_and_labels(latents_from_seeds(seed, latent_dim), labels)

    return {SERVING_SIGNATURE: Endpoint(from_latents_and_labels, [z_spec, label_spec]),
            SEED_SIGNATURE: Endpoint(from_seeds_and_labels, [seed_spec, label_spec])}
