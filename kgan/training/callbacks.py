"""What happens around the train step: logs, previews, checkpoints, progress."""

import contextlib
import json
import os
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import checkpoints, images, latent
from kgan.core.files import write_json_atomically, write_text_atomically
from kgan.core.messages import failure_reason
from kgan.errors import RunError
from kgan.tasks.base import NONFINITE_STEPS

class TrainingMonitor(keras.callbacks.Callback):
    """Logs metrics, writes previews and checkpoints, and shows progress.

    Steps are global: counted from the start of the run, across resumes. Metric
    trackers are reset after each log, so every logged value is the mean over
    the steps since the previous log. With `steps_per_execution > 1` Keras
    calls back once per execution; each interval then fires at the first
    execution boundary at or after each multiple of it.

    Previews are the task's (`Task.preview`: a sample grid, a scatter plot,
    ...), written as `samples/step_<step>.png`; the names of their rows, if
    any, go to `samples/rows.txt`. Only the chief writes previews and
    TensorBoard logs; every worker
    takes part in checkpoint saves (a non-chief's manager writes into a
    scratch folder deleted after each save).

    Args:
        workdir: Run directory; previews go to `samples/`, TensorBoard to `tensorboard/`.
        manager: Checkpoint manager to save with.
        start_step: Global step when this `fit` began.
        total_steps: Global step to train to.
        batch_size: Real examples per step (for the examples/s figure,
            logged as `images_per_second` and shown as img/s for image tasks).
        log_every, sample_every, checkpoint_every: Intervals in steps.
        stream: Where progress goes; a live line is drawn only on a terminal.
        chief: Whether this process owns the workdir's outputs.
        scratch_dir: A non-chief worker's checkpoint folder, deleted after
            each save.
    """

    def __init__(self, workdir, manager, start_step, total_steps, batch_size,
                 log_every, sample_every, checkpoint_every, stream=None, chief=True,
                 scratch_dir=None):
        super().__init__()
        self.workdir = workdir
        self.manager = manager
        self.start_step = start_step
        self.step = start_step
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.log_every = log_every
        self.sample_every = sample_every
        self.checkpoint_every = checkpoint_every
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.last_logs = {}
        self.images_per_second = 0.0
        self.saved_step = None
        self.chief = chief
        self.scratch_dir = scratch_dir
        self.tensorboard_dir = os.path.join(workdir, "tensorboard")
        self.writer = (tf.summary.create_file_writer(self.tensorboard_dir)
                       if chief else tf.summary.create_noop_writer())

    def on_train_begin(self, logs=None):
        self.metric_labels = getattr(self.model, "METRIC_LABELS", {})
        self.metric_order = list(getattr(self.model, "metric_names", ()))
        spec = self.model.serving_spec()
        self.rate_unit = "img/s" if spec.kind == "image" else "ex/s"
        self.rows_written = False
        self.began = self.interval_began = self.last_drawn = time.monotonic()
        self.interval_start_step = self.step

    def on_train_batch_end(self, batch, logs=None):
        previous, self.step = self.step, self.start_step + batch + 1
        done = self.step >= self.total_steps

        def due(every):
            return done or self.step // every > previous // every

        if due(self.log_every):
            self._log({k: _scalar(v) for k, v in (logs or {}).items() if k != NONFINITE_STEPS})
        if due(self.sample_every) and self.chief:
            self.write_samples()
        if due(self.checkpoint_every):
            self.save_checkpoint()
        if self.live and time.monotonic() - self.last_drawn > 0.5:
            self._draw(end="\r")

    def _log(self, logs):
        now = time.monotonic()
        steps = self.step - self.interval_start_step
        self.images_per_second = steps * self.batch_size / max(now - self.interval_began, 1e-9)
        self.interval_began, self.interval_start_step = now, self.step
        self.last_logs = logs
        with _write_errors(self.tensorboard_dir):
            with self.writer.as_default(step=self.step):
                for name, value in logs.items():
                    tf.summary.scalar(name, value)
                tf.summary.scalar("images_per_second", self.images_per_second)
            self.writer.flush()
        self._draw(end="\n")
        self.model.reset_metrics()

    def _draw(self, end):
        self.last_drawn = time.monotonic()
        fraction = self.step / self.total_steps
        filled = int(20 * fraction)
        bar = "=" * filled + (">" if filled < 20 else "") + " " * (19 - filled)
        elapsed = time.monotonic() - self.began
        rate = (self.step - self.start_step) / max(elapsed, 1e-9)
        eta = (self.total_steps - self.step) / rate if rate > 0 else float("nan")
        ordered = sorted(self.last_logs.items(), key=lambda kv: (
            self.metric_order.index(kv[0]) if kv[0] in self.metric_order
            else len(self.metric_order), kv[0]))
        metrics = " ".join(f"{self.metric_labels.get(k, k)} {v:.3f}" for k, v in ordered)
        line = (f"step {self.step}/{self.total_steps} [{bar}] {fraction:4.0%} "
                f"{self.images_per_second:6.0f} {self.rate_unit} ETA {_duration(eta)}  {metrics}")
        self.stream.write(("\r\033[K" if self.live else "") + line + end)
        self.stream.flush()

    def write_samples(self):
        """Writes the task's preview as `samples/step_<step>.png` and to
        TensorBoard (row names, if any, in `samples/rows.txt`)."""
        preview = self.model.preview()
        if preview.row_names and not self.rows_written:
            write_text_atomically(os.path.join(self.workdir, "samples", "rows.txt"), "".join(
                f"row {i + 1}: {name}\n" for i, name in enumerate(preview.row_names)))
            self.rows_written = True
        path = os.path.join(self.workdir, "samples", f"step_{self.step:08d}.png")
        images.write_png(path, preview.image)
        with _write_errors(self.tensorboard_dir), self.writer.as_default(step=self.step):
            tf.summary.image("samples", preview.image[None])

    def save_checkpoint(self):
        """Saves a checkpoint at the current step (once per step).

        Nothing is saved while this `fit` has not moved past the step it
        started from, if a checkpoint of that step exists (the one restored,
        or the one saved before a new run with `on_nan=rollback`): saving it
        again would rewrite, in place, the checkpoint the state file names,
        and a process killed meanwhile would leave it unreadable. The test
        depends only on steps and on saves made in this process, so every
        worker of a multi-worker run takes the same decision.

        Raises:
            RunError: if the save fails; the previous checkpoint is intact.
        """
        if self.saved_step == self.step:
            return
        latest = self.manager.latest_checkpoint
        if self.step == self.start_step and (
                self.start_step > 0 or (latest and checkpoints.checkpoint_step(latest) == 0)):
            self.saved_step = self.step
            return
        checkpoints.save(self.manager, self.step)
        self.saved_step = self.step
        if self.scratch_dir:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)

    def on_train_end(self, logs=None):
        with _write_errors(self.tensorboard_dir):
            self.writer.flush()


@contextlib.contextmanager
def _write_errors(path):
    """Turns a failed write under `path` into a `RunError` naming it.

    A full disk or a file-size limit surfaces in TensorFlow as
    `OutOfRangeError`, which `fit` would take for the end of the data and
    stop without a word.
    """
    try:
        yield
    except (tf.errors.OpError, OSError) as e:
        raise RunError(f"cannot write {path}: {failure_reason(e)}") from None


def _scalar(value):
    """A logged metric as a plain float (multi-worker logs arrive as 1-element arrays)."""
    return float(np.asarray(value).reshape(-1)[0])


def _duration(seconds):
    if not np.isfinite(seconds):
        return "--:--"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class NonFiniteError(Exception):
    """Training produced a non-finite loss or weight.

    Attributes:
        step: The global step whose update produced it (with
            `steps_per_execution > 1`: the last step of that execution).
        what: Which values were not finite, for messages.
    """

    def __init__(self, step: int, what: str):
        super().__init__(f"non-finite {what} at step {step}")
        self.step, self.what = step, what


class NonFiniteGuard(keras.callbacks.Callback):
    """Ends `fit` with `NonFiniteError` at the first step whose losses or
    updated weights are not all finite.

    It must come before every callback that writes state (checkpoints,
    grids, evaluations): raising from `on_train_batch_end` skips the later
    callbacks of that step, so a diverged state is never saved.

    Args:
        start_step: Global step when this `fit` began.
    """

    def __init__(self, start_step: int):
        super().__init__()
        self.start_step = start_step

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if _scalar(logs.get(NONFINITE_STEPS, 0.0)) == 0.0:
            return
        losses = {name: _scalar(value) for name, value in logs.items() if name.endswith("_loss")}
        bad = [f"{name} {value}" for name, value in losses.items() if not np.isfinite(value)]
        raise NonFiniteError(self.start_step + batch + 1,
                             f"loss ({', '.join(bad)})" if bad else "weights")


class HideInternalMetrics(keras.callbacks.Callback):
    """Removes the loop's own counters (`nonfinite_steps`) from the logs of
    every later callback: Keras passes one logs dict down the list, so the
    user's callbacks, placed after this one, see only the task's metrics."""

    INTERNAL = (NONFINITE_STEPS,)

    def _hide(self, logs):
        for name in self.INTERNAL:
            (logs if logs is not None else {}).pop(name, None)

    def on_train_batch_end(self, batch, logs=None):
        self._hide(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._hide(logs)

    def on_train_end(self, logs=None):
        self._hide(logs)


class EvaluationMonitor(keras.callbacks.Callback):
    """Evaluates the generator every `every` steps and keeps the best checkpoint.

    Each evaluation generates samples from one fixed latent set (so values are
    comparable across steps), scores them with `metric_fn` (lower is better,
    e.g. FID), logs the value to the console and TensorBoard (`eval/<name>`),
    and saves a checkpoint in `<workdir>/best/` when it is the best so far.
    `<workdir>/best/best.json` records that step and value, and carries the
    best value over when a run is resumed.

    Args:
        workdir: Run directory.
        checkpoint: The run's `tf.train.Checkpoint` (saved into `best/`).
        metric_name: Name for logs, e.g. "fid".
        metric_fn: Served samples (uint8 images) -> float, lower is better.
        latents: The fixed evaluation latents.
        labels: Their label vectors (conditional GANs), or None.
        start_step: Global step when this `fit` began.
        every: Steps between evaluations.
        stream: Where the console lines go.
    """

    def __init__(self, workdir, checkpoint, metric_name, metric_fn, latents, labels, start_step,
                 every, stream=None):
        super().__init__()
        self.metric_name, self.metric_fn = metric_name, metric_fn
        self.latents, self.labels = latents, labels
        self.start_step, self.every = start_step, every
        self.stream = stream or sys.stdout
        self.best_dir = os.path.join(workdir, "best")
        self.best_file = os.path.join(self.best_dir, "best.json")
        # Two kept: a kill between a save and the best.json update must not
        # leave best.json naming a checkpoint the save just deleted.
        self.manager = tf.train.CheckpointManager(checkpoint, self.best_dir, max_to_keep=2,
                                                  checkpoint_name="ckpt")
        self.best = None
        if os.path.exists(self.best_file):
            try:
                with open(self.best_file) as f:
                    self.best = json.load(f)
                self.best["value"] = float(self.best["value"])
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise RunError(f"{self.best_file} is unreadable ({e}); fix or remove it "
                               "(the next evaluation then starts a new best)") from None
        self.tensorboard_dir = os.path.join(workdir, "tensorboard")
        self.writer = tf.summary.create_file_writer(self.tensorboard_dir)

    def on_train_begin(self, logs=None):
        self.step = self.start_step

    def on_train_batch_end(self, batch, logs=None):
        previous, self.step = self.step, self.start_step + batch + 1
        if self.step // self.every > previous // self.every:
            self.evaluate(self.step)

    def evaluate(self, step):
        spec = self.model.serving_spec()
        generated = latent.generate_in_batches(
            lambda *inputs: spec.to_output(self.model.sample(*inputs)),
            self.latents, self.labels)
        value = float(self.metric_fn(generated))
        with _write_errors(self.tensorboard_dir), self.writer.as_default(step=step):
            tf.summary.scalar(f"eval/{self.metric_name}", value)
            self.writer.flush()
        improved = self.best is None or value < self.best["value"]
        if improved:
            path = checkpoints.save(self.manager, step)
            self.best = {"step": step, "metric": self.metric_name, "value": value,
                         "checkpoint": os.path.basename(path)}
            write_json_atomically(self.best_file, self.best, indent=2)
        self.stream.write(f"step {step}: {self.metric_name} {value:.3f}"
                          f"{' (best so far; saved to ' + self.best_dir + ')' if improved else ''}"
                          f"\n")
        self.stream.flush()
