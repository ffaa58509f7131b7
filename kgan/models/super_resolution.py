"""Networks of super-resolution: SRResNet and SRGAN's VGG-style discriminator
(Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", CVPR, arXiv 1609.04802, Fig. 4).

`SRResNet` works on the low-resolution (LR) image and enlarges it only at
the end, by sub-pixel convolution (Shi et al. 2016): a convolution to 4x
the channels, then `depth_to_space(2)` (TFLite builtin DEPTH_TO_SPACE)
rearranges them into a 2x larger image, once per factor of 2. Two
departures from the paper, both for a generator that learns in CPU-minutes
rather than GPU-days, each with its reason:

* No batch normalization in the residual blocks (EDSR, Lim et al. 2017;
  ESRGAN, Wang et al. 2018): BN's batch statistics differ between training
  crops and whole served images, which shows as artifacts, and it costs
  time and memory while the residual blocks train without it.
* The last factor of 2 goes from the features straight to the image: a
  3x3 convolution to 12 channels, then `depth_to_space` (ESPCN, Shi et al.
  2016), instead of the paper's upsampling stage followed by a 9x9
  convolution at high resolution. A convolution to 3 channels over the
  HR image was the step's bottleneck here: 2.4 CPU-s for a batch of 16
  96x96 crops with its gradients, against 0.6 s for this network's whole
  update (oneDNN is inefficient at few output channels and large kernels;
  `bench/srgan_profile.py`).
* A global skip: the output is `tanh(atanh(up(x)) + r(x))`, where `up` is
  bilinear upsampling (TFLite builtin RESIZE_BILINEAR) and `r` the network
  with its last convolution starting at zero. A new SRResNet is thus
  bilinear interpolation, and training learns only the missing detail
  (the residual learning of VDSR, Kim et al. 2016).

Fully convolutional, so one trained network serves any input size.

`SRDiscriminator` is the paper's: eight 3x3 convolutions (filters base,
base, 2 base, 2 base, 4 base, 4 base, 8 base, 8 base; stride 2 on every
second), BatchNorm after all but the first, LeakyReLU 0.2, then a dense
layer of 16 base units, LeakyReLU, and one logit. It judges whole training
crops (`crop_size` square, a multiple of 16), so its input size is fixed.
"""

import keras
import tensorflow as tf  # `depth_to_space`, which Keras 3 has no op for

from kgan.models.translation import _Translator

# Inputs are clipped to +-(1 - 1e-3) before `atanh`, as SimGAN's refiner does.
_INPUT_LIMIT = 1.0 - 1e-3
# The discriminator halves its input this often.
DISCRIMINATOR_STRIDES = 4
SCALES = (2, 4, 8)


def _prelu(name=None):
    # One slope per channel, shared over the image (the paper's PReLU).
    return keras.layers.PReLU(shared_axes=[1, 2], name=name)


@keras.saving.register_keras_serializable(package="kgan")
class SubPixelUpsampling(keras.layers.Layer):
    """`[n, h, w, 4c]` -> `[n, 2h, 2w, c]` (`tf.nn.depth_to_space` with block 2)."""

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, 2)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c // 4)


@keras.saving.register_keras_serializable(package="kgan")
class SRResidualBlock(keras.layers.Layer):
    """conv3x3 -> PReLU -> conv3x3, added to the input (no normalization)."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.body = keras.Sequential([
            keras.layers.Conv2D(self.filters, 3, padding="same"),
            _prelu(),
            keras.layers.Conv2D(self.filters, 3, padding="same"),
        ], name="body")

    def build(self, input_shape):
        if not self.body.built:
            self.body.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return inputs + self.body(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="kgan")
class SRResNet(_Translator):
    """LR image `[n, h, w, 3]` -> HR image `[n, scale h, scale w, 3]`, both in [-1, 1].

    Args:
        scale: The enlargement, 2, 4 or 8.
        base_filters: Filters of every LR convolution (64 in the paper).
        blocks: Residual blocks (16 in the paper).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, scale=4, base_filters=64, blocks=16, **kwargs):
        kwargs.pop("input_channels", None)
        super().__init__(3, **kwargs)
        self.scale = int(scale)
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        self.base_filters = int(base_filters)
        self.blocks = int(blocks)
        filters = self.base_filters
        self.head = keras.Sequential([keras.layers.Conv2D(filters, 9, padding="same"),
                                      _prelu()], name="head")
        self.trunk = keras.Sequential([
            *[SRResidualBlock(filters) for _ in range(self.blocks)],
            keras.layers.Conv2D(filters, 3, padding="same"),
        ], name="trunk")
        upsampling = []
        for _ in range(self.scale.bit_length() - 2):
            upsampling += [keras.layers.Conv2D(4 * filters, 3, padding="same"),
                           SubPixelUpsampling(), _prelu()]
        self.tail = keras.Sequential([
            *upsampling,
            # The last factor of 2 is sub-pixel straight to the image's
            # channels; float32 detail, starting at zero: the identity path
            # is exact.
            keras.layers.Conv2D(4 * 3, 3, padding="same", kernel_initializer="zeros",
                                dtype="float32"),
            SubPixelUpsampling(dtype="float32"),
        ], name="tail")

    def build(self, input_shape):
        if self.built:
            return
        if len(input_shape) != 4 or input_shape[-1] != 3:
            raise ValueError(f"SRResNet takes [batch, height, width, 3] images, got shape "
                             f"{tuple(input_shape)}")
        self.head.build(input_shape)
        features = (*input_shape[:3], self.base_filters)
        self.trunk.build(features)
        self.tail.build(features)
        self.built = True

    def pre_tanh(self, inputs, training=None):
        features = self.head(inputs, training=training)
        detail = self.tail(features + self.trunk(features, training=training),
                           training=training)
        x = keras.ops.clip(self.enlarge(inputs), -_INPUT_LIMIT, _INPUT_LIMIT)
        # atanh through two logs: TFLite has LOG as a builtin, not ATANH, and
        # each log's argument stays within [0.001, 2], which int8 represents;
        # one log of the ratio (1 + x) / (1 - x), spanning 0.0005..2000, gave
        # a full_int8 model 4.6 dB PSNR against the SavedModel, this 42.6 dB.
        return (0.5 * (keras.ops.log(1.0 + x) - keras.ops.log(1.0 - x))
                + keras.ops.cast(detail, "float32"))

    def enlarge(self, inputs):
        """Bilinear upsampling by `scale` (half-pixel centres), in float32."""
        inputs = tf.cast(inputs, tf.float32)
        return tf.image.resize(inputs, tf.shape(inputs)[1:3] * self.scale, method="bilinear")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else self.scale * h,
                None if w is None else self.scale * w, 3)

    def get_config(self):
        config = super().get_config()
        config.pop("input_channels", None)
        config.update(scale=self.scale, base_filters=self.base_filters, blocks=self.blocks)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class SRDiscriminator(keras.Model):
    """HR crop `[n, crop_size, crop_size, 3]` -> one real-vs-fake logit `[n, 1]`
    (float32). See the module docstring.

    Args:
        crop_size: The side of the crops it judges, a multiple of 16.
        base_filters: Filters of the first convolutions (64 in the paper).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, crop_size=96, base_filters=64, **kwargs):
        super().__init__(**kwargs)
        self.crop_size = int(crop_size)
        self.base_filters = int(base_filters)
        if self.crop_size % 2 ** DISCRIMINATOR_STRIDES:
            raise ValueError(f"crop_size must be a multiple of {2 ** DISCRIMINATOR_STRIDES}, "
                             f"got {crop_size!r}")
        layers = []
        for index in range(2 * DISCRIMINATOR_STRIDES):
            filters = self.base_filters * 2 ** (index // 2)
            layers.append(keras.layers.Conv2D(filters, 3, strides=1 + index % 2,
                                              padding="same", use_bias=index == 0))
            if index:
                layers.append(keras.layers.BatchNormalization())
            layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
        layers += [keras.layers.Flatten(),
                   keras.layers.Dense(16 * self.base_filters),
                   keras.layers.LeakyReLU(negative_slope=0.2),
                   # float32 logits keep the losses exact under a mixed-precision policy.
                   keras.layers.Dense(1, dtype="float32")]
        self.body = keras.Sequential(layers, name="body")

    def build(self, input_shape):
        if self.built:
            return
        expected = (self.crop_size, self.crop_size, 3)
        if len(input_shape) != 4 or tuple(input_shape[1:]) != expected:
            raise ValueError(f"SRDiscriminator judges [batch, {self.crop_size}, "
                             f"{self.crop_size}, 3] crops, got shape {tuple(input_shape)}")
        self.body.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.body(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(crop_size=self.crop_size, base_filters=self.base_filters)
        return config
