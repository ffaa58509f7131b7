"""kgan.evaluation.classifier_score: a classifier trained on given digits, scored on real ones."""

import numpy as np
import pytest

from kgan.errors import DataError
from kgan.evaluation.classifier_score import LabelledImages, probabilities, train_classifier


def bars(count, seed):
    """Ten classes a CNN separates at once: class k is a bright bar at row 2k+4."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = rng.integers(0, 40, (count, 28, 28, 1)).astype(np.uint8)
    for index, label in enumerate(labels):
        images[index, 2 * label + 4, 4:24, 0] = 255
    return LabelledImages(f"{count} bars", images, labels)


def test_the_classifier_learns_from_its_sources_and_scores_held_out_images():
    model = train_classifier([bars(200, seed=0)], steps=60, seed=0, log=lambda m: None)
    held_out = bars(100, seed=1)
    predicted = probabilities(model)(held_out.images).argmax(axis=1)
    assert (predicted == held_out.labels).mean() > 0.95


def test_training_is_reproducible_from_its_seed():
    def weights(seed):
        model = train_classifier([bars(50, seed=0), bars(50, seed=2)], steps=3, seed=seed,
                                 log=lambda m: None)
        return np.concatenate([w.numpy().ravel() for w in model.weights])

    np.testing.assert_array_equal(weights(5), weights(5))
    assert not np.array_equal(weights(5), weights(6))


def test_bad_sources_are_refused_naming_the_source():
    good = bars(10, seed=0)
    with pytest.raises(DataError, match="odd: labels must lie in 0..9, got 1..10"):
        train_classifier([LabelledImages("odd", good.images, np.arange(10) + 1)], 1, 0)
    with pytest.raises(DataError, match=r"wide: images of shape \(28, 30, 1\)"):
        train_classifier([LabelledImages("wide", np.zeros((2, 28, 30, 1), np.uint8),
                                         np.zeros(2, int))], 1, 0)
    with pytest.raises(DataError, match="empty: 0 images with 0 labels"):
        LabelledImages("empty", good.images[:0], good.labels[:0])
    with pytest.raises(DataError, match="at least one source"):
        train_classifier([], 1, 0)
