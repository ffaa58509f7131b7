"""SRGAN's pixel and content losses against hand-computed numbers."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.tasks.srgan_losses import srgan_content_loss, srgan_pixel_loss

TARGET = np.array([[[[0.0, 1.0], [-1.0, 0.5]]]], np.float32)
GENERATED = np.array([[[[0.5, 1.0], [1.0, -0.5]]]], np.float32)


def test_mse_is_the_mean_squared_difference():
    # (0.25 + 0 + 4 + 1) / 4
    assert float(srgan_pixel_loss(TARGET, GENERATED, "mse")) == pytest.approx(1.3125)


def test_l1_is_the_mean_absolute_difference():
    # (0.5 + 0 + 2 + 1) / 4
    assert float(srgan_pixel_loss(TARGET, GENERATED, "l1")) == pytest.approx(0.875)


def test_identical_images_cost_nothing_and_bfloat16_outputs_are_compared_in_float32():
    assert float(srgan_pixel_loss(TARGET, TARGET)) == 0.0
    loss = srgan_pixel_loss(TARGET, tf.cast(GENERATED, tf.bfloat16), "mse")
    assert loss.dtype == tf.float32 and float(loss) == pytest.approx(1.3125)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'l2'"):
        srgan_pixel_loss(TARGET, GENERATED, "l2")


def test_content_loss_is_the_mean_squared_feature_difference():
    real = np.array([[[[1.0, 0.0, 2.0]]], [[[0.0, 0.0, 0.0]]]], np.float32)  # [2, 1, 1, 3]
    fake = np.array([[[[0.0, 0.0, 4.0]]], [[[0.0, 3.0, 0.0]]]], np.float32)
    # (1 + 0 + 4 + 0 + 9 + 0) / 6
    assert float(srgan_content_loss(real, fake)) == pytest.approx(14 / 6)
    assert float(srgan_content_loss(real, real)) == 0.0
    loss = srgan_content_loss(real, tf.cast(fake, tf.bfloat16))
    assert loss.dtype == tf.float32 and float(loss) == pytest.approx(14 / 6)
