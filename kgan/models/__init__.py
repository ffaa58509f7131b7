"""Generator and discriminator architectures, built from a `ModelConfig`."""

import dataclasses
import re
from typing import Callable

import keras

from kgan.config import ModelConfig
from kgan.errors import ConfigError, lookup
from kgan.models.body import DiscriminatorBase, GeneratorBase
from kgan.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_stages
from kgan.models.layers import MinibatchDiscrimination, MinibatchStddev, SpectralNorm
from kgan.models.mlp import MLPDiscriminator, MLPGenerator
from kgan.models.resnet import (DiscriminatorBlock, GeneratorBlock, GlobalSumPooling2D,
                                NearestUpsampling2D, ResNetDiscriminator, ResNetGenerator)
from kgan.models.translation import PatchDiscriminator, ResnetTranslator, UNetGenerator


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Builders of an architecture's two networks from a `ModelConfig` and
    whether BatchNorm (if any) is synchronized across replicas."""

    generator: Callable[[ModelConfig, bool], keras.Model]
    discriminator: Callable[[ModelConfig, bool], keras.Model]


def _generator_labels(c: ModelConfig) -> dict:
    return {"num_labels": c.num_labels, "label_embedding_dim": c.label_embedding_dim,
            "name": "generator"}


def _discriminator_labels(c: ModelConfig) -> dict:
    return {"num_labels": c.num_labels, "name": "discriminator"}


def _discriminator_options(c: ModelConfig) -> dict:
    """The discriminator options every architecture takes, plus the labels."""
    return {"spectral_norm": c.spectral_norm, "minibatch_std": c.minibatch_std,
            "minibatch_discrimination": c.minibatch_discrimination,
            "minibatch_kernel_dim": c.minibatch_kernel_dim, **_discriminator_labels(c)}


def _without_normalization(build):
    """`build`, refusing `d_normalization="layer"` for a discriminator that
    has no normalization layers to replace (the default "batch" is accepted
    and means the architecture's own choice)."""

    def checked(c: ModelConfig, sync: bool) -> keras.Model:
        if c.d_normalization == "layer":
            raise ConfigError(f"model.d_normalization 'layer' applies to the dcgan "
                              f"discriminator; the {c.architecture} discriminator has no "
                              "normalization layers")
        return build(c, sync)

    return checked


ARCHITECTURES = {
    "mlp": Architecture(
        generator=lambda c, sync: MLPGenerator(c.latent_dim, c.image_shape, c.hidden_units,
                                               **_generator_labels(c)),
        discriminator=_without_normalization(lambda c, sync: MLPDiscriminator(
            c.image_shape, tuple(reversed(c.hidden_units)), **_discriminator_options(c))),
    ),
    "dcgan": Architecture(
        generator=lambda c, sync: DCGANGenerator(c.latent_dim, c.image_shape, c.base_filters,
                                                 c.kernel_size, synchronized_batch_norm=sync,
                                                 **_generator_labels(c)),
        discriminator=lambda c, sync: DCGANDiscriminator(
            c.image_shape, c.base_filters, c.kernel_size, synchronized_batch_norm=sync,
            normalization=c.d_normalization, **_discriminator_options(c)),
    ),
    # 3x3 convolutions throughout: `kernel_size` is DCGAN's only.
    "resnet": Architecture(
        generator=lambda c, sync: ResNetGenerator(c.latent_dim, c.image_shape, c.base_filters,
                                                  synchronized_batch_norm=sync,
                                                  **_generator_labels(c)),
        discriminator=_without_normalization(lambda c, sync: ResNetDiscriminator(
            c.image_shape, c.base_filters, **_discriminator_options(c))),
    ),
}


def get_architecture(name: str) -> Architecture:
    return lookup(ARCHITECTURES, name, "model")


def _checked(config: ModelConfig) -> Architecture:
    if config.image_shape is None or (config.conditional and not config.label_names):
        raise ConfigError("model.image_shape or the labels are not set; resolve the config "
                          "against its dataset first (kgan.data.resolve)")
    return get_architecture(config.architecture)


def _with_labels(shape, config: ModelConfig):
    return [shape, (None, config.num_labels)] if config.num_labels else shape


def build_generator(config: ModelConfig, synchronized_batch_norm: bool = False) -> keras.Model:
    """Builds (with weights) the generator that `config` describes.

    A conditional generator is called as `generator([z, label_vectors])`.
    `synchronized_batch_norm` makes BatchNorm statistics global under a
    distribution strategy (no effect on the weights or on inference).
    """
    generator = _checked(config).generator(config, synchronized_batch_norm)
    generator.build(_with_labels((None, config.latent_dim), config))
    return generator


def build_discriminator(config: ModelConfig,
                        synchronized_batch_norm: bool = False) -> keras.Model:
    """Builds (with weights) the discriminator that `config` describes.

    A conditional discriminator is called as `discriminator([images, label_vectors])`.
    With `pack` m > 1 (PacGAN) it judges m images at once, concatenated
    along the channels: `[batch, height, width, m * channels]`.
    """
    discriminator = _checked(config).discriminator(config, synchronized_batch_norm)
    height, width, channels = config.image_shape
    discriminator.build(_with_labels((None, height, width, channels * config.pack), config))
    return discriminator


def _layer_path(variable_path: str) -> str:
    """A variable's path without Keras's per-process name suffixes
    (`generator_1/body/dense_3/kernel` -> `generator/body/dense/kernel`)."""
    return re.sub(r"_\d+(?=/|$)", "", variable_path.removesuffix(":0"))


def generator_with_weights(network: keras.Model, variables) -> keras.Model:
    """`network`, built and freshly initialized (e.g. the serving network of
    `kgan.tasks.task_of(config).build(config)`), given `variables` (a loaded
    export's, which tracks that network's variables first, in order, and
    those of any other served network, a classifier, after them).

    Pairs are matched by position and must agree in path (up to the numeric
    suffixes Keras adds to names already used in a process) and shape, so
    weights of a differently built network are refused, never half-loaded.

    Returns:
        `network`, holding the weights.

    Raises:
        ValueError: naming the first mismatch.
    """
    saved, wanted = list(variables), list(network.variables)
    if len(saved) < len(wanted):
        raise ValueError(f"{len(saved)} variables where the generator has {len(wanted)}")
    saved = saved[:len(wanted)]
    for source, target in zip(saved, wanted):
        if _layer_path(source.name) != _layer_path(target.path) or source.shape != target.shape:
            raise ValueError(f"{_layer_path(source.name)} {source.shape.as_list()} where the "
                             f"generator has {_layer_path(target.path)} "
                             f"{target.shape.as_list()}")
    for source, target in zip(saved, wanted):
        target.assign(source)
    return network


__all__ = [
    "ARCHITECTURES", "Architecture", "DCGANDiscriminator", "DCGANGenerator", "DiscriminatorBase",
    "DiscriminatorBlock", "GeneratorBase", "GeneratorBlock", "GlobalSumPooling2D",
    "MLPDiscriminator", "MLPGenerator", "MinibatchDiscrimination", "MinibatchStddev", "NearestUpsampling2D",
    "ResNetDiscriminator", "ResNetGenerator", "SpectralNorm", "build_discriminator",
    "build_generator", "dcgan_stages", "generator_with_weights", "get_architecture",
]
