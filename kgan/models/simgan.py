"""SimGAN's refiner (Shrivastava et al. 2017, "Learning from Simulated and
Unsupervised Images through Adversarial Training", CVPR, arXiv 1612.07828,
Sec. 3.1 and Appendix A).

The refiner maps a synthetic image to a refined one of the same size with
no downsampling: a 3x3 convolution, ResNet blocks (`ResidualBlock`, shared
with CycleGAN), and a 1x1 convolution to the image's channels. Its output is
`tanh(atanh(x) + r(x))`: the input plus a learned change `r` before the
tanh, with the last convolution starting at zero, so a new refiner is the
identity. The paper reaches the same start by pretraining the refiner on
the self-regularization loss alone (1,000 steps); here it costs nothing.
The adversarial discriminator is the PatchGAN of `kgan.models.translation`
with one stride-2 stage (the paper's local 16x16-pixel patches) or two
(the whole digit).
"""

import keras

from kgan.models.translation import ResidualBlock, _Translator

# Inputs are clipped to +-(1 - 1e-3) before `atanh`: an exact -1 background
# stays at most 1e-3 from -1 (0.13 of a uint8 level) through the identity.
_INPUT_LIMIT = 1.0 - 1e-3


@keras.saving.register_keras_serializable(package="kgan")
class SimGANRefiner(_Translator):
    """Synthetic image -> refined image, both `[batch, h, w, channels]` in [-1, 1].

    Args:
        input_channels: Channels of the images (1 for digits).
        base_filters: Filters of the convolutions and blocks (64 in the paper).
        blocks: ResNet blocks (4 in the paper's eye refiner).
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, input_channels=1, base_filters=64, blocks=4, **kwargs):
        super().__init__(input_channels, **kwargs)
        self.base_filters = int(base_filters)
        self.blocks = int(blocks)
        initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.body = keras.Sequential([
            keras.layers.Conv2D(self.base_filters, 3, padding="same",
                                kernel_initializer=initializer),
            keras.layers.ReLU(),
            *[ResidualBlock(self.base_filters) for _ in range(self.blocks)],
            # float32 change: the identity path is exact under mixed precision.
            keras.layers.Conv2D(self.input_channels, 1, kernel_initializer="zeros",
                                dtype="float32"),
        ], name="body")

    def pre_tanh(self, inputs, training=None):
        x = keras.ops.clip(keras.ops.cast(inputs, "float32"), -_INPUT_LIMIT, _INPUT_LIMIT)
        # atanh through log: TFLite has LOG as a builtin, not ATANH.
        identity = 0.5 * keras.ops.log((1.0 + x) / (1.0 - x))
        return identity + keras.ops.cast(self.body(inputs, training=training), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(base_filters=self.base_filters, blocks=self.blocks)
        return config
