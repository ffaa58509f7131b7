"""Mode coverage: which classes a generator produces, judged by a classifier."""

import numpy as np


# A sample the classifier assigns a class with at least this probability
# counts as a recognizable member of it.
CONFIDENT = 0.9


def kl_from_uniform(histogram) -> float:
    """KL(p || uniform) in nats of a histogram of counts over modes: 0 for a
    perfectly even one, log(num_modes) for one mode. Empty modes add 0 (the
    limit of p log p)."""
    histogram = np.asarray(histogram, np.float64)
    frequencies = histogram / histogram.sum()
    nonzero = frequencies > 0
    return float(np.sum(frequencies[nonzero] * np.log(frequencies[nonzero] * len(histogram))))


def mode_coverage(probabilities, min_share: float = 0.1) -> dict:
    """Summarizes a classifier's verdicts on generated images.

    A class counts as covered when it receives at least `min_share` of the
    share a uniform generator would give it (with 10 classes and the default
    0.1: at least 1% of the samples), so a handful of stray samples does not
    hide a collapsed mode. The KL divergence of the class histogram from the
    uniform distribution is 0 for a perfectly balanced generator and
    `log(num_classes)` for one that produces a single class (mode collapse).

    Args:
        probabilities: `[n, num_classes]` class probabilities.
        min_share: Fraction of the uniform share a class needs to count.

    Returns:
        A dict with `histogram` (samples per predicted class), `classes_covered`,
        `num_classes`, `kl_from_uniform` (nats), `mean_confidence` (mean top
        probability), `confident_share` (share of samples whose top
        probability is at least `CONFIDENT`) and `uniform_ratio` (the least
        and most frequent class's share over the uniform share).
    """
    probabilities = np.asarray(probabilities, np.float64)
    count, num_classes = probabilities.shape
    histogram = np.bincount(probabilities.argmax(axis=1), minlength=num_classes)
    frequencies = histogram / count
    kl = kl_from_uniform(histogram)
    return {
        "histogram": histogram.tolist(),
        "classes_covered": int(np.sum(frequencies >= min_share / num_classes)),
        "num_classes": num_classes,
        "kl_from_uniform": kl,
        "mean_confidence": float(probabilities.max(axis=1).mean()),
        "confident_share": float(np.mean(probabilities.max(axis=1) >= CONFIDENT)),
        "uniform_ratio": [float(frequencies.min() * num_classes),
                          float(frequencies.max() * num_classes)],
    }
