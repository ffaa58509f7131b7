"""The CelebA attribute classifier: held-out accuracy of a quick recipe, the cache, errors."""

import numpy as np
import pytest

from kgan.errors import DataError
from kgan.evaluation import attribute_classifier
from tests.conftest import SHARED_DATA

HALF = str(SHARED_DATA / "celeba" / "img_align_celeba_89x109")  # 10,000 train faces
FULL = str(SHARED_DATA / "celeba" / "img_align_celeba")  # 1,440 held-out faces (other people)
# The cached default trains 8 epochs on both folders (BUILD_NOTES.md). After 2 epochs
# the held-out Male accuracy still swings (0.73 on two threads, 0.90 on one); from 3 it
# holds (0.95, then 0.96 after 4).
QUICK_EPOCHS = 3


@pytest.fixture(scope="module")
def classifier(kgan_cache):
    return attribute_classifier.load_classifier([HALF], heldout_dir=FULL, epochs=QUICK_EPOCHS,
                                                cache_root=str(kgan_cache), log=lambda m: None)


@pytest.mark.slow
def test_quick_recipe_beats_the_stated_bounds_on_held_out_faces(classifier, kgan_cache):
    accuracy, majority = classifier.heldout_accuracy, classifier.majority_accuracy
    assert classifier.heldout_images == 1440
    # Stated bounds for 3 epochs on 10,000 faces; measured on two threads Male 0.948 (majority
    # answer 0.740), Smiling 0.898 (0.603), mean of the 40 attributes 0.874 (0.818).
    assert accuracy["Male"] >= 0.85
    assert accuracy["Smiling"] >= 0.80
    assert np.mean(list(accuracy.values())) >= np.mean(list(majority.values())) + 0.02
    # The figures are the classifier's own: predictions agree with the stored accuracy.
    from kgan.evaluation import reference
    images, labels = reference.real_examples(attribute_classifier._celeba(FULL), "heldout")
    male = classifier.index("Male")
    predicted = classifier.probabilities(images)[:, male] > 0.5
    assert np.mean(predicted == (labels[:, male] > 0.5)) == pytest.approx(accuracy["Male"],
                                                                          abs=1e-6)
    assert classifier(images[:3]).shape == (3, 128)
    messages = []
    again = attribute_classifier.load_classifier([HALF], heldout_dir=FULL, epochs=QUICK_EPOCHS,
                                                 cache_root=str(kgan_cache), log=messages.append)
    assert messages == [], "a cached classifier must not be trained again"
    assert again.identity == classifier.identity


def test_unknown_attribute_names_the_known_ones(classifier):
    with pytest.raises(DataError, match="unknown CelebA attribute 'Smiles'; known: .*Smiling"):
        classifier.index("Smiles")


def test_a_folder_without_held_out_faces_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError, match="heldout"):
        attribute_classifier.load_classifier([HALF], heldout_dir=HALF, epochs=1,
                                             max_train_images=64, cache_root=str(tmp_path))


def test_a_damaged_cache_is_refused_in_one_line(classifier, kgan_cache, tmp_path):
    import glob
    import shutil
    cache = tmp_path / "cache"
    shutil.copytree(str(kgan_cache / "attribute_classifier"), str(cache / "attribute_classifier"))
    (record,) = glob.glob(str(cache / "attribute_classifier" / "*.json"))
    (weights,) = glob.glob(str(cache / "attribute_classifier" / "*.weights.h5"))
    load = lambda: attribute_classifier.load_classifier(  # noqa: E731
        [HALF], heldout_dir=FULL, epochs=QUICK_EPOCHS, cache_root=str(cache),
        log=lambda m: pytest.fail("a damaged cache must not be trained over silently"))
    with open(record) as f:
        text = f.read()
    with open(record, "w") as f:
        f.write(text.replace('"Male": 0.', '"Male": 7.', 1))
    with pytest.raises(DataError, match="cached attribute classifier .* is damaged"):
        load()
    with open(record, "w") as f:
        f.write(text)
    with open(weights, "r+b") as f:
        f.truncate(100)
    with pytest.raises(DataError, match="is damaged .*delete"):
        load()


def test_attribute_report_of_real_faces_agrees_as_the_classifier_scores_them(classifier):
    """Real held-out faces "generated under" their own attributes agree with the
    request exactly as often as the classifier is right on them."""
    from kgan.evaluation import attribute_report, reference
    config = attribute_classifier._celeba(FULL)
    images, labels = reference.real_examples(config, "heldout")
    names = config.attributes
    report = attribute_report(classifier, images, labels, names, labels, names)
    for name in names:
        assert report["agreement"][name] == pytest.approx(classifier.heldout_accuracy[name],
                                                          abs=1e-6)
        assert report["reference_rate"][name] == pytest.approx(
            np.mean(labels[:, names.index(name)] > 0.5))
    assert report["mean_agreement"] == pytest.approx(report["mean_heldout_accuracy"])
    assert report["mean_agreement"] > report["mean_majority_accuracy"]

    # Asked for the opposite attributes, the same faces disagree as often as they agreed.
    flipped = attribute_report(classifier, images, labels, names, 1 - labels, names)
    for name in names:
        assert flipped["agreement"][name] == pytest.approx(1 - report["agreement"][name])
    unconditional = attribute_report(classifier, images, labels, names)
    assert "agreement" not in unconditional
    assert unconditional["sample_rate"] == report["sample_rate"]
