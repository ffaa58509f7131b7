"""FID and KID maths against closed forms and known properties."""

import numpy as np
import pytest

from kgan.errors import ConfigError
from kgan.evaluation.distances import (GaussianStats, frechet_distance, gaussian_stats,
                                       kernel_distance, trace_sqrt_product)


def stats(mean, covariance):
    return GaussianStats(np.asarray(mean, float), np.asarray(covariance, float), 1000)


def random_spd(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_diagonal_gaussians_have_the_closed_form():
    # For diagonal covariances FID = |mu_a - mu_b|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    a = stats([0.0, 1.0, 2.0], np.diag([1.0, 4.0, 9.0]))
    b = stats([1.0, 1.0, 0.0], np.diag([4.0, 1.0, 1.0]))
    expected = (1 + 0 + 4) + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


def test_scaled_covariance_has_the_closed_form():
    # S_b = c^2 S_a gives tr(sqrtm(S_a S_b)) = c tr(S_a): FID = (1 - c)^2 tr(S_a).
    covariance = random_spd(6, seed=1)
    a, b = stats(np.zeros(6), covariance), stats(np.zeros(6), 9.0 * covariance)
    assert frechet_distance(a, b) == pytest.approx(4.0 * np.trace(covariance), rel=1e-10)


def test_trace_sqrt_product_matches_an_eigendecomposition_of_the_product():
    a, b = random_spd(8, seed=2), random_spd(8, seed=3)
    eigenvalues = np.linalg.eigvals(a @ b)  # real and positive for SPD a, b
    assert trace_sqrt_product(a, b) == pytest.approx(np.sqrt(eigenvalues.real).sum(), rel=1e-9)


def test_distance_of_a_set_to_itself_is_zero_even_when_rank_deficient():
    features = np.random.default_rng(4).standard_normal((50, 128))  # rank 49 < 128
    s = gaussian_stats(features)
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-8)


def test_symmetric_and_grows_with_the_mean_shift():
    features = np.random.default_rng(5).standard_normal((500, 4))
    base = gaussian_stats(features)
    shifted = [gaussian_stats(features + shift) for shift in (0.5, 1.0, 2.0)]
    distances = [frechet_distance(base, s) for s in shifted]
    assert distances == sorted(distances)
    assert distances[1] == pytest.approx(4 * 1.0, rel=1e-9)  # mean shift only: 4 dims x 1^2
    assert frechet_distance(shifted[0], base) == pytest.approx(distances[0], rel=1e-9)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_otherwise():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    same = kernel_distance(x, y, subsets=50, subset_size=200)
    different = kernel_distance(x, y + 0.5, subsets=50, subset_size=200)
    assert abs(same.mean) < 3 * same.std / np.sqrt(same.subsets) + 1e-3
    assert different.mean > 10 * abs(same.mean) and different.mean > 0


def test_kid_matches_a_direct_computation():
    # With subset_size equal to the set sizes every subset is a permutation of the whole
    # set, and the unbiased MMD^2 does not depend on the order.
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) + 0.3
    k = lambda p, q: (p @ q / 3 + 1) ** 3
    pairs = [(i, j) for i in range(4) for j in range(4)]
    xx = sum(k(x[i], x[j]) for i, j in pairs if i != j) / 12
    yy = sum(k(y[i], y[j]) for i, j in pairs if i != j) / 12
    xy = sum(k(x[i], y[j]) for i, j in pairs) / 16
    result = kernel_distance(x, y, subsets=3, subset_size=4)
    assert result.mean == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-12)


def test_bad_feature_sets_are_refused():
    with pytest.raises(ConfigError, match="need a"):
        gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ConfigError, match="feature sizes differ"):
        frechet_distance(stats(np.zeros(2), np.eye(2)), stats(np.zeros(3), np.eye(3)))
