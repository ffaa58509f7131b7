"""kgan.tasks.semi_supervised_losses against hand-computed numbers."""

import math

import numpy as np
import pytest
import tensorflow as tf

from kgan.tasks import semi_supervised_losses as ssl


def test_the_real_logit_is_the_log_sum_of_the_class_exponentials():
    # D(x) = Z / (Z + 1): logits (0, 0) give Z = 2, D = 2/3, whose logit is ln 2.
    np.testing.assert_allclose(ssl.real_logit([[0.0, 0.0], [1.0, -5.0]]),
                               [math.log(2), math.log(math.e + math.exp(-5))], rtol=1e-6)


def test_class_loss():
    assert float(ssl.semi_supervised_class_loss([[0.0, 0.0]], [0])) == pytest.approx(math.log(2))
    # -log(e^2 / (e^2 + 2)) = log(1 + 2 e^-2)
    assert float(ssl.semi_supervised_class_loss([[2.0, 0.0, 0.0]], [0])) == pytest.approx(
        math.log(1 + 2 * math.exp(-2)), rel=1e-6)
    # The mean over the labelled examples.
    assert float(ssl.semi_supervised_class_loss([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0, 2])) \
        == pytest.approx((math.log(1 + 2 * math.exp(-2)) + math.log(3)) / 2, rel=1e-6)


def test_discriminator_loss():
    # Real (0, 0): softplus(-ln 2) = ln 1.5; generated (0, 0): softplus(ln 2) = ln 3.
    assert float(ssl.semi_supervised_discriminator_loss([[0.0, 0.0]], [[0.0, 0.0]])) == \
        pytest.approx(math.log(1.5) + math.log(3), rel=1e-6)
    # Confident and right: a real logit far above, a generated one far below: 0.
    assert float(ssl.semi_supervised_discriminator_loss([[50.0, 0.0]], [[-50.0, -50.0]])) == \
        pytest.approx(0.0, abs=1e-12)


# As kgan.losses' tests: up to 1e30 (a difference of two logits near float32's
# 3.4e38 limit overflows in any formula).
@pytest.mark.parametrize("size", [1e4, 1e30])
def test_every_loss_is_finite_for_logits_of_any_size(size):
    logits = tf.constant([[size, -size, 0.0], [-size, -size, -size]])
    for value in (ssl.semi_supervised_class_loss(logits, [1, 0]),
                  ssl.semi_supervised_discriminator_loss(logits, logits),
                  ssl.semi_supervised_discriminator_loss(-logits, logits)):
        assert np.isfinite(float(value)), (size, value)


def test_generator_loss_is_feature_matching():
    # Batch means (2, 3) and (1, 1): mean of squared differences (1 + 4) / 2.
    assert float(ssl.semi_supervised_generator_loss([[1.0, 2.0], [3.0, 4.0]],
                                                    [[0.0, 0.0], [2.0, 2.0]])) == 2.5
    # Only the means matter: a different batch with the same mean costs nothing.
    assert float(ssl.semi_supervised_generator_loss([[1.0, 1.0], [3.0, 5.0]],
                                                    [[2.0, 3.0], [2.0, 3.0]])) == 0.0


def test_losses_are_float32_for_bfloat16_inputs():
    logits = tf.constant([[1.0, 2.0]], tf.bfloat16)
    assert ssl.semi_supervised_class_loss(logits, [1]).dtype == tf.float32
    assert ssl.semi_supervised_discriminator_loss(logits, logits).dtype == tf.float32
    assert ssl.semi_supervised_generator_loss(logits, logits).dtype == tf.float32
