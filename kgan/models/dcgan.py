"""DCGAN (Radford et al., 2016) for any image size that halves down to 4-7 pixels.

The same two classes build the 28x28x1 MNIST networks and the 64x64x3 CelebA
networks: the number of stride-2 stages follows from the image size (28 -> 14
-> 7 gives two; 64 -> 32 -> 16 -> 8 -> 4 gives four) and filters double at
each halving of the resolution.
"""

import keras

from kgan.errors import ConfigError
from kgan.models.body import DiscriminatorBase, GeneratorBase
from kgan.models.layers import MinibatchStddev

_MIN_SIDE = 4

# Discriminator normalizations (`DCGANDiscriminator(normalization=...)`).
NORMALIZATIONS = ("batch", "layer", "none")


def dcgan_stages(height, width):
    """Returns ((start_height, start_width), number of stride-2 stages).

    The image is halved while both sides stay even and at least 4 pixels, so
    28 -> 7 (2 stages), 32 -> 4 (3 stages), 64 -> 4 (4 stages).

    Raises:
        ConfigError: if the size cannot be halved even once.
    """
    stages = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= _MIN_SIDE:
        height, width, stages = height // 2, width // 2, stages + 1
    if stages == 0:
        raise ConfigError(f"DCGAN needs image sides that halve to at least {_MIN_SIDE} pixels "
                          f"(e.g. 28, 32, 64), got {height}x{width}")
    return (height, width), stages


def _dcgan_init():
    # Radford et al., Sec. 4: all weights from N(0, 0.02).
    return keras.initializers.RandomNormal(stddev=0.02)


def _batch_norm(synchronized):
    # Momentum and epsilon of the reference DCGAN implementations (PyTorch defaults).
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=synchronized)


def _layer_norm():
    # One group: normalization over each example's (height, width, channels),
    # scale and offset per channel (see DCGANDiscriminator).
    return keras.layers.GroupNormalization(groups=1, epsilon=1e-5)


@keras.saving.register_keras_serializable(package="kgan")
class DCGANGenerator(GeneratorBase):
    """Dense projection to a small feature map, then stride-2 transposed convolutions.

    BatchNorm and ReLU follow every layer except the output, which is a tanh
    giving images in [-1, 1].

    Args:
        latent_dim: Size of the latent vector z.
        image_shape: (height, width, channels) of the generated images.
        base_filters: Filters of the last hidden stage (highest resolution);
            each earlier stage has twice as many.
        kernel_size: Transposed-convolution kernel size.
        synchronized_batch_norm: Under a distribution strategy, BatchNorm
            statistics over the global batch instead of each replica's.
        **kwargs: `GeneratorBase` arguments (`num_labels`,
            `label_embedding_dim`) and standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim, image_shape, base_filters=64, kernel_size=4,
                 synchronized_batch_norm=False, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.base_filters = int(base_filters)
        self.kernel_size = int(kernel_size)
        height, width, channels = self.image_shape
        (start_h, start_w), stages = dcgan_stages(height, width)
        filters = [self.base_filters * 2 ** (stages - 1 - i) for i in range(stages)]
        layers = [
            keras.layers.Dense(start_h * start_w * filters[0], use_bias=False,
                               kernel_initializer=_dcgan_init()),
            _batch_norm(self.synchronized_batch_norm),
            keras.layers.ReLU(),
            keras.layers.Reshape((start_h, start_w, filters[0])),
        ]
        for stage_filters in filters[1:]:
            layers += [
                keras.layers.Conv2DTranspose(stage_filters, self.kernel_size, strides=2,
                                             padding="same", use_bias=False,
                                             kernel_initializer=_dcgan_init()),
                _batch_norm(self.synchronized_batch_norm),
                keras.layers.ReLU(),
            ]
        layers += [
            keras.layers.Conv2DTranspose(channels, self.kernel_size, strides=2, padding="same",
                                         kernel_initializer=_dcgan_init()),
            keras.layers.Activation("tanh", dtype="float32"),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, base_filters=self.base_filters,
                      kernel_size=self.kernel_size,
                      synchronized_batch_norm=self.synchronized_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class DCGANDiscriminator(DiscriminatorBase):
    """Stride-2 convolutions with LeakyReLU, then one dense logit.

    A normalization layer follows every convolution except the first (DCGAN
    leaves the discriminator's input layer unnormalized). The convolutions
    have no bias, as in the reference DCGAN code: on the first one a bias
    also makes TensorFlow's grappler remapper fail (it cannot fuse Conv2D+
    BiasAdd+LeakyReLU when the gradient reads the BiasAdd) and print an error.

    `normalization="batch"` is DCGAN's BatchNorm. BatchNorm mixes the
    examples of a batch, so a penalty on each example's input gradient (R1,
    R2, WGAN-GP) is only per example with `"layer"` or `"none"`. `"layer"` is
    layer normalization (Ba et al. 2016) over each example's whole feature
    map (height, width and channels together) with a learned scale and offset
    per channel, as in the WGAN-GP critic of Gulrajani et al. 2017; it is
    built as `GroupNormalization` with one group, which is exactly that (Wu &
    He 2018), and unlike `LayerNormalization(axis=[1, 2, 3])` its parameters
    do not grow with the resolution.

    Args:
        image_shape: (height, width, channels) of the input images.
        base_filters: Filters of the first convolution; each later stage has
            twice as many.
        kernel_size: Convolution kernel size.
        synchronized_batch_norm: Under a distribution strategy, BatchNorm
            statistics over the global batch instead of each replica's.
        normalization: `"batch"`, `"layer"` or `"none"` (see above).
        spectral_norm: Wrap every convolution, and the logit layer, in
            `SpectralNorm` (Miyato et al. 2018).
        minibatch_std: Group size of a `MinibatchStddev` feature (Karras et
            al. 2018) appended as one more channel after the last
            convolution's activation, before the flatten; 0 leaves it out.
        **kwargs: `DiscriminatorBase` arguments (`num_labels`) and standard
            `keras.Model` arguments.
    """

    def __init__(self, image_shape, base_filters=64, kernel_size=4,
                 synchronized_batch_norm=False, normalization="batch", spectral_norm=False,
                 minibatch_std=0, **kwargs):
        super().__init__(spectral_norm=spectral_norm, **kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                             f"got {normalization!r}")
        if int(minibatch_std) < 0:
            raise ValueError(f"minibatch_std must be >= 0, got {minibatch_std}")
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.base_filters = int(base_filters)
        self.kernel_size = int(kernel_size)
        self.normalization = normalization
        self.minibatch_std = int(minibatch_std)
        _, stages = dcgan_stages(*self.image_shape[:2])
        # With every option at its default, the layers (kinds, order, and
        # so the variable paths) are those of the original DCGAN
        # discriminator, whose checkpoints must keep loading.
        layers = []
        for stage in range(stages):
            layers.append(self._maybe_normalized(keras.layers.Conv2D(
                self.base_filters * 2 ** stage, self.kernel_size, strides=2, padding="same",
                use_bias=False, kernel_initializer=_dcgan_init())))
            if stage > 0 and self.normalization != "none":
                layers.append(_batch_norm(self.synchronized_batch_norm)
                              if self.normalization == "batch" else _layer_norm())
            layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
        if self.minibatch_std:
            layers.append(MinibatchStddev(self.minibatch_std))
        layers.append(keras.layers.Flatten())
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, base_filters=self.base_filters,
                      kernel_size=self.kernel_size,
                      synchronized_batch_norm=self.synchronized_batch_norm,
                      normalization=self.normalization, minibatch_std=self.minibatch_std)
        return config
