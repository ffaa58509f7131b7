"""Residual GAN networks in the style of SNGAN (Miyato et al. 2018, arXiv
1802.05957, Appendix B.4) and the ResNet of Gulrajani et al. 2017 (arXiv
1704.00028), for any image size `dcgan_stages` accepts.

Geometry and widths follow the DCGAN networks of this package, so that
`base_filters` means the same and the cost stays in reach of a small CPU:
the generator starts at 4-7 pixels (28x28: 7x7 and two up-blocks; 64x64:
4x4 and four) with `base_filters * 2 ** (stages - 1)` channels, each
up-block halves the width down to `base_filters`, and the last up-block (at
full resolution) keeps `base_filters`. The discriminator mirrors it: its
k-th down-block outputs `base_filters * 2 ** k` channels at 1/2^(k+1) of the
image size. (SNGAN's 32x32 networks keep a constant width instead; doubling
toward low resolution, as DCGAN and BigGAN do, spends the channels where the
feature maps are small.)

Weights use Keras's Glorot-uniform initialization, as SNGAN's reference code
does, not DCGAN's N(0, 0.02): at the fan-ins of 3x3 convolutions (576 inputs
for 64 channels) a standard deviation of 0.02 shrinks the activations two- to
threefold per convolution, and the discriminator has no normalization layer to
undo that.

Conditioning goes through `GeneratorBase` (a label embedding concatenated to
z) and `DiscriminatorBase` (projection); there is no class-conditional
BatchNorm.
"""

import keras
import tensorflow as tf

from kgan.models.body import DiscriminatorBase, GeneratorBase
from kgan.models.dcgan import dcgan_stages
from kgan.models.layers import MinibatchStddev, SpectralNorm


def _batch_norm(synchronized, name=None):
    # DCGAN's settings (the PyTorch defaults), as in kgan.models.dcgan.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=synchronized,
                                           name=name)


def _conv(filters, kernel_size, use_bias=True, name=None):
    return keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias,
                               kernel_initializer="glorot_uniform", name=name)


def _scaled(shape, factor, channels):
    return (shape[0], None if shape[1] is None else shape[1] * factor,
            None if shape[2] is None else shape[2] * factor, channels)


def _downscaled(shape, channels):
    return (shape[0], None if shape[1] is None else shape[1] // 2,
            None if shape[2] is None else shape[2] // 2, channels)


@keras.saving.register_keras_serializable(package="kgan")
class NearestUpsampling2D(keras.layers.Layer):
    """Doubles the height and width of `[N, H, W, C]` by repeating each
    pixel 2x2 (nearest-neighbour upsampling).

    Written as `depth_to_space(tile(x, 4 along channels), 2)`: output pixel
    (2h + i, 2w + j) takes channel block 2i + j, a copy of pixel (h, w).
    Both ops are TFLite builtins (TILE, DEPTH_TO_SPACE), XLA compiles them
    and their gradients, and the spatial shape stays static with an unknown
    batch. The alternatives each fail one of these: `keras.layers.
    UpSampling2D` repeats along each axis, which leaves the height unknown
    in a graph traced with a dynamic batch (the TFLite converter then fails
    on the next bias-free convolution); a nearest-neighbour resize has no
    XLA gradient (ResizeNearestNeighborGrad), so `jit_compile` training
    fails.
    """

    def call(self, inputs):
        return tf.nn.depth_to_space(tf.tile(inputs, [1, 1, 1, 4]), 2)

    def compute_output_shape(self, input_shape):
        return _scaled(input_shape, 2, input_shape[-1])


@keras.saving.register_keras_serializable(package="kgan")
class GeneratorBlock(keras.layers.Layer):
    """An up-sampling residual block (SNGAN/BigGAN generator): the residual
    branch is BN -> ReLU -> nearest x2 upsample -> 3x3 conv -> BN -> ReLU ->
    3x3 conv; the shortcut is a nearest x2 upsample and a 1x1 conv; the
    output is their sum. A 1x1 convolution gives the same result before or
    after a nearest-neighbour upsample, so the shortcut convolves first, on a
    quarter of the pixels.

    Every op is a TFLite builtin (BatchNorm folds into multiply-adds at
    inference). The first convolution has no bias (BatchNorm follows it),
    nor has the shortcut (one bias in the sum is enough).

    Args:
        filters: Output channels.
        synchronized_batch_norm: Under a distribution strategy, BatchNorm
            statistics over the global batch.
        **kwargs: Standard layer arguments.
    """

    def __init__(self, filters, synchronized_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.norm1 = _batch_norm(self.synchronized_batch_norm, name="norm1")
        self.conv1 = _conv(self.filters, 3, use_bias=False, name="conv1")
        self.norm2 = _batch_norm(self.synchronized_batch_norm, name="norm2")
        self.conv2 = _conv(self.filters, 3, name="conv2")
        self.shortcut = _conv(self.filters, 1, use_bias=False, name="shortcut")
        self.upsample = NearestUpsampling2D()
        self.relu = keras.layers.ReLU()

    def build(self, input_shape):
        upsampled = _scaled(input_shape, 2, input_shape[-1])
        self.norm1.build(input_shape)
        self.conv1.build(upsampled)
        self.norm2.build(_scaled(input_shape, 2, self.filters))
        self.conv2.build(_scaled(input_shape, 2, self.filters))
        self.shortcut.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        h = self.upsample(self.relu(self.norm1(inputs, training=training)))
        h = self.conv1(h)
        h = self.conv2(self.relu(self.norm2(h, training=training)))
        return h + self.upsample(self.shortcut(inputs))

    def compute_output_shape(self, input_shape):
        return _scaled(input_shape, 2, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, synchronized_batch_norm=self.synchronized_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class DiscriminatorBlock(keras.layers.Layer):
    """A down-sampling residual block (SNGAN discriminator), without normalization.

    Residual branch: ReLU -> 3x3 conv -> ReLU -> 3x3 conv -> 2x2 average
    pool. With `first=True` it is SNGAN's "optimized" input block: no ReLU
    before the first convolution (it sees the image itself). The shortcut
    is a 1x1 convolution and a 2x2 average pool. SNGAN convolves before
    pooling in later blocks; for a 1x1 convolution the two orders give the
    same result (both are linear and act on different axes), so the shortcut
    always pools first, on a quarter of the pixels.

    Args:
        filters: Output channels.
        first: The input block (see above).
        spectral_norm: Wrap the three convolutions in `SpectralNorm`.
        **kwargs: Standard layer arguments.
    """

    def __init__(self, filters, first=False, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.first = bool(first)
        self.spectral_norm = bool(spectral_norm)
        wrap = (lambda layer: SpectralNorm(layer, name=layer.name)) if self.spectral_norm \
            else (lambda layer: layer)
        self.conv1 = wrap(_conv(self.filters, 3, name="conv1"))
        self.conv2 = wrap(_conv(self.filters, 3, name="conv2"))
        # No bias on the shortcut: one bias in the sum is enough, and with one
        # TensorFlow's grappler remapper fails on the double backprop of R1 or
        # a gradient penalty (it fuses Conv2D+BiasAdd+Add whose sum the
        # gradient still reads) and prints an error.
        self.shortcut = wrap(_conv(self.filters, 1, use_bias=False, name="shortcut"))
        self.pool = keras.layers.AveragePooling2D(2)
        self.relu = keras.layers.ReLU()

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build((*input_shape[:3], self.filters))
        self.shortcut.build(_downscaled(input_shape, input_shape[-1]))
        self.built = True

    def call(self, inputs):
        # (A SpectralNorm convolution gets `training` from Keras's call context.)
        h = self.conv1(inputs if self.first else self.relu(inputs))
        h = self.pool(self.conv2(self.relu(h)))
        return h + self.shortcut(self.pool(inputs))

    def compute_output_shape(self, input_shape):
        return _downscaled(input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, first=self.first, spectral_norm=self.spectral_norm)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sums `[N, H, W, C]` over height and width to `[N, C]`, as SNGAN's
    discriminator does (a mean would scale the logit and its gradients down
    by the number of pixels)."""

    def call(self, inputs):
        return keras.ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


def _generator_widths(base_filters, stages):
    """Channels at each resolution, from the start size up to the full size."""
    return [base_filters * 2 ** max(stages - 1 - level, 0) for level in range(stages + 1)]


@keras.saving.register_keras_serializable(package="kgan")
class ResNetGenerator(GeneratorBase):
    """Dense projection to a small feature map, `GeneratorBlock`s doubling
    the resolution up to the image size, then BN -> ReLU -> 3x3 conv ->
    tanh (images in [-1, 1], float32 under any precision policy).

    Args:
        latent_dim: Size of the latent vector z.
        image_shape: (height, width, channels) of the generated images.
        base_filters: Channels at the two highest resolutions; each earlier
            block has twice as many (see the module docstring).
        synchronized_batch_norm: Under a distribution strategy, BatchNorm
            statistics over the global batch instead of each replica's.
        **kwargs: `GeneratorBase` arguments (`num_labels`,
            `label_embedding_dim`) and standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim, image_shape, base_filters=64, synchronized_batch_norm=False,
                 **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.base_filters = int(base_filters)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        height, width, channels = self.image_shape
        (start_h, start_w), stages = dcgan_stages(height, width)
        widths = _generator_widths(self.base_filters, stages)
        layers = [
            keras.layers.Dense(start_h * start_w * widths[0], kernel_initializer="glorot_uniform"),
            keras.layers.Reshape((start_h, start_w, widths[0])),
        ]
        layers += [GeneratorBlock(w, self.synchronized_batch_norm) for w in widths[1:]]
        layers += [
            _batch_norm(self.synchronized_batch_norm),
            keras.layers.ReLU(),
            _conv(channels, 3),
            keras.layers.Activation("tanh", dtype="float32"),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, base_filters=self.base_filters,
                      synchronized_batch_norm=self.synchronized_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class ResNetDiscriminator(DiscriminatorBase):
    """`DiscriminatorBlock`s halving the resolution down to 4-7 pixels, then
    ReLU and global sum pooling to the features of the logit.

    No normalization layers: input-gradient penalties (R1, WGAN-GP) are per
    example; `spectral_norm` is the SNGAN discriminator.

    Args:
        image_shape: (height, width, channels) of the input images.
        base_filters: Channels of the first block; each later block has
            twice as many.
        spectral_norm: Wrap every convolution and the logit layer (and a
            conditional discriminator's label projection) in `SpectralNorm`
            (Miyato et al. 2018).
        minibatch_std: Group size of a `MinibatchStddev` channel (Karras et
            al. 2018) appended before the last block, so that block's
            convolutions can use it, as ProGAN's last block does; 0 leaves
            it out.
        **kwargs: `DiscriminatorBase` arguments (`num_labels`) and standard
            `keras.Model` arguments.
    """

    def __init__(self, image_shape, base_filters=64, spectral_norm=False, minibatch_std=0,
                 **kwargs):
        super().__init__(spectral_norm=spectral_norm, **kwargs)
        if int(minibatch_std) < 0:
            raise ValueError(f"minibatch_std must be >= 0, got {minibatch_std}")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.base_filters = int(base_filters)
        self.minibatch_std = int(minibatch_std)
        _, stages = dcgan_stages(*self.image_shape[:2])
        layers = []
        for stage in range(stages):
            if self.minibatch_std and stage == stages - 1:
                layers.append(MinibatchStddev(self.minibatch_std))
            layers.append(DiscriminatorBlock(self.base_filters * 2 ** stage, first=stage == 0,
                                             spectral_norm=self.spectral_norm))
        layers += [
            keras.layers.ReLU(),
            # Summed in float32: the features feed the float32 logit.
            GlobalSumPooling2D(dtype="float32"),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, base_filters=self.base_filters,
                      minibatch_std=self.minibatch_std)
        return config


__all__ = ["DiscriminatorBlock", "GeneratorBlock", "GlobalSumPooling2D", "NearestUpsampling2D",
           "ResNetDiscriminator", "ResNetGenerator"]
