"""Mode coverage on Stacked MNIST (PacGAN's protocol, Lin et al. 2018, Sec. 5).

Each channel of a generated 28x28x3 image is read by kgan's MNIST
classifier; the three digits name one of the 1,000 modes. PacGAN (after
VEEGAN) reports, over 26,000 samples, the number of modes with at least one
sample and the KL divergence of the generated mode histogram from the
uniform one.
"""

import numpy as np

from kgan.data.stacked_mnist import CHANNELS, NUM_MODES, mode_of
from kgan.evaluation.modes import CONFIDENT, kl_from_uniform

# The sample count of the published protocol.
PROTOCOL_SAMPLES = 26_000


def digit_probabilities(classifier, images) -> np.ndarray:
    """`[n, 3, 10]` digit probabilities of each channel of uint8 `[n, 28, 28, 3]` images."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != CHANNELS:
        raise ValueError(f"Stacked MNIST images are [n, 28, 28, {CHANNELS}], got "
                         f"{list(images.shape)}")
    return np.stack([classifier.probabilities(images[..., c:c + 1]) for c in range(CHANNELS)],
                    axis=1)


def stacked_modes(probabilities) -> dict:
    """The mode statistics of `[n, 3, 10]` per-channel digit probabilities.

    Returns:
        A dict with `modes_covered` (modes with at least one sample, the
        published count), `modes_at_tenth_uniform` (modes with at least a tenth
        of the uniform share, as kgan's MNIST coverage counts),
        `num_modes`, `kl_from_uniform` (KL(generated || uniform) of the mode
        histogram, nats; 0 for a perfectly even generator, log 1000 = 6.91 for
        one mode), `confident_share` (samples whose three digits are each read
        with probability >= 0.9) and `num_samples`.
    """
    probabilities = np.asarray(probabilities, np.float64)
    count = len(probabilities)
    modes = mode_of(probabilities.argmax(axis=-1))
    histogram = np.bincount(modes, minlength=NUM_MODES)
    frequencies = histogram / count
    return {
        "modes_covered": int(np.sum(histogram >= 1)),
        "modes_at_tenth_uniform": int(np.sum(frequencies >= 0.1 / NUM_MODES)),
        "num_modes": NUM_MODES,
        "kl_from_uniform": kl_from_uniform(histogram),
        "confident_share": float(np.mean(np.all(probabilities.max(axis=-1) >= CONFIDENT,
                                                axis=-1))),
        "num_samples": count,
    }


__all__ = ["PROTOCOL_SAMPLES", "digit_probabilities", "stacked_modes"]
