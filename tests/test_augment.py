"""DiffAugment's transformations against hand-derived effects, and ADA's controller."""

import numpy as np
import pytest
import tensorflow as tf

from kgan import augment
from kgan.errors import ConfigError

SEED = tf.constant([7, 11], tf.int64)


def seed(i):
    return tf.constant([i, 3], tf.int64)


def ramp(n, h, w, c=1):
    """Images whose values are all distinct and non-zero, so a fill or a cutout
    (value 0) and every pixel's source position can be told apart."""
    values = np.arange(1, n * h * w * c + 1, dtype=np.float32) / (n * h * w * c)
    return values.reshape(n, h, w, c)


def shifted(image, dy, dx):
    """`image` [H, W, C] moved down by dy and right by dx, with 0 fill."""
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def changed(x, y):
    """Per example: whether any value differs."""
    return np.any(np.asarray(x) != np.asarray(y), axis=(1, 2, 3))


# --- policies -------------------------------------------------------------

def test_check_policy_orders_names_as_applied():
    assert augment.check_policy(["cutout", "translation", "color"]) == (
        "color", "translation", "cutout")
    assert augment.check_policy("translation,color") == ("color", "translation")
    assert augment.check_policy(()) == ()


def test_unknown_policy_name_is_named_with_the_choices():
    with pytest.raises(ValueError, match=r"'zoom'.*translation, cutout, color"):
        augment.diff_augment(ramp(1, 8, 8), ["color", "zoom"], SEED)
    with pytest.raises(ConfigError, match="twice"):
        augment.check_policy(["color", "color"])


def test_probability_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        augment.diff_augment(ramp(1, 8, 8), ["color"], SEED, probability=1.5)


# --- determinism, identity, dtypes ---------------------------------------

ALL = augment.POLICIES


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16, tf.float16, tf.float64])
def test_probability_zero_returns_the_images_exactly(dtype):
    images = tf.cast(ramp(4, 16, 16, 3) * 2 - 1, dtype)
    out = augment.diff_augment(images, ALL, SEED, probability=0.0)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), images.numpy())
    out = augment.diff_augment(images, ALL, SEED, probability=tf.constant(0.0))
    np.testing.assert_array_equal(out.numpy(), images.numpy())


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_shape_and_dtype_are_kept(dtype):
    images = tf.cast(ramp(3, 16, 12, 3), dtype)
    out = augment.diff_augment(images, ALL, SEED)
    assert out.shape == images.shape and out.dtype == dtype


def test_same_seed_same_output_different_seed_different_output():
    images = ramp(8, 16, 16, 3)
    first = augment.diff_augment(images, ALL, seed(1)).numpy()
    np.testing.assert_array_equal(first, augment.diff_augment(images, ALL, seed(1)).numpy())
    # A seed given as a Python list is the same seed.
    np.testing.assert_array_equal(first, augment.diff_augment(images, ALL, [1, 3]).numpy())
    assert changed(first, augment.diff_augment(images, ALL, seed(2)).numpy()).all()


def test_each_policy_draws_independently_of_the_others():
    # Adding color must not change which translation an image gets: compare
    # where the fill (exact zeros) falls, which color does not move.
    images = ramp(16, 16, 16)
    alone = augment.diff_augment(images, ["translation"], SEED).numpy()
    both = augment.diff_augment(images, ["translation", "color"], SEED).numpy()
    assert np.any(alone == 0)
    # Color first, then translation: the fill is still exactly 0 where it was.
    np.testing.assert_array_equal(alone == 0, both == 0)


# --- translation ---------------------------------------------------------

@pytest.mark.parametrize("h,w", [(16, 24), (8, 8)])
def test_translation_is_an_integer_shift_with_zero_fill(h, w):
    n = 200
    images = ramp(n, h, w, 2)
    out = augment.diff_augment(images, ["translation"], SEED).numpy()
    limit_y, limit_x = h // 8, w // 8
    offsets = []
    for image, result in zip(images, out):
        matches = [(dy, dx) for dy in range(-h // 2, h // 2 + 1) for dx in range(-w // 2, w // 2 + 1)
                   if np.array_equal(result, shifted(image, dy, dx))]
        assert len(matches) == 1, "not a single integer shift with zero fill"
        offsets.append(matches[0])
    offsets = np.array(offsets)
    assert np.all(np.abs(offsets[:, 0]) <= limit_y) and np.all(np.abs(offsets[:, 1]) <= limit_x)
    # The whole range is used, both ways.
    assert set(offsets[:, 0]) == set(range(-limit_y, limit_y + 1))
    assert set(offsets[:, 1]) == set(range(-limit_x, limit_x + 1))


# --- cutout --------------------------------------------------------------

@pytest.mark.parametrize("h,w", [(16, 16), (12, 10), (9, 7)])
def test_cutout_zeroes_one_clipped_rectangle_of_half_the_size(h, w):
    n = 300
    images = ramp(n, h, w, 3)
    out = augment.diff_augment(images, ["cutout"], SEED).numpy()
    side_y, side_x = int(h / 2 + 0.5), int(w / 2 + 0.5)
    full, starts = 0, {"rows": set(), "cols": set()}
    for image, result in zip(images, out):
        zero = result == 0
        # Whole pixels (all channels) are cut, and the rest is untouched.
        assert np.all(zero.all(axis=2) == zero.any(axis=2))
        zero = zero[..., 0]
        np.testing.assert_array_equal(result[~zero], image[~zero])
        rows, cols = np.flatnonzero(zero.any(axis=1)), np.flatnonzero(zero.any(axis=0))
        assert rows.size and cols.size, "nothing cut out"
        # One rectangle: the zeros are exactly the product of a contiguous row
        # range and a contiguous column range.
        assert rows[-1] - rows[0] + 1 == rows.size and cols[-1] - cols[0] + 1 == cols.size
        assert zero.sum() == rows.size * cols.size
        # Its full size, unless it is clipped by a border it touches.
        for axis, hits, side, size in (("rows", rows, side_y, h), ("cols", cols, side_x, w)):
            assert hits.size <= side
            if hits.size < side:
                assert hits[0] == 0 or hits[-1] == size - 1
            # Where the unclipped square starts (it may be off the image).
            starts[axis].add(int(hits[0]) if hits[0] > 0 else int(hits[-1]) - side + 1)
        full += rows.size == side_y and cols.size == side_x
    # Both whole and clipped squares occur.
    assert 0 < full < n
    # The center is uniform over the pixels (for an odd side) or over the
    # points between and beside them (even side): the square reaches as far
    # past one border as past the other.
    for axis, side, size in (("rows", side_y, h), ("cols", side_x, w)):
        first = -(side // 2)
        assert starts[axis] == set(range(first, size - side + 1 - first))


# --- color ---------------------------------------------------------------

def test_color_on_a_constant_gray_image_is_a_brightness_offset():
    # Contrast has no deviation to scale and saturation no channels to mix:
    # only the brightness offset, U[-0.5, 0.5], is left.
    images = np.full((500, 4, 4, 1), 0.25, np.float32)
    out = augment.diff_augment(images, ["color"], SEED).numpy()
    offsets = out - 0.25
    np.testing.assert_allclose(offsets, offsets[:, :1, :1, :1] * np.ones_like(offsets), atol=1e-7)
    offsets = offsets[:, 0, 0, 0]
    assert np.all(np.abs(offsets) <= 0.5 + 1e-6)
    assert offsets.min() < -0.45 and offsets.max() > 0.45


def test_color_on_a_constant_rgb_image_matches_the_hand_derivation():
    # Every pixel is (a, b, c) with mean m. Brightness adds t to all; saturation
    # scales the deviation from the pixel mean by s; contrast scales the
    # deviation from the image mean (= pixel mean for a constant image) by k:
    # out = m + t + (rgb - m) * s * k, with t in [-0.5, 0.5], s*k in [0, 3].
    rgb = np.array([0.6, -0.2, 0.1], np.float32)
    images = np.broadcast_to(rgb, (500, 3, 3, 3)).copy()
    out = augment.diff_augment(images, ["color"], SEED).numpy().astype(np.float64)
    mean = out.mean(axis=3)
    brightness = mean - rgb.mean()
    assert np.all(np.abs(brightness) <= 0.5 + 1e-6)
    scale = (out - mean[..., None]) / (rgb - rgb.mean())
    np.testing.assert_allclose(scale, scale[:, :1, :1, :1] * np.ones_like(scale), atol=1e-5)
    assert np.all(scale >= -1e-6) and np.all(scale <= 3 + 1e-5)
    assert scale.min() < 0.3 and scale.max() > 2.0


def test_color_on_grayscale_is_brightness_and_contrast_only():
    # No saturation for one channel: out = mean + t + (x - mean) * k, with
    # k in [0.5, 1.5] the same for every pixel of an image.
    images = np.random.default_rng(0).uniform(-1, 1, (300, 5, 5, 1)).astype(np.float32)
    out = augment.diff_augment(images, ["color"], SEED).numpy().astype(np.float64)
    x = images.astype(np.float64)
    deviation = x - x.mean(axis=(1, 2, 3), keepdims=True)
    out_deviation = out - out.mean(axis=(1, 2, 3), keepdims=True)
    contrast = ((deviation * out_deviation).sum(axis=(1, 2, 3), keepdims=True)
                / (deviation ** 2).sum(axis=(1, 2, 3), keepdims=True))
    np.testing.assert_allclose(out_deviation, contrast * deviation, atol=1e-5)
    assert np.all(contrast >= 0.5 - 1e-5) and np.all(contrast <= 1.5 + 1e-5)
    assert contrast.min() < 0.6 and contrast.max() > 1.4
    brightness = out.mean(axis=(1, 2, 3)) - x.mean(axis=(1, 2, 3))
    assert np.all(np.abs(brightness) <= 0.5 + 1e-5)


# --- gradients -----------------------------------------------------------

def gradient(images, policy, seed_=SEED):
    x = tf.Variable(images)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(augment.diff_augment(x, policy, seed_))
    return augment.diff_augment(x, policy, seed_).numpy(), tape.gradient(total, x).numpy()


@pytest.mark.parametrize("policy", augment.POLICIES)
def test_gradients_reach_the_images(policy):
    _, grad = gradient(ramp(8, 16, 16, 3), [policy])
    assert np.isfinite(grad).all()
    assert np.all(np.abs(grad).sum(axis=(1, 2, 3)) > 0)


def test_color_passes_the_sum_gradient_through_unchanged():
    # Brightness adds a constant, and saturation and contrast scale a
    # deviation about a mean, which leaves the sum's gradient at exactly 1.
    _, grad = gradient(ramp(8, 6, 6, 3), ["color"])
    np.testing.assert_allclose(grad, 1.0, rtol=1e-5)


def test_gradient_is_zero_exactly_inside_the_cutout():
    out, grad = gradient(ramp(8, 16, 16, 3), ["cutout"])
    cut = out == 0
    assert cut.any()
    np.testing.assert_array_equal(grad[cut], 0.0)
    np.testing.assert_array_equal(grad[~cut], 1.0)


def test_translation_gradient_counts_where_each_pixel_lands():
    # Each input pixel lands on at most one output pixel: gradient 1 if it
    # stays in the frame, 0 if it is shifted out.
    _, grad = gradient(ramp(16, 16, 16), ["translation"])
    assert set(np.unique(grad)) <= {0.0, 1.0}
    assert np.any(grad == 0.0)


# --- per-image probability ------------------------------------------------

@pytest.mark.parametrize("policy,size", [("translation", 32), ("cutout", 8), ("color", 8)])
def test_half_probability_changes_about_half_the_images(policy, size):
    # Constant gray images for color (only brightness can change them), so
    # each policy changes an image (almost) exactly when its gate is open.
    # Translation by (0, 0) changes nothing: 1/81 of the open gates at 32x32.
    n = 2000
    if policy == "color":
        images = np.full((n, size, size, 1), 0.3, np.float32)
    else:
        images = ramp(n, size, size)
    out = augment.diff_augment(images, [policy], SEED, probability=tf.constant(0.5))
    fraction = changed(images, out).mean()
    assert 0.45 <= fraction <= 0.55, fraction


def test_probability_one_always_augments():
    images = ramp(500, 8, 8)
    out = augment.diff_augment(images, ["cutout"], SEED, probability=1.0)
    assert changed(images, out).all()


# --- graphs, dynamic batches, replicas ----------------------------------

def test_works_in_tf_function_with_a_dynamic_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32),
                                  tf.TensorSpec([2], tf.int64), tf.TensorSpec([], tf.float32)])
    def run(images, seed_, probability):
        return augment.diff_augment(images, ALL, seed_, probability)

    for n in (1, 5):
        images = ramp(n, 16, 16, 3)
        got = run(images, SEED, tf.constant(0.7)).numpy()
        want = augment.diff_augment(images, ALL, SEED, probability=0.7).numpy()
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(run(ramp(0, 16, 16, 3), SEED, 1.0).numpy().shape,
                                  (0, 16, 16, 3))
    assert run.experimental_get_tracing_count() == 1


def test_replica_rows_give_the_whole_batch_augmentation():
    # Two "replicas" holding rows 0:2 and 2:6 of a batch of 6 augment them as
    # one device augments the whole batch.
    images = ramp(6, 16, 16, 3)
    whole = augment.diff_augment(images, ALL, SEED, 0.6).numpy()
    parts = [augment.diff_augment(images[a:b], ALL, SEED, 0.6, replica_rows=(a, 6)).numpy()
             for a, b in ((0, 2), (2, 6))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_works_in_a_distribute_replica_context():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    images = ramp(4, 16, 16, 3)

    @tf.function
    def step(x):
        return strategy.run(lambda x: augment.diff_augment(x, ALL, SEED), args=(x,))

    got = strategy.experimental_local_results(step(tf.constant(images)))[0].numpy()
    np.testing.assert_array_equal(got, augment.diff_augment(images, ALL, SEED).numpy())


# --- ADA ----------------------------------------------------------------

def test_ada_adjust_steps_by_images_over_speed():
    # 64 images per step, 4 steps per interval: 256 / 512 = 0.5 per interval.
    step = dict(batch_images=256, speed_images=512)
    assert augment.ada_adjust(0.25, 0.7, target=0.6, **step) == pytest.approx(0.75)
    assert augment.ada_adjust(0.75, 0.5, target=0.6, **step) == pytest.approx(0.25)
    assert augment.ada_adjust(0.25, 0.6, target=0.6, **step) == pytest.approx(0.25)
    assert augment.ada_adjust(0.1, 0.9, batch_images=32) == pytest.approx(0.1 + 32 / 500_000)


def test_ada_adjust_clips_to_zero_and_one():
    step = dict(batch_images=256, speed_images=512)
    assert augment.ada_adjust(0.8, 0.9, **step) == 1.0
    assert augment.ada_adjust(0.2, 0.1, **step) == 0.0
    assert augment.ada_adjust(1.0, 1.0, **step) == 1.0
    assert augment.ada_adjust(0.0, -1.0, **step) == 0.0


def test_ada_adjust_on_tensors():
    p = tf.Variable(0.5)
    p.assign(augment.ada_adjust(p, tf.constant(0.8), batch_images=tf.constant(100),
                                speed_images=1000))
    assert float(p) == pytest.approx(0.6)
    new = augment.ada_adjust(tf.constant(0.05), tf.constant(0.2), batch_images=100,
                             speed_images=1000)
    assert new.dtype == tf.float32 and float(new) == 0.0
