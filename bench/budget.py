"""Training for a wall-clock budget: the measure of the quality-per-minute benchmarks."""

import os
import resource
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_for(workdir: str, config, seconds: float) -> dict:
    """Runs train.py on `config` (a `kgan.config.Config`) in `workdir` for
    `seconds` of wall-clock time from process start (imports, data loading
    and tracing count), then sends SIGINT: kgan saves a checkpoint at the last
    finished step. A run that ends earlier (its step count reached) returns
    then; one already trained further resumes from its checkpoint.

    Returns:
        {"wall_seconds", "cpu_seconds"} of the training process.

    Raises:
        RuntimeError: if train.py failed (see `<workdir>/train.log`).
    """
    os.makedirs(workdir, exist_ok=True)
    config_path = os.path.join(workdir, "bench_config.json")
    with open(config_path, "w") as f:
        f.write(config.to_json())
    command = [sys.executable, os.path.join(REPO, "train.py"), f"--workdir={workdir}",
               f"--config={config_path}"]
    log_path = os.path.join(workdir, "train.log")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=600)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode not in (0, 130):
        raise RuntimeError(f"train.py exited {process.returncode}; see {log_path}")
    return {"wall_seconds": wall, "cpu_seconds": cpu}
