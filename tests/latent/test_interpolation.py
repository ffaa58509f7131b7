"""Seeded and truncated latents, linear and spherical interpolation."""

import numpy as np
import pytest

from kgan import latent


def test_existing_names_still_import_from_kgan_latent():
    z = latent.standard_normal(3, latent.Purpose.SAMPLE_GRID, 4, 8)
    assert z.shape == (4, 8) and z.dtype == np.float32
    doubled = latent.generate_in_batches(lambda x: 2 * x, z, batch_size=3)
    np.testing.assert_array_equal(doubled, 2 * z)


def test_truncation_bounds_components_and_keeps_the_ones_inside():
    plain = latent.standard_normal(0, latent.Purpose.GENERATE, 500, 32)
    truncated = latent.truncated_normal(0, latent.Purpose.GENERATE, 500, 32, 0.5)
    assert np.abs(truncated).max() <= 0.5
    inside = np.abs(plain) <= 0.5
    np.testing.assert_array_equal(truncated[inside], plain[inside])
    assert not np.array_equal(truncated[~inside], plain[~inside])
    np.testing.assert_array_equal(truncated, latent.truncated_normal(
        0, latent.Purpose.GENERATE, 500, 32, 0.5))
    np.testing.assert_array_equal(
        latent.truncated_normal(0, latent.Purpose.GENERATE, 5, 32, None), plain[:5])
    with pytest.raises(ValueError, match="threshold"):
        latent.truncated_normal(0, latent.Purpose.GENERATE, 5, 32, 0.0)


@pytest.mark.parametrize("path", [latent.lerp, latent.slerp])
def test_endpoints_are_exact(path):
    a, b = latent.standard_normal(1, latent.Purpose.GENERATE, 2, 64)
    ends = path(a, b, [0.0, 1.0])
    np.testing.assert_allclose(ends[0], a, atol=1e-6)
    np.testing.assert_allclose(ends[1], b, atol=1e-6)


def test_slerp_keeps_the_norm_and_lerp_dips_inside():
    a, b = latent.standard_normal(2, latent.Purpose.GENERATE, 2, 128)
    b = b / np.linalg.norm(b) * np.linalg.norm(a)
    t = np.linspace(0, 1, 11)
    np.testing.assert_allclose(np.linalg.norm(latent.slerp(a, b, t), axis=-1),
                               np.linalg.norm(a), rtol=1e-5)
    # Two nearly orthogonal latents: the straight line's midpoint has ~1/sqrt(2) of the norm.
    midpoint = np.linalg.norm(latent.lerp(a, b, 0.5)) / np.linalg.norm(a)
    assert 0.6 < midpoint < 0.8


def test_slerp_by_hand_on_a_quarter_circle():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(latent.slerp(a, b, 1 / 3), [np.cos(np.pi / 6), np.sin(np.pi / 6)],
                               atol=1e-7)
    # Unequal norms: the same angle-based weights (Shoemake's formula on the raw vectors).
    np.testing.assert_allclose(latent.slerp(a, 3 * b, 0.5), [np.sqrt(0.5), 3 * np.sqrt(0.5)],
                               atol=1e-6)


def test_slerp_of_parallel_points_falls_back_to_the_line():
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(latent.slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-6)
    np.testing.assert_allclose(latent.slerp(a, -a, 0.25), 0.5 * a, atol=1e-6)
    assert np.isfinite(latent.slerp(a, a, [0.0, 0.3, 1.0])).all()


def test_slerp_works_row_by_row():
    a = latent.standard_normal(4, latent.Purpose.GENERATE, 5, 16)
    b = latent.standard_normal(5, latent.Purpose.GENERATE, 5, 16)
    t = np.array([0.0, 0.25, 1.0])
    batched = latent.slerp(a, b, t)
    assert batched.shape == (3, 5, 16)
    for row in range(5):
        np.testing.assert_allclose(batched[:, row], latent.slerp(a[row], b[row], t), atol=1e-6)


@pytest.mark.parametrize("closed, frames", [(False, 3 * 4 + 1), (True, 4 * 4)])
def test_interpolation_path_shapes_and_keyframes(closed, frames):
    points = latent.standard_normal(6, latent.Purpose.GENERATE, 4 * 2, 10).reshape(4, 2, 10)
    path = latent.interpolate(points, steps=4, method="slerp", closed=closed)
    assert path.shape == (frames, 2, 10) and path.dtype == np.float32
    for k in range(4):
        np.testing.assert_allclose(path[4 * k], points[k], atol=1e-5)
    if not closed:
        np.testing.assert_allclose(path[-1], points[-1], atol=1e-6)
    linear = latent.interpolate(points[:2, 0], steps=2, method="linear")
    np.testing.assert_allclose(linear[1], (points[0, 0] + points[1, 0]) / 2, atol=1e-6)


@pytest.mark.parametrize("points, kwargs, message", [
    (np.zeros((1, 4)), {}, "at least 2 keyframes"),
    (np.zeros((2, 4)), {"steps": 0}, "steps must be >= 1"),
    (np.zeros((2, 4)), {"method": "cubic"}, "unknown interpolation method 'cubic'"),
])
def test_interpolation_refuses_bad_arguments(points, kwargs, message):
    with pytest.raises(ValueError, match=message):
        latent.interpolate(points, **{"steps": 2, **kwargs})


def test_a_threshold_too_small_to_reach_ends_the_redraws_with_an_error():
    smallest = latent.truncated_normal(0, latent.Purpose.GENERATE, 100, 8, 0.01)
    assert np.abs(smallest).max() <= 0.01
    with pytest.raises(ValueError, match=r"truncation threshold 1e-09 is too small: \d+ "
                                         r"components still exceed it after 100000 redraws"):
        latent.truncated_normal(0, latent.Purpose.GENERATE, 2, 4, 1e-9)
