import dataclasses
import json

import pytest

from kgan.config import Config, ModelConfig, TrainConfig
from kgan.errors import ConfigError


def test_json_round_trip_preserves_every_field():
    config = Config(model=ModelConfig(architecture="mlp", image_shape=(28, 28, 1),
                                      hidden_units=(32, 64)),
                    train=TrainConfig(steps=None, epochs=2.5, label_smoothing=0.1, seed=7))
    restored = Config.from_json(config.to_json())
    assert restored == config
    assert isinstance(restored.model.image_shape, tuple)


def test_replace_revalidates():
    with pytest.raises(ConfigError, match="batch_size"):
        dataclasses.replace(TrainConfig(), batch_size=0)


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "train.batch_size must be >= 1, got 0"),
    ({"batch_size": -5}, "train.batch_size must be >= 1, got -5"),
    ({"g_learning_rate": 0.0}, "train.g_learning_rate must be > 0"),
    ({"d_learning_rate": -1e-3}, "train.d_learning_rate must be > 0"),
    ({"d_learning_rate": float("nan")}, "train.d_learning_rate must be > 0"),
    ({"label_smoothing": 1.0}, "train.label_smoothing must be in"),
    ({"d_steps": 0}, "train.d_steps must be >= 1"),
    ({"g_beta1": 1.0}, "train.g_beta1 must be in"),
    ({"steps": None}, "exactly one of train.steps and train.epochs"),
    ({"epochs": 3.0}, "exactly one of train.steps and train.epochs"),
    ({"steps": 0}, "train.steps must be >= 1"),
    ({"seed": -1}, "train.seed must be in"),
    ({"strategy": "tpu"}, "train.strategy must be one of default, mirrored, multi_worker"),
    ({"mixed_precision": "float16"},
     "train.mixed_precision must be one of float32, mixed_bfloat16, mixed_float16"),
    ({"steps_per_execution": 0}, "train.steps_per_execution must be >= 1"),
])
def test_bad_training_values_name_the_field_and_value(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainConfig(**changes)


def test_bad_model_values():
    with pytest.raises(ConfigError, match="latent_dim"):
        ModelConfig(latent_dim=0)
    with pytest.raises(ConfigError, match="image_shape"):
        ModelConfig(image_shape=(28, 28, 0))
    with pytest.raises(ConfigError, match="hidden_units"):
        ModelConfig(hidden_units=())


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(ConfigError, match="unknown key.*bogus"):
        Config.from_dict({"train": {"bogus": 1}})
    with pytest.raises(ConfigError, match="unknown key.*extra"):
        Config.from_dict({"extra": {}})


@pytest.mark.parametrize("values, message", [
    ({"train": {"batch_size": "64"}}, "config.train.batch_size must be an integer"),
    ({"train": {"batch_size": 64.0}}, "config.train.batch_size must be an integer"),
    ({"train": {"deterministic": 1}}, "config.train.deterministic must be true or false"),
    ({"train": {"g_learning_rate": "fast"}}, "config.train.g_learning_rate must be a number"),
    ({"model": {"image_shape": [28, 28]}}, "config.model.image_shape must have 3 items"),
    ({"model": {"hidden_units": 256}}, "config.model.hidden_units must be a list"),
    ({"data": "mnist"}, "config.data must be a JSON object"),
])
def test_from_dict_refuses_wrong_types(values, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(values)


def test_from_json_reports_invalid_json():
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{", source="x.json")


def test_partial_dict_takes_defaults():
    config = Config.from_dict({"data": {"dataset": "mnist"}, "train": {"steps": 5}})
    assert config.train.steps == 5
    assert config.train.batch_size == TrainConfig().batch_size
    assert json.loads(config.to_json())["train"]["steps"] == 5
