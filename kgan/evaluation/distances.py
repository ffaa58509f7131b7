"""Distances between sets of feature vectors: Frechet distance (FID), KID,
and improved precision and recall.

Pure NumPy in float64. Features are `[n, d]` arrays, one row per image, from
any feature extractor (the TTUR Inception network for FID/KID proper).
"""

import dataclasses

import numpy as np

from kgan.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class GaussianStats:
    """Mean and covariance of a set of features (what FID compares).

    Attributes:
        mean: `[d]`.
        covariance: `[d, d]`, unbiased (divided by n - 1).
        count: Number of feature vectors they summarize.
    """

    mean: np.ndarray
    covariance: np.ndarray
    count: int


def gaussian_stats(features) -> GaussianStats:
    """Mean and unbiased covariance of `[n, d]` features (n >= 2)."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ConfigError(f"need a [n >= 2, d] feature array, got shape {features.shape}")
    return GaussianStats(features.mean(axis=0), np.cov(features, rowvar=False), len(features))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def trace_sqrt_product(covariance_a: np.ndarray, covariance_b: np.ndarray) -> float:
    """`tr(sqrtm(A @ B))` for symmetric positive semi-definite A and B.

    A @ B is similar to `A^1/2 B A^1/2`, which is symmetric PSD, so the trace
    is the sum of the square roots of that matrix's eigenvalues. Two symmetric
    eigendecompositions give it without complex intermediates or the
    `eps * I` offset a general `sqrtm` needs when a covariance is singular;
    eigenvalues below zero are rounding noise and are clipped.
    """
    root_a = _psd_sqrt(np.asarray(covariance_a, np.float64))
    middle = root_a @ np.asarray(covariance_b, np.float64) @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets.

    `||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr(sqrtm(S_a S_b))`, as in
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
    Local Nash Equilibrium", NeurIPS 2017 (https://arxiv.org/abs/1706.08500).
    With TTUR Inception pool_3 features this is the FID.
    """
    if a.mean.shape != b.mean.shape:
        raise ConfigError(f"feature sizes differ: {a.mean.shape[0]} vs {b.mean.shape[0]}")
    difference = a.mean - b.mean
    value = (difference @ difference + np.trace(a.covariance) + np.trace(b.covariance)
             - 2.0 * trace_sqrt_product(a.covariance, b.covariance))
    return max(float(value), 0.0)  # tiny negative values are rounding noise


def _polynomial_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x, y) -> float:
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
                 - 2.0 * k_xy.mean())


@dataclasses.dataclass(frozen=True)
class KernelDistance:
    """KID over random subsets: mean and standard deviation of the unbiased MMD^2."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def kernel_distance(features_a, features_b, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> KernelDistance:
    """Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel.

    `k(x, y) = (x.y / d + 1)^3`, averaged over `subsets` random subsets of
    `subset_size` features from each set (drawn without replacement within a
    subset), as in Binkowski et al., "Demystifying MMD GANs", ICLR 2018
    (https://arxiv.org/abs/1801.01401). Unbiased: its expectation is 0 when
    both sets come from one distribution, so single estimates can be negative.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ConfigError(f"KID needs at least 2 features per set, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    estimates = [_unbiased_mmd2(a[rng.choice(len(a), size, replace=False)],
                                b[rng.choice(len(b), size, replace=False)])
                 for _ in range(subsets)]
    return KernelDistance(float(np.mean(estimates)), float(np.std(estimates)), subsets, size)


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Attributes:
        precision: Share of the judged set inside the reference set's manifold
            (fidelity).
        recall: Share of the reference set inside the judged set's manifold
            (diversity).
        k: Neighbours defining each manifold.
    """

    precision: float
    recall: float
    k: int


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :]
               - 2.0 * (a @ b.T))
    return np.maximum(squared, 0.0)


def _knn_radii(features: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row."""
    radii = np.empty(len(features))
    for start in range(0, len(features), chunk):
        distances = _squared_distances(features[start:start + chunk], features)
        # Column k of the sorted row: column 0 is the row itself (distance 0).
        radii[start:start + chunk] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _inside_share(points: np.ndarray, centers: np.ndarray, radii: np.ndarray,
                  chunk: int) -> float:
    inside = 0
    for start in range(0, len(points), chunk):
        distances = _squared_distances(points[start:start + chunk], centers)
        inside += int(np.sum(np.any(distances <= radii[None, :], axis=1)))
    return inside / len(points)


def precision_recall(judged_features, reference_features, k: int = 3,
                     chunk: int = 1000) -> PrecisionRecall:
    """Improved precision and recall of `judged_features` (e.g. generated
    images) against `reference_features` (real images).

    Each set's manifold is the union of balls around its feature vectors,
    each ball reaching that vector's k-th nearest neighbour within its own set
    (Kynkaanniemi et al., "Improved Precision and Recall Metric for Assessing
    Generative Models", NeurIPS 2019, https://arxiv.org/abs/1904.06991,
    k = 3). Precision is the share of judged vectors inside the reference
    manifold, recall the share of reference vectors inside the judged one:
    fidelity and diversity apart, which FID mixes. Exact k-NN in float64, in
    chunks of `chunk` rows (memory `chunk * n` floats).

    Raises:
        ConfigError: for sets with k or fewer vectors, or different feature sizes.
    """
    judged = np.asarray(judged_features, np.float64)
    reference = np.asarray(reference_features, np.float64)
    if judged.ndim != 2 or reference.ndim != 2 or judged.shape[1] != reference.shape[1]:
        raise ConfigError(f"need two [n, d] feature arrays of one d, got shapes "
                          f"{judged.shape} and {reference.shape}")
    if k < 1 or min(len(judged), len(reference)) <= k:
        raise ConfigError(f"precision and recall with k = {k} need more than {k} vectors per "
                          f"set, got {len(judged)} and {len(reference)}")
    judged_radii = _knn_radii(judged, k, chunk)
    reference_radii = _knn_radii(reference, k, chunk)
    return PrecisionRecall(precision=_inside_share(judged, reference, reference_radii, chunk),
                           recall=_inside_share(reference, judged, judged_radii, chunk), k=k)
