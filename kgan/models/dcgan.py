"""DCGAN (Radford et al., 2016) for any image size that halves down to 4-7 pixels.

The same two classes build the 28x28x1 MNIST networks and the 64x64x3 CelebA
networks: the number of stride-2 stages follows from the image size (28 -> 14
-> 7 gives two; 64 -> 32 -> 16 -> 8 -> 4 gives four) and filters double at
each halving of the resolution.
"""

import keras

from kgan.errors import ConfigError
from kgan.models.body import DiscriminatorBase, GeneratorBase

_MIN_SIDE = 4


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

    BatchNorm follows every convolution except the first (DCGAN leaves the
    discriminator's input layer unnormalized). The convolutions have no bias,
    as in the reference DCGAN code: on the first one a bias also makes
    TensorFlow's grappler remapper fail (it cannot fuse Conv2D+BiasAdd+
    LeakyReLU when the gradient reads the BiasAdd) and print an error.

    Args:
        image_shape: (height, width, channels) of the input images.
        base_filters: Filters of the first convolution; each later stage has
            twice as many.
        kernel_size: Convolution kernel size.
        synchronized_batch_norm: Under a distribution strategy, BatchNorm
            statistics over the global batch instead of each replica's.
        **kwargs: `DiscriminatorBase` arguments (`num_labels`) and standard
            `keras.Model` arguments.
    """

    def __init__(self, image_shape, base_filters=64, kernel_size=4,
                 synchronized_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.base_filters = int(base_filters)
        self.kernel_size = int(kernel_size)
        _, stages = dcgan_stages(*self.image_shape[:2])
        layers = []
        for stage in range(stages):
            layers.append(keras.layers.Conv2D(self.base_filters * 2 ** stage, self.kernel_size,
                                              strides=2, padding="same", use_bias=False,
                                              kernel_initializer=_dcgan_init()))
            if stage > 0:
                layers.append(_batch_norm(self.synchronized_batch_norm))
            layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
        layers.append(keras.layers.Flatten())
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, base_filters=self.base_filters,
                      kernel_size=self.kernel_size,
                      synchronized_batch_norm=self.synchronized_batch_norm)
        return config
