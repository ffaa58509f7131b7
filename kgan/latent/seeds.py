"""Seeded latent vectors, the one place every kgan tool draws them from."""

import enum

import numpy as np


class Purpose(enum.IntEnum):
    """Independent latent streams of one seed, so no two uses share latents."""

    SAMPLE_GRID = 1
    CALIBRATION = 2
    EXPORT_VERIFICATION = 3
    EVALUATION = 4
    TRAINING_EVALUATION = 5
    GENERATE = 6  # generate.py's grids and interpolation keyframes
    CONCEPTS = 7  # samples whose labels define concept vectors
    TRANSFER = 8  # fresh samples that concept vectors are tested on
    PROJECTION = 9  # starting points of projections


def standard_normal(seed: int, purpose: Purpose, count: int, latent_dim: int) -> np.ndarray:
    """`[count, latent_dim]` float32 standard-normal latents, fixed by (seed, purpose)."""
    return np.random.default_rng([seed, int(purpose)]).standard_normal(
        (count, latent_dim)).astype(np.float32)


_MAX_REDRAW_ROUNDS = 100_000


def truncated_normal(seed: int, purpose: Purpose, count: int, latent_dim: int,
                     threshold: float | None) -> np.ndarray:
    """Standard-normal latents with every component drawn again until `|z_i| <= threshold`.

    The truncation trick of Brock et al. 2019 (BigGAN): a smaller threshold
    trades variety for typical, cleaner samples. The components that were
    inside the threshold are those of `standard_normal` with the same seed and
    purpose, so truncation changes only the outlying components of a sample.

    Args:
        seed, purpose, count, latent_dim: As for `standard_normal`.
        threshold: The largest absolute component value, > 0; None for no
            truncation (exactly `standard_normal`).
    """
    z = standard_normal(seed, purpose, count, latent_dim)
    if threshold is None:
        return z
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold!r}")
    # A stream of its own for the redraws, so they never shift the untruncated values.
    rng = np.random.default_rng([seed, int(purpose), 1])
    outside = np.abs(z) > threshold
    for _ in range(_MAX_REDRAW_ROUNDS):
        if not outside.any():
            return z
        z[outside] = rng.standard_normal(int(outside.sum())).astype(np.float32)
        outside = np.abs(z) > threshold
    if not outside.any():
        return z
    # Each round keeps a component with probability P(|z| <= threshold), about
    # 0.8 * threshold for a small one: a tiny threshold would redraw for ever.
    raise ValueError(f"truncation threshold {threshold!r} is too small: {int(outside.sum())} "
                     f"components still exceed it after {_MAX_REDRAW_ROUNDS} redraws")


def generate_in_batches(generate, latents: np.ndarray, labels: np.ndarray | None = None,
                        batch_size: int = 500) -> np.ndarray:
    """`generate` applied batch by batch, concatenated.

    Args:
        generate: `generate(latents)`, or `generate(latents, labels)` when
            `labels` is given, returning images.
        latents: `[n, latent_dim]`.
        labels: `[n, ...]` labels matching `latents` row for row, or None.
        batch_size: Rows per call.
    """
    batches = []
    for i in range(0, len(latents), batch_size):
        inputs = [latents[i:i + batch_size]]
        if labels is not None:
            inputs.append(labels[i:i + batch_size])
        batches.append(np.asarray(generate(*inputs)))
    return np.concatenate(batches)
