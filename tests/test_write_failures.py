"""Writes that fail midway (a file-size limit standing in for a full disk) and what kills leave.

Every failure must be one kgan error naming the path and the operating
system's reason, and must leave the previous checkpoint restorable and every
published export version loadable. The file-size limit is `RLIMIT_FSIZE`
(we run as root, so a read-only directory would not stop a write); Python
ignores SIGXFSZ, so an over-long write fails with EFBIG instead of killing
the process.
"""

import os
import pathlib
import resource
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan import export as kgan_export
from kgan.config import Config, ExportConfig, ModelConfig, TrainConfig
from kgan.errors import ExportError, RunError
from kgan.training import build_task
from kgan.training.callbacks import TrainingMonitor
from tests.conftest import REPO, file_size_limit, tree_digest

CONFIG = Config(model=ModelConfig(latent_dim=8, base_filters=8, image_shape=(28, 28, 1)),
                train=TrainConfig(steps=10))
# Below one checkpoint's data file (~170 kB here), above config.json, a sample grid
# and the TensorBoard events of a few steps.
LIMIT = 100_000


def run_limited(script, *args, limit=None, timeout=300):
    """One of the repo's scripts in a fresh process, under a file-size limit."""

    def limit_writes():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit_writes if limit else None)


def saved_run(workdir, steps=(5,)):
    """A run directory with a checkpoint at each of `steps` (no data needed); returns
    the GAN, its manager, and the generator's weights at each step."""
    gan = build_task(CONFIG)
    checkpoints.write_config(workdir, CONFIG)
    checkpoint = checkpoints.make_checkpoint(gan.checkpoint_items())
    manager = checkpoints.checkpoint_manager(checkpoint, workdir, 3)
    weights = {}
    for step in steps:
        gan.generator_step(4)  # moves the weights, so each checkpoint differs
        checkpoints.save(manager, step)
        weights[step] = [w.numpy().copy() for w in gan.generator.weights]
    return gan, manager, weights


def assert_loads(workdir, step, weights):
    loaded = checkpoints.load_task(str(workdir))
    assert loaded.step == step
    for got, want in zip(loaded.generator.weights, weights):
        np.testing.assert_array_equal(got.numpy(), want)


def listing(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def test_failed_save_is_one_error_and_the_previous_checkpoint_restores(tmp_path):
    gan, manager, weights = saved_run(str(tmp_path))
    gan.generator_step(4)
    before = listing(tmp_path / "checkpoints")
    with file_size_limit(LIMIT), pytest.raises(RunError) as error:
        checkpoints.save(manager, 10)
    ckpt_dir = tmp_path / "checkpoints"
    assert str(error.value) == (f"cannot save checkpoint {ckpt_dir / 'ckpt-10'}: File too large; "
                                f"the newest complete checkpoint, {ckpt_dir / 'ckpt-5'} (step 5), "
                                "is intact")
    assert listing(ckpt_dir) == before, "the failed save's staging folder and files are removed"
    assert_loads(tmp_path, 5, weights[5])
    # The space is free again: the next save works and becomes the newest.
    checkpoints.save(manager, 10)
    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(str(tmp_path))) == 10


def test_a_failed_first_save_says_no_checkpoint_exists(tmp_path):
    gan = build_task(CONFIG)
    checkpoint = checkpoints.make_checkpoint(gan.checkpoint_items())
    manager = checkpoints.checkpoint_manager(checkpoint, str(tmp_path), 3)
    with file_size_limit(LIMIT), pytest.raises(RunError, match="File too large; no earlier "
                                               "checkpoint exists"):
        checkpoints.save(manager, 10)
    assert listing(tmp_path / "checkpoints") == []


def test_failed_config_write_keeps_the_previous_config(tmp_path):
    checkpoints.write_config(str(tmp_path), CONFIG)
    before = (tmp_path / "config.json").read_text()
    with file_size_limit(100), pytest.raises(RunError) as error:
        checkpoints.write_config(str(tmp_path), CONFIG)
    assert str(error.value) == f"cannot write {tmp_path / 'config.json'}: File too large"
    assert (tmp_path / "config.json").read_text() == before
    assert listing(tmp_path) == ["config.json"]


def test_what_a_kill_during_a_save_leaves_is_ignored_and_cleaned(tmp_path):
    """The files a save killed at each stage leaves: the state still names the
    previous checkpoint, which restores; the next run removes the leftovers and
    writes the interrupted step again."""
    gan, manager, weights = saved_run(str(tmp_path), steps=(5, 10))
    ckpt_dir = tmp_path / "checkpoints"
    # A save of step 15 killed: after its shard was staged, after the data file was
    # moved into place with half its index written, and while writing the state file.
    staging = ckpt_dir / "ckpt-15_temp"
    staging.mkdir()
    (staging / "part-00000-of-00001.data-00000-of-00001.tempstate123").write_bytes(b"\0" * 99)
    index = (ckpt_dir / "ckpt-10.index").read_bytes()
    (ckpt_dir / "ckpt-15.index").write_bytes(index[:len(index) // 2])
    (ckpt_dir / "ckpt-15.data-00000-of-00001").write_bytes(
        (ckpt_dir / "ckpt-10.data-00000-of-00001").read_bytes())
    (ckpt_dir / "checkpoint.tmp0123456789abcdef").write_text('model_checkpoint_path: "ckpt-1')

    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(str(tmp_path))) == 10
    assert_loads(tmp_path, 10, weights[10])

    restarted = build_task(CONFIG)
    checkpoint = checkpoints.make_checkpoint(restarted.checkpoint_items())
    manager = checkpoints.checkpoint_manager(checkpoint, str(tmp_path), 3)
    assert not staging.exists() and not list(ckpt_dir.glob("checkpoint.tmp*"))
    assert checkpoints.restore_newest(checkpoint, str(tmp_path)).endswith("ckpt-10")
    restarted.generator_step(4)
    checkpoints.save(manager, 15)  # replaces the half-written files
    assert_loads(tmp_path, 15, [w.numpy() for w in restarted.generator.weights])


def test_an_unreadable_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    gan, manager, weights = saved_run(str(tmp_path), steps=(5, 10))
    index = tmp_path / "checkpoints" / "ckpt-10.index"
    index.write_bytes(index.read_bytes()[:100])  # e.g. a disk error
    messages = []
    loaded = checkpoints.load_task(str(tmp_path), log=messages.append)
    assert loaded.step == 5
    for got, want in zip(loaded.generator.weights, weights[5]):
        np.testing.assert_array_equal(got.numpy(), want)
    assert len(messages) == 1 and "skipped 1 unreadable checkpoint(s)" in messages[0]
    assert "ckpt-10" in messages[0] and messages[0].endswith("restored " + loaded.checkpoint)

    index = tmp_path / "checkpoints" / "ckpt-5.index"
    index.write_bytes(index.read_bytes()[:100])
    with pytest.raises(RunError, match=r"cannot restore .*ckpt-10: .*\(nor do the 1 older"):
        checkpoints.load_task(str(tmp_path))


def test_an_unreadable_state_file_is_reported_and_the_disk_decides(tmp_path):
    gan, manager, weights = saved_run(str(tmp_path), steps=(5, 10))
    state = tmp_path / "checkpoints" / "checkpoint"
    state.write_text("model_checkpoint_path: {{{")
    assert checkpoints.latest_checkpoint(str(tmp_path)).endswith("ckpt-10")
    messages = []
    loaded = checkpoints.load_task(str(tmp_path), log=messages.append)
    assert loaded.step == 10
    assert messages == [f"Note: {state} is unreadable; restored the newest complete checkpoint "
                        f"on disk, {loaded.checkpoint}"]

    for path in (tmp_path / "checkpoints").glob("ckpt-*"):
        path.unlink()
    # No checkpoint here, but the state file may list some elsewhere: not a fresh start.
    with pytest.raises(RunError, match="is not a readable checkpoint state file"):
        checkpoints.latest_checkpoint(str(tmp_path))


def test_the_checkpoint_a_fit_started_from_is_never_rewritten(tmp_path):
    """Saving at the step a run resumed from would rewrite, in place, the
    checkpoint the state file names (Ctrl-C right after a resume)."""
    gan, manager, _ = saved_run(str(tmp_path))
    files = sorted((tmp_path / "checkpoints").glob("ckpt-5.*"))
    stamps = [(f.stat().st_ino, f.stat().st_mtime_ns) for f in files]
    monitor = TrainingMonitor(str(tmp_path), manager, 5, 20, 16, 10, 10, 10, stream=open(os.devnull, "w"))
    monitor.save_checkpoint()
    assert [(f.stat().st_ino, f.stat().st_mtime_ns) for f in files] == stamps
    monitor.step = 7
    monitor.save_checkpoint()
    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(str(tmp_path))) == 7


def test_failed_sample_grid_and_tensorboard_writes_are_errors_not_a_quiet_stop(tmp_path):
    """TensorFlow reports EFBIG as OutOfRangeError, which fit takes for the end of the data."""
    gan, manager, _ = saved_run(str(tmp_path))
    monitor = TrainingMonitor(str(tmp_path), manager, 5, 20, 16, 10, 10, 10,
                              stream=open(os.devnull, "w"))
    monitor.set_model(gan)
    monitor.on_train_begin()
    monitor.step = 6
    with file_size_limit(100), pytest.raises(RunError) as raised:
        monitor.write_samples()
    path = tmp_path / "samples" / "step_00000006.png"
    assert str(raised.value) == f"cannot write {path}: File too large"
    assert not path.exists() and not (tmp_path / "samples" / "step_00000006.png.partial").exists()
    with file_size_limit(100), pytest.raises(RunError, match=r"cannot write .*tensorboard: "):
        for _ in range(50):  # the writer buffers: fill past the limit, then flush
            monitor._log({"d_loss": 1.0, "g_loss": 1.0})
    monitor.write_samples()  # the limit lifted, writing works again
    assert path.exists()


@pytest.fixture
def run_with_export(tmp_path):
    """A saved run and one published export version of it."""
    workdir = tmp_path / "run"
    saved_run(str(workdir))
    exports = tmp_path / "exports"
    first = kgan_export.export(ExportConfig(workdir=str(workdir), export_dir=str(exports),
                                            tflite_variants=(), verify=False),
                               log=lambda message: None)
    return workdir, exports, first


def assert_serves(version_dir):
    model = tf.saved_model.load(str(version_dir))
    images = model.signatures["serving_default"](z=tf.zeros([2, 8]))["images"]
    assert images.dtype == tf.uint8 and images.shape == (2, 28, 28, 1)


def test_failed_export_publishes_nothing_and_keeps_every_version(run_with_export):
    workdir, exports, first = run_with_export
    before = tree_digest(first.path)
    with file_size_limit(LIMIT // 10), pytest.raises(ExportError) as error:
        kgan_export.export(ExportConfig(workdir=str(workdir), export_dir=str(exports),
                                        tflite_variants=("float32",), verify=False),
                           log=lambda message: None)
    assert str(error.value) == (
        f"writing the export failed: File too large (version 2 at '{exports / 'run' / '2'}'); "
        "nothing was published and the existing versions are untouched")
    assert listing(exports / "run") == ["1"], "no staging folder or version 2 may remain"
    assert tree_digest(first.path) == before
    assert_serves(first.path)


@pytest.mark.slow
def test_train_py_reports_a_failed_save_and_keeps_the_previous_checkpoint(tmp_path,
                                                                         mnist_tfds_dir):
    workdir = tmp_path / "run"
    common = [f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}", "--batch_size=16",
              "--base_filters=8", "--latent_dim=16", "--checkpoint_every=10", "--log_every=10",
              "--sample_every=10"]
    first = run_limited("train.py", "--steps=10", *common)
    assert first.returncode == 0, first.stderr
    weights = [w.numpy() for w in checkpoints.load_task(str(workdir)).generator.weights]

    # Without the conversion Keras took TensorFlow's OutOfRangeError ("File too
    # large") for the end of the data and train.py reported success.
    limited = run_limited("train.py", "--steps=20", *common, limit=LIMIT)
    assert limited.returncode == 1 and "Traceback" not in limited.stderr
    assert "Done" not in limited.stdout
    ckpt_dir = workdir / "checkpoints"
    assert limited.stderr.strip().splitlines()[-1] == (
        f"train.py: error: cannot save checkpoint {ckpt_dir / 'ckpt-20'}: File too large; the "
        f"newest complete checkpoint, {ckpt_dir / 'ckpt-10'} (step 10), is intact")
    assert listing(ckpt_dir) == ["checkpoint", "ckpt-10.data-00000-of-00001", "ckpt-10.index"]
    assert_loads(workdir, 10, weights)


@pytest.mark.slow
def test_export_py_reports_a_failed_write_and_keeps_every_version(run_with_export):
    workdir, exports, first = run_with_export
    before = tree_digest(exports)
    result = run_limited("export.py", f"--workdir={workdir}", f"--export_dir={exports}",
                         "--tflite=float32", "--noverify", limit=LIMIT // 10)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"export.py: error: writing the export failed: File too large (version 2 at "
        f"'{exports / 'run' / '2'}'); nothing was published and the existing versions are "
        "untouched")
    assert tree_digest(exports) == before
    assert_serves(first.path)


@pytest.mark.slow
def test_an_export_killed_midway_leaves_only_hidden_staging_that_the_next_export_removes(
        run_with_export):
    workdir, exports, first = run_with_export
    model_dir = exports / "run"
    before = tree_digest(first.path)
    process = subprocess.Popen([sys.executable, str(REPO / "export.py"), f"--workdir={workdir}",
                                f"--export_dir={exports}", "--tflite=float32", "--noverify"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not [n for n in os.listdir(model_dir) if n.startswith(".partial-2-")]:
            assert process.poll() is None and time.monotonic() < deadline, "no staging seen"
            time.sleep(0.005)
    finally:
        process.kill()  # SIGKILL: no chance to clean up
        process.wait()
    staged = [n for n in os.listdir(model_dir) if n.startswith(".partial-")]
    assert staged and "2" not in os.listdir(model_dir)
    assert tree_digest(first.path) == before
    assert_serves(first.path)
    # A staging folder of a running export (this process) is not touched.
    running = model_dir / f".partial-9-{socket.gethostname()}-{os.getpid()}-x"
    running.mkdir()

    messages = []
    second = kgan_export.export(ExportConfig(workdir=str(workdir), export_dir=str(exports),
                                             tflite_variants=(), verify=False),
                                log=messages.append)
    assert second.version == 2
    assert listing(model_dir) == sorted(["1", "2", running.name])
    assert sum("left by an export that was killed" in m for m in messages) == len(staged)
    assert_serves(second.path)
