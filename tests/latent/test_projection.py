"""Projection recovers latents that the generator itself produced."""

import numpy as np
import pytest
import tensorflow as tf

from kgan import latent
from kgan.config import ProjectionConfig
from kgan.evaluation import sampling
from kgan.images import to_uint8
from kgan.latent import projection
from kgan.features.attribute_classifier import build_classifier
from tests.latent.conftest import MNIST_CONDITIONAL, MNIST_DCGAN, make_run

QUICK = ProjectionConfig(steps=150, learning_rate=0.1, candidates=16)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "digits"
    make_run(workdir, MNIST_DCGAN, seed=3, gain=2000.0)
    return sampling.load(str(workdir))


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "conditional"
    make_run(workdir, MNIST_CONDITIONAL, seed=4, gain=2000.0)
    return sampling.load(str(workdir))


def small_classifier():
    """An untrained CNN for MNIST-sized images: its features still vary with the image."""
    import keras
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255.0),
                             keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.MaxPooling2D(),
                             keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10)])


def test_projection_recovers_generated_images(source):
    truth = latent.standard_normal(11, latent.Purpose.GENERATE, 4, source.latent_dim)
    targets = source.generate(truth)
    result = projection.project(source.images, targets, source.latent_dim, QUICK,
                                features=projection.feature_model(small_classifier()))
    assert result.latents.shape == (4, source.latent_dim) and result.images.shape == targets.shape
    assert result.images.dtype == np.uint8 and len(result.loss_history) == QUICK.steps
    random_images = source.generate(latent.standard_normal(12, latent.Purpose.GENERATE, 4,
                                                           source.latent_dim))
    random_error = projection.pixel_rmse(random_images, targets)
    assert np.all(random_error > 20), "the toy generator's samples must differ visibly"
    assert np.all(result.pixel_rmse < 0.2 * random_error), (result.pixel_rmse, random_error)
    np.testing.assert_allclose(result.pixel_rmse,
                               projection.pixel_rmse(source.generate(result.latents), targets),
                               atol=0.5)
    assert result.loss_history[-1] < 0.2 * result.loss_history[0]
    assert np.all(result.feature_error >= 0)


def test_pixel_only_projection_of_a_conditional_generator(conditional):
    truth = latent.standard_normal(13, latent.Purpose.GENERATE, 3, conditional.latent_dim)
    labels = np.array([2, 5, 9])
    targets = conditional.generate(truth, labels)
    config = ProjectionConfig(steps=150, learning_rate=0.1, candidates=16, feature_weight=0.0)
    result = projection.project(conditional.images, targets, conditional.latent_dim, config,
                                labels=labels)
    random_error = projection.pixel_rmse(conditional.generate(-truth, labels), targets)
    assert np.all(result.pixel_rmse < 0.2 * random_error)
    assert np.all(result.feature_error == 0)


def test_feature_model_takes_the_convolution_activations():
    mnist_like = projection.feature_model(small_classifier())
    assert [tuple(o.shape[1:]) for o in mnist_like.outputs] == [(26, 26, 8), (11, 11, 8)]
    faces = projection.feature_model(build_classifier())
    assert [tuple(o.shape[1:]) for o in faces.outputs] == [
        (32, 32, 32), (16, 16, 64), (8, 8, 128), (4, 4, 256)]
    features = faces(tf.zeros((2, 64, 64, 3)))
    assert len(features) == 4 and features[0].shape[0] == 2


def test_pixel_rmse_in_levels():
    a = np.zeros((2, 4, 4, 1), np.uint8)
    b = a.copy()
    b[1] = 10
    np.testing.assert_allclose(projection.pixel_rmse(a, b), [0.0, 10.0])
    assert np.asarray(to_uint8(tf.zeros((1, 1)))).item() == 128
