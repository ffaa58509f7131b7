import math

import numpy as np
import pytest

from kgan.data import points
from kgan.errors import ConfigError


def nearest_modes(samples, mixture):
    distances = np.linalg.norm(samples[:, None, :] - mixture.centers[None], axis=-1)
    return distances.argmin(axis=1)


def test_ring8_is_8_modes_45_degrees_apart_on_the_unit_circle():
    ring = points.get_mixture("ring8")
    assert ring.centers.shape == (8, 2) and ring.centers.dtype == np.float32
    assert ring.num_modes == 8 and ring.std == 0.01
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 1.0, atol=1e-6)
    angles = np.degrees(np.arctan2(ring.centers[:, 1], ring.centers[:, 0])) % 360
    np.testing.assert_allclose(angles, [0, 45, 90, 135, 180, 225, 270, 315], atol=1e-4)
    np.testing.assert_allclose(ring.centers[1], [math.sqrt(0.5), math.sqrt(0.5)], atol=1e-6)


def test_grid25_is_25_distinct_modes_spaced_2():
    grid = points.get_mixture("grid25")
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    assert len({tuple(c) for c in grid.centers.tolist()}) == 25
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert sorted(set(grid.centers[:, 1].tolist())) == [-4, -2, 0, 2, 4]
    distances = np.linalg.norm(grid.centers[:, None] - grid.centers[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    np.testing.assert_allclose(distances.min(axis=1), 2.0)  # every mode's nearest neighbour


def test_mixtures_are_read_only():
    ring = points.get_mixture("ring8")
    with pytest.raises(ValueError):
        ring.centers[0, 0] = 5.0
    with pytest.raises(AttributeError):
        ring.std = 1.0


def test_unknown_mixture_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown point mixture 'spiral'; choose one of: "
                                          "grid25, ring8"):
        points.get_mixture("spiral")


def test_samples_are_deterministic_per_seed_and_differ_across_seeds():
    ring = points.get_mixture("ring8")
    first = points.sample(ring, 100, seed=3)
    assert first.shape == (100, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, points.sample(ring, 100, seed=3))
    assert not np.allclose(first, points.sample(ring, 100, seed=4))
    assert points.sample(ring, 0, seed=3).shape == (0, 2)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_have_the_mixture_std_and_use_modes_uniformly(name):
    mixture = points.get_mixture(name)
    count = 20_000
    samples = points.sample(mixture, count, seed=0)
    modes = nearest_modes(samples, mixture)
    residuals = samples - mixture.centers[modes]
    # Per coordinate: the sample std of 20,000 normals is within ~0.5% of the truth.
    np.testing.assert_allclose(residuals.std(axis=0), mixture.std, rtol=0.03)
    np.testing.assert_allclose(residuals.mean(axis=0), 0.0, atol=3 * mixture.std / math.sqrt(count))
    # Uniform modes: each count ~ Binomial(20000, 1/k), within 5 standard deviations.
    expected = count / mixture.num_modes
    spread = math.sqrt(count * (1 / mixture.num_modes) * (1 - 1 / mixture.num_modes))
    histogram = np.bincount(modes, minlength=mixture.num_modes)
    assert np.all(np.abs(histogram - expected) < 5 * spread), histogram


def test_splits_are_fixed_and_distinct():
    ring = points.get_mixture("ring8")
    train = points.points_split(ring, "train", 50, seed=7)
    test = points.points_split(ring, "test", 50, seed=7)
    np.testing.assert_array_equal(train, points.sample(ring, 50, seed=7))
    np.testing.assert_array_equal(test, points.points_split(ring, "test", 50, seed=7))
    assert not np.allclose(train, test)
    # The test stream is no other seed's train stream (unlike seed + offset).
    for other in range(0, 20):
        assert not np.allclose(test, points.points_split(ring, "train", 50, seed=other))
    assert points.SPLITS == ("train", "test")


def test_bad_split_count_and_seed_are_refused():
    ring = points.get_mixture("ring8")
    with pytest.raises(ConfigError, match="unknown points split 'validation'; choose one of: "
                                          "test, train"):
        points.points_split(ring, "validation", 10)
    with pytest.raises(ConfigError, match="count"):
        points.sample(ring, -1, seed=0)
    with pytest.raises(ConfigError, match="seed"):
        points.sample(ring, 10, seed=-1)
    with pytest.raises(ConfigError, match="seed"):
        points.sample(ring, 10, seed=1.5)
    with pytest.raises(ConfigError, match="centers"):
        points.Mixture("bad", np.zeros((3, 3)), 0.1)
