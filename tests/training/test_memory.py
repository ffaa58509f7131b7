"""kgan.training.memory: a model too large for the machine is refused before anything is made."""

import json

import pytest

from kgan.config import Config, ModelConfig, TrainConfig
from kgan.errors import RunError
from kgan.training import memory, resolve
from tests.conftest import run_script


def mlp_config(hidden_units):
    return resolve(Config(model=ModelConfig(architecture="mlp", hidden_units=hidden_units,
                                            latent_dim=8), train=TrainConfig(batch_size=4)))


def test_the_count_is_the_built_networks_parameters():
    config = mlp_config((16,))
    # Generator 8 -> 16 -> 784, discriminator 784 -> 16 -> 1, each layer with biases
    # (and any normalization the architecture adds, counted by building it).
    from kgan.training import build_task
    built = build_task(config)
    assert memory.parameter_count(config) == sum(w.numpy().size for w in built.weights)


def test_a_model_whose_variables_exceed_the_memory_is_refused_in_one_line():
    config = mlp_config((256,))
    count = memory.parameter_count(config)
    needed = count * memory.BYTES_PER_PARAMETER
    assert memory.check_fits(config, available=needed) == count
    with pytest.raises(RunError, match=rf"the gan model has {count:,} parameters: .* need"):
        memory.check_fits(config, available=needed - 1)


def test_train_py_refuses_a_model_too_large_for_memory_and_writes_nothing(tmp_path,
                                                                           mnist_tfds_dir):
    # Two 65536 x 65536 layers in each network: 1.7e10 parameters, 256 GiB.
    workdir = tmp_path / "run"
    result = run_script("train.py", f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}",
                        "--model=mlp", "--hidden_units=65536,65536,65536", "--preset=none",
                        timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith(
        "train.py: error: the gan model has ")
    assert not workdir.exists()


def test_a_refused_change_leaves_a_run_directory_as_it_was(tmp_path, mnist_tfds_dir):
    """Validation before mutation: a resume refused after reading the run changes nothing."""
    from tests.conftest import tree_digest
    workdir = tmp_path / "run"
    common = [f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}", "--batch_size=8",
              "--base_filters=4", "--latent_dim=8", "--log_every=1", "--checkpoint_every=2",
              "--sample_every=2", "--preset=none"]
    assert run_script("train.py", *common, "--steps=2").returncode == 0
    before = tree_digest(workdir)
    # More steps (a compatible change) with in-training evaluation whose network is missing.
    refused = run_script("train.py", *common, "--steps=4", "--eval_every=2",
                         "--eval_metric=fid", f"--inception_path={tmp_path / 'missing.pb'}")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert tree_digest(workdir) == before
    assert not (workdir / "config_history.jsonl").exists()
    assert json.loads((workdir / "config.json").read_text())["train"]["steps"] == 2


def test_the_config_of_a_run_that_saved_no_checkpoint_does_not_block_a_corrected_command(
        tmp_path, mnist_tfds_dir):
    workdir = tmp_path / "run"
    workdir.mkdir()
    failed = resolve(Config(model=ModelConfig(base_filters=512)))
    (workdir / "config.json").write_text(failed.to_json())
    result = run_script("train.py", f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}",
                        "--steps=1", "--batch_size=4", "--base_filters=4", "--latent_dim=8",
                        "--checkpoint_every=1", "--sample_every=1", "--preset=none")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "holds the config of a run that saved no checkpoint" in result.stdout
    assert json.loads((workdir / "config.json").read_text())["model"]["base_filters"] == 4
