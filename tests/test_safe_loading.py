"""Safe loading: every network kgan builds is plain serializable layers (no Lambda, so
no code in a saved model), round-trips a `.keras` file under `safe_mode`, and the
files kgan caches are read without pickle and refused with a `DataError` when damaged.
"""

import functools
import json

import keras
import numpy as np
import pytest

from kgan import models
from kgan.config import DataConfig, ModelConfig
from kgan.errors import DataError
from kgan.evaluation import mnist_classifier, reference

# Every kind of network: both architectures, unconditional, class-conditional
# (MNIST) and attribute-conditional (CelebA, 64x64x3), at small widths.
NETWORK_CONFIGS = {
    f"{architecture}-{kind}": ModelConfig(
        architecture=architecture, latent_dim=8, hidden_units=(16, 8), base_filters=4,
        label_embedding_dim=4, image_shape=shape, conditional=kind != "unconditional",
        label_kind=None if kind == "unconditional" else kind,
        label_names=None if kind == "unconditional" else names)
    for architecture in models.ARCHITECTURES
    for kind, shape, names in (("unconditional", (28, 28, 1), None),
                               ("class", (28, 28, 1), tuple("0123456789")),
                               ("multi_hot", (64, 64, 3), ("Male", "Smiling", "Eyeglasses")))
}


@functools.cache
def all_networks():
    """(name, network, its ModelConfig or None) for every network, built once per session."""
    networks = []
    for name, config in NETWORK_CONFIGS.items():
        networks.append((f"{name}-generator", models.build_generator(config), config))
        networks.append((f"{name}-discriminator", models.build_discriminator(config), config))
    networks.append(("mnist-classifier", mnist_classifier.build_classifier(), None))
    return tuple(networks)


def every_layer(layer):
    """`layer` and everything nested in it, through Keras's own layer tracking."""
    return list(layer._flatten_layers(include_self=True, recursive=True))


def example_inputs(network, config, rng):
    """Inputs of the right shapes for `network`, with labels for a conditional one."""
    if config is None:
        return rng.uniform(0, 255, (3, 28, 28, 1)).astype(np.float32)
    is_generator = network.name == "generator"
    main = (rng.normal(size=(3, config.latent_dim)) if is_generator
            else rng.uniform(-1, 1, (3, *config.image_shape))).astype(np.float32)
    if not config.conditional:
        return main
    labels = rng.integers(0, 2, (3, config.num_labels)).astype(np.float32)
    return [main, labels]


def test_the_network_list_covers_every_architecture_and_label_kind():
    assert set(models.ARCHITECTURES) == {"dcgan", "mlp", "resnet"}
    assert len(all_networks()) == 3 * 3 * 2 + 1


def test_no_network_has_a_lambda_layer():
    # The walk must reach nested layers, or the check below would pass vacuously.
    wrapped = keras.Sequential([keras.Input((2,)), keras.Sequential([keras.layers.Lambda(
        lambda x: x * 2)])])
    assert any(isinstance(layer, keras.layers.Lambda) for layer in every_layer(wrapped))
    for name, network, _ in all_networks():
        layers = every_layer(network)
        kinds = {type(layer).__name__ for layer in layers}
        assert "Dense" in kinds or "Conv2D" in kinds, f"{name}: the walk found only {kinds}"
        assert not [layer for layer in layers if isinstance(layer, keras.layers.Lambda)], name


@pytest.mark.parametrize("index", range(3 * 3 * 2 + 1))
def test_every_network_round_trips_a_keras_file_under_safe_mode(tmp_path, index):
    name, network, config = all_networks()[index]
    rng = np.random.default_rng(index)
    inputs = example_inputs(network, config, rng)
    path = tmp_path / f"{name}.keras"
    network.save(path)
    restored = keras.models.load_model(path, safe_mode=True, compile=False)
    assert type(restored) is type(network)
    # Compared as JSON: a restored config may hold lists where the original holds tuples.
    assert (json.dumps(restored.get_config(), sort_keys=True)
            == json.dumps(network.get_config(), sort_keys=True))
    np.testing.assert_array_equal(np.asarray(restored(inputs, training=False)),
                                  np.asarray(network(inputs, training=False)))
    # The config alone rebuilds the same network under safe mode, too.
    rebuilt = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(network))), safe_mode=True)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in network.weights]


def test_safe_mode_refuses_a_lambda_layer(tmp_path):
    # The reason the check above matters: a Lambda layer stores code that loading would run.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(tmp_path / "lambda.keras", safe_mode=True)


def cached_classifier(tmp_path, accuracy=0.995):
    """A classifier cache entry as `load_classifier` writes it (without training)."""
    folder = tmp_path / "mnist_classifier"
    folder.mkdir(exist_ok=True)
    weights = folder / f"v{mnist_classifier.VERSION}-seed{mnist_classifier.SEED}.weights.h5"
    mnist_classifier.build_classifier().save_weights(weights)
    weights.with_name(weights.name.replace(".weights.h5", ".json")).write_text(
        json.dumps({"test_accuracy": accuracy}))
    return weights, weights.with_name(weights.name.replace(".weights.h5", ".json"))


def refuse_training(*args, **kwargs):
    raise AssertionError("a cached classifier must load, or be refused, without training")


@pytest.mark.parametrize("damage, message", [
    (lambda weights, info: open(weights, "r+b").truncate(2000), r"OSError: "),
    (lambda weights, info: weights.write_bytes(b"not hdf5"), r"OSError: "),
    (lambda weights, info: info.write_text("{"), r"v1-seed0.json: JSONDecodeError: "),
    (lambda weights, info: info.write_text('{"accuracy": 1}'),
     r"v1-seed0.json: KeyError: 'test_accuracy'"),
    (lambda weights, info: info.write_text('{"test_accuracy": NaN}'),
     r"test accuracy nan in v1-seed0.json"),
    (lambda weights, info: info.write_text('{"test_accuracy": 0.5}'),
     r"test accuracy 0.5 in v1-seed0.json"),
])
def test_a_damaged_cached_classifier_is_refused(tmp_path, monkeypatch, damage, message):
    monkeypatch.setattr(mnist_classifier, "train_classifier", refuse_training)
    weights, info = cached_classifier(tmp_path)
    loaded = mnist_classifier.load_classifier(DataConfig(), cache_root=str(tmp_path))
    assert loaded.test_accuracy == 0.995
    damage(weights, info)
    with pytest.raises(DataError, match=rf"^the cached MNIST classifier in \S+ is damaged "
                                        rf"\({message}.*\); delete \S+ and \S+ to train it "
                                        r"again$"):
        mnist_classifier.load_classifier(DataConfig(), cache_root=str(tmp_path))


class NoExtractor:
    identity = "test-extractor:v1"

    def __call__(self, images, label=""):
        raise AssertionError("a cache hit, or a damaged cache, must not compute features")


@pytest.mark.parametrize("features, message", [
    (np.array([{"code": "runs"}] * 5, dtype=object),
     r"are damaged \(ValueError: Object arrays cannot be loaded when allow_pickle=False\)"),
    (np.zeros((4, 3), np.float32), r"hold an array of shape \(4, 3\) \(float32\), not 5 feature"),
    (None, r"are damaged \(BadZipFile: File is not a zip file\)"),
])
def test_cached_reference_features_load_without_pickle_and_damage_is_refused(tmp_path, features,
                                                                           message):
    data_config = DataConfig()
    path = reference.cache_path(data_config, "test", 5, NoExtractor.identity, str(tmp_path))
    (tmp_path / "reference_features").mkdir()
    good = np.arange(15, dtype=np.float32).reshape(5, 3)
    np.savez(path, features=good)
    np.testing.assert_array_equal(
        reference.reference_features(data_config, "test", 5, NoExtractor(), str(tmp_path)), good)
    if features is None:
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 not a zip")
    else:
        np.savez(path, features=features)
    with pytest.raises(DataError, match=rf"^the cached reference features \S+ {message}.*delete "
                                        "the file to compute them again$"):
        reference.reference_features(data_config, "test", 5, NoExtractor(), str(tmp_path))
