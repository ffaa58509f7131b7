"""Networks of the image-to-image GANs: pix2pix's U-Net generator and
PatchGAN discriminator (Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks", arXiv 1611.07004, Sec. 3.2 and Appendix
6.1.1), and CycleGAN's ResNet generator (Zhu et al. 2017, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
arXiv 1703.10593, Appendix 7.2, after Johnson et al. 2016).

Images are channels-last floats in [-1, 1]; the generators end in tanh, so
their outputs are in [-1, 1] too, and `pre_tanh` gives the activations
before it (in float32) for an export that quantizes them.

Normalization is instance normalization (Ulyanov et al. 2016): each example's
channels are normalized over height and width, with a learned scale and
offset per channel. pix2pix uses BatchNorm at batch size 1 with test-time
batch statistics, which is the same thing; CycleGAN uses it by name. An
example's output thus never depends on the rest of its batch, at training
or at serving. It is Keras's `GroupNormalization` with one group per
channel (`groups=-1`), which computes its statistics in float32 under a
mixed-precision policy and converts to TFLite builtins; epsilon is 1e-5, as
in the papers' PyTorch code. A convolution followed by it has no bias (the
normalization subtracts any constant, and the offset takes its place).

Every convolution kernel is drawn from N(0, 0.02), as in both papers. The
layer producing the output (the generators' pre-tanh map, the
discriminator's logits) computes in float32.

Layers live in `keras.Sequential` blocks or in a functional `keras.Model`
(the U-Net, whose skips do not fit a Sequential), never in a plain list:
under Keras 3 on TensorFlow, layers in a list are silently left out of
`tf.train.Checkpoint` (`kgan.models.body`).
"""

import math

import keras

from kgan.config.run import UPSAMPLINGS

# The PyTorch default the papers' code used.
_NORM_EPSILON = 1e-5


def _init():
    # Isola et al., Appendix 6.2; Zhu et al., Sec. 4 (Training details).
    return keras.initializers.RandomNormal(stddev=0.02)


def _conv(filters, kernel_size, strides=1, padding="same", use_bias=False, name=None,
          dtype=None):
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=use_bias, kernel_initializer=_init(), name=name,
                               dtype=dtype)


def _upconv(filters, kernel_size, upsampling, use_bias=False, name=None, dtype=None):
    """Doubles the resolution, by `upsampling`:

    - "transpose": a stride-2 transposed convolution with `kernel_size`, as
      in both papers (TFLite builtin TRANSPOSE_CONV). Where the kernel size
      is not a multiple of the stride its output pixels get unevenly many
      contributions, a checkerboard the discriminator then has to remove.
    - "resize": nearest-neighbour 2x upsampling then a 3x3 convolution
      (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"): every
      output pixel sees the same number of inputs, so there is no
      checkerboard to begin with. Keras repeats the pixels (TFLite builtins
      RESHAPE and TILE), then CONV_2D; an odd kernel, so "same" padding
      stays centred.
    """
    if upsampling == "resize":
        return keras.Sequential([
            keras.layers.UpSampling2D(2, interpolation="nearest", dtype=dtype),
            _conv(filters, 3, use_bias=use_bias, dtype=dtype),
        ], name=name)
    if upsampling != "transpose":
        raise ValueError(f"upsampling must be one of {', '.join(UPSAMPLINGS)}, got "
                         f"{upsampling!r}")
    return keras.layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same",
                                        use_bias=use_bias, kernel_initializer=_init(),
                                        name=name, dtype=dtype)


def _instance_norm(name=None):
    """Instance normalization: one group per channel (module docstring)."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=_NORM_EPSILON, name=name)


@keras.saving.register_keras_serializable(package="kgan")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width of `[N, H, W, C]` by `padding` pixels on each
    side, mirroring the image without repeating its edge (`abc` -> `cb|abc|ba`).

    CycleGAN pads its 7x7 and residual 3x3 convolutions this way "to reduce
    artifacts" (Zhu et al., Appendix 7.2): zero padding puts a dark frame
    around every feature map, which the generator then draws along the
    image borders. On TensorFlow it is a `MirrorPad` op, TFLite builtin
    MIRROR_PAD. Each side must be longer than `padding`.
    """

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return keras.ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        grown = [None if side is None else side + 2 * self.padding for side in input_shape[1:3]]
        return (input_shape[0], *grown, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class ResidualBlock(keras.layers.Layer):
    """CycleGAN's residual block R (Zhu et al., Appendix 7.2): reflection pad
    1 -> 3x3 conv -> instance norm -> ReLU -> reflection pad 1 -> 3x3 conv ->
    instance norm, added to the input. No ReLU after the sum, as in the
    reference code (and Johnson et al.'s variant of He et al.'s block).

    Args:
        filters: Channels of the input and of the output.
        **kwargs: Standard layer arguments.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.pad = ReflectionPadding2D(1)
        self.conv1 = _conv(self.filters, 3, padding="valid", name="conv1")
        self.norm1 = _instance_norm(name="norm1")
        self.relu = keras.layers.ReLU()
        self.conv2 = _conv(self.filters, 3, padding="valid", name="conv2")
        self.norm2 = _instance_norm(name="norm2")

    def build(self, input_shape):
        if self.built:  # deserialization builds from the saved config; later calls are no-ops
            return
        padded = self.pad.compute_output_shape(input_shape)
        self.conv1.build(padded)
        self.norm1.build(input_shape)
        self.conv2.build(padded)
        self.norm2.build(input_shape)
        self.built = True

    def call(self, inputs):
        h = self.relu(self.norm1(self.conv1(self.pad(inputs))))
        return inputs + self.norm2(self.conv2(self.pad(h)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters)
        return config


class _ImageNetwork(keras.Model):
    """Runs `self.body` (set by the subclass) on `[batch, height, width,
    input_channels]` images."""

    def __init__(self, input_channels, **kwargs):
        super().__init__(**kwargs)
        self.input_channels = int(input_channels)

    def build(self, input_shape):
        if self.built:  # deserialization builds from the saved config; later calls are no-ops
            return
        if len(input_shape) != 4 or input_shape[-1] != self.input_channels:
            raise ValueError(f"{type(self).__name__} takes [batch, height, width, "
                             f"{self.input_channels}] images, got shape {tuple(input_shape)}")
        if not self.body.built:
            self.body.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.body(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(input_channels=self.input_channels)
        return config


class _Translator(_ImageNetwork):
    """An image-to-image generator: `self.body` ends before the output tanh."""

    def pre_tanh(self, inputs, training=None):
        """The activations before the final tanh, in float32: what a
        quantized export clips before its own tanh (`kgan.export.tflite`).
        `tanh(pre_tanh(x))` is exactly `call(x)`."""
        return keras.ops.cast(self.body(inputs, training=training), "float32")

    def call(self, inputs, training=None):
        return keras.ops.tanh(self.pre_tanh(inputs, training=training))


def unet_encoder_filters(base_filters, stages):
    """Filters of the U-Net's encoder stages, from the image down to 1x1:
    base, 2 base, 4 base, then 8 base (Isola et al.: C64-C128-C256-C512-C512-...)."""
    return [base_filters * min(2 ** stage, 8) for stage in range(stages)]


# Isola et al. apply dropout in the first three decoder stages: pix2pix's only noise.
_DROPOUT_STAGES = 3


@keras.saving.register_keras_serializable(package="kgan")
class UNetGenerator(_Translator):
    """pix2pix's U-Net generator (Isola et al. 2017, Sec. 3.2.1, Appendix 6.1.1).

    The encoder halves the image with stride-2 4x4 convolutions down to 1x1
    (log2(image_size) stages: 6 at 64x64, 7 at 128x128, 8 at the paper's
    256x256), so the bottleneck sees the whole image; each stage is conv ->
    instance norm -> LeakyReLU(0.2), without the norm on the first stage (as
    in the paper) and on the innermost one, whose 1x1 map would normalize to
    its offset. The decoder mirrors it with stride-2 4x4 transposed
    convolutions (or resize-convolutions, `upsampling`) -> instance norm ->
    dropout (the three innermost stages) -> ReLU, each concatenated with the encoder output of the same resolution:
    the skips hand the low-level structure (edges, layout) that input and
    output share straight to the decoder, instead of squeezing it through
    the bottleneck. A last transposed convolution maps to `output_channels`
    at full resolution, then tanh.

    Dropout is the generator's only noise (the paper found a z input
    ignored); it acts only when called with `training=True`, so inference is
    deterministic.

    The body is a functional `keras.Model` for inputs of exactly
    `(image_size, image_size, input_channels)`, any batch size.

    Args:
        input_channels: Channels of the input images (1 for grayscale or a
            sketch, 3 for colour).
        output_channels: Channels of the output images.
        image_size: Side of the square images, a power of two >= 16.
        base_filters: Filters of the first encoder stage (64 in the paper).
        dropout: Dropout rate of the three innermost decoder stages (0.5 in
            the paper; 0 leaves the dropout layers out).
        upsampling: "transpose" (the paper's) or "resize" (`_upconv`).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, input_channels, output_channels=3, image_size=64, base_filters=64,
                 dropout=0.5, upsampling="transpose", **kwargs):
        super().__init__(input_channels, **kwargs)
        self.output_channels = int(output_channels)
        self.image_size = int(image_size)
        self.base_filters = int(base_filters)
        self.dropout = float(dropout)
        self.upsampling = str(upsampling)
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ValueError(f"UNetGenerator's image_size must be a power of two >= 16, got "
                             f"{image_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.body = self._unet()

    def _unet(self):
        stages = int(math.log2(self.image_size))
        filters = unet_encoder_filters(self.base_filters, stages)
        inputs = keras.Input((self.image_size, self.image_size, self.input_channels))
        x, skips = inputs, []
        for stage, stage_filters in enumerate(filters, start=1):
            normalized = 1 < stage < stages
            x = _conv(stage_filters, 4, strides=2, use_bias=not normalized,
                      name=f"encoder{stage}_conv")(x)
            if normalized:
                x = _instance_norm(name=f"encoder{stage}_norm")(x)
            x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"encoder{stage}_act")(x)
            skips.append(x)
        # Decoder stage k mirrors encoder stage `stages - k`: same filters and
        # resolution, whose output it is concatenated with.
        for stage, skip in enumerate(reversed(skips[:-1]), start=1):
            x = _upconv(skip.shape[-1], 4, self.upsampling, name=f"decoder{stage}_conv")(x)
            x = _instance_norm(name=f"decoder{stage}_norm")(x)
            if stage <= _DROPOUT_STAGES and self.dropout:
                x = keras.layers.Dropout(self.dropout, name=f"decoder{stage}_dropout")(x)
            x = keras.layers.ReLU(name=f"decoder{stage}_act")(x)
            x = keras.layers.Concatenate(name=f"decoder{stage}_skip")([x, skip])
        outputs = _upconv(self.output_channels, 4, self.upsampling, use_bias=True,
                          dtype="float32",
                          name="output_conv")(x)
        return keras.Model(inputs, outputs, name="body")

    def build(self, input_shape):
        expected = (self.image_size, self.image_size, self.input_channels)
        if tuple(input_shape[1:]) != expected:
            raise ValueError(f"this UNetGenerator takes [batch, {', '.join(map(str, expected))}] "
                             f"images, got shape {tuple(input_shape)}")
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(output_channels=self.output_channels, image_size=self.image_size,
                      base_filters=self.base_filters, dropout=self.dropout,
                      upsampling=self.upsampling)
        return config


def patch_receptive_field(patch_layers):
    """Side of the input window each PatchGAN logit sees through its
    convolutions: L = `patch_layers` stride-2 and two stride-1 4x4
    convolutions, each widening it by 3 input steps of its layer, so
    1 + 3 (1 + 2 + ... + 2^(L-1) + 2 * 2^L) = 9 * 2^L - 2: 70 for 3 layers
    (the paper's 70x70 PatchGAN), 34 for 2, 142 for 4."""
    return 9 * 2 ** patch_layers - 2


@keras.saving.register_keras_serializable(package="kgan")
class PatchDiscriminator(_ImageNetwork):
    """The PatchGAN discriminator (Isola et al. 2017, Sec. 3.2.2, Appendix
    6.1.2; also CycleGAN's): a grid of real-vs-fake logits, each judging one
    overlapping patch of the image.

    L1 (pix2pix) or cycle consistency (CycleGAN) already pins the low
    frequencies, so the adversarial term only needs to judge local texture
    and sharpness; a patch discriminator does that with fewer parameters, at
    any image size, and its loss averages over many patches.

    `patch_layers` stride-2 4x4 convolutions (filters base, 2 base, 4 base,
    ..., at most 8 base; instance norm on all but the first; LeakyReLU 0.2),
    a stride-1 4x4 convolution (min(8, 2^patch_layers) base filters, instance
    norm, LeakyReLU), and a stride-1 4x4 convolution to one channel. Every
    convolution pads "same" (the stride-2 ones by one pixel on each side,
    as the paper's code; the stride-1 ones by 1 before and 2 after), so an
    `S x S` input gives `S / 2^patch_layers` logits per side:
    `[batch, S / 2^L, S / 2^L, 1]`, raw logits (no sigmoid), float32.

    Each logit's convolutional receptive field is `patch_receptive_field
    (patch_layers)` pixels square: 70x70 for 3 layers, as in the paper,
    34x34 for 2. (Instance norm's per-image mean and variance also reach it
    from the whole image, as BatchNorm's batch statistics do in the paper.)

    pix2pix's discriminator is conditional: it takes the input image and the
    real or generated output concatenated on the channels, so
    `input_channels` is the sum of the two.

    Args:
        input_channels: Channels of the discriminator's input.
        base_filters: Filters of the first convolution (64 in the papers).
        patch_layers: Stride-2 convolutions (3 in the papers).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, input_channels, base_filters=64, patch_layers=3, **kwargs):
        super().__init__(input_channels, **kwargs)
        self.base_filters = int(base_filters)
        self.patch_layers = int(patch_layers)
        if self.patch_layers < 1:
            raise ValueError(f"patch_layers must be >= 1, got {patch_layers}")
        layers = []
        for stage in range(self.patch_layers):
            layers.append(_conv(self.base_filters * min(2 ** stage, 8), 4, strides=2,
                                use_bias=stage == 0))
            if stage > 0:
                layers.append(_instance_norm())
            layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
        layers += [
            _conv(self.base_filters * min(2 ** self.patch_layers, 8), 4),
            _instance_norm(),
            keras.layers.LeakyReLU(negative_slope=0.2),
            # float32 logits keep the losses exact under a mixed-precision policy.
            _conv(1, 4, use_bias=True, dtype="float32"),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(base_filters=self.base_filters, patch_layers=self.patch_layers)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class ResnetTranslator(_Translator):
    """CycleGAN's generator (Zhu et al. 2017, Appendix 7.2, after Johnson et
    al. 2016): c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3.

    c7s1-k: reflection pad 3, 7x7 convolution with k filters, instance
    norm, ReLU (the last one: output channels and tanh instead). dk: 3x3
    stride-2 convolution, instance norm, ReLU. R: `ResidualBlock`. uk: 3x3
    stride-2 transposed convolution (or a resize-convolution, `upsampling`),
    instance norm, ReLU. The residual
    blocks work at a quarter of the resolution, where they are cheap and
    each 3x3 convolution sees a 4x wider context; the residual form lets the
    network start near the identity, fitting translations that change
    texture and colour but keep the layout. Fully convolutional: any input
    whose sides are multiples of 4, at least 8 (the residual blocks'
    reflection pads need 2 pixels at a quarter of the size).

    Args:
        input_channels: Channels of the input images.
        output_channels: Channels of the output images.
        base_filters: Filters of the first and last hidden stages (64 in the
            paper); the residual blocks have 4 times as many.
        blocks: Residual blocks (6 at 128x128, 9 at 256x256 in the paper).
        upsampling: "transpose" (the paper's) or "resize" (`_upconv`).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, input_channels=3, output_channels=3, base_filters=64, blocks=6,
                 upsampling="transpose", **kwargs):
        super().__init__(input_channels, **kwargs)
        self.output_channels = int(output_channels)
        self.base_filters = int(base_filters)
        self.blocks = int(blocks)
        self.upsampling = str(upsampling)
        if self.blocks < 0:
            raise ValueError(f"blocks must be >= 0, got {blocks}")
        base = self.base_filters
        layers = [ReflectionPadding2D(3), _conv(base, 7, padding="valid"), _instance_norm(),
                  keras.layers.ReLU()]
        for filters in (2 * base, 4 * base):
            layers += [_conv(filters, 3, strides=2), _instance_norm(), keras.layers.ReLU()]
        layers += [ResidualBlock(4 * base) for _ in range(self.blocks)]
        for filters in (2 * base, base):
            layers += [_upconv(filters, 3, self.upsampling), _instance_norm(),
                       keras.layers.ReLU()]
        layers += [ReflectionPadding2D(3),
                   _conv(self.output_channels, 7, padding="valid", use_bias=True,
                         dtype="float32")]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(output_channels=self.output_channels, base_filters=self.base_filters,
                      blocks=self.blocks, upsampling=self.upsampling)
        return config


__all__ = ["PatchDiscriminator", "ReflectionPadding2D", "ResidualBlock", "ResnetTranslator",
           "UNetGenerator", "patch_receptive_field", "unet_encoder_filters"]
