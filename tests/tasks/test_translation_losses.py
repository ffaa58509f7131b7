"""The image-to-image families' pure pieces: reconstruction terms and the history buffer."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.tasks.translation import history_pool
from kgan.tasks.translation_losses import (cyclegan_cycle_loss, cyclegan_identity_loss,
                                           pix2pix_l1_loss, simgan_self_regularization_loss)


@pytest.mark.parametrize("loss", [pix2pix_l1_loss, cyclegan_cycle_loss, cyclegan_identity_loss,
                                  simgan_self_regularization_loss])
def test_reconstruction_terms_are_the_mean_absolute_difference(loss):
    a = tf.constant([[[[1.0, -1.0]], [[0.5, 0.0]]]])  # [1, 2, 1, 2]
    b = tf.constant([[[[0.0, -1.0]], [[-0.5, 0.25]]]])
    # |1-0| + 0 + |0.5+0.5| + |0-0.25| = 2.25 over 4 values
    assert float(loss(a, b)) == pytest.approx(0.5625)
    assert float(loss(a, a)) == 0.0
    assert loss(tf.cast(a, tf.bfloat16), b).dtype == tf.float32


def test_l1_is_finite_for_any_pair_in_range():
    a = tf.fill([2, 4, 4, 3], 1.0)
    assert float(pix2pix_l1_loss(a, -a)) == 2.0


def _pool(history, filled, generated, draws, slots):
    out, history, filled = history_pool(tf.constant(history, tf.float32), tf.constant(filled),
                                        tf.constant(generated, tf.float32),
                                        tf.constant(draws, tf.float32),
                                        tf.constant(slots, tf.int32))
    return out.numpy(), history.numpy(), int(filled)


def test_history_fills_first_and_judges_the_new_images():
    history = np.zeros([3, 1, 1, 1], np.float32)
    generated = np.array([1.0, 2.0], np.float32).reshape(2, 1, 1, 1)
    out, history, filled = _pool(history, 0, generated, [0.9, 0.9], [0, 0])
    np.testing.assert_array_equal(out.ravel(), [1, 2])
    np.testing.assert_array_equal(history.ravel(), [1, 2, 0])
    assert filled == 2


def test_full_history_swaps_on_a_high_draw_and_keeps_on_a_low_one():
    history = np.array([10.0, 20.0, 30.0], np.float32).reshape(3, 1, 1, 1)
    generated = np.array([1.0, 2.0, 3.0], np.float32).reshape(3, 1, 1, 1)
    # image 1: the buffer's third slot slips in for it; image 2 is judged
    # itself; image 3 takes the slot image 1 was just stored in.
    out, history, filled = _pool(history, 3, generated, [0.7, 0.2, 0.9], [2, 0, 2])
    np.testing.assert_array_equal(out.ravel(), [30, 2, 1])
    np.testing.assert_array_equal(history.ravel(), [10, 20, 3])
    assert filled == 3


def test_the_last_free_slot_is_filled_before_swapping_starts():
    history = np.array([10.0, 0.0], np.float32).reshape(2, 1, 1, 1)
    generated = np.array([1.0, 2.0], np.float32).reshape(2, 1, 1, 1)
    out, history, filled = _pool(history, 1, generated, [0.9, 0.9], [0, 0])
    np.testing.assert_array_equal(out.ravel(), [1, 10])
    np.testing.assert_array_equal(history.ravel(), [2, 1])
    assert filled == 2


def test_no_history_judges_the_generated_images():
    generated = np.arange(2, dtype=np.float32).reshape(2, 1, 1, 1)
    out, history, filled = _pool(np.zeros([0, 1, 1, 1], np.float32), 0, generated, [0.9, 0.9],
                                 [0, 0])
    np.testing.assert_array_equal(out, generated)
    assert history.shape == (0, 1, 1, 1) and filled == 0
