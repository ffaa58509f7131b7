import json
import math

import numpy as np
import pytest

from kgan.data import points
from kgan.evaluation.points import mode_metrics

RING = points.get_mixture("ring8")
GRID = points.get_mixture("grid25")
# ||x - c||^2 / std^2 is chi-squared with 2 degrees of freedom for an isotropic
# 2-D Gaussian: P(within 3 std) = 1 - exp(-9 / 2) = 0.98889.
WITHIN_3_STD = 1 - math.exp(-4.5)


@pytest.mark.parametrize("mixture", [RING, GRID], ids=["ring8", "grid25"])
def test_true_samples_recover_every_mode(mixture):
    metrics = mode_metrics(points.sample(mixture, 2500, seed=0), mixture)
    assert metrics["modes_recovered"] == metrics["num_modes"] == mixture.num_modes
    assert metrics["samples"] == 2500
    assert abs(metrics["high_quality_share"] - WITHIN_3_STD) < 0.01
    assert metrics["high_quality_share"] > 0.97
    # Sampling noise alone: E[KL] ~ (k - 1) / (2 n) = 0.0014 (ring), 0.0049 (grid).
    assert metrics["reverse_kl"] < 0.01
    assert sum(metrics["per_mode_counts"]) == round(metrics["high_quality_share"] * 2500)
    assert metrics["recovery_threshold"] == 20.0  # PacGAN's 20 of 2,500
    json.dumps(metrics)


def at_modes(counts, mixture, jitter=0.5, seed=0):
    """counts[i] samples at mode i, each within `jitter` std of the center."""
    rng = np.random.default_rng(seed)
    chunks = [mixture.centers[i] + jitter * mixture.std * rng.uniform(-1, 1, (n, 2))
              for i, n in enumerate(counts)]
    return np.concatenate(chunks).astype(np.float32)


def test_three_of_eight_modes():
    metrics = mode_metrics(at_modes([100, 100, 100], RING), RING)
    assert metrics["modes_recovered"] == 3
    assert metrics["per_mode_counts"] == [100, 100, 100, 0, 0, 0, 0, 0]
    assert metrics["high_quality_share"] == 1.0
    # p = (1/3, 1/3, 1/3, 0, ...): KL = 3 * (1/3) log((1/3) * 8) = log(8/3) = 0.980829.
    assert metrics["reverse_kl"] == pytest.approx(0.980829, abs=1e-6)


def test_unbalanced_modes():
    # p = (3/4, 1/4): KL = 0.75 log(0.75 * 8) + 0.25 log(0.25 * 8) = 0.75 log 6 + 0.25 log 2
    #                    = 1.343819 + 0.173287 = 1.517106.
    metrics = mode_metrics(at_modes([300, 100], RING), RING)
    assert metrics["reverse_kl"] == pytest.approx(1.517106, abs=1e-6)
    # One mode only: KL = log 8 = 2.079442, the most a collapsed generator reaches.
    assert mode_metrics(at_modes([50], RING), RING)["reverse_kl"] == pytest.approx(math.log(8))


def test_every_sample_far_from_every_mode():
    metrics = mode_metrics(np.full((2500, 2), 10.0, np.float32), RING)
    assert metrics["modes_recovered"] == 0
    assert metrics["high_quality_share"] == 0.0
    assert metrics["per_mode_counts"] == [0] * 8
    # No high-quality samples: the mode histogram, and so the KL, is undefined.
    assert metrics["reverse_kl"] is None
    assert json.loads(json.dumps(metrics))["reverse_kl"] is None


def test_pacgan_recovery_rule_20_of_2500():
    far = np.full((2500 - 39, 2), 10.0, np.float32)
    samples = np.concatenate([at_modes([20, 19], RING), far])
    metrics = mode_metrics(samples, RING)
    assert metrics["per_mode_counts"][:2] == [20, 19]
    assert metrics["modes_recovered"] == 1  # 20 is enough, 19 is not
    # With 5,000 samples the threshold scales to 40.
    assert mode_metrics(np.concatenate([samples, samples]), RING)["recovery_threshold"] == 40.0
    # min_share: a share of a uniform generator's n / k = 312.5 samples per mode.
    relaxed = mode_metrics(samples, RING, min_share=19 / 312.5)
    assert relaxed["recovery_threshold"] == pytest.approx(19.0)
    assert relaxed["modes_recovered"] == 2


def test_high_quality_is_within_3_std_of_the_nearest_mode():
    # 3 std = 0.03 on the ring: 0.029 from mode 0 counts, 0.031 does not.
    samples = np.array([[1.029, 0.0], [1.031, 0.0], [0.0, 0.97]], np.float32)
    metrics = mode_metrics(samples, RING)
    assert metrics["per_mode_counts"] == [1, 0, 1, 0, 0, 0, 0, 0]
    assert metrics["high_quality_share"] == pytest.approx(2 / 3)
    # Grid: 3 std = 0.15; (2.1, -3.9) is 0.141 from (2, -4).
    grid = mode_metrics(np.array([[2.1, -3.9], [1.0, 1.0]], np.float32), GRID)
    assert sum(grid["per_mode_counts"]) == 1
    assert grid["per_mode_counts"][[tuple(c) for c in GRID.centers.tolist()].index((2, -4))] == 1


def test_non_finite_samples_are_never_high_quality():
    samples = np.array([[np.nan, 0.0], [np.inf, np.inf], [1.0, 0.0]], np.float32)
    metrics = mode_metrics(samples, RING)
    assert metrics["per_mode_counts"] == [1, 0, 0, 0, 0, 0, 0, 0]
    assert metrics["high_quality_share"] == pytest.approx(1 / 3)
    assert metrics["reverse_kl"] == pytest.approx(math.log(8))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        mode_metrics(np.zeros((0, 2)), RING)
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        mode_metrics(np.zeros((5, 3)), RING)
