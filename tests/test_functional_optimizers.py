"""Optimizer updates on tensors equal what the Keras optimizers assign."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.functional_optimizers import FunctionalUpdate, adam_update, sgd_update


def test_sgd_update_by_hand():
    weights = [tf.constant([1.0, -2.0]), tf.constant(3.0)]
    gradients = [tf.constant([0.5, 4.0]), tf.constant(-1.0)]
    updated = sgd_update(weights, gradients, 0.1)
    np.testing.assert_allclose(updated[0].numpy(), [0.95, -2.4])
    assert float(updated[1]) == pytest.approx(3.1)


def test_adam_update_by_hand():
    # t = 1, m = v = 0, g = 2: m = 0.2, v = 0.004, alpha = 0.01 * sqrt(0.001) / 0.1,
    # w -= alpha * 0.2 / (sqrt(0.004) + 1e-7): about one learning rate, as Adam's first step is.
    (w,), (m,), (v,) = adam_update([tf.constant(1.0)], [tf.constant(2.0)], [tf.constant(0.0)],
                                   [tf.constant(0.0)], 1, 0.01, 0.9, 0.999, 1e-7)
    alpha = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    assert float(m) == pytest.approx(0.2) and float(v) == pytest.approx(0.004)
    assert float(w) == pytest.approx(1.0 - alpha * 0.2 / (np.sqrt(0.004) + 1e-7), rel=1e-6)
    assert float(w) == pytest.approx(0.99, abs=1e-6)


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(0.01, beta_1=0.5, beta_2=0.99),
    lambda: keras.optimizers.SGD(0.05),
])
def test_a_functional_step_from_the_optimizers_state_equals_its_next_apply(optimizer):
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=(3, 2)).astype(np.float32)),
                 keras.Variable(rng.normal(size=(2,)).astype(np.float32))]
    optimizer = optimizer()
    gradients = [[tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in variables]
                 for _ in range(3)]
    for step_gradients in gradients[:2]:  # moments and step count away from their start
        optimizer.apply_gradients(zip(step_gradients, variables))
    update = FunctionalUpdate(optimizer, variables)
    weights, state = update([tf.convert_to_tensor(v) for v in variables], gradients[2],
                            update.initial_state())
    before = [v.numpy() for v in variables]
    optimizer.apply_gradients(zip(gradients[2], variables))
    for functional, assigned, old in zip(weights, variables, before):
        np.testing.assert_allclose(functional.numpy(), assigned.numpy(), rtol=1e-6, atol=1e-7)
        assert np.max(np.abs(assigned.numpy() - old)) > 1e-4  # the step moved them
    assert int(state[0]) == 3 == int(optimizer.iterations.numpy())


def test_a_missing_gradient_leaves_its_weight_and_moments_alone():
    variables = [keras.Variable([1.0, 2.0]), keras.Variable([3.0])]
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(variables)
    update = FunctionalUpdate(optimizer, variables)
    weights, (_, momentums, _) = update([tf.convert_to_tensor(v) for v in variables],
                                        [tf.constant([1.0, 1.0]), None], update.initial_state())
    assert float(weights[1][0]) == 3.0 and float(momentums[1][0]) == 0.0
    assert float(weights[0][0]) < 1.0


def test_the_update_is_differentiable_through_the_gradient():
    # w' = w - lr * g(x) with g = 2 w x (the gradient of w^2 x): dw'/dx = -lr * 2 w.
    x = tf.Variable(3.0)
    optimizer = keras.optimizers.SGD(0.1)
    w = keras.Variable(1.5)
    update = FunctionalUpdate(optimizer, [w])
    with tf.GradientTape() as tape:
        weight = tf.convert_to_tensor(w)
        with tf.GradientTape() as inner:
            inner.watch(weight)
            loss = weight ** 2 * x
        (updated,), _ = update([weight], inner.gradient(loss, [weight]), update.initial_state())
    assert float(tape.gradient(updated, x)) == pytest.approx(-0.1 * 2 * 1.5)


@pytest.mark.parametrize("optimizer, message", [
    (lambda: keras.optimizers.Adam(amsgrad=True), "no AMSGrad"),
    (lambda: keras.optimizers.SGD(momentum=0.9), "no momentum"),
    (lambda: keras.optimizers.Adam(clipnorm=1.0), "no clipnorm"),
    (lambda: keras.optimizers.RMSprop(), "no functional update for RMSprop"),
])
def test_unsupported_optimizers_are_refused(optimizer, message):
    with pytest.raises(ValueError, match=message):
        FunctionalUpdate(optimizer(), [keras.Variable(1.0)])
