"""Presets (kgan/presets/*.json), config files, and train.py's --preset/--config."""

import dataclasses
import json
import pathlib
import tomllib

import pytest

from kgan import checkpoints
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig, presets
from kgan.config.base import check_partial
from kgan.errors import ConfigError
from tests.conftest import REPO, run_script

# A config.json as kgan wrote it before config became a package (a conditional MNIST run).
OLD_CONFIG_JSON = """{"data": {"attributes": ["Male", "Smiling", "Eyeglasses", "Blond_Hair"],
"crop_fraction": 0.9, "data_dir": "/data/tfds", "dataset": "mnist", "download": false},
"model": {"architecture": "dcgan", "base_filters": 64, "conditional": true, "hidden_units":
[256, 512], "image_shape": [28, 28, 1], "kernel_size": 4, "label_embedding_dim": 50,
"label_kind": "class", "label_names": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
"latent_dim": 100}, "train": {"batch_size": 64, "checkpoint_every": 1000, "d_beta1": 0.5,
"d_beta2": 0.999, "d_learning_rate": 0.0002, "d_steps": 1, "deterministic": false, "epochs":
null, "eval_every": 0, "eval_metric": "fid", "eval_samples": 2048, "g_beta1": 0.5, "g_beta2":
0.999, "g_learning_rate": 0.0002, "inception_path": null, "jit_compile": false,
"keep_checkpoints": 3, "label_smoothing": 0.0, "log_every": 100, "loss": "non_saturating",
"max_rollbacks": 3, "mixed_precision": "float32", "num_samples": 64, "on_nan": "stop",
"reuse_fakes": false, "rollback_lr_factor": 0.5, "sample_every": 500, "seed": 0, "steps": 40,
"steps_per_execution": 1, "strategy": "default", "sync_batch_norm": false}}"""


def test_the_shipped_presets_are_listed():
    assert {"mnist", "celeba"} <= set(presets.preset_names())
    assert presets.preset_names() == tuple(sorted(presets.preset_names()))
    folder = REPO / "kgan" / "presets"
    assert set(presets.preset_names()) == {p.stem for p in folder.glob("*.json")}


def test_every_preset_is_a_valid_partial_config():
    for name in presets.preset_names():
        values = presets.load_preset(name, Config)
        check_partial(Config, values, name)
        Config.from_dict(values)
        # Machine-specific paths never belong in a recipe.
        assert "data_dir" not in values.get("data", {}), name
        assert "inception_path" not in values.get("train", {}), name


def test_mnist_presets_are_the_default_recipe_with_the_measured_winners_parts():
    # bfloat16 where native and the generator's weight average measured best at
    # equal wall-clock (BUILD_NOTES, issue 15).
    winner = {"mixed_precision": "auto", "ema_half_life": 10_000}
    preset = Config.from_dict(presets.load_preset("mnist"))
    assert {name: getattr(preset.train, name) for name in winner} == winner
    assert dataclasses.replace(preset, train=dataclasses.replace(
        preset.train, mixed_precision="float32", ema_half_life=0)) == Config()
    assert presets.load_preset("mnist")["data"]["dataset"] == "mnist"

    conditional = Config.from_dict(presets.load_preset("mnist_conditional"))
    assert conditional.model.conditional and conditional.data.dataset == "mnist"
    assert {name: getattr(conditional.train, name) for name in winner} == winner
    assert conditional.train.steps < Config().train.steps  # the fast one


def test_celeba_preset_is_the_documented_64x64_recipe():
    config = Config.from_dict(presets.load_preset("celeba"))
    assert config.data == DataConfig(dataset="celeba")
    assert config.model == ModelConfig(architecture="dcgan")
    # bench/recipes.py --dataset=celeba: the best FID in 30 minutes, 3,418 steps there.
    assert config.train.steps == 3400 and config.train.checkpoint_every == 500
    assert config.train.epochs is None
    assert config.train.ema_half_life == 10_000 and config.train.mixed_precision == "auto"
    assert config.train.augment == ("translation", "color", "cutout")


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ConfigError,
                       match=r"^unknown preset 'cifar'; choose one of: .*celeba.*mnist"):
        presets.load_preset("cifar")


def test_presets_are_package_data():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "presets/*.json" in pyproject["tool"]["setuptools"]["package-data"]["kgan"]


def test_merge_is_deep_and_changes_neither_input():
    base = {"train": {"steps": 5, "seed": 1}, "data": {"attributes": ["A", "B"]}}
    override = {"train": {"seed": 2}, "data": {"attributes": ["C"]}, "model": {"latent_dim": 8}}
    merged = presets.merge(base, override)
    assert merged == {"train": {"steps": 5, "seed": 2}, "data": {"attributes": ["C"]},
                      "model": {"latent_dim": 8}}
    merged["train"]["steps"] = 99
    merged["model"]["latent_dim"] = 99
    assert base == {"train": {"steps": 5, "seed": 1}, "data": {"attributes": ["A", "B"]}}
    assert override["model"] == {"latent_dim": 8}


def test_config_files_whole_or_partial(tmp_path):
    whole = tmp_path / "config.json"
    config = Config(train=TrainConfig(steps=None, epochs=2.0, seed=4))
    whole.write_text(config.to_json())
    assert Config.from_dict(presets.load_config_file(str(whole), Config)) == config
    partial = tmp_path / "partial.json"
    partial.write_text('{"train": {"batch_size": 8}}')
    assert presets.load_config_file(str(partial), Config) == {"train": {"batch_size": 8}}


@pytest.mark.parametrize("text, message", [
    ('{"train": {"bogus": 1}}', "{path}.train has unknown key(s) bogus; known: loss"),
    ('{"train": {"batch_size": "8"}}', "{path}.train.batch_size must be an integer, got '8'"),
    ('{"train": ', "{path} is not valid JSON: Expecting value"),
    ('["train"]', "{path} must be a JSON object, got list"),
    ('{"data": {"dataset": NaN}}', "{path} is not valid JSON: NaN is not a JSON number"),
])
def test_bad_config_files_are_one_line_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        presets.load_config_file(str(path), Config)
    assert str(error.value).startswith(message.format(path=path))
    assert "\n" not in str(error.value)


def test_an_unreadable_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"^cannot read config file .*missing.json: No such file"):
        presets.load_config_file(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"^cannot read config file .*: Is a directory"):
        presets.load_config_file(str(tmp_path))


def test_a_config_written_before_the_split_still_loads(tmp_path):
    (tmp_path / "config.json").write_text(OLD_CONFIG_JSON)
    config = checkpoints.read_config(str(tmp_path))
    assert config.model.image_shape == (28, 28, 1) and config.model.num_labels == 10
    assert config.train.steps == 40 and config.data.data_dir == "/data/tfds"
    # Every value it held is kept (keys added since take their defaults).
    now = json.loads(config.to_json())
    assert presets.merge(now, json.loads(OLD_CONFIG_JSON)) == now


def test_a_config_without_newer_keys_takes_their_defaults():
    values = json.loads(OLD_CONFIG_JSON)
    for key in ("on_nan", "rollback_lr_factor", "max_rollbacks", "steps_per_execution"):
        del values["train"][key]
    del values["data"]["crop_fraction"]
    config = Config.from_dict(values)
    assert config.train.on_nan == "stop" and config.train.max_rollbacks == 3
    assert config.data.crop_fraction == DataConfig().crop_fraction


def test_train_dry_run_round_trips_a_saved_config(tmp_path):
    first = run_script("train.py", "--dry_run", "--conditional", "--model=mlp", "--epochs=2",
                       "--data_dir=/data/somewhere", "--hidden_units=32,16")
    assert first.returncode == 0, first.stderr
    saved = tmp_path / "config.json"
    saved.write_text(first.stdout)
    again = run_script("train.py", f"--config={saved}", "--dry_run")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    config = Config.from_json(again.stdout)
    assert config.model.label_names == tuple("0123456789") and config.train.steps is None


def test_train_precedence_defaults_preset_config_flags(tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text('{"train": {"batch_size": 8, "seed": 3, "epochs": 1.5}}')
    result = run_script("train.py", "--preset=celeba", f"--config={partial}", "--seed=9",
                        "--dry_run")
    assert result.returncode == 0, result.stderr
    config = Config.from_json(result.stdout)
    assert config.data.dataset == "celeba" and config.model.image_shape == (64, 64, 3)
    assert config.train.checkpoint_every == 500  # the preset
    assert config.train.batch_size == 8  # the file over the preset
    assert config.train.epochs == 1.5 and config.train.steps is None  # epochs clears steps
    assert config.train.seed == 9  # the flag over the file
    steps = run_script("train.py", "--preset=celeba", f"--config={partial}", "--steps=30",
                       "--dry_run")
    assert steps.returncode == 0, steps.stderr
    config = Config.from_json(steps.stdout)
    assert config.train.steps == 30 and config.train.epochs is None


def test_train_applies_the_dataset_preset_unless_told_otherwise(tmp_path):
    def dry_run(*args):
        result = run_script("train.py", "--dataset=celeba", "--dry_run", *args)
        assert result.returncode == 0, result.stderr
        return Config.from_json(result.stdout)

    assert dry_run().train.checkpoint_every == 500  # kgan/presets/celeba.json
    assert dry_run("--preset=none").train.checkpoint_every == 1000  # the dataclass default
    whole = tmp_path / "whole.json"
    whole.write_text(Config(data=DataConfig(dataset="celeba")).to_json())
    # A config file is the whole recipe: no preset is layered under it.
    assert dry_run(f"--config={whole}").train.checkpoint_every == 1000


@pytest.mark.parametrize("args, message", [
    (["--preset=cifar"], "unknown preset 'cifar'; choose one of: celeba"),
    (["--config={tmp}/missing.json"], "cannot read config file {tmp}/missing.json"),
    # A resolved field of another run's config is checked against the dataset.
    (["--config={tmp}/mnist.json", "--dataset=celeba"],
     "model.image_shape (28, 28, 1) does not match dataset 'celeba'"),
])
def test_train_bad_preset_or_config_is_one_line(tmp_path, args, message):
    (tmp_path / "mnist.json").write_text(OLD_CONFIG_JSON)
    args = [a.format(tmp=tmp_path) for a in args]
    result = run_script("train.py", *args, f"--workdir={tmp_path / 'run'}")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("train.py: error: ")
    assert message.format(tmp=tmp_path) in last_line
    assert not (tmp_path / "run").exists()


def test_presets_folder_is_inside_the_package():
    folder = pathlib.Path(str(presets.presets_folder()))
    assert folder == REPO / "kgan" / "presets"
