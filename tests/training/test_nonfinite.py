"""The non-finite guard: a diverged step is never saved; --on_nan=stop|rollback."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import RunError
from kgan.training import train
from kgan.tasks.base import all_finite
from tests.conftest import run_script

# Adam moves every weight by about the learning rate on its first update, so
# this rate overflows the networks within a step.
ABSURD_LEARNING_RATE = 1e20  # within train.g_learning_rate's range: float32 carries it


def mlp_config(data_dir, **train_changes):
    return Config(
        data=DataConfig(data_dir=data_dir),
        model=ModelConfig(architecture="mlp", latent_dim=8, hidden_units=(32, 32)),
        train=dataclasses.replace(
            TrainConfig(batch_size=16, steps=4, log_every=2, sample_every=100,
                        checkpoint_every=2, keep_checkpoints=10, deterministic=True),
            **train_changes))


def diverging(config, steps=8, **changes):
    """`config` resumed for more steps with absurd learning rates."""
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, steps=steps, g_learning_rate=ABSURD_LEARNING_RATE,
        d_learning_rate=ABSURD_LEARNING_RATE, **changes))


def checkpoint_state(workdir):
    """{checkpoint file name: bytes} of every checkpoint file in the run."""
    folder = checkpoints.checkpoint_dir(workdir)
    return {name: open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))}


def optimizer_learning_rates(path):
    reader = tf.train.load_checkpoint(path)
    return tuple(float(reader.get_tensor(f"{player}/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"))
                 for player in ("g_optimizer", "d_optimizer"))


def test_all_finite():
    assert bool(all_finite([tf.ones([3]), tf.constant(2.0)]))
    assert not bool(all_finite([tf.ones([3]), tf.constant([1.0, np.nan])]))
    assert not bool(all_finite([tf.constant(-np.inf)]))
    assert bool(all_finite([tf.constant([1, 2], tf.int32)]))  # integer tensors are skipped
    assert bool(all_finite([]))


def test_divergence_stops_the_cli_naming_the_step_and_keeps_the_checkpoints(tmp_path,
                                                                             mnist_tfds_dir):
    workdir = str(tmp_path / "run")
    train(mlp_config(mnist_tfds_dir), workdir)
    before = checkpoint_state(workdir)
    result = run_script("train.py", f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}",
                        "--model=mlp", "--latent_dim=8", "--hidden_units=32,32",
                        "--batch_size=16", "--steps=8", "--log_every=2", "--sample_every=100",
                        "--checkpoint_every=2", "--keep_checkpoints=10", "--deterministic",
                        f"--g_learning_rate={ABSURD_LEARNING_RATE}",
                        f"--d_learning_rate={ABSURD_LEARNING_RATE}")
    assert result.returncode == 1, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("train.py:")]
    assert len(error_lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "training diverged: non-finite" in error_lines[0]
    assert "at step 5" in error_lines[0] and "ckpt-4 (step 4)" in error_lines[0]
    assert "--on_nan=rollback" in error_lines[0]
    # Nothing of the diverged steps was written; every earlier checkpoint is byte-identical.
    assert checkpoint_state(workdir) == before
    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir)) == 4
    assert not any(name.startswith("step_00000005") for name in os.listdir(
        os.path.join(workdir, "samples")))
    restored = checkpoints.load_task(workdir)
    assert bool(all_finite(restored.generator.weights))


def test_rollback_restores_the_checkpoint_and_continues_with_lower_rates(tmp_path,
                                                                        mnist_tfds_dir, capsys):
    workdir = str(tmp_path / "run")
    config = mlp_config(mnist_tfds_dir)
    train(config, workdir)
    # 1e20 * 1e-24: the retried steps run at 1e-4.
    rollback = diverging(config, on_nan="rollback", rollback_lr_factor=1e-24)
    result = train(rollback, workdir)
    assert (result.start_step, result.step) == (4, 8)
    assert result.train_step_traces == 1  # the second fit reuses the traced step
    log = capsys.readouterr().out
    assert "Training diverged: non-finite" in log and "at step 5" in log
    assert "Rolled back to step 4" in log
    with open(os.path.join(workdir, "rollbacks.jsonl")) as f:
        entries = [json.loads(line) for line in f]
    assert len(entries) == 1
    assert (entries[0]["diverged_at_step"], entries[0]["restored_step"]) == (5, 4)
    assert entries[0]["lr_scale"] == pytest.approx(1e-24)
    latest = checkpoints.latest_checkpoint(workdir)
    assert checkpoints.checkpoint_step(latest) == 8
    assert optimizer_learning_rates(latest) == pytest.approx((1e-4, 1e-4))
    assert bool(all_finite(checkpoints.load_task(workdir).generator.weights))

    # A resumed run keeps the rollback's scale on top of its config's rates.
    resumed = train(dataclasses.replace(rollback, train=dataclasses.replace(
        rollback.train, steps=10)), workdir)
    assert resumed.step == 10
    assert optimizer_learning_rates(resumed.checkpoint) == pytest.approx((1e-4, 1e-4))


def test_rollbacks_are_bounded(tmp_path, mnist_tfds_dir):
    workdir = str(tmp_path / "run")
    config = mlp_config(mnist_tfds_dir)
    train(config, workdir)
    before = checkpoint_state(workdir)
    # Halving 1e20 once is still absurd: the retry diverges again.
    with pytest.raises(RunError, match=r"after 1 rollback\(s\) \(train.max_rollbacks\)"):
        train(diverging(config, on_nan="rollback", max_rollbacks=1), workdir)
    assert checkpoint_state(workdir) == before


def test_rollback_of_a_new_run_goes_back_to_step_zero(tmp_path, mnist_tfds_dir, capsys):
    config = diverging(mlp_config(mnist_tfds_dir), steps=3, on_nan="rollback",
                       rollback_lr_factor=1e-24)
    result = train(config, str(tmp_path / "run"))
    assert result.step == 3
    assert "Rolled back to step 0" in capsys.readouterr().out


def test_a_resumed_run_trains_with_its_configs_learning_rates(tmp_path, mnist_tfds_dir):
    """Learning rates are in the optimizer's checkpointed state; the config wins on resume."""
    workdir = str(tmp_path / "run")
    config = mlp_config(mnist_tfds_dir)
    first = train(config, workdir)
    assert optimizer_learning_rates(first.checkpoint) == pytest.approx((2e-4, 2e-4))
    resumed = train(dataclasses.replace(config, train=dataclasses.replace(
        config.train, steps=6, g_learning_rate=1e-4, d_learning_rate=3e-4)), workdir)
    assert optimizer_learning_rates(resumed.checkpoint) == pytest.approx((1e-4, 3e-4))
