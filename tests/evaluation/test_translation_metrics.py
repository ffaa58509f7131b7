"""The image-to-image metrics, checked against hand-computed numbers."""

import math

import numpy as np
import pytest

from kgan.config import DataConfig
from kgan.data import split_arrays
from kgan.evaluation import mnist_classifier
from kgan.evaluation.translation import (attribute_agreement, colourfulness, digit_report,
                                         in_domain, mean_absolute_levels, psnr, ssim)


def test_colourfulness_by_hand():
    grey = np.full([1, 4, 4, 3], 128, np.uint8)
    assert colourfulness(grey)[0] == 0.0
    # Half the pixels pure red (255, 0, 0), half black: rg = 255 or 0, yb = 127.5 or 0.
    image = np.zeros([1, 2, 2, 3], np.uint8)
    image[0, 0, :, 0] = 255
    rg_var, yb_var = 127.5 ** 2, 63.75 ** 2
    rg_mean, yb_mean = 127.5, 63.75
    expected = math.sqrt(rg_var + yb_var) + 0.3 * math.sqrt(rg_mean ** 2 + yb_mean ** 2)
    assert colourfulness(image)[0] == pytest.approx(expected)


def test_psnr_and_ssim_by_hand():
    a = np.full([2, 16, 16, 3], 100, np.uint8)
    b = a.copy()
    b[0] += 10  # MSE 100 -> 10 log10(255^2 / 100)
    b[1] += 1   # MSE 1
    expected = np.mean([10 * math.log10(255 ** 2 / 100), 10 * math.log10(255 ** 2)])
    assert psnr(b, a) == pytest.approx(expected, rel=1e-5)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(b, a) < 1.0


def test_mean_absolute_levels():
    a = np.zeros([1, 2, 2, 3], np.uint8)
    b = np.full([1, 2, 2, 3], 255, np.uint8)
    assert mean_absolute_levels(a, b) == 255.0  # no uint8 wrap-around


def test_domains_and_agreement():
    before = np.array([[0.9, 0.1, 0.8], [0.2, 0.7, 0.3]])
    after = np.array([[0.1, 0.2, 0.9], [0.9, 0.6, 0.8]])
    np.testing.assert_array_equal(in_domain(before, 0, True), [True, False])
    np.testing.assert_array_equal(in_domain(after, 0, False), [True, False])
    # Column 0 is the translated attribute; column 1 kept by both, column 2 by one.
    np.testing.assert_allclose(attribute_agreement(before, after, skip=0), [1.0, 0.5])


@pytest.fixture(scope="module")
def women_and_men(quick_attribute_classifier):
    """Held-out faces of each domain, and the session's quick attribute classifier."""
    from kgan.config import DataConfig
    from kgan.data import translation as translation_data
    from tests.conftest import CELEBA_FULL as FULL

    classifier = quick_attribute_classifier
    domains = translation_data.domain_split(
        DataConfig(dataset="celeba", data_dir=FULL, domain_a="-Male", domain_b="Male"), "heldout")
    return classifier, domains


def test_an_unchanged_face_keeps_every_attribute_and_never_succeeds(women_and_men):
    from kgan.evaluation.translation import _attribute_report
    from kgan.tasks import Direction

    classifier, domains = women_and_men
    women = domains.a[:200]
    report = _attribute_report(classifier, women, women, Direction("s", "g", "-Male", "Male"),
                               domains.attribute_names)
    assert report["attribute_agreement"] == 1.0
    assert report["translation_success"] == pytest.approx(1.0 - report["inputs_judged_source"])
    assert report["inputs_judged_source"] > 0.75  # the quick classifier reads 80% of women so


def test_a_face_of_the_other_domain_counts_as_a_success(women_and_men):
    from kgan.evaluation.translation import _attribute_report
    from kgan.tasks import Direction

    classifier, domains = women_and_men
    count = min(len(domains.a), len(domains.b), 200)
    report = _attribute_report(classifier, domains.a[:count], domains.b[:count],
                               Direction("s", "g", "-Male", "Male"), domains.attribute_names)
    assert report["translation_success"] > 0.8
    assert report["attribute_agreement"] < 1.0


def test_digit_report_keeps_real_digits_and_rejects_their_negatives(mnist_tfds_dir):
    data_config = DataConfig(data_dir=mnist_tfds_dir)
    classifier = mnist_classifier.load_classifier(data_config, log=lambda m: None)
    digits, labels = split_arrays(data_config, "test")
    rgb = np.repeat(digits, 3, axis=-1)
    same = digit_report(classifier, rgb[:500], rgb[:500], labels[:500], rgb)
    assert same["outputs"] == same["inputs"] and same["real_digits"] == 10000
    assert same["outputs"]["accuracy"] >= 0.98
    negatives = digit_report(classifier, rgb[:500], 255 - rgb[:500], labels[:500], rgb)
    assert negatives["inputs"] == same["inputs"]
    assert negatives["outputs"]["accuracy"] < 0.5
    assert negatives["outputs"]["frechet_distance"] > 10 * same["inputs"]["frechet_distance"]
