"""Mode metrics of generated 2-D points against a Gaussian mixture.

The protocol of PacGAN (Lin et al., 2018, Sec. 5, Table 1), itself taken
from VEEGAN (Srivastava et al., 2017), evaluated there on 2,500 generated
samples:

- Each sample is assigned to its nearest mode center (Euclidean).
- A sample is *high quality* if it lies within 3 standard deviations of that
  center: `||x - c|| <= 3 * std` (0.03 for `ring8`, 0.15 for `grid25`).
- A mode is *recovered* when it has at least `min_share * n / num_modes`
  high-quality samples, `n` being the number of samples. PacGAN counts a mode
  as lost with fewer than 20 of 2,500 samples within 3 std of its center;
  the default `min_share` (None) is that rule scaled to `n`: a threshold of
  `20 * n / 2500` samples, exactly 20 at n = 2,500 for both mixtures
  (`min_share` = 0.064 for 8 modes, 0.2 for 25).
- The reverse KL is `KL(p || uniform) = sum_i p_i log(p_i * num_modes)`
  (nats), `p` being the histogram of the *high-quality* samples over modes,
  normalized to sum to 1 (so it measures balance among the modes hit, and the
  high-quality share measures how many samples hit any). Modes with no
  samples contribute 0 (the limit of p log p) and the uniform side is never
  zero, so no epsilon is needed. It is 0 for a perfectly balanced generator and
  `log(num_modes)` for one that produces a single mode. With no high-quality
  sample at all, p is undefined and so is the KL: it is reported as None
  (JSON null), not as a made-up number.

Non-finite samples (a diverged generator) are never high quality.

NumPy only; any object with `centers` (`[num_modes, 2]`) and `std` serves as
the mixture (a `kgan.data.points.Mixture`).
"""

import numpy as np

# PacGAN's rule: a mode is lost with fewer than 20 of 2,500 samples near it.
PACGAN_MIN_COUNT = 20
PACGAN_SAMPLES = 2500
HIGH_QUALITY_STDS = 3.0


def mode_metrics(samples, mixture, min_share: float | None = None) -> dict:
    """Modes recovered, high-quality share and reverse KL of `samples`.

    Args:
        samples: `[n, 2]` generated points, n >= 1.
        mixture: The true mixture: `centers` `[num_modes, 2]` and `std`.
        min_share: A mode is recovered with at least `min_share * n /
            num_modes` high-quality samples (a fraction of a uniform
            generator's share); None for PacGAN's 20-in-2,500 rule scaled to n.

    Returns:
        A JSON-safe dict: `modes_recovered` (int), `num_modes`,
        `high_quality_share` (in [0, 1]), `reverse_kl` (nats, or None without
        high-quality samples), `samples` (n), `per_mode_counts` (high-quality
        samples per mode, in the order of `mixture.centers`) and
        `recovery_threshold` (the high-quality count a mode needed).

    Raises:
        ValueError: for samples that are not a non-empty `[n, 2]` array.
    """
    centers = np.asarray(mixture.centers, np.float64)
    points = np.asarray(samples, np.float64)
    if points.ndim != 2 or points.shape[1] != centers.shape[1] or len(points) == 0:
        raise ValueError(f"samples must be a non-empty [n, {centers.shape[1]}] array, "
                         f"got shape {points.shape}")
    count, num_modes = len(points), len(centers)
    distances = np.sqrt(((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1))
    # NaN rows: argmin picks some mode, but the NaN distance fails the <= test below.
    nearest = np.argmin(np.where(np.isnan(distances), np.inf, distances), axis=1)
    nearest_distance = distances[np.arange(count), nearest]
    high_quality = nearest_distance <= HIGH_QUALITY_STDS * float(mixture.std)
    per_mode = np.bincount(nearest[high_quality], minlength=num_modes)
    if min_share is None:
        threshold = PACGAN_MIN_COUNT * count / PACGAN_SAMPLES
    else:
        threshold = float(min_share) * count / num_modes
    total = int(per_mode.sum())
    if total:
        frequencies = per_mode / total
        nonzero = frequencies > 0
        kl = np.sum(frequencies[nonzero] * np.log(frequencies[nonzero] * num_modes))
        reverse_kl = max(0.0, float(kl))  # >= 0 in exact arithmetic; no -1e-17 from rounding
    else:
        reverse_kl = None
    return {
        "modes_recovered": int(np.sum(per_mode >= threshold)),
        "num_modes": int(num_modes),
        "high_quality_share": total / count,
        "reverse_kl": reverse_kl,
        "samples": int(count),
        "per_mode_counts": per_mode.tolist(),
        "recovery_threshold": float(threshold),
    }


__all__ = ["HIGH_QUALITY_STDS", "PACGAN_MIN_COUNT", "PACGAN_SAMPLES", "mode_metrics"]
