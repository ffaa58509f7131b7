"""Whole runs on the real MNIST: resumption, workdir checks, run length."""

import dataclasses
import io
import json
import math
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError, RunError
from kgan.training import total_steps, train
from kgan.training.loop import build_task, resolve, restore_run
from tests.conftest import tree_digest


README = pathlib.Path(__file__).parents[2] / "README.md"


def small_config(data_dir, **train_changes):
    return Config(
        data=DataConfig(data_dir=data_dir),
        model=ModelConfig(latent_dim=8, base_filters=8),
        train=dataclasses.replace(
            TrainConfig(batch_size=16, steps=6, log_every=3, sample_every=3, checkpoint_every=3,
                        deterministic=True),
            **train_changes))


def checkpoint_values(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path)
            if not name.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter"))}


@pytest.mark.slow
def test_resumed_run_equals_an_uninterrupted_run(tmp_path, mnist_tfds_dir, capsys):
    """N steps, stop, N more steps == 2N steps straight (op determinism on)."""
    first = train(small_config(mnist_tfds_dir), str(tmp_path / "resumed"))
    assert (first.start_step, first.step) == (0, 6)
    resumed = train(small_config(mnist_tfds_dir, steps=12), str(tmp_path / "resumed"))
    assert (resumed.start_step, resumed.step) == (6, 12)
    straight = train(small_config(mnist_tfds_dir, steps=12), str(tmp_path / "straight"))

    a, b = checkpoint_values(resumed.checkpoint), checkpoint_values(straight.checkpoint)
    assert set(a) == set(b)
    assert any(name.startswith("generator/") for name in a)
    assert any(name.startswith("step/") for name in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    # The resumed run records the settings it started with.
    history = (tmp_path / "resumed" / "config_history.jsonl").read_text().splitlines()
    assert [json.loads(line)["train"]["steps"] for line in history] == [6]
    assert checkpoints.read_config(str(tmp_path / "resumed")).train.steps == 12
    assert "Resuming with changed settings: train.steps 6 -> 12" in capsys.readouterr().out

    again = train(small_config(mnist_tfds_dir, steps=12), str(tmp_path / "straight"))
    assert (again.start_step, again.step) == (12, 12)


def test_a_weight_average_turned_on_when_resuming_starts_from_the_restored_generator(
        tmp_path, mnist_tfds_dir, capsys):
    workdir = str(tmp_path / "run")
    train(small_config(mnist_tfds_dir, steps=3), workdir)
    before = checkpoint_values(checkpoints.latest_checkpoint(workdir))
    assert not any(name.startswith("generator_ema/") for name in before)

    config = resolve(small_config(mnist_tfds_dir, ema_half_life=1000))
    task = build_task(config)
    restored = restore_run(task, workdir)
    assert restored.endswith("ckpt-3")
    assert "has no generator_ema" in capsys.readouterr().out
    for average, weight in zip(task.generator_ema.weights, task.generator.weights):
        np.testing.assert_array_equal(average.numpy(), weight.numpy())
    initial = build_task(config).generator.weights  # same seed: the untrained generator
    assert any(not np.array_equal(w.numpy(), w0.numpy())
               for w, w0 in zip(task.generator.weights, initial))

    resumed = train(small_config(mnist_tfds_dir, steps=6, ema_half_life=1000), workdir)
    assert (resumed.start_step, resumed.step) == (3, 6)
    after = checkpoint_values(resumed.checkpoint)
    assert any(name.startswith("generator_ema/") for name in after)


def test_incompatible_workdir_is_refused_and_left_untouched(tmp_path, mnist_tfds_dir):
    workdir = str(tmp_path / "run")
    saved = dataclasses.replace(small_config(mnist_tfds_dir, steps=1),
                                model=ModelConfig(architecture="mlp", latent_dim=8))
    train(saved, workdir, stream=io.StringIO())
    before = tree_digest(workdir)
    with pytest.raises(RunError, match=r"incompatible config \(model.architecture: 'mlp' in "
                                       r"the run vs 'dcgan'"):
        train(small_config(mnist_tfds_dir), workdir)
    assert tree_digest(workdir) == before


def test_a_run_written_before_tasks_existed_resumes_as_a_gan(tmp_path, mnist_tfds_dir):
    workdir = tmp_path / "old"
    first = train(small_config(mnist_tfds_dir, steps=3), str(workdir))
    saved = json.loads((workdir / "config.json").read_text())
    del saved["task"]  # as written before kgan.tasks
    (workdir / "config.json").write_text(json.dumps(saved))
    assert checkpoints.read_config(str(workdir)).task == "gan"
    resumed = train(small_config(mnist_tfds_dir), str(workdir))
    assert (resumed.start_step, resumed.step) == (3, 6)
    assert first.weights_digest != resumed.weights_digest


def test_a_points_run_cannot_resume_a_gan_workdir(tmp_path, mnist_tfds_dir):
    workdir = str(tmp_path / "run")
    train(small_config(mnist_tfds_dir, steps=1), workdir, stream=io.StringIO())
    points = Config(task="points", data=DataConfig(dataset="ring8"),
                    model=ModelConfig(architecture="mlp", latent_dim=2, hidden_units=(8,)),
                    train=TrainConfig(steps=2))
    with pytest.raises(RunError, match=r"incompatible config \(.*task: 'gan' in the run vs "
                                       r"'points'"):
        train(points, workdir)


def test_unreadable_workdir_config_is_refused(tmp_path, mnist_tfds_dir):
    (tmp_path / "config.json").write_text('{"train": {"batch_size": "big"}}')
    with pytest.raises(RunError, match="config.json is not a usable kgan config"):
        train(small_config(mnist_tfds_dir), str(tmp_path))


def test_a_workdir_config_that_is_not_text_is_refused(tmp_path, mnist_tfds_dir):
    (tmp_path / "config.json").write_bytes(b'{"train": {"seed": 0}}\xff\xfe')
    with pytest.raises(RunError, match="config.json is not a usable kgan config: .*UTF-8"):
        train(small_config(mnist_tfds_dir), str(tmp_path))
    assert (tmp_path / "config.json").read_bytes().endswith(b"\xff\xfe")


def test_an_unreadable_best_json_is_refused(tmp_path, mnist_tfds_dir):
    config = small_config(mnist_tfds_dir, eval_every=3, eval_metric="classifier_fd",
                          eval_samples=100)
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "best.json").write_text('{"step": 3, "val')
    with pytest.raises(RunError, match="best.json is unreadable"):
        train(config, str(tmp_path))


def test_epochs_are_converted_to_steps():
    config = Config(train=TrainConfig(steps=None, epochs=0.5, batch_size=64))
    assert total_steps(config, 60_000) == math.ceil(0.5 * 938)
    config = Config(train=TrainConfig(steps=None, epochs=1.0, batch_size=64, d_steps=2))
    assert total_steps(config, 60_000) == 469  # 468 batches of 128 and one of 96
    assert total_steps(Config(train=TrainConfig(steps=77)), 60_000) == 77
    # A million epochs of a ten-million-image folder, one image per step: 10**13 steps.
    endless = Config(train=TrainConfig(steps=None, epochs=1e6, batch_size=1))
    assert total_steps(endless, 10**6) == 10**12
    with pytest.raises(ConfigError, match=r"train.epochs 1e\+06 of 10,000,000 steps each comes "
                                          r"to 10,000,000,000,000 steps, more than the "
                                          r"1,000,000,000,000"):
        total_steps(endless, 10**7)


@pytest.mark.slow
def test_in_training_evaluation_keeps_the_best_checkpoint(tmp_path, mnist_tfds_dir):
    workdir = tmp_path / "run"
    config = small_config(mnist_tfds_dir, eval_every=3, eval_metric="classifier_fd",
                          eval_samples=100, deterministic=False)
    train(config, str(workdir))
    best = json.loads((workdir / "best" / "best.json").read_text())
    assert best["metric"] == "classifier_fd" and best["step"] in (3, 6)
    assert np.isfinite(best["value"]) and best["value"] > 0

    # The best checkpoint is the run's full state at that step.
    best_path = str(workdir / "best" / best["checkpoint"])
    regular = checkpoint_values(str(workdir / "checkpoints" / f"ckpt-{best['step']}"))
    for name, value in checkpoint_values(best_path).items():
        np.testing.assert_array_equal(value, regular[name], err_msg=name)
    assert checkpoints.load_task(str(workdir), best_path).step == best["step"]

    values = []
    for path in (workdir / "tensorboard").glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            values += [(event.step, tf.make_ndarray(v.tensor).item())
                       for v in event.summary.value if v.tag == "eval/classifier_fd"]
    assert sorted(step for step, _ in values) == [3, 6]
    assert min(v for _, v in values) == pytest.approx(best["value"])

    # Resuming keeps the best so far: only a better value replaces it.
    train(dataclasses.replace(config, train=dataclasses.replace(config.train, steps=9)),
          str(workdir))
    after = json.loads((workdir / "best" / "best.json").read_text())
    assert after["value"] <= best["value"]
    assert after == best or after["step"] == 9


def test_in_training_evaluation_of_a_conditional_run(tmp_path, mnist_tfds_dir):
    """Samples request balanced digits, which reach the generator as one-hot vectors."""
    config = small_config(mnist_tfds_dir, eval_every=3, eval_metric="classifier_fd",
                          eval_samples=100, deterministic=False)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model,
                                                                   conditional=True))
    result = train(config, str(tmp_path / "run"))
    assert result.step == 6
    best = json.loads((tmp_path / "run" / "best" / "best.json").read_text())
    assert best["metric"] == "classifier_fd" and np.isfinite(best["value"])



class LogRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_logs, self.rates = [], None

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))

    def on_train_end(self, logs=None):
        self.rates = {opt.name: float(opt.learning_rate.numpy())
                      for opt in self.model.optimizer.optimizers}


def test_user_callbacks_see_task_metrics_and_a_schedule_drives_both_players(
        tmp_path, mnist_tfds_dir):
    recorder = LogRecorder()
    config = small_config(mnist_tfds_dir, steps=3, d_learning_rate=4e-4, g_learning_rate=1e-4)
    train(config, str(tmp_path / "run"), callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.5), recorder])
    assert len(recorder.batch_logs) == 3
    assert all({"d_loss", "g_loss"} <= set(logs) for logs in recorder.batch_logs)
    assert not any("nonfinite_steps" in logs for logs in recorder.batch_logs)
    # Each player's rate halved from its own: the 4:1 ratio is kept.
    assert recorder.rates == pytest.approx({"d_adam": 2e-4, "g_adam": 5e-5})

    # The TensorBoard tags are the README's workdir listing.
    listing = next(line for line in README.read_text().splitlines()
                   if line.strip().startswith("tensorboard/"))
    documented = set(re.findall(r"`([^`]+)`", listing))
    tags = {value.tag for path in (tmp_path / "run" / "tensorboard").iterdir()
            for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value}
    assert tags == documented
