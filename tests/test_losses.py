"""Losses against hand-computed values, and their stability at extreme logits."""

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


@pytest.mark.parametrize("loss_fn", [losses.minimax_generator_loss,
                                     losses.non_saturating_generator_loss])
def test_generator_losses_finite_with_finite_gradients_at_extreme_logits(loss_fn):
    logits = tf.Variable(EXTREME)
    with tf.GradientTape() as tape:
        value = loss_fn(logits)
    gradient = tape.gradient(value, logits)
    assert np.isfinite(value.numpy())
    assert np.all(np.isfinite(gradient.numpy()))


def test_discriminator_loss_finite_with_finite_gradients_at_extreme_logits():
    real, fake = tf.Variable(EXTREME), tf.Variable(EXTREME[::-1])
    with tf.GradientTape() as tape:
        value = losses.minimax_discriminator_loss(real, fake, label_smoothing=0.1)
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
    """Where D rejects fakes confidently, minimax gradients vanish but non-saturating ones do not."""
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
    with pytest.raises(ConfigError, match="unknown loss 'wgan'; choose one of: minimax, non_saturating"):
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
