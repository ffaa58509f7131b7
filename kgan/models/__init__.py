"""Generator and discriminator architectures, built from a `ModelConfig`."""

import dataclasses
from typing import Callable

import keras

from kgan.config import ModelConfig
from kgan.errors import ConfigError, lookup
from kgan.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_stages
from kgan.models.mlp import MLPDiscriminator, MLPGenerator


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Builders of an architecture's two networks from a `ModelConfig`."""

    generator: Callable[[ModelConfig], keras.Model]
    discriminator: Callable[[ModelConfig], keras.Model]


ARCHITECTURES = {
    "mlp": Architecture(
        generator=lambda c: MLPGenerator(c.latent_dim, c.image_shape, c.hidden_units,
                                         name="generator"),
        discriminator=lambda c: MLPDiscriminator(c.image_shape, tuple(reversed(c.hidden_units)),
                                                 name="discriminator"),
    ),
    "dcgan": Architecture(
        generator=lambda c: DCGANGenerator(c.latent_dim, c.image_shape, c.base_filters,
                                           c.kernel_size, name="generator"),
        discriminator=lambda c: DCGANDiscriminator(c.image_shape, c.base_filters, c.kernel_size,
                                                   name="discriminator"),
    ),
}


def get_architecture(name: str) -> Architecture:
    return lookup(ARCHITECTURES, name, "model")


def _checked(config: ModelConfig) -> Architecture:
    if config.image_shape is None:
        raise ConfigError("model.image_shape is not set; resolve the config against its "
                          "dataset first (kgan.data.resolve)")
    return get_architecture(config.architecture)


def build_generator(config: ModelConfig) -> keras.Model:
    """Builds (with weights) the generator that `config` describes."""
    generator = _checked(config).generator(config)
    generator.build((None, config.latent_dim))
    return generator


def build_discriminator(config: ModelConfig) -> keras.Model:
    """Builds (with weights) the discriminator that `config` describes."""
    discriminator = _checked(config).discriminator(config)
    discriminator.build((None, *config.image_shape))
    return discriminator


__all__ = [
    "ARCHITECTURES", "Architecture", "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator",
    "MLPGenerator", "build_discriminator", "build_generator", "dcgan_stages", "get_architecture",
]
