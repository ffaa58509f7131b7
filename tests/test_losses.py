"""Losses against hand-computed values, and their stability at extreme logits."""

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from kgan import losses
from kgan.errors import ConfigError


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_minimax_discriminator_loss_matches_hand_computation():
    real, fake = [2.0, -1.0], [0.5, -3.0]
    expected = (-(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2
                - (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2)
    assert float(losses.minimax_discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)


def test_minimax_discriminator_loss_at_zero_logits_is_2_log_2():
    assert float(losses.minimax_discriminator_loss([0.0], [0.0])) == pytest.approx(2 * math.log(2))


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = [1.5], [-0.5]
    s = 0.1
    p = sigmoid(1.5)
    expected_real = -((1 - s) * math.log(p) + s * math.log(1 - p))
    expected_fake = -math.log(1 - sigmoid(-0.5))
    got = float(losses.minimax_discriminator_loss(real, fake, label_smoothing=s))
    assert got == pytest.approx(expected_real + expected_fake, rel=1e-6)
    # The fake term is untouched by smoothing: with real logits held, only the real part moves.
    unsmoothed = float(losses.minimax_discriminator_loss(real, fake))
    assert unsmoothed == pytest.approx(-math.log(p) + expected_fake, rel=1e-6)


def test_label_smoothing_penalizes_overconfident_real_logits():
    confident = float(losses.minimax_discriminator_loss([20.0], [-20.0], label_smoothing=0.1))
    moderate = float(losses.minimax_discriminator_loss([math.log(9.0)], [-20.0],
                                                       label_smoothing=0.1))
    # The smoothed optimum is D(x) = 0.9, i.e. logit log(9).
    assert moderate < confident


def test_minimax_generator_loss_matches_hand_computation():
    fake = [0.5, -3.0, 4.0]
    expected = sum(math.log(1 - sigmoid(f)) for f in fake) / 3
    assert float(losses.minimax_generator_loss(fake)) == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_loss_matches_hand_computation():
    fake = [0.5, -3.0, 4.0]
    expected = -sum(math.log(sigmoid(f)) for f in fake) / 3
    assert float(losses.non_saturating_generator_loss(fake)) == pytest.approx(expected, rel=1e-6)


def test_losses_accept_column_logits():
    column = tf.constant([[0.5], [-3.0]])
    flat = tf.constant([0.5, -3.0])
    assert float(losses.non_saturating_generator_loss(column)) == pytest.approx(
        float(losses.non_saturating_generator_loss(flat)))


EXTREME = [1e4, -1e4, 1e30, -1e30]


# Least squares squares its logits, overflowing float32 above ~1.8e19: test it to 1e4 only.
LARGE = [1e4, -1e4, 1.0, -1.0]


@pytest.mark.parametrize("loss_fn, logits", [
    (losses.minimax_generator_loss, EXTREME),
    (losses.non_saturating_generator_loss, EXTREME),
    (losses.hinge_generator_loss, EXTREME),
    (losses.wasserstein_generator_loss, EXTREME),
    (losses.least_squares_generator_loss, LARGE),
])
def test_generator_losses_finite_with_finite_gradients_at_extreme_logits(loss_fn, logits):
    logits = tf.Variable(logits)
    with tf.GradientTape() as tape:
        value = loss_fn(logits)
    gradient = tape.gradient(value, logits)
    assert np.isfinite(value.numpy())
    assert np.all(np.isfinite(gradient.numpy()))


@pytest.mark.parametrize("loss_fn, logits", [
    (lambda real, fake: losses.minimax_discriminator_loss(real, fake, label_smoothing=0.1),
     EXTREME),
    (losses.hinge_discriminator_loss, EXTREME),
    (losses.wasserstein_discriminator_loss, EXTREME),
    (losses.least_squares_discriminator_loss, LARGE),
    (losses.relativistic_discriminator_loss, EXTREME),
    (losses.relativistic_generator_loss, EXTREME),
], ids=["minimax", "hinge", "wasserstein", "least_squares", "relativistic_d", "relativistic_g"])
def test_two_sided_losses_finite_with_finite_gradients_at_extreme_logits(loss_fn, logits):
    real, fake = tf.Variable(logits), tf.Variable(logits[::-1])
    with tf.GradientTape() as tape:
        value = loss_fn(real, fake)
    gradients = tape.gradient(value, [real, fake])
    assert np.isfinite(value.numpy())
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)


def test_extreme_logits_give_the_asymptotic_values():
    # -log(sigmoid(-1e4)) = 1e4 exactly in the limit; naive log(sigmoid) gives inf.
    assert float(losses.non_saturating_generator_loss([-1e4])) == pytest.approx(1e4)
    assert float(losses.non_saturating_generator_loss([1e4])) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.minimax_generator_loss([1e4])) == pytest.approx(-1e4)
    assert float(losses.minimax_discriminator_loss([1e4], [-1e4])) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.minimax_discriminator_loss([-1e4], [1e4])) == pytest.approx(2e4)


def test_saturation_is_what_distinguishes_the_generator_losses():
    """Where D rejects fakes confidently, minimax gradients vanish; non-saturating ones do not."""
    logits = tf.Variable([-10.0])
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.minimax_generator_loss(logits)
        non_saturating = losses.non_saturating_generator_loss(logits)
    assert abs(float(tape.gradient(minimax, logits)[0])) < 1e-4
    assert abs(float(tape.gradient(non_saturating, logits)[0])) > 0.99


def test_loss_family_registry():
    family = losses.get_loss_family("non_saturating")
    assert family.generator_loss is losses.non_saturating_generator_loss_of
    assert family.discriminator_loss is losses.minimax_discriminator_loss_of
    assert losses.get_loss_family("minimax").generator_loss is losses.minimax_generator_loss_of
    assert family.probabilities
    with pytest.raises(ConfigError, match="unknown loss 'wgan'; choose one of: hinge, "
                       "least_squares, minimax, non_saturating, relativistic, wasserstein"):
        losses.get_loss_family("wgan")


def test_losses_take_lower_precision_logits_and_return_float32():
    logits = tf.constant([[-3.0], [0.5], [8.0]], tf.bfloat16)
    for loss in (losses.minimax_discriminator_loss(logits, logits),
                 losses.minimax_generator_loss(logits),
                 losses.non_saturating_generator_loss(tf.cast(logits, tf.float16))):
        assert loss.dtype == tf.float32 and np.isfinite(float(loss))
    np.testing.assert_allclose(
        float(losses.non_saturating_generator_loss(logits)),
        float(losses.non_saturating_generator_loss(tf.cast(logits, tf.float32))), rtol=1e-6)


def test_families_read_the_discriminator_outputs_record():
    real, fake = tf.constant([[2.0], [-1.0]]), tf.constant([[0.5], [-3.0]])
    outputs = losses.DiscriminatorOutputs(real_logits=real, fake_logits=fake)
    family = losses.get_loss_family("non_saturating")
    # softplus(-2) + softplus(1) over 2, plus softplus(0.5) + softplus(-3) over 2.
    expected_d = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2 + (
        math.log1p(math.exp(0.5)) + math.log1p(math.exp(-3.0))) / 2
    assert float(family.discriminator_loss(outputs)) == pytest.approx(expected_d, rel=1e-6)
    expected_g = (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(3.0))) / 2
    assert float(family.generator_loss(outputs)) == pytest.approx(expected_g, rel=1e-6)
    smoothed = float(family.discriminator_loss(outputs, label_smoothing=0.1))
    assert smoothed == pytest.approx(float(losses.minimax_discriminator_loss(real, fake, 0.1)))


def test_a_penalty_is_a_pure_function_of_the_record():
    # discriminate lets a penalty evaluate D on the inputs inside the caller's tape:
    # for D(x) = sum(w * x), |grad_x D|^2 = |w|^2 whatever x is.
    weights = tf.constant([3.0, 4.0])
    real = tf.constant([[1.0, 2.0], [0.0, -1.0]])

    def discriminate(inputs):
        return tf.reduce_sum(inputs * weights, axis=1, keepdims=True)

    outputs = losses.DiscriminatorOutputs(real_logits=discriminate(real), fake_logits=None,
                                          real_inputs=real, discriminate=discriminate)
    with tf.GradientTape() as tape:
        tape.watch(outputs.real_inputs)
        total = tf.reduce_sum(outputs.discriminate(outputs.real_inputs))
    gradients = tape.gradient(total, outputs.real_inputs)
    np.testing.assert_allclose(tf.reduce_sum(gradients ** 2, axis=1).numpy(), [25.0, 25.0])


# ----- hinge, Wasserstein, least squares, relativistic -----

REAL, FAKE = [2.0, 0.5, -1.0], [-3.0, 0.0, 2.0]


def softplus(x):
    return math.log1p(math.exp(x))


def test_hinge_losses_match_hand_computation():
    # relu(1 - real) = [0, 0.5, 2]; relu(1 + fake) = [0, 1, 3].
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(
        (0 + 0.5 + 2) / 3 + (0 + 1 + 3) / 3, rel=1e-6)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(1 / 3, rel=1e-6)


def test_hinge_discriminator_loss_is_zero_outside_the_margin():
    assert float(losses.hinge_discriminator_loss([1.0, 5.0], [-1.0, -7.0])) == 0.0
    assert float(losses.hinge_discriminator_loss([0.0], [0.0])) == pytest.approx(2.0)


def test_wasserstein_losses_match_hand_computation():
    # mean(fake) = -1/3, mean(real) = 1/2.
    assert float(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(
        -1 / 3 - 1 / 2, rel=1e-6)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(1 / 3, rel=1e-6)


def test_least_squares_losses_match_hand_computation():
    # (real - 1)^2 = [1, 0.25, 4]; fake^2 = [9, 0, 4]; (fake - 1)^2 = [16, 1, 1].
    assert float(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(
        0.5 * (1 + 0.25 + 4) / 3 + 0.5 * (9 + 0 + 4) / 3, rel=1e-6)
    assert float(losses.least_squares_generator_loss(FAKE)) == pytest.approx(
        0.5 * (16 + 1 + 1) / 3, rel=1e-6)


def test_relativistic_losses_match_hand_computation():
    # Pairs real - fake = [5, 0.5, -3].
    assert float(losses.relativistic_discriminator_loss(REAL, FAKE)) == pytest.approx(
        (softplus(-5.0) + softplus(-0.5) + softplus(3.0)) / 3, rel=1e-6)
    assert float(losses.relativistic_generator_loss(REAL, FAKE)) == pytest.approx(
        (softplus(5.0) + softplus(0.5) + softplus(-3.0)) / 3, rel=1e-6)


def test_relativistic_losses_pair_logits_element_by_element():
    # Pairing, not all-pairs: with real [0, 10] and fake [10, 0] the pairs are -10 and +10.
    got = float(losses.relativistic_discriminator_loss([0.0, 10.0], [10.0, 0.0]))
    assert got == pytest.approx((softplus(10.0) + softplus(-10.0)) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="element by element"):
        losses.relativistic_discriminator_loss(tf.zeros([3, 1]), tf.zeros([2, 1]))


def test_new_losses_give_the_asymptotic_values_at_extreme_logits():
    assert float(losses.hinge_discriminator_loss([1e4], [-1e4])) == 0.0
    assert float(losses.hinge_discriminator_loss([-1e30], [1e30])) == pytest.approx(2e30)
    assert float(losses.wasserstein_discriminator_loss([1e30], [-1e30])) == pytest.approx(-2e30)
    assert float(losses.relativistic_discriminator_loss([1e30], [-1e30])) == 0.0
    assert float(losses.relativistic_discriminator_loss([-1e30], [1e30])) == pytest.approx(2e30)
    assert float(losses.relativistic_generator_loss([1e30], [-1e30])) == pytest.approx(2e30)
    assert float(losses.least_squares_generator_loss([-1e4])) == pytest.approx(0.5 * 10001 ** 2)


def test_new_losses_take_lower_precision_logits_and_return_float32():
    logits = tf.constant([[-3.0], [0.5], [8.0]], tf.bfloat16)
    for loss in (losses.hinge_discriminator_loss(logits, logits),
                 losses.hinge_generator_loss(logits),
                 losses.wasserstein_discriminator_loss(logits, logits),
                 losses.wasserstein_generator_loss(logits),
                 losses.least_squares_discriminator_loss(logits, logits),
                 losses.least_squares_generator_loss(logits),
                 losses.relativistic_discriminator_loss(logits, logits),
                 losses.relativistic_generator_loss(logits, tf.cast(logits, tf.float16))):
        assert loss.dtype == tf.float32 and np.isfinite(float(loss))


# ----- the families -----

FAMILY_LOSSES = {
    "minimax": (losses.minimax_generator_loss, losses.minimax_discriminator_loss),
    "non_saturating": (losses.non_saturating_generator_loss, losses.minimax_discriminator_loss),
    "hinge": (losses.hinge_generator_loss, losses.hinge_discriminator_loss),
    "wasserstein": (losses.wasserstein_generator_loss, losses.wasserstein_discriminator_loss),
    "least_squares": (losses.least_squares_generator_loss,
                      losses.least_squares_discriminator_loss),
    "relativistic": (lambda fake: losses.relativistic_generator_loss(REAL, fake),
                     losses.relativistic_discriminator_loss),
}


def test_the_registered_families_and_their_flags():
    assert set(losses.LOSS_FAMILIES) == set(FAMILY_LOSSES)
    flags = {name: (family.probabilities, family.generator_needs_real, family.label_smoothing)
             for name, family in losses.LOSS_FAMILIES.items()}
    assert flags == {
        "minimax": (True, False, True),
        "non_saturating": (True, False, True),
        "hinge": (False, False, False),
        "wasserstein": (False, False, False),
        "least_squares": (False, False, False),
        "relativistic": (False, True, False),
    }


@pytest.mark.parametrize("name", sorted(FAMILY_LOSSES))
def test_each_family_reads_the_record(name):
    generator_loss, discriminator_loss = FAMILY_LOSSES[name]
    family = losses.get_loss_family(name)
    outputs = losses.DiscriminatorOutputs(real_logits=tf.constant(REAL),
                                          fake_logits=tf.constant(FAKE))
    assert float(family.generator_loss(outputs)) == pytest.approx(
        float(generator_loss(FAKE)), rel=1e-6)
    assert float(family.discriminator_loss(outputs, label_smoothing=0.0)) == pytest.approx(
        float(discriminator_loss(REAL, FAKE)), rel=1e-6)


@pytest.mark.parametrize("name", ["hinge", "wasserstein", "least_squares", "relativistic"])
def test_families_without_targets_refuse_label_smoothing(name):
    outputs = losses.DiscriminatorOutputs(real_logits=tf.constant(REAL),
                                          fake_logits=tf.constant(FAKE))
    with pytest.raises(ValueError, match="label_smoothing=0.1 applies only to"):
        losses.get_loss_family(name).discriminator_loss(outputs, label_smoothing=0.1)


def test_relativistic_generator_needs_the_real_logits():
    outputs = losses.DiscriminatorOutputs(real_logits=None, fake_logits=tf.constant(FAKE))
    with pytest.raises(ValueError, match="real_logits"):
        losses.get_loss_family("relativistic").generator_loss(outputs)


def test_unknown_family_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown loss 'nope'"):
        losses.get_loss_family("nope")


# ----- R1 / R2 -----


def linear_discriminator(weights, labels=None):
    """D(x) = sum(w * x) over the non-batch axes (+ a label term the input gradient ignores)."""
    def discriminate(inputs):
        logits = tf.reshape(tf.reduce_sum(inputs * weights, axis=list(range(1, len(
            inputs.shape)))), [-1, 1])
        if labels is not None:
            logits += tf.reduce_sum(labels, axis=1, keepdims=True)
        return logits
    return discriminate


def squares(inputs):
    """D(x) = sum(x^2) over the non-batch axes: grad_x D = 2x."""
    return tf.reshape(tf.reduce_sum(tf.square(inputs), axis=list(range(1, len(inputs.shape)))),
                      [-1, 1])


@pytest.mark.parametrize("penalty", [losses.r1_penalty, losses.r2_penalty])
def test_r1_r2_of_a_linear_discriminator_is_the_squared_weight_norm(penalty):
    # Image-shaped inputs [batch, 2, 2, 1]: the norm runs over all non-batch axes.
    weights = tf.constant([[[1.0], [2.0]], [[3.0], [-0.5]]])
    inputs = tf.random.stateless_normal([3, 2, 2, 1], seed=[1, 2])
    labels = tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    value = penalty(linear_discriminator(weights, labels), inputs)
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(1 + 4 + 9 + 0.25, rel=1e-6)


def test_r1_r2_of_a_quadratic_discriminator_average_the_per_example_norms():
    x = tf.constant([[1.0, 2.0], [0.0, -1.0], [3.0, 0.0]])
    # ||2x||^2 = 4 * [5, 1, 9].
    expected = (20 + 4 + 36) / 3
    outputs = losses.DiscriminatorOutputs(real_logits=squares(x), fake_logits=squares(-x),
                                          real_inputs=x, fake_inputs=-x, discriminate=squares)
    assert float(losses.r1_penalty(squares, x)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.r1_penalty_of(outputs)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.r2_penalty_of(outputs)) == pytest.approx(expected, rel=1e-6)
    # r2_penalty_of reads fake_inputs, not real_inputs.
    other = dataclasses.replace(outputs, fake_inputs=2 * x)
    assert float(losses.r2_penalty_of(other)) == pytest.approx(4 * expected, rel=1e-6)
    assert float(losses.r1_penalty_of(other)) == pytest.approx(expected, rel=1e-6)


def test_penalty_of_needs_inputs_and_discriminate():
    outputs = losses.DiscriminatorOutputs(real_logits=None, fake_logits=None)
    with pytest.raises(ValueError, match="real_inputs"):
        losses.r1_penalty_of(outputs)
    with pytest.raises(ValueError, match="fake_inputs"):
        losses.r2_penalty_of(dataclasses.replace(outputs, fake_inputs=tf.zeros([1, 2])))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_r1_is_differentiable_wrt_discriminator_weights(compiled):
    # D(x) = sum(v * x^2): grad_x D = 2 v x, penalty = mean_b 4 sum_i v_i^2 x_bi^2,
    # d penalty / d v_i = 8 v_i mean_b x_bi^2.
    v = tf.Variable([0.5, -2.0])
    x = tf.constant([[1.0, 2.0], [3.0, -1.0]])

    def discriminate(inputs):
        return tf.reduce_sum(v * inputs * inputs, axis=1, keepdims=True)

    def penalty_and_gradient():
        with tf.GradientTape() as tape:
            penalty = losses.r1_penalty(discriminate, x)
        return penalty, tape.gradient(penalty, v)

    penalty, gradient = (tf.function(penalty_and_gradient) if compiled
                         else penalty_and_gradient)()
    mean_sq = [(1 + 9) / 2, (4 + 1) / 2]
    assert float(penalty) == pytest.approx(4 * (0.25 * mean_sq[0] + 4 * mean_sq[1]), rel=1e-6)
    np.testing.assert_allclose(gradient.numpy(), [8 * 0.5 * mean_sq[0], 8 * -2.0 * mean_sq[1]],
                               rtol=1e-6)


def test_r1_of_a_lower_precision_discriminator_is_float32():
    weights = tf.constant([3.0, 4.0], tf.float16)

    def discriminate(inputs):
        return tf.cast(tf.reduce_sum(inputs * weights, axis=1, keepdims=True), tf.bfloat16)

    value = losses.r1_penalty(discriminate, tf.ones([2, 2], tf.float16))
    assert value.dtype == tf.float32 and float(value) == pytest.approx(25.0)


# ----- gradient penalty -----


def test_gradient_penalty_of_a_linear_critic_with_gradient_norm_2_is_1():
    weights = tf.constant([1.2, 1.6])  # ||w|| = 2
    real = tf.constant([[1.0, 2.0], [0.0, -1.0], [5.0, 5.0]])
    fake = tf.constant([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
    value = losses.gradient_penalty(linear_discriminator(weights), real, fake,
                                    tf.constant([0.1, 0.5, 0.9]))
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx((2 - 1) ** 2, rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_gradient_penalty_interpolates_per_example(compiled):
    # Inputs [batch, 1, 2]; epsilon [batch] broadcast over the non-batch axes.
    real = tf.constant([[[1.0, 0.0]], [[2.0, 2.0]]])
    fake = tf.constant([[[0.0, 2.0]], [[0.0, 0.0]]])
    epsilon = tf.constant([0.25, 0.5])
    # x_hat = [0.25, 1.5] and [1, 1]; grad of sum(x^2) is 2 x_hat.
    expected = ((2 * math.hypot(0.25, 1.5) - 1) ** 2 + (2 * math.hypot(1.0, 1.0) - 1) ** 2) / 2
    penalty = (tf.function(losses.gradient_penalty) if compiled else losses.gradient_penalty)
    assert float(penalty(squares, real, fake, epsilon)) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_gradient_wrt_weights():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = [1.2, 1.6] at w = [1.2, 1.6].
    w = tf.Variable([1.2, 1.6])
    real, fake = tf.ones([2, 2]), tf.zeros([2, 2])
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(linear_discriminator(w), real, fake, [0.3, 0.7])
    np.testing.assert_allclose(tape.gradient(penalty, w).numpy(), [1.2, 1.6], rtol=1e-5)


def test_gradient_penalty_has_a_finite_gradient_where_the_critic_is_flat():
    # With w = 0 the input gradient is 0, where the plain norm's derivative is inf (0 * inf = nan).
    w = tf.Variable([0.0, 0.0])
    real, fake = tf.ones([2, 2]), tf.zeros([2, 2])
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(linear_discriminator(w), real, fake, [0.3, 0.7])
    gradient = tape.gradient(penalty, w)
    assert float(penalty) == pytest.approx(1.0, rel=1e-5)
    assert np.all(np.isfinite(gradient.numpy()))


# ----- LeCam -----


def test_lecam_penalty_matches_hand_computation_and_holds_the_anchors_constant():
    real, fake = tf.Variable([1.0, 3.0]), tf.Variable([-2.0, 0.0])
    real_anchor, fake_anchor = tf.Variable(0.5), tf.Variable(-1.0)
    with tf.GradientTape() as tape:
        value = losses.lecam_penalty(real, fake, real_anchor, fake_anchor)
    # Real logits against the fake anchor: (2^2 + 4^2) / 2; fakes against the real anchor:
    # (2.5^2 + 0.5^2) / 2.
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(10.0 + 3.25, rel=1e-6)
    gradients = tape.gradient(value, [real, fake, real_anchor, fake_anchor],
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
    np.testing.assert_allclose(gradients[0].numpy(), [2.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(gradients[1].numpy(), [-2.5, -0.5], rtol=1e-6)
    assert float(gradients[2]) == 0.0 and float(gradients[3]) == 0.0
