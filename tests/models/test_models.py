import numpy as np
import keras
import pytest
import tensorflow as tf

from kgan import models
from kgan.config import ModelConfig
from kgan.errors import ConfigError

MNIST = (28, 28, 1)
FACES = (64, 64, 3)

# Pinned so that an architecture change is a deliberate, visible decision.
PARAMETER_COUNTS = {
    ("mlp", MNIST): (559_632, 533_505),
    ("dcgan", MNIST): (784_641, 138_881),
    ("dcgan", FACES): (3_609_347, 2_767_361),
}


def config(architecture, image_shape, **kwargs):
    return ModelConfig(architecture=architecture, image_shape=image_shape, **kwargs)


@pytest.mark.parametrize("architecture, image_shape", list(PARAMETER_COUNTS))
def test_shapes_ranges_and_parameter_counts(architecture, image_shape):
    c = config(architecture, image_shape)
    generator, discriminator = models.build_generator(c), models.build_discriminator(c)
    images = generator(tf.random.normal([5, c.latent_dim], stddev=3.0), training=False)
    logits = discriminator(images, training=False)
    assert images.shape == (5, *image_shape)
    assert images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    assert logits.shape == (5, 1)
    assert (generator.count_params(), discriminator.count_params()) == \
        PARAMETER_COUNTS[(architecture, image_shape)]


def test_discriminator_returns_unbounded_logits_not_probabilities():
    c = config("mlp", MNIST)
    discriminator = models.build_discriminator(c)
    assert isinstance(discriminator.logit, keras.layers.Dense)
    assert discriminator.logit.activation is keras.activations.linear


def test_dcgan_stage_plan():
    assert models.dcgan_stages(28, 28) == ((7, 7), 2)
    assert models.dcgan_stages(32, 32) == ((4, 4), 3)
    assert models.dcgan_stages(64, 64) == ((4, 4), 4)
    with pytest.raises(ConfigError, match="halve"):
        models.dcgan_stages(7, 7)


def test_dcgan_generator_follows_the_dcgan_recipe():
    layers = models.build_generator(config("dcgan", FACES)).body.layers
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds[0] == "Dense" and "Reshape" in kinds
    assert kinds.count("Conv2DTranspose") == 4
    assert all(layer.strides == (2, 2) for layer in layers
               if isinstance(layer, keras.layers.Conv2DTranspose))
    # BatchNorm after every hidden layer, none on the output; tanh last.
    assert kinds.count("BatchNormalization") == 4
    assert kinds[-2:] == ["Conv2DTranspose", "Activation"]
    assert layers[-1].activation is keras.activations.tanh


def test_dcgan_discriminator_follows_the_dcgan_recipe():
    layers = models.build_discriminator(config("dcgan", FACES)).body.layers
    kinds = [type(layer).__name__ for layer in layers]
    # No BatchNorm on the input layer, BatchNorm after every later convolution.
    assert kinds[:2] == ["Conv2D", "LeakyReLU"]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 3
    convolutions = [layer for layer in layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(c.strides == (2, 2) and not c.use_bias for c in convolutions)
    assert kinds[-1] == "Flatten"


def test_channel_count_and_latent_size_are_config():
    c = config("dcgan", (32, 32, 3), latent_dim=16, base_filters=8)
    generator = models.build_generator(c)
    assert generator(tf.zeros([2, 16])).shape == (2, 32, 32, 3)


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_serialization_round_trip_gives_identical_outputs(architecture):
    c = config(architecture, MNIST, latent_dim=8)
    for original in (models.build_generator(c), models.build_discriminator(c)):
        serialized = keras.saving.serialize_keras_object(original)
        assert serialized["registered_name"].startswith("kgan>")
        clone = keras.saving.deserialize_keras_object(serialized)
        clone.build(original.body.input_shape)
        clone.set_weights(original.get_weights())
        inputs = tf.random.normal([3, *original.body.input_shape[1:]])
        np.testing.assert_allclose(clone(inputs, training=False), original(inputs, training=False),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_keras_file_round_trip(tmp_path, architecture):
    c = config(architecture, MNIST, latent_dim=8)
    generator = models.build_generator(c)
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    z = tf.random.normal([2, 8])
    np.testing.assert_allclose(loaded(z, training=False), generator(z, training=False), atol=1e-6)


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_checkpoint_holds_every_variable(tmp_path, architecture):
    """Keras 3 layers kept in a plain list are silently left out of tf.train.Checkpoint."""
    c = config(architecture, FACES if architecture == "dcgan" else MNIST)
    for name, model in (("generator", models.build_generator(c)),
                        ("discriminator", models.build_discriminator(c))):
        path = tf.train.Checkpoint(**{name: model}).save(str(tmp_path / name))
        saved = [n for n, _ in tf.train.list_variables(path) if n.startswith(name + "/")]
        assert len(saved) == len(model.weights)


def test_unknown_architecture_and_unresolved_shape():
    with pytest.raises(ConfigError, match="unknown model 'resnet'; choose one of: dcgan, mlp"):
        models.build_generator(config("resnet", MNIST))
    with pytest.raises(ConfigError, match="image_shape or the labels are not set"):
        models.build_generator(ModelConfig())


def conditional_config(architecture, image_shape, label_kind, label_names, **kwargs):
    return config(architecture, image_shape, conditional=True, label_kind=label_kind,
                  label_names=label_names, **kwargs)


CONDITIONAL = {
    "mnist classes": (MNIST, "class", tuple("0123456789")),
    "celeba attributes": (FACES, "multi_hot", ("Male", "Smiling", "Eyeglasses", "Blond_Hair")),
}


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
@pytest.mark.parametrize("case", list(CONDITIONAL))
def test_conditional_networks_take_labels(architecture, case):
    image_shape, kind, names = CONDITIONAL[case]
    c = conditional_config(architecture, image_shape, kind, names, latent_dim=16,
                           base_filters=8, hidden_units=(32,))
    generator, discriminator = models.build_generator(c), models.build_discriminator(c)
    z = tf.random.normal([4, 16])
    first, second = np.eye(len(names), dtype=np.float32)[[0, 0, 0, 0]], \
        np.eye(len(names), dtype=np.float32)[[1, 1, 1, 1]]
    images = generator([z, first], training=False)
    assert images.shape == (4, *image_shape)
    # The label changes the image for the same z, and the discriminator's logit for the same image.
    # (Relative differences: freshly initialized DCGAN outputs are tiny.)
    assert relative_difference(images, generator([z, second], training=False)) > 1e-3
    logits = discriminator([images, first], training=False)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    assert relative_difference(logits, discriminator([images, second], training=False)) > 1e-3


def relative_difference(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / np.abs(a).max()


def test_projection_discriminator_adds_the_label_inner_product():
    """logit(x, y) = w.phi(x) + b + <V y, phi(x)> (Miyato & Koyama, 2018)."""
    c = conditional_config("mlp", MNIST, "class", tuple("0123456789"), hidden_units=(8,))
    discriminator = models.build_discriminator(c)
    images = tf.random.uniform([3, *MNIST], -1, 1)
    labels = tf.one_hot([2, 5, 9], 10)
    features = discriminator.body(images)
    expected = discriminator.logit(features) + tf.reduce_sum(
        tf.matmul(labels, discriminator.label_projection.kernel) * features, axis=-1, keepdims=True)
    np.testing.assert_allclose(discriminator([images, labels]), expected, rtol=1e-5, atol=1e-6)
    # With a zero label vector, only the unconditional part remains.
    np.testing.assert_allclose(discriminator([images, tf.zeros([3, 10])]),
                               discriminator.logit(features), rtol=1e-5, atol=1e-6)


def test_conditional_networks_serialize_and_checkpoint(tmp_path):
    c = conditional_config("dcgan", MNIST, "class", tuple("0123456789"), latent_dim=8,
                           base_filters=8)
    generator = models.build_generator(c)
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = [tf.random.normal([2, 8]), tf.one_hot([3, 7], 10)]
    np.testing.assert_allclose(loaded(inputs, training=False), generator(inputs, training=False),
                               atol=1e-6)
    for name, model in (("generator", generator), ("discriminator", models.build_discriminator(c))):
        saved_path = tf.train.Checkpoint(**{name: model}).save(str(tmp_path / name))
        saved = [n for n, _ in tf.train.list_variables(saved_path) if n.startswith(name + "/")]
        assert len(saved) == len(model.weights)
        assert any("label" in n for n in saved)


def test_conditional_model_needs_resolved_labels():
    with pytest.raises(ConfigError, match="labels are not set"):
        models.build_generator(config("dcgan", MNIST, conditional=True))
