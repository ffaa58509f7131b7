"""Concept vectors on a toy generator whose attributes are planted linear directions."""

import numpy as np
import pytest

from kgan import latent
from kgan.errors import ConfigError
from kgan.latent import concepts

DIM = 64
# Two orthogonal unit directions: "Smiling" is z . u > 0, "Male" is z . w > 0.
_BASIS = np.linalg.qr(np.random.default_rng(0).standard_normal((DIM, DIM)))[0]
U, W = _BASIS[:, 0], _BASIS[:, 1]
MIX = np.linalg.qr(np.random.default_rng(1).standard_normal((DIM, DIM)))[0]


def toy_generate(z):
    """A linear 'generator': 8x8 images that are a fixed rotation of z."""
    return (np.asarray(z) @ MIX).reshape(-1, 8, 8, 1)


def toy_probabilities(images):
    """A 'classifier' that reads the planted directions back out of the images."""
    z = images.reshape(len(images), DIM) @ MIX.T
    return 1 / (1 + np.exp(-8 * np.stack([z @ U, z @ W], axis=1)))


JUDGE = concepts.Judge(("Smiling", "Male"), False, toy_probabilities, "toy classifier")


def sample(purpose, count=4000):
    return latent.standard_normal(0, purpose, count, DIM)


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_conditions_parse_and_print():
    assert concepts.parse_condition("Smiling, -Male") == (("Smiling", True), ("Male", False))
    assert concepts.parse_condition("") == ()
    assert concepts.describe((("Smiling", True), ("Male", False))) == "Smiling,-Male"
    assert concepts.describe(()) == "everyone"
    with pytest.raises(ConfigError, match="empty attribute name"):
        concepts.parse_condition("Smiling,-")


def test_concept_vector_recovers_the_planted_direction():
    z = sample(latent.Purpose.CONCEPTS)
    judged = concepts.judge_samples(toy_generate, JUDGE, z)
    concept = concepts.concept_vector(z, judged, JUDGE, (("Smiling", True),),
                                      (("Smiling", False),))
    assert cosine(concept.vector, U) > 0.95
    # Its length is 2 E|z . u| = 2 sqrt(2 / pi) for a linear attribute.
    assert np.linalg.norm(concept.vector) == pytest.approx(2 * np.sqrt(2 / np.pi), rel=0.1)
    assert concept.positive_count + concept.negative_count == len(z)
    assert concept.name == "(Smiling) - (-Smiling)"


def test_smiling_woman_minus_neutral_woman_plus_neutral_man_is_a_smiling_man():
    z = sample(latent.Purpose.CONCEPTS)
    judged = concepts.judge_samples(toy_generate, JUDGE, z)
    women = (("Male", False),)
    concept = concepts.concept_vector(z, judged, JUDGE, (("Smiling", True),) + women,
                                      (("Smiling", False),) + women)
    assert cosine(concept.vector, U) > 0.9
    assert abs(cosine(concept.vector, W)) < 0.2, "measured within women, it carries no gender"
    result = concepts.transfer(toy_generate, JUDGE, concept, sample(latent.Purpose.TRANSFER),
                               start=(("Smiling", False), ("Male", True)),
                               target=(("Smiling", True), ("Male", True)))
    assert 800 < result.count < 1200  # a quarter of 4,000 fresh samples are neutral men
    assert result.edited.shape == result.randomized.shape == result.latents.shape
    assert result.success_rate > 0.8
    assert result.baseline_rate < 0.3
    np.testing.assert_allclose(np.linalg.norm(result.randomized - result.latents, axis=1),
                               np.linalg.norm(concept.vector), rtol=1e-4)
    stronger = concepts.transfer(toy_generate, JUDGE, concept, sample(latent.Purpose.TRANSFER),
                                 start=(("Smiling", False), ("Male", True)),
                                 target=(("Smiling", True), ("Male", True)), strength=2.0)
    assert stronger.success_rate > result.success_rate


def test_labels_reach_a_conditional_generator():
    seen = []

    def conditional(z, labels):
        seen.append(np.asarray(labels))
        return toy_generate(z)

    z = sample(latent.Purpose.CONCEPTS, 40)
    concepts.judge_samples(conditional, JUDGE, z, labels=np.arange(40), batch_size=16)
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(40))


def test_classes_are_exclusive():
    judge = concepts.Judge(("0", "1", "2"), True, lambda x: np.asarray(x), "digits")
    judged = judge.labels(np.array([[0.2, 0.3, 0.25], [0.9, 0.05, 0.05]]))
    np.testing.assert_array_equal(judged, [[False, True, False], [True, False, False]])


def test_too_few_samples_and_unknown_names_are_one_line_errors():
    z = sample(latent.Purpose.CONCEPTS, 30)
    judged = concepts.judge_samples(toy_generate, JUDGE, z)
    with pytest.raises(ConfigError, match=r"only \d+ of 30 samples are judged Smiling,Male,-Male"):
        concepts.concept_vector(z, judged, JUDGE, (("Smiling", True), ("Male", True),
                                                   ("Male", False)), ())
    with pytest.raises(ConfigError, match="toy classifier does not know 'Smiles'; known: "
                                          "Smiling, Male"):
        concepts.concept_vector(z, judged, JUDGE, (("Smiles", True),), ())
