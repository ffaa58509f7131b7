import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.models.points import PointDiscriminator, PointGenerator

# Pinned so that an architecture change is a deliberate, visible decision.
# Generator, 2 -> 128 -> 128 -> 128 -> 128 -> 2:
#   (2*128 + 128) + 3 * (128*128 + 128) + (128*2 + 2) = 384 + 49,536 + 258 = 50,178
# Discriminator, 2 -> 128 -> 128 -> 128 -> 1 logit:
#   (2*128 + 128) + 2 * (128*128 + 128) + (128 + 1) = 384 + 33,024 + 129 = 33,537
# Generator with BatchNorm (Dense without bias; BN has gamma, beta, mean, variance):
#   (2*128 + 4*128) + 3 * (128*128 + 4*128) + 258 = 768 + 50,688 + 258 = 51,714
GENERATOR_PARAMETERS = 50_178
DISCRIMINATOR_PARAMETERS = 33_537
BATCH_NORM_GENERATOR_PARAMETERS = 51_714


def built_generator(**kwargs):
    generator = PointGenerator(**kwargs)
    generator.build((None, generator.latent_dim))
    return generator


def built_discriminator(**kwargs):
    discriminator = PointDiscriminator(**kwargs)
    discriminator.build((None, 2))
    return discriminator


def test_default_shapes_and_parameter_counts():
    generator, discriminator = built_generator(), built_discriminator()
    assert generator.latent_dim == 2 and generator.num_labels == 0
    assert discriminator.num_labels == 0
    points = generator(tf.random.normal([5, 2]), training=False)
    logits = discriminator(points, training=False)
    assert points.shape == (5, 2) and points.dtype == tf.float32
    assert logits.shape == (5, 1) and logits.dtype == tf.float32
    assert generator.count_params() == GENERATOR_PARAMETERS
    assert discriminator.count_params() == DISCRIMINATOR_PARAMETERS
    assert built_generator(batch_norm=True).count_params() == BATCH_NORM_GENERATOR_PARAMETERS


def test_relu_hidden_layers_and_linear_outputs():
    kinds = [type(layer).__name__ for layer in built_generator().body.layers]
    assert kinds == ["Dense", "ReLU"] * 4 + ["Dense", "Activation"]
    assert built_generator().body.layers[-1].activation is keras.activations.linear
    kinds = [type(layer).__name__ for layer in built_discriminator().body.layers]
    assert kinds == ["Dense", "ReLU"] * 3
    assert built_discriminator().logit.activation is keras.activations.linear
    kinds = [type(layer).__name__ for layer in built_generator(batch_norm=True).body.layers]
    assert kinds[:3] == ["Dense", "BatchNormalization", "ReLU"]


def test_sizes_are_arguments():
    generator = built_generator(latent_dim=5, hidden_units=(16, 8), output_dim=3)
    assert generator(tf.zeros([4, 5])).shape == (4, 3)
    # (5*16 + 16) + (16*8 + 8) + (8*3 + 3) = 96 + 136 + 27 = 259
    assert generator.count_params() == 259
    discriminator = PointDiscriminator(hidden_units=(16,))
    discriminator.build((None, 3))
    # (3*16 + 16) + (16 + 1) = 81
    assert discriminator.count_params() == 81


@pytest.mark.parametrize("cls, kwargs, input_dim", [
    (PointGenerator, {"latent_dim": 3, "hidden_units": (8, 8), "batch_norm": True}, 3),
    (PointDiscriminator, {"hidden_units": (8, 4)}, 2),
])
def test_config_round_trip_gives_equal_outputs(tmp_path, cls, kwargs, input_dim):
    model = cls(**kwargs)
    model.build((None, input_dim))
    config = model.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    clone = cls.from_config(config)
    clone.build((None, input_dim))
    clone.set_weights(model.get_weights())
    inputs = tf.random.normal([6, input_dim], seed=1)
    np.testing.assert_allclose(clone(inputs, training=False), model(inputs, training=False),
                               atol=1e-6)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is cls
    np.testing.assert_allclose(loaded(inputs, training=False), model(inputs, training=False),
                               atol=1e-6)


def test_checkpoint_holds_every_variable(tmp_path):
    """Keras 3 layers kept in a plain list are silently left out of tf.train.Checkpoint."""
    for name, model in (("generator", built_generator(batch_norm=True)),
                        ("discriminator", built_discriminator())):
        path = tf.train.Checkpoint(**{name: model}).save(str(tmp_path / name))
        saved = [n for n, _ in tf.train.list_variables(path) if n.startswith(name + "/")]
        assert len(saved) == len(model.weights)
        # And restoring brings the values back.
        fresh = type(model).from_config(model.get_config())
        fresh.build((None, 2))
        tf.train.Checkpoint(**{name: fresh}).restore(path).assert_consumed()
        for restored, original in zip(fresh.weights, model.weights):
            np.testing.assert_array_equal(restored.numpy(), original.numpy())
