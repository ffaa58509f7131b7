"""The package's MNIST classifier and the metrics built on it, on the real test split."""

import numpy as np
import pytest

from kgan import data
from kgan.config import DataConfig
from kgan.evaluation import mnist_classifier
from kgan.evaluation.distances import frechet_distance, gaussian_stats
from kgan.evaluation.modes import mode_coverage


@pytest.fixture(scope="module")
def mnist(mnist_tfds_dir):
    return DataConfig(data_dir=mnist_tfds_dir)


@pytest.fixture(scope="module")
def cache_root(kgan_cache):
    return str(kgan_cache)


@pytest.fixture(scope="module")
def classifier(mnist, cache_root):
    # The session's fresh cache: trained here as on a new user's first evaluation.
    return mnist_classifier.load_classifier(mnist, cache_root, log=lambda message: None)


@pytest.fixture(scope="module")
def test_split(mnist):
    return data.split_arrays(mnist, "test")


@pytest.mark.slow
def test_classifier_reaches_99_percent_and_reloads_from_the_cache(classifier, test_split, mnist,
                                                                  cache_root):
    images, labels = test_split
    predictions = classifier.probabilities(images).argmax(axis=1)
    accuracy = float(np.mean(predictions == labels))
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(classifier.test_accuracy, abs=1e-3)
    assert classifier.identity.startswith("mnist-classifier:v1:")
    messages = []
    reloaded = mnist_classifier.load_classifier(mnist, cache_root, log=messages.append)
    assert messages == [], "a cached classifier must not be trained again"
    assert reloaded.identity == classifier.identity
    np.testing.assert_array_equal(reloaded.probabilities(images[:50]),
                                  classifier.probabilities(images[:50]))


def test_mode_coverage_flags_a_single_digit_generator(classifier, test_split):
    images, labels = test_split
    ones = images[labels == 1][:500]
    collapsed = mode_coverage(classifier.probabilities(ones))
    assert collapsed["classes_covered"] == 1
    assert collapsed["kl_from_uniform"] == pytest.approx(np.log(10), abs=0.05)
    assert collapsed["histogram"][1] >= 495

    balanced = mode_coverage(classifier.probabilities(images[:2000]))
    assert balanced["classes_covered"] == 10
    assert balanced["kl_from_uniform"] < 0.01
    assert balanced["mean_confidence"] > 0.98


def test_mode_coverage_counts_and_kl_by_hand():
    probabilities = np.eye(4)[[0, 0, 1, 1, 1, 1, 2, 2]]  # class 3 never produced
    result = mode_coverage(probabilities)
    assert result["histogram"] == [2, 4, 2, 0]
    assert result["classes_covered"] == 3
    expected = 0.25 * np.log(0.25 * 4) * 2 + 0.5 * np.log(0.5 * 4)
    assert result["kl_from_uniform"] == pytest.approx(expected)
    assert result["mean_confidence"] == 1.0
    assert result["confident_share"] == 1.0
    assert result["uniform_ratio"] == [0.0, 2.0]


def test_confident_share_counts_top_probabilities_at_or_above_0_9():
    probabilities = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    result = mode_coverage(probabilities)
    assert result["confident_share"] == 0.5
    assert result["uniform_ratio"] == [0.5, 1.5]


def test_classifier_frechet_distance_separates_real_from_noisy(classifier, test_split):
    images = test_split[0].astype(np.float32)
    first, second = gaussian_stats(classifier(images[:2500])), gaussian_stats(classifier(images[2500:5000]))
    noisy = np.clip(images[:2500] + np.random.default_rng(0).normal(0, 60, images[:2500].shape), 0, 255)
    real_vs_real = frechet_distance(first, second)
    real_vs_noisy = frechet_distance(first, gaussian_stats(classifier(noisy)))
    assert real_vs_noisy > 10 * real_vs_real
