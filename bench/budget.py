"""Training for a wall-clock budget: the measure of the quality-per-minute benchmarks."""

import contextlib
import fcntl
import json
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

    Stopping the bench (SIGINT or SIGTERM, also when it was started in the
    background, where a shell ignores SIGINT) stops the run the same way, and
    its time is still returned: the run's own session keeps a terminal's
    Ctrl-C from reaching it twice.

    Returns:
        {"wall_seconds", "cpu_seconds", "interrupted"} of the training process.

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
    with open(log_path, "a") as log, _signals_interrupt():
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        interrupted = False
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=600)
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=600)
            interrupted = True
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode not in (0, 130):
        raise RuntimeError(f"train.py exited {process.returncode}; see {log_path}")
    return {"wall_seconds": wall, "cpu_seconds": cpu, "interrupted": interrupted}


def train_to_budget(workdir: str, config, minutes: float, chunk_minutes: float,
                    label: str) -> dict:
    """Trains the run in `workdir` until `minutes` of CPU time are spent, in
    processes of at most `chunk_minutes` wall-clock each, resuming an
    interrupted run with the time it already spent (`bench_timing.json`).

    Returns:
        {"wall_seconds", "cpu_seconds", "processes"} over every process.
    """
    timing_path = os.path.join(workdir, "bench_timing.json")
    timing = {"wall_seconds": 0.0, "cpu_seconds": 0.0, "processes": 0}
    if os.path.exists(timing_path):
        with open(timing_path) as f:
            timing = json.load(f)
    budget = minutes * 60
    # A process shorter than its start-up (imports, data, tracing: 15-30 s)
    # trains nothing; the budget is met to within the last half minute.
    while timing["cpu_seconds"] < budget - 30:
        chunk = max(60.0, min(chunk_minutes * 60, budget - timing["cpu_seconds"]))
        print(f"  training {label} for {chunk:.0f} s "
              f"({timing['cpu_seconds']:.0f} of {budget:.0f} CPU-s done)", flush=True)
        spent = train_for(workdir, config, chunk)
        timing = {"wall_seconds": timing["wall_seconds"] + spent["wall_seconds"],
                  "cpu_seconds": timing["cpu_seconds"] + spent["cpu_seconds"],
                  "processes": timing["processes"] + 1}
        with open(timing_path, "w") as f:
            json.dump(timing, f)
        if spent["interrupted"]:
            raise KeyboardInterrupt(f"stopped during {label}; its time so far is counted")
    return timing


def record_result(results_path: str, key: str, value) -> dict:
    """Adds `key: value` to the JSON results file and returns every result it
    now holds. The file is re-read under an exclusive lock before the atomic
    rewrite, so bench processes pinned to different cores can share one
    results file without losing each other's rows."""
    from kgan.core.files import write_json_atomically

    with _locked(results_path + ".lock"):
        results = load_results(results_path)
        results[key] = value
        write_json_atomically(results_path, results, indent=2)
    return results


def load_results(results_path: str) -> dict:
    """The stored results ({} when there is no file yet)."""
    if not os.path.exists(results_path):
        return {}
    with open(results_path) as f:
        return json.load(f)


@contextlib.contextmanager
def claimed(workdir: str):
    """Yields True while this process holds the run in `workdir` (and False,
    at once, when another bench process on another core is training it). The
    claim is an advisory lock, so a killed process never leaves it stale."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, ".bench_claim"), "a") as claim:
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(claim, fcntl.LOCK_UN)


@contextlib.contextmanager
def _signals_interrupt():
    """SIGINT and SIGTERM raise KeyboardInterrupt inside the block."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _locked(lock_path: str):
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
