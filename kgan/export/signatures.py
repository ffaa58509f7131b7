"""The serving signatures of an exported generator.

Every signature returns `{"images": uint8 [batch, height, width, channels]}`
in 0..255, computed with BatchNorm in inference mode, so a client can encode
the images as PNG directly:

* `serving_default`: `z` float32 `[batch, latent_dim]`, standard-normal latents.
* `generate_from_seed`: `seed` int64 `[batch]`, one image per seed. The latent
  of seed s is `stateless_normal([latent_dim], seed=[s, 0], alg="philox")`:
  Philox is counter-based and specified bit for bit, so a seed gives the same
  image on every call, every machine and every device type.

A conditional generator (later) adds a `labels` input to both; the endpoint
table below is where it goes.
"""

import dataclasses
from typing import Callable

import tensorflow as tf

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


def endpoints(generator, latent_dim: int) -> dict[str, Endpoint]:
    """The signatures of `generator`, by signature name."""

    def from_latents(z):
        return {OUTPUT_KEY: to_uint8(generator(z, training=False))}

    def from_seeds(seed):
        return from_latents(latents_from_seeds(seed, latent_dim))

    return {
        SERVING_SIGNATURE: Endpoint(from_latents,
                                    [tf.TensorSpec([None, latent_dim], tf.float32, name="z")]),
        SEED_SIGNATURE: Endpoint(from_seeds, [tf.TensorSpec([None], tf.int64, name="seed")]),
    }
