"""train.py killed with SIGKILL during a checkpoint write resumes from the newest complete one.

One aimed kill on real MNIST; `bench/kill_resume.py` kills many times at random
moments and compares every checkpoint with an uninterrupted run.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from kgan import checkpoints
from tests.conftest import REPO


def newest_index(names):
    steps = [int(m.group(1)) for m in map(re.compile(r"^ckpt-(\d+)\.index$").match, names) if m]
    return max(steps, default=-1)


def save_in_progress(ckpt_dir):
    """A save's staging folder, or an index the state file does not name yet."""
    try:
        names = os.listdir(ckpt_dir)
    except FileNotFoundError:
        return False
    if any(name.endswith("_temp") for name in names):
        return True
    state = tf.train.get_checkpoint_state(ckpt_dir)
    named = checkpoints.checkpoint_step(state.model_checkpoint_path) if state else -1
    return newest_index(names) > named


@pytest.mark.slow
def test_a_kill_during_a_checkpoint_write_resumes_from_the_newest_complete_one(tmp_path,
                                                                              mnist_tfds_dir):
    workdir = tmp_path / "run"
    ckpt_dir = str(workdir / "checkpoints")
    args = [sys.executable, str(REPO / "train.py"), f"--workdir={workdir}",
            f"--data_dir={mnist_tfds_dir}", "--batch_size=16", "--base_filters=8",
            "--latent_dim=16", "--steps=30", "--checkpoint_every=2", "--log_every=1",
            "--sample_every=1000"]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        # Past the first checkpoints, so the kill has a previous one to fall back on.
        while newest_index(os.listdir(ckpt_dir) if os.path.isdir(ckpt_dir) else []) < 10 \
                or not save_in_progress(ckpt_dir):
            assert process.poll() is None and time.monotonic() < deadline, \
                "train.py ended before a save was caught"
            time.sleep(0.0005)
    finally:
        process.kill()  # SIGKILL
        output = process.communicate()[0]
    assert process.returncode == -9
    logged = [int(s) for s in re.findall(r"step (\d+)/30", output)]

    newest = checkpoints.latest_checkpoint(str(workdir))
    step = checkpoints.checkpoint_step(newest)
    reader = tf.train.load_checkpoint(newest)  # every tensor reads back
    for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)
    assert max(logged) - step <= 2, "at most one checkpoint interval is lost"

    resumed = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming from step {step}:" in resumed.stdout
    assert "Done: step 30" in resumed.stdout
    state = tf.train.get_checkpoint_state(ckpt_dir)
    named = {os.path.basename(p) for p in state.all_model_checkpoint_paths}
    assert sorted(os.listdir(ckpt_dir)) == sorted(
        ["checkpoint"] + [f"{n}.index" for n in named]
        + [f"{n}.data-00000-of-00001" for n in named]), "no leftovers remain"
    assert checkpoints.load_task(str(workdir)).step == 30
