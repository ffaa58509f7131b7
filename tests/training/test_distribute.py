"""Training under tf.distribute on this CPU: 2 logical devices, and 2 local worker processes.

Each case runs in a fresh Python process: logical devices must be configured
before TensorFlow initializes, and a multi-worker strategy owns its process.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kgan import checkpoints
from tests.conftest import REPO, run_script

# Two replicas x batch b against one replica x batch 2b, from the same initial
# weights, on the same data: after one step the weights must agree.
EQUIVALENCE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from kgan import data
    from kgan.config import Config, ModelConfig, TrainConfig
    from kgan.training import build_task
    from tests.conftest import tiny_dataset

    architecture, sync, d_steps = sys.argv[1], sys.argv[2] == "sync", int(sys.argv[3])
    # The modern recipe's options: everything they draw or accumulate must
    # follow the global batch too.
    modern = dict(loss="relativistic", r1_gamma=1.0, r2_gamma=1.0, reg_every=2,
                  lecam_weight=0.1, ema_half_life=50, augment=("translation", "cutout", "color"),
                  augment_probability=0.5, ada_target=0.6, ada_interval=1, ada_speed=500)
    # The mode-collapse options: unrolled updates sum their gradients across
    # replicas; packs are made of each replica's rows.
    unrolled_pack = sys.argv[4:] == ["unrolled_pack"]
    config = data.resolve(Config(
        model=ModelConfig(architecture=architecture, latent_dim=8, base_filters=8,
                          hidden_units=(32,), pack=2 if unrolled_pack else 1),
        train=TrainConfig(batch_size=8, d_steps=d_steps, sync_batch_norm=sync,
                          unrolled_steps=2 if unrolled_pack else 0,
                          **(modern if sys.argv[4:] == ["modern"] else {}))))
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    gans = {"single": build_task(config), "mirrored": build_task(config, mirrored)}
    for name in gans["single"].network_names:
        getattr(gans["mirrored"], name).set_weights(getattr(gans["single"], name).get_weights())
    stream = data.training_batches(tiny_dataset(40), 8 * d_steps, seed=0)

    def all_weights(gan):
        return [w for name in gan.network_names for w in getattr(gan, name).get_weights()]

    initial = all_weights(gans["single"])
    weights = {}
    for name, gan in gans.items():
        gan.fit(stream, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
        weights[name] = all_weights(gan) + [gan.augment_p.numpy(), gan.lecam_anchors.numpy()]
    difference = max(float(np.max(np.abs(a - b)))
                     for a, b in zip(weights["single"], weights["mirrored"]))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(weights["single"], initial))
    moved_p = float(weights["single"][-2])
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "max_difference": difference,
                      "moved": moved, "step": int(gans["mirrored"].step_counter.numpy()),
                      "augment_p": moved_p}))
""")


def run_equivalence(architecture, batch_norm, d_steps=1, recipe="default"):
    result = subprocess.run([sys.executable, "-c", EQUIVALENCE, architecture, batch_norm,
                             str(d_steps), recipe], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# Float summation order differs between one and two replicas (and run to run
# with oneDNN's threads): measured up to 6e-7 for DCGAN (weights and BatchNorm
# statistics near 1), 1e-8 for the MLP; unsynchronized BatchNorm gives 2e-2.
@pytest.mark.parametrize("architecture, batch_norm, tolerance",
                         [("mlp", "none", 1e-6), ("dcgan", "sync", 1e-5)])
def test_two_replicas_update_like_one_device_on_the_global_batch(architecture, batch_norm,
                                                                 tolerance):
    report = run_equivalence(architecture, batch_norm)
    assert report["replicas"] == 2 and report["step"] == 2
    assert report["moved"] > 1e-4  # the steps changed the weights (Adam: ~2e-4 a step)...
    assert report["max_difference"] < tolerance  # ...identically on 2 replicas and on 1 device


def test_the_modern_recipe_on_two_replicas_updates_like_one_device():
    """R1/R2 (lazy), LeCam, DiffAugment with ADA, RpGAN and the weight average:
    augmentation draws, ADA's sign sums, LeCam's anchors and the average all
    follow the global batch."""
    report = run_equivalence("mlp", "none", recipe="modern")
    assert report["replicas"] == 2 and report["step"] == 2
    assert report["moved"] > 1e-4 and report["augment_p"] != 0.5
    assert report["max_difference"] < 1e-6


def test_unrolled_updates_and_packing_on_two_replicas_update_like_one_device():
    report = run_equivalence("mlp", "none", recipe="unrolled_pack")
    assert report["replicas"] == 2 and report["step"] == 2
    assert report["moved"] > 1e-4
    assert report["max_difference"] < 1e-6


def test_unsynchronized_batch_norm_is_what_breaks_the_equivalence():
    """The control: per-replica BatchNorm statistics make two replicas differ from one device."""
    assert run_equivalence("dcgan", "local")["max_difference"] > 1e-3


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_worker_processes_train_one_model(tmp_path, mnist_tfds_dir):
    """Synchronized BatchNorm: without it each worker keeps its own moving statistics
    (trainable weights still agree; measured, see BUILD_NOTES.md)."""
    from kgan.config import DataConfig
    from kgan.evaluation import mnist_classifier
    # Cached in the session's kgan cache before the workers start (the chief evaluates with it).
    mnist_classifier.load_classifier(DataConfig(data_dir=mnist_tfds_dir), log=lambda m: None)
    workdir = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    args = [sys.executable, str(REPO / "train.py"), "--strategy=multi_worker",
            f"--workdir={workdir}", f"--data_dir={mnist_tfds_dir}", "--steps=6",
            "--batch_size=16", "--base_filters=8", "--latent_dim=16", "--log_every=3",
            "--checkpoint_every=3", "--sample_every=3", "--sync_batch_norm",
            # The chief alone evaluates and saves the best checkpoint: no collective may hang.
            "--eval_every=3", "--eval_metric=classifier_fd", "--eval_samples=100"]
    processes = []
    try:
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="2")
            processes.append(subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True))
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    digests = [line.rsplit(" ", 1)[-1] for stdout, _ in outputs for line in stdout.splitlines()
               if line.startswith(("Done:", "[worker-1] Done:"))]
    assert len(digests) == 2 and digests[0] == digests[1], outputs[1][0]
    assert "step 6/6" in outputs[0][0]

    # The chief owns the outputs; the other worker's scratch checkpoints are gone.
    assert sorted(p.name for p in workdir.iterdir() if not p.name.startswith("tensorboard")) == [
        "best", "checkpoints", "config.json", "samples"]
    assert json.loads((workdir / "best" / "best.json").read_text())["step"] in (3, 6)
    loaded = checkpoints.load_task(str(workdir))
    assert loaded.step == 6
    images = loaded.generator(np.zeros((2, 16), np.float32), training=False)
    assert images.shape == (2, 28, 28, 1)


def test_multi_worker_without_tf_config_is_a_clear_error(tmp_path, mnist_tfds_dir):
    result = run_script("train.py", "--strategy=multi_worker", f"--workdir={tmp_path / 'run'}",
                        f"--data_dir={mnist_tfds_dir}", env={"TF_CONFIG": ""})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--strategy=multi_worker needs TF_CONFIG" in result.stderr.strip().splitlines()[-1]


def absent_peer_run(tmp_path, mnist_tfds_dir, *flags):
    """train.py as worker 0 of a two-worker cluster whose worker 1 never starts."""
    own, absent = free_ports(2)
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{own}", f"127.0.0.1:{absent}"]},
                 "task": {"type": "worker", "index": 0}}
    env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="2")
    args = [sys.executable, str(REPO / "train.py"), "--strategy=multi_worker",
            f"--workdir={tmp_path / 'run'}", f"--data_dir={mnist_tfds_dir}", *flags]
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True), absent


def test_a_worker_that_never_starts_ends_the_wait_at_the_peer_timeout(tmp_path, mnist_tfds_dir):
    process, absent = absent_peer_run(tmp_path, mnist_tfds_dir, "--peer_timeout=4")
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"train.py: error: gave up after 4 s waiting for worker 1 (127.0.0.1:{absent}) of "
        "TF_CONFIG to start; run the same command there, or raise --peer_timeout")
    assert f"Waiting for worker 1 (127.0.0.1:{absent}) of TF_CONFIG to start" in stdout
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_the_peer_wait_stops_on_a_signal(tmp_path, mnist_tfds_dir, signum, status):
    process, _ = absent_peer_run(tmp_path, mnist_tfds_dir)
    try:
        # The first progress line: the process is inside the wait.
        assert "Waiting for worker 1" in process.stdout.readline()
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("train.py: interrupted")
    assert not (tmp_path / "run").exists()


def test_a_taken_address_of_this_task_is_a_clear_error(tmp_path, mnist_tfds_dir):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]},
                     "task": {"type": "worker", "index": 0}}
        result = run_script("train.py", "--strategy=multi_worker",
                            f"--workdir={tmp_path / 'run'}", f"--data_dir={mnist_tfds_dir}",
                            env={"TF_CONFIG": json.dumps(tf_config)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"train.py: error: cannot listen on 127.0.0.1:{port}, this task's address in TF_CONFIG:")
