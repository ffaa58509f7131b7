"""train.py as a user runs it, in fresh processes, on the real MNIST."""

import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config
from tests.conftest import REPO, SHARED_DATA, run_script, tree_digest

CELEBA_89 = SHARED_DATA / "celeba" / "img_align_celeba_89x109"

SMALL = ["--batch_size=16", "--base_filters=8", "--latent_dim=16"]


def tensorboard_tags(folder):
    tags = set()
    for path in folder.glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            tags.update(v.tag for v in tf.compat.v1.Event.FromString(record.numpy()).summary.value)
    return tags


@pytest.mark.slow
def test_train_writes_a_complete_run_and_resumes(tmp_path, mnist_tfds_dir):
    workdir = tmp_path / "run"
    common = [f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}", "--log_every=10",
              "--sample_every=10", "--checkpoint_every=10", *SMALL]
    result = run_script("train.py", "--steps=20", *common)
    assert result.returncode == 0, result.stderr
    assert "step 20/20" in result.stdout and "Done: step 20" in result.stdout

    config = Config.from_json((workdir / "config.json").read_text())
    assert config.train.steps == 20 and config.model.image_shape == (28, 28, 1)
    assert config.data.data_dir == mnist_tfds_dir
    assert (workdir / "checkpoints" / "ckpt-20.index").exists()
    grid = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / "step_00000020.png")))
    assert grid.shape == (8 * 30 + 2, 8 * 30 + 2, 1)  # 64 samples of 28x28 with 2px padding
    assert float(tf.math.reduce_std(tf.cast(grid, tf.float32))) > 1.0
    assert {"d_loss", "g_loss", "d_real", "d_fake", "images_per_second", "samples"} <= \
        tensorboard_tags(workdir / "tensorboard")

    resumed = run_script("train.py", "--steps=30", *common)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from step 20" in resumed.stdout and "Done: step 30" in resumed.stdout
    assert checkpoints.load_task(str(workdir)).step == 30


def test_dry_run_prints_the_resolved_config_and_writes_nothing(tmp_path):
    result = run_script("train.py", "--dry_run", "--model=mlp", "--label_smoothing=0.1",
                        f"--workdir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr
    config = Config.from_json(result.stdout)
    assert config.model.architecture == "mlp" and config.model.image_shape == (28, 28, 1)
    assert config.train.label_smoothing == 0.1
    assert not (tmp_path / "run").exists()


def test_resuming_starts_from_the_runs_own_config_not_the_dataset_preset(tmp_path):
    # The mnist preset turns on a weight average; a run begun without one keeps
    # its own recipe when the same command is run again, unless --preset is given.
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "config.json").write_text(Config().to_json())
    resumed = run_script("train.py", "--dry_run", f"--workdir={workdir}", "--label_smoothing=0.1")
    assert resumed.returncode == 0, resumed.stderr
    config = Config.from_json(resumed.stdout)
    assert config.train.ema_half_life == 0 and config.train.label_smoothing == 0.1
    with_preset = run_script("train.py", "--dry_run", f"--workdir={workdir}", "--preset=mnist")
    assert with_preset.returncode == 0, with_preset.stderr
    assert Config.from_json(with_preset.stdout).train.ema_half_life > 0


@pytest.mark.parametrize("flags, message", [
    (["--data_dir=/no/such/dir"], "data directory '/no/such/dir' does not exist"),
    (["--dataset=cifar10"], "unknown dataset 'cifar10'; choose one of: celeba, folder, mnist, "
                            "stacked_mnist"),
    (["--model=vgg"], "unknown model 'vgg'; choose one of: dcgan, mlp, resnet"),
    (["--loss=wgan"], "unknown loss 'wgan'; choose one of: hinge, least_squares, minimax, "
                      "non_saturating, relativistic, wasserstein"),
    (["--loss=wasserstein"], "train.loss='wasserstein' needs a Lipschitz constraint on the "
                             "critic: set train.gp_weight (10 in Gulrajani et al. 2017) or "
                             "model.spectral_norm"),
    (["--r1_gamma=1", "--model=dcgan", "--d_normalization=batch"],
     "train.r1_gamma penalizes each example's input gradient, which BatchNorm in the "
     "discriminator mixes across the batch: set model.d_normalization to layer or none"),
    (["--batch_size=0"], "train.batch_size must be in 1..262_144, got 0"),
    (["--batch_size=-3"], "train.batch_size must be in 1..262_144, got -3"),
    (["--g_learning_rate=-0.1"], "train.g_learning_rate must be in 1e-10..1e30, got -0.1"),
    (["--d_learning_rate=0"], "train.d_learning_rate must be in 1e-10..1e30, got 0.0"),
    (["--hidden_units=256,big"], "--hidden_units must be integers, got '256,big'"),
])
def test_bad_input_gives_one_clear_line_and_nonzero_exit(tmp_path, mnist_tfds_dir, flags, message):
    args = [f"--workdir={tmp_path / 'run'}", *flags]
    if not any(f.startswith("--data_dir") for f in flags):
        args.append(f"--data_dir={mnist_tfds_dir}")
    result = run_script("train.py", *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == f"train.py: error: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, message", [
    (["--attributes=Male,Wears_Cape"], "unknown CelebA attribute 'Wears_Cape'"),
    (["--crop_fraction=1.5"], "data.crop_fraction must be in 0.01..1, got 1.5"),
    (["--attributes=Male,Male"], "data.attributes must name one or more distinct attributes"),
])
def test_bad_celeba_input_gives_one_clear_line(tmp_path, flags, message):
    result = run_script("train.py", "--dataset=celeba", f"--data_dir={CELEBA_89}",
                        f"--workdir={tmp_path / 'run'}", *flags)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("train.py: error: ") and message in last_line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_train_celeba_faces_from_the_half_resolution_folder(tmp_path):
    workdir = tmp_path / "faces"
    result = run_script("train.py", "--dataset=celeba", f"--data_dir={CELEBA_89}",
                        f"--workdir={workdir}", "--steps=2", "--num_samples=4", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "dcgan on celeba (10000 images" in result.stdout
    config = Config.from_json((workdir / "config.json").read_text())
    assert config.model.image_shape == (64, 64, 3) and not config.model.conditional
    grid = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / "step_00000002.png")))
    assert grid.shape == (2 * 66 + 2, 2 * 66 + 2, 3)
    assert checkpoints.load_task(str(workdir)).step == 2


def test_incompatible_workdir_exits_cleanly_and_keeps_the_run(tmp_path, mnist_tfds_dir):
    workdir = tmp_path / "run"
    first = run_script("train.py", f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}",
                       "--model=mlp", "--hidden_units=16", "--latent_dim=8", "--steps=1",
                       "--batch_size=8", "--preset=none")
    assert first.returncode == 0, first.stderr[-2000:]
    before = tree_digest(workdir)
    result = run_script("train.py", f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}",
                        "--model=dcgan")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "incompatible config (model.architecture: 'mlp' in the run vs 'dcgan'" in \
        result.stderr.strip().splitlines()[-1]
    assert tree_digest(workdir) == before


@pytest.mark.slow
@pytest.mark.parametrize("signum, status, message", [
    (signal.SIGINT, 130, "Interrupted: saved a checkpoint at step"),
    (signal.SIGTERM, 143, "Interrupted by SIGTERM: saved a checkpoint at step")],
    ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_saves_a_checkpoint_that_resumes(tmp_path, mnist_tfds_dir, signum, status,
                                                       message):
    workdir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), f"--workdir={workdir}",
         f"--data_dir={mnist_tfds_dir}", "--steps=100000", "--log_every=5",
         "--checkpoint_every=100000", "--sample_every=100000", *SMALL],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        for line in process.stdout:
            if line.startswith("step 10/") or time.monotonic() > deadline:
                break
        if signum == signal.SIGTERM:  # meanwhile, a second writer is refused
            second = run_script("train.py", f"--workdir={workdir}",
                                f"--data_dir={mnist_tfds_dir}", "--steps=100000", *SMALL)
            assert second.returncode == 1 and "Traceback" not in second.stderr
            assert (f"workdir '{workdir}' is in use by pid {process.pid} on host "
                    in second.stderr.strip().splitlines()[-1])
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    assert message in stdout
    assert not (workdir / "run.lock").exists()
    loaded = checkpoints.load_task(str(workdir))
    assert loaded.step >= 10
    assert (workdir / "checkpoints" / f"ckpt-{loaded.step}.index").exists()
