"""Kill survival: SIGKILLs (or SIGTERMs) `train.py` on real MNIST again and again, and checks
every resume.

An uninterrupted reference run (every checkpoint kept) is trained first. Then
the same command is started, killed with SIGKILL (`--signal=kill`, the
default) or SIGTERM (`--signal=term`) and restarted, `--kills` times, before
it is left to finish. Signals go to the process group of `train.py` (it is the
group's leader and starts no children). Kills alternate between three kinds:

* `anytime`: a random moment after the process starts, up to a little past
  the time the reference run took to log its first step (start-up included:
  imports, config write, restore, tracing);
* `training`: a random moment up to 3 s after the first training step is logged;
* `save`: aimed at a checkpoint write: up to 2 s after the first step is logged
  (the first save of a process is slow, TensorFlow builds its save function;
  later ones take milliseconds), the checkpoint folder is polled and the
  process is signalled the moment a save's staging folder (`ckpt-<n>_temp/`) or
  a new `ckpt-<n>.index` not yet named by the state file is seen.

After each kill the harness checks, before restarting:

* the checkpoint the state file names (the newest complete one) reads back
  completely, every tensor, and equals bit for bit the reference run's
  checkpoint of the same step (optimizer state and step counter included);
* whether the kill landed during a checkpoint write (leftovers: a staging
  folder, a temporary state file, or checkpoint files the state does not name);

and at each restart that it logs `Resuming from step N` with N that
checkpoint's step. Steps lost by a kill = the highest step logged before it
minus the step the restart resumed from (`--log_every=1`: every step is
logged after its update). At the end the run must report the reference's step
and weights digest, its final checkpoint must equal the reference's, and no
leftovers may remain.

    python bench/kill_resume.py --data_dir=../shared/data/tensorflow_datasets --kills=24

SIGTERM is what schedulers send before a kill, and `train.py` stops
gracefully on it, so `--signal=term` asks more of each kill:

* `train.py` exits by itself within `--term_timeout` seconds (else it is
  SIGKILLed and the kill counts as failed), with status 143, or -15 only if
  no training step was logged (the signal landed before kgan's handler was
  installed, during the imports);
* once a step was logged, it printed `Interrupted by SIGTERM: saved a
  checkpoint at step N` with N the newest checkpoint, and no step is lost:
  the restart resumes from the highest step the process logged;
* no `run.lock`, staging folder or other leftover remains after the exit.

A graceful stop saves at whatever step training reached, so the reference
run then keeps a checkpoint of every step to compare against (about 0.3 MB
each; the saves make it 2-3 times slower).

    python bench/kill_resume.py --data_dir=../shared/data/tensorflow_datasets --signal=term --kills=20

Bounded: `--time_budget` stops the kills early (the run is then finished and
checked as usual); every child process runs in its own process group and is
killed on exit.
"""

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from absl import app, flags, logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string("data_dir", None, "MNIST TFDS data_dir (default $KGAN_DATA_DIR).")
flags.DEFINE_integer("kills", 24, "Kills (signals, see --signal) to attempt.")
flags.DEFINE_enum("signal", "kill", ["kill", "term"],
                  "What each kill sends: SIGKILL, or SIGTERM (train.py then stops by itself).")
flags.DEFINE_float("term_timeout", 120.0,
                   "Seconds train.py may take to exit after SIGTERM before it is SIGKILLed.")
flags.DEFINE_integer("seed", 0, "Seed of the kill schedule and of the training run.")
flags.DEFINE_integer("steps", 2000, "Steps the run trains to.")
flags.DEFINE_integer("checkpoint_every", 5, "Steps between checkpoints.")
flags.DEFINE_string("model", "dcgan", "Architecture (small: batch 16, 8 base filters, latent 16).")
flags.DEFINE_string("workdir", None, "Where the runs go (default: a temporary folder, removed).")
flags.DEFINE_float("time_budget", 600.0, "Seconds after which no further kill is attempted.")
FLAGS = flags.FLAGS

KINDS = ("anytime", "training", "save")
STEP_LINE = re.compile(r"step (\d+)/(\d+)")
START_LINE = re.compile(r"^(Resuming from step (\d+)|Training):")
DONE_LINE = re.compile(r"^Done: step (\d+) .* weights sha256 ([0-9a-f]+)")
INTERRUPTED_LINE = re.compile(r"^Interrupted by SIGTERM: saved a checkpoint at step (\d+)")
EARLY_TERM_MESSAGE = "train.py: interrupted (SIGTERM)"
TERM_STATUS = 128 + signal.SIGTERM
STATE_LINE = re.compile(r'^model_checkpoint_path: "[^"]*?ckpt-(\d+)"', re.M)
INDEX_NAME = re.compile(r"^ckpt-(\d+)\.index$")
# Differ between runs by design: how many saves this run made, and the object graph naming it.
NOT_COMPARED = ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH")


class Trainer:
    """One `train.py` process: its output lines (with arrival times) and its process group."""

    def __init__(self, workdir, extra_flags, log_path, checkpoint_every=None):
        command = [sys.executable, os.path.join(REPO, "train.py"), f"--workdir={workdir}",
                   f"--data_dir={FLAGS.data_dir}", f"--model={FLAGS.model}", "--batch_size=16",
                   "--base_filters=8", "--latent_dim=16", f"--steps={FLAGS.steps}",
                   f"--checkpoint_every={checkpoint_every or FLAGS.checkpoint_every}",
                   "--log_every=1", "--sample_every=100", "--deterministic", f"--seed={FLAGS.seed}",
                   *extra_flags]
        self.log_path = log_path
        self.stderr = open(log_path, "w")
        self.started = time.monotonic()
        self.signalled = None  # when SIGTERM was sent (None: never, or it had exited already)
        self.hung = False  # it outlived --term_timeout after SIGTERM and was SIGKILLed
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True, start_new_session=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, pattern, timeout):
        """The first output line matching `pattern`, or None on exit or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in list(self.lines):
                if pattern.search(line):
                    return line
            if self.process.poll() is not None and not self.reader.is_alive():
                return None
            time.sleep(0.01)
        return None

    def kill(self):
        """SIGKILL (its whole process group: train.py and anything it started)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.finish()

    def terminate(self, timeout):
        """SIGTERM to its process group, then waits up to `timeout` s for it to exit by
        itself; SIGKILLs it after that (`hung`)."""
        if self.process.poll() is None:
            self.signalled = time.monotonic()
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.finish(timeout)
        except subprocess.TimeoutExpired:
            self.hung = True
            return self.kill()

    def stop(self):
        """Sends the `--signal` of this run and returns once the process has exited."""
        if FLAGS.signal == "term":
            return self.terminate(FLAGS.term_timeout)
        return self.kill()

    def finish(self, timeout=None):
        returncode = self.process.wait(timeout)
        self.reader.join()
        self.stderr.close()
        return returncode

    def start_step(self):
        for _, line in self.lines:
            match = START_LINE.search(line)
            if match:
                return int(match.group(2) or 0)
        return None

    def last_step(self):
        steps = [int(m.group(1)) for _, line in self.lines for m in [STEP_LINE.search(line)] if m]
        return max(steps) if steps else None

    def done(self):
        for _, line in self.lines:
            match = DONE_LINE.search(line)
            if match:
                return int(match.group(1)), match.group(2)
        return None

    def interrupted_at(self):
        """The step of its `Interrupted by SIGTERM: saved a checkpoint at step N` line, or None."""
        for _, line in self.lines:
            match = INTERRUPTED_LINE.search(line)
            if match:
                return int(match.group(1))
        return None

    def stderr_text(self):
        with open(self.log_path) as f:
            return f.read()


def state_step(checkpoint_dir):
    """The step of the checkpoint the state file names (None: no state file)."""
    try:
        with open(os.path.join(checkpoint_dir, "checkpoint")) as f:
            match = STATE_LINE.search(f.read())
    except FileNotFoundError:
        return None
    return int(match.group(1)) if match else None


def aim_at_save(trainer, checkpoint_dir, timeout):
    """Busy-polls `checkpoint_dir` and kills the trainer (`--signal`) the moment a save is seen
    in progress.

    Returns whether a save was seen before `timeout` (the trainer is killed either way).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and trainer.process.poll() is None:
        try:
            names = os.listdir(checkpoint_dir)
        except FileNotFoundError:
            names = []
        newest_index = max((int(m.group(1)) for m in map(INDEX_NAME.match, names) if m),
                           default=None)
        if any(name.endswith("_temp") for name in names) or (
                newest_index is not None and newest_index > (state_step(checkpoint_dir) or -1)):
            trainer.stop()
            return True
        time.sleep(0)
    trainer.stop()
    return False


def leftovers(checkpoint_dir, workdir):
    """What a kill left behind: staging folders, temporary state or config files, and
    checkpoint files the state file does not name, as `{name: (inode, mtime)}`."""
    if not os.path.isdir(checkpoint_dir):
        names = []
    else:
        names = os.listdir(checkpoint_dir)
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    named = {os.path.basename(p) for p in state.all_model_checkpoint_paths} if state else set()
    found = [n for n in names if n.endswith("_temp") or n.startswith("checkpoint.tmp")]
    found += [n for n in names if re.match(r"^ckpt-\d+\.(index|data-\d+-of-\d+)$", n)
              and n.split(".")[0] not in named]
    paths = {n: os.path.join(checkpoint_dir, n) for n in found}
    paths["config.json.partial"] = os.path.join(workdir, "config.json.partial")
    stamps = {}
    for name, path in paths.items():
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        stamps[name] = (stat.st_ino, stat.st_mtime_ns)
    return stamps


def term_problems(trainer, returncode, last, latest_step, found, lock_path):
    """What a SIGTERM'd `train.py` did wrong, as short phrases (none: a graceful stop)."""
    problems = []
    if trainer.hung:
        problems.append(f"still running {FLAGS.term_timeout:.0f} s after SIGTERM (SIGKILLed)")
    elif returncode == -signal.SIGTERM:
        if last is not None:  # kgan's handler is installed before any step
            problems.append(f"killed by the signal's default action after step {last}")
    elif returncode == TERM_STATUS:
        saved = trainer.interrupted_at()
        if last is not None and saved is None:
            problems.append("no 'Interrupted by SIGTERM: saved a checkpoint' line")
        if saved is not None and saved != latest_step:
            problems.append(f"says it saved step {saved}, newest checkpoint is {latest_step}")
        if last is None and saved is None and EARLY_TERM_MESSAGE not in trainer.stderr_text():
            problems.append(f"no '{EARLY_TERM_MESSAGE}' on stderr")
    else:
        problems.append(f"exit status {returncode}")
    if last is not None and latest_step != last:
        problems.append(f"newest checkpoint {latest_step} is not the last step logged, {last}")
    if os.path.exists(lock_path):
        problems.append("run.lock left behind")
    if found:
        problems.append("left " + ", ".join(found))
    return problems


def read_checkpoint(path):
    """Every tensor of a checkpoint (raises if any cannot be read)."""
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name not in NOT_COMPARED}


def equal_checkpoints(a, b):
    return a.keys() == b.keys() and all(
        np.asarray(a[k]).tobytes() == np.asarray(b[k]).tobytes() for k in a)


def main(argv):
    del argv
    logging.set_verbosity(logging.ERROR)
    if not FLAGS.data_dir and not os.environ.get("KGAN_DATA_DIR"):
        raise app.UsageError("pass --data_dir (the MNIST TFDS data_dir)")
    FLAGS.data_dir = FLAGS.data_dir or os.environ["KGAN_DATA_DIR"]
    root = FLAGS.workdir or tempfile.mkdtemp(prefix="kgan-kill-resume-")
    os.makedirs(root, exist_ok=True)
    trainers = []
    try:
        return run(root, trainers)
    finally:
        for trainer in trainers:  # never leave a child behind
            if trainer.process.poll() is None:
                os.killpg(trainer.process.pid, signal.SIGKILL)
                trainer.process.wait()
        if not FLAGS.workdir:
            shutil.rmtree(root, ignore_errors=True)


def run(root, trainers):
    began = time.monotonic()
    rng = np.random.default_rng(FLAGS.seed)
    term = FLAGS.signal == "term"
    reference_dir = os.path.join(root, "reference")
    # A SIGTERM saves at whatever step training reached: the reference needs every step.
    reference_every = 1 if term else FLAGS.checkpoint_every
    print(f"Reference run: {FLAGS.model}, {FLAGS.steps} steps, checkpoint every "
          f"{reference_every}, in {reference_dir}", flush=True)
    reference = Trainer(reference_dir, ["--keep_checkpoints=1000000"],
                        os.path.join(root, "reference.stderr"), checkpoint_every=reference_every)
    trainers.append(reference)
    if reference.finish() != 0 or not reference.done():
        print(open(os.path.join(root, "reference.stderr")).read()[-3000:])
        raise SystemExit("the reference run failed")
    reference_step, reference_digest = reference.done()
    reference_seconds = time.monotonic() - reference.started
    first_step_seconds = next(t for t, line in reference.lines if STEP_LINE.search(line)) \
        - reference.started
    print(f"  done in {reference_seconds:.0f} s (first step logged after "
          f"{first_step_seconds:.1f} s): step {reference_step}, weights {reference_digest}",
          flush=True)

    def reference_checkpoint(step):
        return read_checkpoint(os.path.join(reference_dir, "checkpoints", f"ckpt-{step}"))

    workdir = os.path.join(root, "killed")
    checkpoint_dir = os.path.join(workdir, "checkpoints")
    records = []
    pending = []  # kills whose restart has not yet shown where it resumed
    resume_failures = []
    highest = 0  # the highest step any process of the killed run logged
    attempts = 0
    segment = 0
    while attempts < FLAGS.kills and time.monotonic() - began < FLAGS.time_budget:
        kind = KINDS[attempts % len(KINDS)]
        expected = state_step(checkpoint_dir) or 0
        before = leftovers(checkpoint_dir, workdir)
        trainer = Trainer(workdir, [], os.path.join(root, f"segment-{segment}.stderr"))
        trainers.append(trainer)
        segment += 1
        aimed = None
        if kind == "anytime":
            time.sleep(rng.uniform(0.2, first_step_seconds + 2.0))
            trainer.stop()
        elif kind == "training":
            trainer.wait_for(STEP_LINE, 120)
            time.sleep(rng.uniform(0.0, 3.0))
            trainer.stop()
        else:
            trainer.wait_for(STEP_LINE, 120)
            time.sleep(rng.uniform(0.0, 2.0))
            aimed = aim_at_save(trainer, checkpoint_dir, 10.0)
        returncode = trainer.process.returncode
        started_at = trainer.start_step()
        if started_at is not None:
            for record in pending:
                record["resumed"] = started_at
            if started_at != expected:
                resume_failures.append((segment, expected, started_at))
            pending = []
        # A SIGTERM it exited on with another status is a failed attempt, not a broken bench.
        not_killed = trainer.signalled is None if term else returncode not in (-signal.SIGKILL,)
        if trainer.done() or not_killed:
            # It finished (or failed) before the kill: not an attempt.
            if trainer.done():
                print(f"  segment {segment} finished before its kill; stopping the kills")
                break
            print(open(os.path.join(root, f"segment-{segment - 1}.stderr")).read()[-3000:])
            raise SystemExit(f"train.py exited with {returncode} before it was killed")
        attempts += 1
        last = trainer.last_step()
        reached = max(highest, last or 0, started_at or 0)
        highest = reached
        # Leftovers of this kill: new since the restart (an earlier kill's stay until cleaned).
        found = sorted(name for name, stamp in leftovers(checkpoint_dir, workdir).items()
                       if before.get(name) != stamp)
        latest = tf.train.latest_checkpoint(checkpoint_dir)
        restorable = matches = None
        latest_step = int(latest.rsplit("-", 1)[-1]) if latest else 0
        if latest:
            try:
                tensors = read_checkpoint(latest)
                restorable = True
                matches = equal_checkpoints(tensors, reference_checkpoint(latest_step))
            except (tf.errors.OpError, ValueError) as e:
                restorable, matches = False, False
                print(f"  kill {attempts}: {latest} does not read back: {e}")
        record = {"kind": kind, "seconds": time.monotonic() - trainer.started,
                  "last_logged": last, "latest": latest_step, "leftovers": found,
                  "in_save": any(not n.startswith("config") for n in found),
                  "aimed_hit": aimed, "restorable": restorable, "matches": matches,
                  "reached": reached, "resumed": None, "status": returncode, "problems": []}
        if term:
            record["seconds"] = trainer.signalled - trainer.started
            record["exit_seconds"] = time.monotonic() - trainer.signalled
            record["problems"] = term_problems(trainer, returncode, last, latest_step, found,
                                               os.path.join(workdir, "run.lock"))
        records.append(record)
        pending.append(record)
        if term:
            print(f"  SIGTERM {attempts:2d} ({kind:8s}) after {record['seconds']:5.1f} s: exit "
                  f"{returncode} {record['exit_seconds']:.1f} s later, last step logged {last}, "
                  f"newest checkpoint {latest_step}"
                  f"{' (reads back, equals the reference)' if matches else ''}"
                  f"{', signalled during a save' if aimed else ''}"
                  f"{'; PROBLEMS: ' + '; '.join(record['problems']) if record['problems'] else ''}",
                  flush=True)
            if record["problems"]:
                print("    " + trainer.stderr_text()[-1500:].replace("\n", "\n    "))
        else:
            print(f"  kill {attempts:2d} ({kind:8s}) after {record['seconds']:5.1f} s: last step "
                  f"logged {last}, newest checkpoint {latest_step}"
                  f"{' (reads back, equals the reference)' if matches else ''}"
                  f"{', during a save: ' + ', '.join(found) if record['in_save'] else ''}",
                  flush=True)

    # The final restart trains to the end.
    final = Trainer(workdir, [], os.path.join(root, "final.stderr"))
    trainers.append(final)
    returncode = final.finish(timeout=1800)
    started_at = final.start_step()
    if started_at is not None:
        for record in pending:
            record["resumed"] = started_at
        if started_at != (records[-1]["latest"] if records else 0):
            resume_failures.append(("final", records[-1]["latest"] if records else 0, started_at))
    if returncode != 0 or not final.done():
        print(open(os.path.join(root, "final.stderr")).read()[-3000:])
    final_step, final_digest = final.done() or (None, None)
    final_equal = final_step is not None and equal_checkpoints(
        read_checkpoint(os.path.join(checkpoint_dir, f"ckpt-{final_step}")),
        reference_checkpoint(final_step))
    left_at_end = leftovers(checkpoint_dir, workdir)

    for r in records:
        r["lost"] = None if r["resumed"] is None else r["reached"] - r["resumed"]
    survived = [r for r in records if r["resumed"] == r["latest"]
                and r["restorable"] in (True, None) and r["matches"] in (True, None)
                and (not term or (not r["problems"] and r["lost"] == 0))]
    lost = [r["lost"] for r in records if r["lost"] is not None]
    by_kind = collections.Counter(r["kind"] for r in records)
    in_save = sum(r["in_save"] for r in records)
    seen_saving = sum(bool(r["aimed_hit"]) for r in records)
    all_read = all(r["restorable"] in (True, None) for r in records)
    all_equal = all(r["matches"] in (True, None) for r in records)
    seconds = time.monotonic() - began
    if term:
        exits = [r["exit_seconds"] for r in records]
        head = [
            ("signal", "SIGTERM (exit by itself with 143, or -15 before any step; 0 steps "
                       "lost; no run.lock or leftovers after the exit)"),
            ("SIGTERMs sent", f"{len(records)} ({', '.join(f'{by_kind[k]} {k}' for k in KINDS)})"),
            ("SIGTERMs survived", f"{len(survived)} / {len(records)}"),
            ("SIGTERMs during a checkpoint write", f"{seen_saving} (of the {by_kind['save']} "
                                                   "aimed at one)"),
            ("slowest exit after SIGTERM", f"{max(exits):.1f} s" if exits else "-"),
            ("problems", "; ".join(f"#{i + 1}: {', '.join(r['problems'])}"
                                   for i, r in enumerate(records) if r["problems"]) or "none"),
        ]
    else:
        head = [
            ("kills attempted",
             f"{len(records)} ({', '.join(f'{by_kind[k]} {k}' for k in KINDS)})"),
            ("kills survived", f"{len(survived)} / {len(records)}"),
            ("kills during a checkpoint write", f"{in_save} (left a save's files behind; the "
                                                f"{by_kind['save']} aimed kills saw a save in "
                                                f"progress {seen_saving} times)"),
        ]
    statuses = collections.Counter(r["status"] for r in records)
    per_kind = []
    for k in KINDS:
        of_kind = [r for r in records if r["kind"] == k]
        lost_of_kind = [r["lost"] for r in of_kind if r["lost"] is not None]
        per_kind.append((f"  {k}", f"{len(of_kind)} tried, "
                                   f"{sum(r in survived for r in of_kind)} survived, steps lost "
                                   f"max {max(lost_of_kind, default=0)} total "
                                   f"{sum(lost_of_kind)}"))
    rows = [
        *head,
        ("per kind", ""),
        *per_kind,
        ("exit statuses", ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) or "-"),
        ("newest checkpoint read back after every kill", str(all_read)),
        ("it equalled the reference's checkpoint of its step", str(all_equal)),
        ("restarts resumed from the newest complete checkpoint",
         f"{not resume_failures} {resume_failures or ''}"),
        ("max steps lost",
         f"{max(lost) if lost else 0} (checkpoint every {FLAGS.checkpoint_every}"
         f"{'; SIGTERM: must be 0' if term else ''})"),
        ("final step", f"{final_step} (reference {reference_step})"),
        ("final weights sha256", f"{final_digest} (reference {reference_digest})"),
        ("final checkpoint equals the reference's", str(final_equal)),
        ("leftovers at the end", ", ".join(left_at_end) or "none"),
        ("wall time", f"{seconds:.0f} s (reference run {reference_seconds:.0f} s)"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    ok = (len(survived) == len(records) and not resume_failures and final_step == reference_step
          and final_digest == reference_digest and final_equal and not left_at_end
          and returncode == 0)
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    app.run(main)
