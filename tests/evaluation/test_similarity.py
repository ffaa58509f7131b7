"""The fast SSIM equals `tf.image.ssim` and refuses what it cannot compare."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.evaluation.similarity import ssim


def test_ssim_equals_tensorflows_on_colour_and_grey_images():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, [3, 40, 31, 3]).astype(np.uint8)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    expected = tf.image.ssim(tf.constant(clean, tf.float32), tf.constant(noisy, tf.float32),
                             max_val=255.0).numpy()
    np.testing.assert_allclose(ssim(clean, noisy, 255.0), expected, atol=1e-5)
    assert 0.5 < expected.min() < expected.max() < 0.99  # a comparison, not a trivial 1
    grey = rng.uniform(16, 235, [2, 20, 12, 1])
    np.testing.assert_allclose(
        ssim(grey, grey[::-1], 255.0),
        tf.image.ssim(tf.constant(grey, tf.float32), tf.constant(grey[::-1], tf.float32),
                      max_val=255.0).numpy(), atol=1e-5)
    np.testing.assert_allclose(ssim(clean, clean, 255.0), 1.0)


def test_more_than_a_batch_and_no_images():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, [70, 11, 11, 1])
    b = rng.integers(0, 256, [70, 11, 11, 1])
    values = ssim(a, b, 255.0)
    assert values.shape == (70,)
    np.testing.assert_allclose(values[65:], ssim(a[65:], b[65:], 255.0))
    assert ssim(a[:0], b[:0], 255.0).shape == (0,)


@pytest.mark.parametrize("a, b, message", [
    (np.zeros([1, 10, 20, 1]), np.zeros([1, 10, 20, 1]), "at least 11x11 pixels; got 10x20"),
    (np.zeros([1, 12, 12, 3]), np.zeros([1, 12, 12, 1]), "of one shape"),
])
def test_what_ssim_cannot_compare_is_refused(a, b, message):
    with pytest.raises(ValueError, match=message):
        ssim(a, b, 255.0)
