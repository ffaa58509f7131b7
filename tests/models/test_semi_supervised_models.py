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


def test_data_dependent_initialization_standardizes_each_unit_s_pre_activation():
    layer = WeightNormDense(6, activation="relu", trainable_length=False)
    layer.build((None, 5))
    inputs = np.random.default_rng(1).normal(3.0, 4.0, (256, 5)).astype(np.float32)
    outputs = layer.initialize_from_data(inputs)
    pre_activation = inputs @ (layer.direction.numpy() / np.linalg.norm(
        layer.direction.numpy(), axis=0)) * layer.length.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(pre_activation.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre_activation.std(axis=0), 1.0, rtol=1e-3)
    np.testing.assert_allclose(outputs, np.maximum(pre_activation, 0.0), atol=1e-4)
    # The paper's hidden layers keep that scale: g is not trained.
    assert [w.name for w in layer.trainable_weights] == ["direction", "bias"]
    assert WeightNormDense.from_config(layer.get_config()).trainable_length is False


def test_the_classifier_initializes_every_layer_from_data_and_trains_only_the_logit_scale():
    classifier = NoisyClassifier((28, 28, 1), hidden_units=(16, 8))
    classifier.build((None, 28, 28, 1))
    images = np.random.default_rng(2).uniform(-1, 1, (200, 28, 28, 1)).astype(np.float32)
    seed = tf.constant([1, 0], tf.int64)
    classifier.initialize_from_data(images, noise_seed=seed)
    for layer in (*classifier.hidden.layers, classifier.logits):
        assert not np.allclose(layer.length.numpy(), 1.0)
    # Through the same training noise, each logit is standardized over the batch.
    logits = classifier(images, noise_seed=seed).numpy()
    np.testing.assert_allclose(logits.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(logits.std(axis=0), 1.0, rtol=1e-3)
    trainable_lengths = [w.path for w in classifier.trainable_weights if w.name == "length"]
    assert trainable_lengths == [classifier.logits.length.path]
