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


def standard_normal(seed: int, purpose: Purpose, count: int, latent_dim: int) -> np.ndarray:
    """`[count, latent_dim]` float32 standard-normal latents, fixed by (seed, purpose)."""
    return np.random.default_rng([seed, int(purpose)]).standard_normal(
        (count, latent_dim)).astype(np.float32)


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
