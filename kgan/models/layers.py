"""Discriminator layers: spectral normalization, the minibatch standard deviation
feature and minibatch discrimination."""

import math

import keras
from keras import ops

# Miyato et al. normalize u and v with an epsilon so that an all-zero kernel
# (or a zero draw of u) gives a zero vector instead of NaN.
_NORM_EPSILON = 1e-12


def _l2_normalize(x):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), _NORM_EPSILON))


@keras.saving.register_keras_serializable(package="kgan")
class SpectralNorm(keras.layers.Wrapper):
    """Spectral normalization (Miyato et al. 2018, arXiv 1802.05957) of a
    `Dense` or `Conv2D` layer: the layer computes with `kernel / sigma`, where
    sigma estimates the largest singular value of the kernel reshaped to
    `[-1, out_features]`, so that the layer is (about) 1-Lipschitz.

    sigma comes from power iteration (the paper's Algorithm 1): a
    non-trainable unit vector `u` (`[1, out_features]`, float32) persists
    across steps, and each call in training mode runs `power_iterations`
    steps `v = l2n(u W^T), u = l2n(v W)` and stores the new `u`. Since W moves
    little per step, one iteration per step keeps the estimate tight. sigma =
    `v W u^T`, with u and v treated as constants in the gradient (as in the
    paper), so the gradient still flows into the kernel through sigma.
    In inference mode `u` is left unchanged and v is derived from it (sigma
    is then `||W u^T||`).

    The normalized kernel is used functionally (the wrapped layer's kernel
    variable keeps the unnormalized weights the optimizer updates). sigma is
    computed in float32 from the kernel as the layer applies it (rounded to
    the compute dtype under a mixed precision policy), so the kernel that is
    applied is the one that is normalized.

    `u` is a plain variable updated in place; under a `tf.distribute`
    strategy its aggregation is `only_first_replica` (every replica computes
    the same update from the same mirrored weights).

    Args:
        layer: A `keras.layers.Dense` or `keras.layers.Conv2D` (not built yet,
            or built).
        power_iterations: Power-iteration steps per training call (>= 1).
        **kwargs: Standard layer arguments; `dtype` defaults to the wrapped
            layer's dtype policy (e.g. float32 for a float32 logit layer).

    Raises:
        ValueError: for any other layer type, a grouped convolution or a
            quantized layer.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            raise ValueError(f"SpectralNorm wraps a Dense or Conv2D layer, not "
                             f"{type(layer).__name__}")
        if isinstance(layer, keras.layers.Conv2D) and layer.groups != 1:
            raise ValueError("SpectralNorm does not wrap a grouped Conv2D "
                             f"(groups={layer.groups})")
        if getattr(layer, "quantization_mode", None):
            raise ValueError(f"SpectralNorm does not wrap a quantized {type(layer).__name__}")
        if int(power_iterations) < 1:
            raise ValueError(f"power_iterations must be >= 1, got {power_iterations}")
        kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kwargs)
        self.power_iterations = int(power_iterations)

    @property
    def _out_features(self):
        return self.layer.units if isinstance(self.layer, keras.layers.Dense) \
            else self.layer.filters

    def build(self, input_shape=None):
        if self.built:  # deserialization builds from the saved config; later calls are no-ops
            return
        super().build(input_shape)
        self.u = self.add_weight(
            shape=(1, self._out_features), initializer=keras.initializers.RandomNormal(),
            dtype="float32", trainable=False, autocast=False,
            aggregation="only_first_replica", name="u")
        self.built = True

    def _matrix(self):
        """The kernel as applied, in float32 and reshaped to [-1, out_features]."""
        return ops.reshape(ops.cast(self.layer.kernel, "float32"), (-1, self._out_features))

    def _sigma(self, w, training):
        u = ops.convert_to_tensor(self.u)
        frozen_w = ops.stop_gradient(w)
        v = _l2_normalize(ops.matmul(u, ops.transpose(frozen_w)))
        if training:
            u = _l2_normalize(ops.matmul(v, frozen_w))
            for _ in range(self.power_iterations - 1):
                v = _l2_normalize(ops.matmul(u, ops.transpose(frozen_w)))
                u = _l2_normalize(ops.matmul(v, frozen_w))
            self.u.assign(u)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        return ops.sum(ops.matmul(v, w) * u)

    def sigma(self):
        """The current estimate of the kernel's largest singular value (no update of `u`)."""
        return self._sigma(self._matrix(), training=False)

    def normalized_kernel(self, training=False):
        """The kernel divided by sigma, in the layer's compute dtype and the
        kernel's shape. With `training=True` this runs the power iteration and
        updates `u`, as a training call does."""
        w = self._matrix()
        w_sn = w / self._sigma(w, training)
        return ops.cast(ops.reshape(w_sn, self.layer.kernel.shape), self.compute_dtype)

    def call(self, inputs, training=None):
        layer = self.layer
        kernel = self.normalized_kernel(training=bool(training))
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            bias_shape = (layer.units,)
        else:
            outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                               data_format=layer.data_format, dilation_rate=layer.dilation_rate)
            channels_first = layer.data_format == "channels_first"
            bias_shape = (layer.filters, 1, 1) if channels_first else (layer.filters,)
        if layer.use_bias:
            outputs = outputs + ops.reshape(ops.cast(layer.bias, self.compute_dtype), bias_shape)
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()  # includes the serialized wrapped layer
        config.update(power_iterations=self.power_iterations)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class MinibatchStddev(keras.layers.Layer):
    """The minibatch standard deviation feature of Karras et al. 2018 (ProGAN,
    arXiv 1710.10196, Sec. 3): lets the discriminator see how varied a
    batch is, which penalizes a generator whose samples all look alike.

    The batch of N is split into groups of G = min(group_size, N), as ProGAN
    does: examples `m, m + N/G, m + 2N/G, ...` form a group. If G does not
    divide N (checked at run time, so it works with an unknown batch size),
    the whole batch is one group. For each group the standard deviation of
    every feature over the group's examples (`sqrt(var + 1e-8)`, population
    variance) is averaged over the features to one number, appended to each
    of the group's examples: one extra channel for `[N, H, W, C]` inputs
    (channels last), one extra feature for `[N, F]` inputs.

    Computed in float32; the output has the input's dtype.

    Args:
        group_size: Examples per group (>= 1).
        **kwargs: Standard layer arguments.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = int(group_size)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        batch = ops.shape(x)[0]
        features = math.prod(x.shape[1:])
        group = ops.maximum(ops.minimum(self.group_size, batch), 1)
        group = ops.where(ops.equal(batch % group, 0), group, batch)
        grouped = ops.reshape(x, (group, -1, features))
        variance = ops.mean(ops.square(grouped - ops.mean(grouped, axis=0)), axis=0)
        stddev = ops.mean(ops.sqrt(variance + 1e-8), axis=-1)  # one value per group, [N / G]
        stddev = ops.tile(stddev, (group,))  # example i belongs to group i mod N/G
        feature = ops.zeros_like(x[..., :1]) + ops.reshape(stddev, (-1,) + (1,) * (x.ndim - 1))
        return ops.cast(ops.concatenate([x, feature], axis=-1), inputs.dtype)

    def compute_output_shape(self, input_shape):
        last = input_shape[-1]
        return (*input_shape[:-1], None if last is None else last + 1)

    def get_config(self):
        config = super().get_config()
        config.update(group_size=self.group_size)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class MinibatchDiscrimination(keras.layers.Layer):
    """Minibatch discrimination (Salimans et al. 2016, "Improved Techniques
    for Training GANs", arXiv 1606.03498, Sec. 3.2): lets the discriminator
    compare each example with the others of its batch, so a generator whose
    samples are alike is easy to tell from real data.

    Features `f(x_i)` (`[N, A]`) are multiplied by a learned tensor T
    (`[A, B * C]`) into matrices `M_i` (`[B, C]`); for each of the B kernels,
    `c_b(x_i, x_j) = exp(-||M_i,b - M_j,b||_1)` and
    `o(x_i)_b = sum_j c_b(x_i, x_j)`, summed over the whole batch including j
    = i as in the paper (which adds 1 to every output). The layer returns
    `[f(x_i), o(x_i)]`: `[N, A + B]`.

    Computed in float32 (exp(-L1) lies in (0, 1], so the sums are finite);
    the output has the input's dtype. Under a `tf.distribute` strategy each
    replica compares the examples of its own share of the batch.

    Args:
        num_kernels: B, the number of comparison features added.
        kernel_dim: C, the size of each kernel's per-example projection.
        **kwargs: Standard layer arguments.
    """

    def __init__(self, num_kernels=50, kernel_dim=5, **kwargs):
        super().__init__(**kwargs)
        if int(num_kernels) < 1 or int(kernel_dim) < 1:
            raise ValueError(f"num_kernels and kernel_dim must be >= 1, got {num_kernels} "
                             f"and {kernel_dim}")
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)

    def build(self, input_shape):
        if self.built:  # deserialization builds from the saved config; later calls are no-ops
            return
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"MinibatchDiscrimination takes [batch, features] inputs, got "
                             f"shape {tuple(input_shape)}")
        self.projection = self.add_weight(
            shape=(int(input_shape[-1]), self.num_kernels * self.kernel_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.05), dtype="float32",
            autocast=False, name="projection")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        m = ops.reshape(ops.matmul(x, self.projection), (-1, self.num_kernels, self.kernel_dim))
        # One [N, N, B] term per kernel dimension instead of one [N, N, B, C]
        # tensor: the same arithmetic, 1.6x faster forward and backward on CPU
        # at N = 256 (bench notes, issue 16).
        distances = 0.0
        for c in range(self.kernel_dim):
            column = m[:, :, c]
            distances = distances + ops.abs(ops.expand_dims(column, 0) - ops.expand_dims(column, 1))
        similarity = ops.sum(ops.exp(-distances), axis=1)  # [N, B]
        return ops.cast(ops.concatenate([x, similarity], axis=-1), inputs.dtype)

    def compute_output_shape(self, input_shape):
        last = input_shape[-1]
        return (*input_shape[:-1], None if last is None else last + self.num_kernels)

    def get_config(self):
        config = super().get_config()
        config.update(num_kernels=self.num_kernels, kernel_dim=self.kernel_dim)
        return config


__all__ = ["MinibatchDiscrimination", "MinibatchStddev", "SpectralNorm"]
