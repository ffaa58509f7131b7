"""The run directory format and the one generator loader."""

import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config, ModelConfig, TrainConfig
from kgan.errors import RunError
from kgan.training import build_task

CONFIG = Config(model=ModelConfig(latent_dim=8, base_filters=8, image_shape=(28, 28, 1)),
                train=TrainConfig(steps=5))


def saved_run(workdir, step=5):
    gan = build_task(CONFIG)
    gan.generator_step(4)  # moves weights and BatchNorm statistics away from their init
    checkpoints.write_config(workdir, CONFIG)
    checkpoint = checkpoints.make_checkpoint(gan.checkpoint_items())
    checkpoints.checkpoint_manager(checkpoint, workdir, 3).save(checkpoint_number=step)
    return gan


def test_load_task_reproduces_the_saved_generator(tmp_path):
    gan = saved_run(str(tmp_path))
    loaded = checkpoints.load_task(str(tmp_path))
    assert loaded.step == 5 and loaded.config == CONFIG
    z = tf.random.normal([6, 8])
    np.testing.assert_array_equal(loaded.generator(z, training=False),
                                  gan.generator(z, training=False))


def test_a_config_ahead_of_its_checkpoint_serves_the_raw_generator(tmp_path):
    # A run resumed with the weight average turned on that stopped before its
    # next checkpoint: config.json names the average, the checkpoint has none.
    gan = saved_run(str(tmp_path))
    checkpoints.write_config(str(tmp_path), dataclasses.replace(
        CONFIG, train=dataclasses.replace(CONFIG.train, ema_half_life=1000)))
    notes = []
    loaded = checkpoints.load_task(str(tmp_path), log=notes.append)
    assert loaded.spec.network == "generator" and loaded.task.serve_raw_weights
    assert len(notes) == 1 and "has no weight average" in notes[0]
    z = tf.random.normal([6, 8])
    np.testing.assert_array_equal(loaded.generator(z, training=False),
                                  gan.generator(z, training=False))


def test_checkpoint_holds_both_players_their_optimizers_and_the_step(tmp_path):
    saved_run(str(tmp_path))
    names = {n.split("/")[0] for n, _ in tf.train.list_variables(
        checkpoints.latest_checkpoint(str(tmp_path)))}
    assert {"generator", "discriminator", "g_optimizer", "d_optimizer", "step"} <= names


def test_loader_errors(tmp_path):
    with pytest.raises(RunError, match="not a kgan run directory"):
        checkpoints.load_task(str(tmp_path))
    checkpoints.write_config(str(tmp_path), CONFIG)
    with pytest.raises(RunError, match="no checkpoint in"):
        checkpoints.load_task(str(tmp_path))


def test_config_write_is_atomic_and_strict_on_read(tmp_path):
    checkpoints.write_config(str(tmp_path), CONFIG)
    assert not list(tmp_path.glob("*.partial"))
    assert checkpoints.read_config(str(tmp_path)) == CONFIG
    (tmp_path / "config.json").write_text('{"model": {"layers": 3}}')
    with pytest.raises(RunError, match="unknown key"):
        checkpoints.read_config(str(tmp_path))


def test_saved_item_names_include_networks_whose_weights_the_optimizer_keys(tmp_path):
    # Every weight of this network is trainable, so the checkpoint keys them
    # all under the optimizer ("an_optimizer" sorts first); the network is
    # still an item of the checkpoint, and resuming must not call it missing.
    network = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    optimizer.build(network.trainable_variables)
    path = checkpoints.make_checkpoint({"an_optimizer": optimizer, "network": network,
                                        "step": keras.Variable(0)}).save(str(tmp_path / "c"))
    keys = {name.split("/")[0] for name, _ in tf.train.list_variables(path)}
    assert "network" not in keys  # the variable keys alone would miss it
    assert checkpoints.saved_item_names(path) == {"an_optimizer", "network", "step"}
    assert checkpoints.saved_item_names(str(tmp_path / "missing")) is None


def run_with_checkpoints(workdir, steps, keep=5):
    """A run directory with a checkpoint at each of `steps`; returns the
    generator's weights at each step."""
    gan = build_task(CONFIG)
    checkpoints.write_config(workdir, CONFIG)
    checkpoint = checkpoints.make_checkpoint(gan.checkpoint_items())
    manager = checkpoints.checkpoint_manager(checkpoint, workdir, keep)
    weights = {}
    for step in steps:
        gan.generator_step(4)
        checkpoints.save(manager, step)
        weights[step] = [w.numpy().copy() for w in gan.generator.weights]
    return weights


def assert_generator(loaded, weights):
    for got, want in zip(loaded.generator.weights, weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_a_missing_state_file_does_not_hide_the_checkpoints_on_disk(tmp_path):
    weights = run_with_checkpoints(str(tmp_path), (5, 10))
    state = tmp_path / "checkpoints" / "checkpoint"
    state.unlink()
    assert checkpoints.latest_checkpoint(str(tmp_path)).endswith("ckpt-10")
    messages = []
    loaded = checkpoints.load_task(str(tmp_path), log=messages.append)
    assert loaded.step == 10
    assert_generator(loaded, weights[10])
    assert messages == [f"Note: {tmp_path / 'checkpoints'} has no checkpoint state file; restored "
                        f"the newest complete checkpoint on disk, {loaded.checkpoint}"]


def test_a_state_file_naming_an_older_checkpoint_is_overruled_by_the_disk(tmp_path):
    weights = run_with_checkpoints(str(tmp_path), (5, 10))
    ckpt_dir = str(tmp_path / "checkpoints")
    tf.compat.v1.train.update_checkpoint_state(ckpt_dir, os.path.join(ckpt_dir, "ckpt-5"))
    messages = []
    loaded = checkpoints.load_task(str(tmp_path), log=messages.append)
    assert loaded.step == 10
    assert_generator(loaded, weights[10])
    assert len(messages) == 1 and "names the older " in messages[0] and "ckpt-5" in messages[0]


def test_a_truncated_data_file_falls_back_to_the_previous_checkpoint(tmp_path):
    weights = run_with_checkpoints(str(tmp_path), (5, 10))
    data = tmp_path / "checkpoints" / "ckpt-10.data-00000-of-00001"
    os.truncate(data, data.stat().st_size // 2)  # the reader raises IndexError, not an OpError
    messages = []
    loaded = checkpoints.load_task(str(tmp_path), log=messages.append)
    assert loaded.step == 5
    assert_generator(loaded, weights[5])
    assert len(messages) == 1 and messages[0].startswith("Warning: skipped 1 unreadable")

    task = build_task(CONFIG)  # what a resumed training run restores
    restored = checkpoints.restore_newest(
        checkpoints.make_checkpoint(task.checkpoint_items()), str(tmp_path))
    assert restored.endswith("ckpt-5")
    assert_generator(checkpoints.LoadedTask(task, CONFIG, 5, restored), weights[5])


def test_a_checkpoint_missing_a_data_shard_is_not_a_candidate(tmp_path):
    run_with_checkpoints(str(tmp_path), (5, 10))
    ckpt_dir = tmp_path / "checkpoints"
    (ckpt_dir / "ckpt-10.data-00000-of-00001").unlink()
    assert [checkpoints.checkpoint_step(p) for p in checkpoints.complete_checkpoints(
        str(tmp_path / "checkpoints"))] == [5]
    messages = []
    assert checkpoints.load_task(str(tmp_path), log=messages.append).step == 5
    assert messages == [f"Note: {ckpt_dir / 'checkpoint'} names {ckpt_dir / 'ckpt-10'}, whose "
                        "files are missing or incomplete; restored the newest complete "
                        f"checkpoint on disk, {ckpt_dir / 'ckpt-5'}"]


def test_the_writer_lists_unnamed_checkpoints_in_the_state_so_it_keeps_and_sweeps_them(tmp_path):
    run_with_checkpoints(str(tmp_path), (5, 10, 15))
    ckpt_dir = tmp_path / "checkpoints"
    (ckpt_dir / "checkpoint").unlink()
    task = build_task(CONFIG)
    checkpoint = checkpoints.make_checkpoint(task.checkpoint_items())
    manager = checkpoints.checkpoint_manager(checkpoint, str(tmp_path), 2)
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    assert [checkpoints.checkpoint_step(p) for p in state.all_model_checkpoint_paths] == [5, 10, 15]
    checkpoints.save(manager, 20)
    assert sorted(checkpoints.checkpoint_step(p) for p in checkpoints.complete_checkpoints(
        str(ckpt_dir))) == [15, 20]


def test_a_partly_swept_checkpoint_the_state_lists_is_kept_listed_so_the_sweep_finishes(tmp_path):
    """A kill while the manager deletes an old checkpoint leaves part of its
    files, still listed; rewriting the state must not orphan them."""
    run_with_checkpoints(str(tmp_path), (5, 10, 15))
    ckpt_dir = tmp_path / "checkpoints"
    (ckpt_dir / "ckpt-5.index").unlink()  # the sweep deletes the index first
    tf.compat.v1.train.update_checkpoint_state(  # and ckpt-15's save was not recorded
        str(ckpt_dir), str(ckpt_dir / "ckpt-10"),
        all_model_checkpoint_paths=[str(ckpt_dir / "ckpt-5"), str(ckpt_dir / "ckpt-10")])
    task = build_task(CONFIG)
    manager = checkpoints.checkpoint_manager(
        checkpoints.make_checkpoint(task.checkpoint_items()), str(tmp_path), 2)
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    assert [checkpoints.checkpoint_step(p) for p in state.all_model_checkpoint_paths] == [5, 10, 15]
    checkpoints.save(manager, 20)
    assert sorted(os.listdir(ckpt_dir)) == ["checkpoint", "ckpt-15.data-00000-of-00001",
                                            "ckpt-15.index", "ckpt-20.data-00000-of-00001",
                                            "ckpt-20.index"]


def test_the_state_rewrite_drops_paths_outside_the_folder(tmp_path):
    """A state file copied from another run must not let the sweep delete that run's files."""
    other = tmp_path / "other"
    run_with_checkpoints(str(other), (5,))
    run_with_checkpoints(str(tmp_path / "run"), (10,))
    ckpt_dir = tmp_path / "run" / "checkpoints"
    tf.compat.v1.train.update_checkpoint_state(
        str(ckpt_dir), str(ckpt_dir / "ckpt-10"),
        all_model_checkpoint_paths=[str(other / "checkpoints" / "ckpt-5"), str(ckpt_dir / "ckpt-10")])
    task = build_task(CONFIG)
    manager = checkpoints.checkpoint_manager(
        checkpoints.make_checkpoint(task.checkpoint_items()), str(tmp_path / "run"), 1)
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    assert [os.path.dirname(p) for p in state.all_model_checkpoint_paths] == [str(ckpt_dir)]
    checkpoints.save(manager, 15)
    assert (other / "checkpoints" / "ckpt-5.index").exists()
