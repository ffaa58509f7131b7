"""kgan.models.semi_supervised: the weight-normalized layer and the noisy classifier."""

import keras
import numpy as np
import tensorflow as tf

from kgan.models.semi_supervised import NoisyClassifier, WeightNormDense


def test_weight_norm_gives_each_unit_a_weight_vector_of_length_g():
    layer = WeightNormDense(3)
    layer.build((None, 4))
    layer.direction.assign([[3.0, 0.0, 1.0], [4.0, 0.0, 1.0], [0.0, 2.0, 1.0], [0.0, 0.0, 1.0]])
    layer.length.assign([2.0, 0.5, 1.0])
    layer.bias.assign([0.0, 1.0, 0.0])
    # Unit directions (0.6, 0.8, 0, 0), (0, 0, 1, 0), (0.5, 0.5, 0.5, 0.5), scaled by g.
    x = np.array([[1.0, 1.0, 1.0, 1.0]], np.float32)
    np.testing.assert_allclose(layer(x), [[2.0 * 1.4, 0.5 + 1.0, 2.0]], rtol=1e-6)
    # Scaling the direction changes nothing: only g sets the length.
    layer.direction.assign(layer.direction * 10.0)
    np.testing.assert_allclose(layer(x), [[2.8, 1.5, 2.0]], rtol=1e-6)


def test_weight_norm_layer_round_trips_through_its_config():
    layer = WeightNormDense(5, activation="relu", name="wn")
    clone = WeightNormDense.from_config(layer.get_config())
    assert (clone.units, clone.activation) == (5, keras.activations.relu)


def test_the_classifier_draws_its_training_noise_from_the_seed_given():
    classifier = NoisyClassifier((28, 28, 1), hidden_units=(16, 8))
    classifier.build((None, 28, 28, 1))
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    seed = tf.constant([7, 3], tf.int64)
    np.testing.assert_array_equal(classifier(images, noise_seed=seed),
                                  classifier(images, noise_seed=seed))
    assert not np.allclose(classifier(images, noise_seed=seed), classifier(images))
    features, logits = classifier.features_and_logits(images)
    assert features.shape == (4, 8) and logits.shape == (4, 10) and logits.dtype == tf.float32
    clone = NoisyClassifier.from_config(classifier.get_config())
    assert clone.hidden_units == (16, 8) and clone.input_noise == 0.3
