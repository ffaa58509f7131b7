import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.models import MinibatchDiscrimination, MinibatchStddev, SpectralNorm


def built(layer, input_shape):
    layer.build(input_shape)
    return layer


def matrix(layer):
    """The wrapped kernel as the [-1, out_features] matrix whose spectral norm is taken."""
    kernel = layer.layer.kernel.numpy()
    return kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)


def largest_singular_value(w):
    return np.linalg.svd(w, compute_uv=False)[0]


def unit(x):
    return x / np.linalg.norm(x)


# ----- SpectralNorm -----


@pytest.mark.parametrize("layer, input_shape", [
    (lambda: keras.layers.Dense(7), (None, 5)),
    (lambda: keras.layers.Conv2D(6, 3), (None, 8, 8, 4)),
])
def test_power_iteration_converges_to_the_largest_singular_value(layer, input_shape):
    keras.utils.set_random_seed(0)
    sn = built(SpectralNorm(layer(), power_iterations=50), input_shape)
    x = tf.random.normal([2, *input_shape[1:]])
    for _ in range(4):
        sn(x, training=True)
    expected = largest_singular_value(matrix(sn))
    assert float(sn.sigma()) == pytest.approx(expected, rel=1e-3)
    # The kernel the layer applies has spectral norm 1; the stored kernel is untouched.
    applied = sn.normalized_kernel().numpy().reshape(-1, sn.layer.kernel.shape[-1])
    assert largest_singular_value(applied) == pytest.approx(1.0, rel=1e-3)
    assert largest_singular_value(matrix(sn)) == pytest.approx(expected)


def test_one_training_call_is_one_power_iteration_and_dense_uses_kernel_over_sigma():
    sn = built(SpectralNorm(keras.layers.Dense(3, activation="tanh")), (None, 4))
    sn.layer.bias.assign([0.1, -0.2, 0.3])
    w, u = matrix(sn), sn.u.numpy().astype(np.float64)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)

    # Paper, Algorithm 1: v = l2n(u W^T), u = l2n(v W), sigma = v W u^T.
    v = unit(u @ w.T)
    new_u = unit(v @ w)
    sigma = (v @ w @ new_u.T).item()
    expected = np.tanh(x @ (w / sigma) + sn.layer.bias.numpy())
    np.testing.assert_allclose(sn(x, training=True), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sn.u.numpy(), new_u, rtol=1e-5, atol=1e-6)

    # Inference leaves u alone: sigma = ||W u^T|| from the stored u.
    sigma = np.linalg.norm(w @ new_u.T)
    for _ in range(2):
        np.testing.assert_allclose(sn(x, training=False),
                                   np.tanh(x @ (w / sigma) + sn.layer.bias.numpy()),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(sn.u.numpy(), new_u, rtol=1e-6)


@pytest.mark.parametrize("options", [
    {"strides": 2, "padding": "same", "activation": "relu"},
    {"dilation_rate": 2, "padding": "valid"},
])
def test_conv2d_output_is_the_conv_of_kernel_over_sigma(options):
    keras.utils.set_random_seed(1)
    conv = keras.layers.Conv2D(5, 3, bias_initializer="random_normal", **options)
    sn = built(SpectralNorm(conv), (None, 9, 9, 2))
    x = tf.random.normal([3, 9, 9, 2])
    for _ in range(3):
        sn(x, training=True)
    sigma = float(sn.sigma())
    # The same convolution with the kernel divided by sigma, computed by Keras itself.
    reference = built(keras.layers.Conv2D.from_config(conv.get_config()), (None, 9, 9, 2))
    reference.set_weights([conv.kernel.numpy() / sigma, conv.bias.numpy()])
    np.testing.assert_allclose(sn(x, training=False), reference(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [keras.layers.Conv2DTranspose(4, 3), keras.layers.ReLU(),
                                   keras.layers.Conv1D(4, 3)])
def test_refuses_layers_other_than_dense_and_conv2d(layer):
    with pytest.raises(ValueError, match=type(layer).__name__):
        SpectralNorm(layer)


def test_config_round_trip_gives_the_same_outputs():
    sn = built(SpectralNorm(keras.layers.Conv2D(4, 3, strides=2, padding="same"),
                            power_iterations=3), (None, 8, 8, 2))
    x = tf.random.normal([2, 8, 8, 2])
    sn(x, training=True)
    serialized = keras.saving.serialize_keras_object(sn)
    assert serialized["registered_name"] == "kgan>SpectralNorm"
    clone = keras.saving.deserialize_keras_object(serialized)
    assert clone.power_iterations == 3 and isinstance(clone.layer, keras.layers.Conv2D)
    assert clone.layer.strides == (2, 2)
    clone.build((None, 8, 8, 2))
    clone.set_weights(sn.get_weights())
    np.testing.assert_allclose(clone(x, training=False), sn(x, training=False), rtol=1e-6)


def test_gradients_reach_the_wrapped_kernel_and_not_u():
    sn = built(SpectralNorm(keras.layers.Dense(3)), (None, 4))
    assert [v.path for v in sn.trainable_variables] == [sn.layer.kernel.path, sn.layer.bias.path]
    assert [v.path for v in sn.non_trainable_variables] == [sn.u.path]
    x = tf.random.normal([5, 4])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(sn(x, training=True)))
    kernel_gradient, bias_gradient = tape.gradient(loss, sn.trainable_variables)
    assert kernel_gradient is not None and bias_gradient is not None
    assert np.all(np.isfinite(kernel_gradient)) and np.abs(kernel_gradient).max() > 0
    # sigma stays in the gradient: scaling the kernel leaves the output (and loss) unchanged,
    # so the gradient is orthogonal to the kernel (it would not be if sigma were a constant).
    assert abs(float(tf.reduce_sum(kernel_gradient * sn.layer.kernel))) < 1e-4 * float(
        tf.norm(kernel_gradient) * tf.norm(sn.layer.kernel))


def test_updates_u_inside_tf_function():
    sn = built(SpectralNorm(keras.layers.Dense(3)), (None, 4))
    step = tf.function(lambda x: sn(x, training=True))
    before = sn.u.numpy().copy()
    step(tf.random.normal([2, 4]))
    assert not np.allclose(before, sn.u.numpy())


def test_mixed_precision_computes_sigma_in_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        sn = built(SpectralNorm(keras.layers.Dense(3)), (None, 4))
        logit = built(SpectralNorm(keras.layers.Dense(1, dtype="float32")), (None, 4))
        x = tf.random.normal([2, 4])
        y = sn(x, training=True)
        assert y.dtype == tf.float16 and sn.u.dtype == "float32"
        assert logit(x, training=True).dtype == tf.float32  # the wrapped layer's policy
    finally:
        keras.config.set_dtype_policy(previous)
    expected = x.numpy() @ sn.normalized_kernel().numpy().astype(np.float32) + sn.layer.bias.numpy()
    np.testing.assert_allclose(y.numpy().astype(np.float32), expected, rtol=1e-2, atol=1e-2)


# ----- MinibatchStddev -----


def test_minibatch_stddev_by_hand():
    # Groups of 2 in a batch of 4 are examples {0, 2} and {1, 3} (ProGAN's reshape).
    x = np.array([[0, 0], [1, 1], [2, 4], [1, 1]], np.float32)
    y = MinibatchStddev(group_size=2)(x).numpy()
    np.testing.assert_array_equal(y[:, :2], x)
    # {0, 2}: standard deviations 1 and 2, mean 1.5. {1, 3}: equal rows, sqrt(1e-8).
    np.testing.assert_allclose(y[:, 2], [1.5, 1e-4, 1.5, 1e-4], rtol=1e-5)


def test_minibatch_stddev_uses_the_whole_batch_when_the_group_does_not_divide_it():
    x = np.array([[0], [3], [6]], np.float32)  # population variance 6
    y = MinibatchStddev(group_size=2)(x).numpy()
    np.testing.assert_allclose(y[:, 1], [np.sqrt(6.0)] * 3, rtol=1e-6)
    # A group larger than the batch is the whole batch, too.
    np.testing.assert_allclose(MinibatchStddev(group_size=8)(x), y)


def test_minibatch_stddev_shapes_and_dtype():
    layer = MinibatchStddev(group_size=4)
    images = tf.random.normal([8, 5, 5, 3])
    y = layer(images)
    assert y.shape == (8, 5, 5, 4) and layer.compute_output_shape((None, 5, 5, 3)) == \
        (None, 5, 5, 4)
    np.testing.assert_array_equal(y[..., :3], images)
    # One value per example, the same at every pixel.
    assert np.ptp(y[..., 3].numpy().reshape(8, -1), axis=1).max() == 0
    assert layer(tf.zeros([6, 10])).shape == (6, 11)
    assert layer.compute_output_shape((None, 10)) == (None, 11)
    half = MinibatchStddev(group_size=2, dtype="mixed_float16")(tf.cast(images, tf.float16))
    assert half.dtype == tf.float16


def test_minibatch_stddev_in_tf_function_with_an_unknown_batch():
    layer = MinibatchStddev(group_size=2)
    traced = tf.function(layer, input_signature=[tf.TensorSpec([None, 3, 3, 2])])
    assert traced.get_concrete_function().structured_outputs.shape.as_list() == [None, 3, 3, 3]
    for batch in (4, 3, 1):  # groups of 2; the whole batch; one example
        x = tf.random.normal([batch, 3, 3, 2])
        np.testing.assert_allclose(traced(x), layer(x), rtol=1e-6)


def test_minibatch_stddev_round_trips_its_config():
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(MinibatchStddev(group_size=3)))
    assert isinstance(clone, MinibatchStddev) and clone.group_size == 3


def test_minibatch_discrimination_by_hand():
    layer = MinibatchDiscrimination(num_kernels=2, kernel_dim=1)
    layer.build((None, 1))
    layer.projection.assign([[1.0, 2.0]])  # M_i = [x_i, 2 x_i]
    out = layer(tf.constant([[0.0], [1.0], [3.0]])).numpy()
    # Kernel 1: sum_j exp(-|x_i - x_j|); kernel 2: sum_j exp(-2 |x_i - x_j|); j = i adds 1.
    x = np.array([0.0, 1.0, 3.0])
    distances = np.abs(x[:, None] - x[None, :])
    expected = np.stack([np.exp(-distances).sum(1), np.exp(-2 * distances).sum(1)], axis=1)
    np.testing.assert_allclose(out[:, 0], x)
    np.testing.assert_allclose(out[:, 1:], expected, rtol=1e-6)


def test_minibatch_discrimination_tells_a_collapsed_batch_from_a_varied_one():
    layer = MinibatchDiscrimination(num_kernels=8, kernel_dim=3)
    varied = tf.random.stateless_normal([16, 10], seed=[0, 1])
    collapsed = tf.tile(varied[:1], [16, 1])
    # Identical examples are maximally similar: every comparison is exp(0) = 1.
    np.testing.assert_allclose(layer(collapsed).numpy()[:, 10:], 16.0, rtol=1e-6)
    assert float(tf.reduce_max(layer(varied)[:, 10:])) < 16.0 - 1.0


def test_minibatch_discrimination_round_trips_its_config_and_refuses_bad_shapes():
    layer = MinibatchDiscrimination(num_kernels=4, kernel_dim=2, name="mbd")
    x = tf.random.stateless_normal([5, 6], seed=[1, 2])
    y = layer(x)
    assert y.shape == (5, 10) and layer.compute_output_shape((None, 6)) == (None, 10)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    clone.build((None, 6))
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y.numpy())
    with pytest.raises(ValueError, match="takes \\[batch, features\\] inputs"):
        MinibatchDiscrimination()(tf.zeros([2, 4, 4, 1]))
    with pytest.raises(ValueError, match="must be >= 1"):
        MinibatchDiscrimination(num_kernels=0)
