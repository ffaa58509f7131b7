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
    with pytest.raises(ConfigError,
                       match="unknown model 'vit'; choose one of: dcgan, mlp, resnet"):
        models.build_generator(config("vit", MNIST))
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


# ----- discriminator options: normalization, spectral norm, minibatch stddev -----

# MNIST discriminators at the default widths; the first entry of each is today's network.
OPTION_PARAMETER_COUNTS = {
    ("dcgan", ()): 138_881,
    ("dcgan", (("d_normalization", "none"),)): 138_369,
    ("dcgan", (("d_normalization", "layer"),)): 138_625,
    ("dcgan", (("spectral_norm", True),)): 139_074,
    ("dcgan", (("minibatch_std", 4),)): 138_930,
    ("dcgan", (("d_normalization", "layer"), ("spectral_norm", True), ("minibatch_std", 4))):
        138_867,
    ("mlp", ()): 533_505,
    ("mlp", (("spectral_norm", True),)): 534_274,
    ("mlp", (("minibatch_std", 4),)): 533_761,
}


@pytest.mark.parametrize("architecture, options", list(OPTION_PARAMETER_COUNTS))
def test_discriminator_options_build_and_pin_their_size(architecture, options):
    discriminator = models.build_discriminator(config(architecture, MNIST, **dict(options)))
    logits = discriminator(tf.random.uniform([4, *MNIST], -1, 1), training=True)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    assert discriminator.count_params() == OPTION_PARAMETER_COUNTS[(architecture, options)]


def test_default_dcgan_discriminator_keeps_its_variable_paths():
    """Checkpoints of the DCGAN discriminator from before the options must keep loading."""
    discriminator = models.build_discriminator(config("dcgan", MNIST))
    assert [models._layer_path(w.path) for w in discriminator.weights] == [
        "discriminator/logit/kernel", "discriminator/logit/bias",
        "discriminator/body/conv2d/kernel", "discriminator/body/conv2d/kernel",
        "discriminator/body/batch_normalization/gamma",
        "discriminator/body/batch_normalization/beta",
        "discriminator/body/batch_normalization/moving_mean",
        "discriminator/body/batch_normalization/moving_variance"]


def kinds_of(network):
    return [type(layer).__name__ for layer in network.body.layers]


def test_dcgan_discriminator_normalization_choices():
    stages = 4
    for normalization, kind in (("batch", "BatchNormalization"),
                                ("layer", "GroupNormalization"), ("none", None)):
        discriminator = models.build_discriminator(config("dcgan", FACES, base_filters=8,
                                                          d_normalization=normalization))
        kinds = kinds_of(discriminator)
        assert kinds.count("Conv2D") == stages and kinds[:2] == ["Conv2D", "LeakyReLU"]
        assert not {"BatchNormalization", "GroupNormalization"} - {kind} & set(kinds)
        if kind:
            assert kinds.count(kind) == stages - 1
    # Layer normalization: each example's whole feature map, scale and offset per channel.
    norm = discriminator_layers("dcgan", d_normalization="layer",
                                of=keras.layers.GroupNormalization)
    assert norm[0].groups == 1 and norm[0].gamma.shape == (128,)


def discriminator_layers(architecture, of, **options):
    discriminator = models.build_discriminator(config(architecture, MNIST, **options))
    return [layer for layer in discriminator.body.layers if isinstance(layer, of)]


@pytest.mark.parametrize("normalization, per_example", [("batch", False), ("layer", True),
                                                        ("none", True)])
def test_only_batch_norm_mixes_the_examples_of_a_batch(normalization, per_example):
    """Input-gradient penalties (R1, WGAN-GP) need each logit to depend on its own example."""
    discriminator = models.build_discriminator(config("dcgan", MNIST, base_filters=8,
                                                      d_normalization=normalization))
    images = tf.random.uniform([4, *MNIST], -1, 1)
    alone = discriminator(images[:1], training=True)
    together = discriminator(images, training=True)[:1]
    assert np.allclose(alone, together, rtol=1e-5, atol=1e-6) == per_example


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
def test_spectral_norm_wraps_every_weight_layer(architecture):
    discriminator = models.build_discriminator(config(architecture, MNIST, base_filters=8,
                                                      hidden_units=(16, 8), spectral_norm=True))
    assert isinstance(discriminator.logit, models.SpectralNorm)
    assert discriminator.logit.dtype_policy.compute_dtype == "float32"
    weight_layers = [layer for layer in discriminator.body.layers
                     if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D,
                                           models.SpectralNorm))]
    assert len(weight_layers) == 2 and all(isinstance(layer, models.SpectralNorm)
                                           for layer in weight_layers)
    assert {type(layer.layer) for layer in weight_layers} == \
        {keras.layers.Conv2D if architecture == "dcgan" else keras.layers.Dense}


def test_minibatch_stddev_position():
    dcgan = kinds_of(models.build_discriminator(config("dcgan", MNIST, minibatch_std=4)))
    assert dcgan[-2:] == ["MinibatchStddev", "Flatten"]
    mlp = kinds_of(models.build_discriminator(config("mlp", MNIST, minibatch_std=4)))
    # Before the last hidden layer, so that a hidden layer can use it.
    assert mlp == ["Flatten", "Dense", "LeakyReLU", "MinibatchStddev", "Dense", "LeakyReLU"]
    layer = discriminator_layers("dcgan", of=models.MinibatchStddev, minibatch_std=3)[0]
    assert layer.group_size == 3


@pytest.mark.parametrize("architecture", ["mlp", "resnet"])
def test_layer_normalization_is_refused_where_there_is_nothing_to_replace(architecture):
    with pytest.raises(ConfigError, match="d_normalization 'layer' applies to the dcgan"):
        models.build_discriminator(config(architecture, MNIST, d_normalization="layer"))


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_discriminator_options_round_trip_a_keras_file(tmp_path, architecture):
    c = config(architecture, MNIST, base_filters=8, hidden_units=(16, 8), spectral_norm=True,
               minibatch_std=2, d_normalization="layer" if architecture == "dcgan" else "batch")
    discriminator = models.build_discriminator(c)
    images = tf.random.uniform([4, *MNIST], -1, 1)
    discriminator(images, training=True)
    path = str(tmp_path / "discriminator.keras")
    discriminator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.get_config() == discriminator.get_config()
    np.testing.assert_allclose(loaded(images, training=False),
                               discriminator(images, training=False), rtol=1e-6, atol=1e-6)
