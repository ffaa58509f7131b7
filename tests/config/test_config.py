import dataclasses
import json

import pytest

from kgan.config import Config, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from tests.conftest import run_script


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
    ({"batch_size": 0}, "train.batch_size must be in 1..262_144, got 0"),
    ({"batch_size": -5}, "train.batch_size must be in 1..262_144, got -5"),
    ({"g_learning_rate": 0.0}, "train.g_learning_rate must be in 1e-10..1e30, got 0.0"),
    ({"d_learning_rate": -1e-3}, "train.d_learning_rate must be in 1e-10..1e30"),
    ({"d_learning_rate": float("nan")}, "train.d_learning_rate must be in 1e-10..1e30, got nan"),
    ({"label_smoothing": 1.0}, "train.label_smoothing must be in 0..0.999999"),
    ({"d_steps": 0}, "train.d_steps must be in 1..32"),
    ({"g_beta1": 1.0}, "train.g_beta1 must be in 0..0.999999"),
    ({"steps": None}, "exactly one of train.steps and train.epochs"),
    ({"epochs": 3.0}, "exactly one of train.steps and train.epochs"),
    ({"steps": 0}, "train.steps must be in 1..1_000_000_000_000, got 0"),
    ({"seed": -1}, "train.seed must be in 0..2_147_483_647"),
    ({"strategy": "tpu"}, "train.strategy must be one of default, mirrored, multi_worker"),
    ({"mixed_precision": "float16"},
     "train.mixed_precision must be one of auto, float32, mixed_bfloat16, mixed_float16"),
    ({"steps_per_execution": 0}, "train.steps_per_execution must be in 1..1_000_000"),
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


@pytest.mark.parametrize("text, message", [
    ('{"train": {"g_learning_rate": NaN}}', "x.json is not valid JSON: NaN is not a JSON number"),
    ('{"train": {"g_beta1": Infinity}}', "x.json is not valid JSON: Infinity is not a JSON number"),
    ('{"data": {"crop_fraction": -Infinity}}', "-Infinity is not a JSON number"),
    # 1e999 is valid JSON but parses as infinity.
    ('{"train": {"d_learning_rate": 1e999}}',
     "x.json.train.d_learning_rate must be a finite number, got inf"),
    ('{"train": {"g_learning_rate": 1' + "0" * 400 + "}}",
     r"x.json.train.g_learning_rate must be a finite number, got 1000.*\(401 characters\)"),
    ('{"train": {"steps": 9223372036854775808}}',
     "x.json.train.steps must fit in 64 bits, got 9223372036854775808"),
    ('{"train": {"steps": 5, "steps": 50}}', "key 'steps' is repeated in one object"),
    ('{"train": {"steps": 1' + "0" * 5000 + "}}",
     "x.json is not usable JSON: Exceeds the limit .4300 digits. for integer string conversion"),
    ("[" * 100_000 + "]" * 100_000, "x.json is not usable JSON: maximum recursion depth"),
    ('["data", "model"]', "x.json must be a JSON object, got list"),
    ("", "x.json is not valid JSON: Expecting value"),
])
def test_from_json_refuses_what_is_not_strict_json_or_not_finite(text, message):
    with pytest.raises(ConfigError, match=message) as error:
        Config.from_json(text, source="x.json")
    assert "\n" not in str(error.value) and "sys.set_int_max_str_digits" not in str(error.value)


def test_every_float_field_read_from_json_refuses_non_finite_values():
    float_fields = [(section, f.name) for section in ("data", "model", "train")
                    for f in dataclasses.fields(getattr(Config(), section))
                    if f.type in (float, "float") or "float" in str(f.type)]
    assert ("train", "epochs") in float_fields and ("data", "crop_fraction") in float_fields
    for section, name in float_fields:
        with pytest.raises(ConfigError, match=f"config.{section}.{name} must be a finite number"):
            Config.from_json(f'{{"{section}": {{"{name}": 1e999}}}}')


@pytest.mark.parametrize("script, text, message", [
    ("train.py", '{"train": {"batch_size": 64, "bogus": 1}}', "has unknown key(s) bogus"),
    ("train.py", '{"train": {"g_learning_rate": NaN}}', "is not valid JSON: NaN is not a JSON number"),
    ("train.py", '["data"]', "must be a JSON object, got list"),
    ("export.py", '{"model": {"latent_dim": "100"}}', "model.latent_dim must be an integer, got '100'"),
    ("export.py", '{"model": {', "is not valid JSON: Expecting property name"),
])
def test_scripts_refuse_a_bad_workdir_config_in_one_line(tmp_path, mnist_tfds_dir, script, text,
                                                        message):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "config.json").write_text(text)
    args = [f"--workdir={workdir}"]
    if script == "train.py":
        args += [f"--data_dir={mnist_tfds_dir}", "--model=mlp", "--steps=1"]
    else:
        args += [f"--export_dir={tmp_path / 'exports'}"]
    result = run_script(script, *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"{script}: error: {workdir / 'config.json'} is not a usable "
                                "kgan config: ")
    assert message in last_line
    assert (workdir / "config.json").read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in workdir.iterdir()] == ["config.json"]


def test_from_json_reads_utf8_bytes_and_refuses_other_bytes():
    config = Config(train=TrainConfig(steps=7))
    assert Config.from_json(config.to_json().encode()) == config
    assert Config.from_json(b"\xef\xbb\xbf" + config.to_json().encode()) == config
    with pytest.raises(ConfigError, match=r"^x.json is not UTF-8 text \(byte 0 is 0xff\)$"):
        Config.from_json(b"\xff\xfe{}", source="x.json")
