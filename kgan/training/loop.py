"""`train(config, workdir)`: a whole run, resumable, from config to checkpoints."""

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence

import keras
import tensorflow as tf

from kgan import checkpoints, conditioning, data, evaluation, latent, tasks
from kgan.config import Config
from kgan.config.base import MAX_STEPS
from kgan.core import signals
from kgan.core.files import append_line
from kgan.core.locks import FolderLock
from kgan.core.messages import one_line
from kgan.errors import ConfigError, RunError
from kgan.training import distribute, memory
from kgan.training.callbacks import (EvaluationMonitor, HideInternalMetrics, NonFiniteError,
                                     NonFiniteGuard, TrainingMonitor)

# Sections of the config that a checkpoint's contents depend on: a run cannot
# be resumed with different values here. (The precision policy changes the
# optimizer's checkpointed state under float16, and is checked on restore.)
_RUN_IDENTITY = ("task", "model", "data.dataset", "data.attributes")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a call to `train` did.

    Attributes:
        workdir: The run directory.
        start_step: Global step the call resumed from (0 for a new run).
        step: Global step reached.
        total_steps: Global step the run trains to.
        metrics: The last logged metrics (interval means).
        checkpoint: Path of the newest checkpoint.
        interrupted: True if training stopped early on Ctrl-C or SIGTERM.
        weights_digest: sha256 of the final weights of the task's networks
            (equal on every worker of a multi-worker run).
        train_step_traces: How many times this call traced the train step
            (1 unless something forced a retrace; it must not grow with steps).
        stop_signal: The signal that stopped training early (`signal.SIGINT`
            or `signal.SIGTERM`), 0 if none did.
    """

    workdir: str
    start_step: int
    step: int
    total_steps: int
    metrics: dict
    checkpoint: str | None
    interrupted: bool
    weights_digest: str
    train_step_traces: int = 0
    stop_signal: int = 0


def resolve(config: Config) -> Config:
    """Fills in data-derived values and checks every registered name, for the
    config's task; `mixed_precision=auto` becomes this host's policy.

    Raises:
        ConfigError: for an unknown task, dataset, architecture or loss, or
            values inconsistent with the data.
    """
    config = tasks.task_of(config).resolve(config)
    precision = distribute.resolve_precision(config.train.mixed_precision)
    if precision != config.train.mixed_precision:
        config = dataclasses.replace(config, train=dataclasses.replace(
            config.train, mixed_precision=precision))
    return config


def total_steps(config: Config, num_examples: int) -> int:
    """Training length in steps, from `train.steps` or `train.epochs`.

    Raises:
        ConfigError: if `train.epochs` comes to more steps than `train.steps` may be.
    """
    if config.train.steps is not None:
        return config.train.steps
    task_class = tasks.task_of(config)
    per_epoch = data.steps_per_epoch(num_examples, task_class.examples_per_step(config),
                                     task_class.min_examples_per_step(config))
    steps = max(1, math.ceil(config.train.epochs * per_epoch))
    if steps > MAX_STEPS:
        raise ConfigError(f"train.epochs {config.train.epochs:g} of {per_epoch:,} steps each "
                          f"comes to {steps:,} steps, more than the {MAX_STEPS:,} a run may have")
    return steps


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_workdir(workdir: str, config: Config, log=print) -> list[str]:
    """Checks `config` against a run already in `workdir`, writing nothing.

    A resumed run must keep the model and dataset of the saved run; other
    settings may change (e.g. more steps). A saved config of a run that
    never saved a checkpoint (one that failed at its first step) holds
    nothing to protect: it is replaced, with a note.

    Returns:
        The changed settings' keys (empty for a new run or the same config).

    Raises:
        RunError: if the saved run's model or dataset differ from `config`.
    """
    saved = checkpoints.read_config(workdir)
    if saved is None or saved == config:
        return []
    old, new = _flatten(saved.to_dict()), _flatten(config.to_dict())
    changed = sorted(k for k in new if old.get(k) != new[k])
    clashes = [k for k in changed if k.startswith(_RUN_IDENTITY)]
    details = ", ".join(f"{k}: {old.get(k)!r} in the run vs {new[k]!r}" for k in clashes)
    if clashes and checkpoints.complete_checkpoints(checkpoints.checkpoint_dir(workdir)):
        raise RunError(f"workdir {workdir!r} holds a run with an incompatible config "
                       f"({details}); use a new --workdir")
    if clashes:
        log(f"{workdir} holds the config of a run that saved no checkpoint ({details}); "
            "replacing it")
        return []
    log("Resuming with changed settings: " + ", ".join(
        f"{k} {old.get(k)!r} -> {new[k]!r}" for k in changed))
    return changed


def prepare_workdir(workdir: str, config: Config, changed: Sequence[str]) -> None:
    """Writes `config.json`; with `changed` settings (`check_workdir`), the
    previous config is kept first in `config_history.jsonl`."""
    if changed:
        append_line(os.path.join(workdir, "config_history.jsonl"),
                    json.dumps(checkpoints.read_config(workdir).to_dict(), sort_keys=True))
    checkpoints.write_config(workdir, config)


def restore_run(task: tasks.Task, workdir: str, log=print) -> str | None:
    """Restores the newest checkpoint of `workdir` into `task`, if any.

    Settings that add state (a weight average, LeCam anchors, augmentation
    state) may be turned on when resuming: the items the checkpoint lacks
    are started by `task.start_added_items`, and the run's next checkpoint
    holds them.

    Returns:
        The restored checkpoint's path, or None for a new run.
    """
    items = task.checkpoint_items()
    newest = checkpoints.latest_checkpoint(workdir)
    saved = checkpoints.saved_item_names(newest) if newest else None
    added = sorted(set(items) - saved) if saved is not None else []
    restored = checkpoints.restore_newest(
        checkpoints.make_checkpoint({k: v for k, v in items.items() if k not in added}),
        workdir, log)
    if restored and added:
        task.start_added_items(added)
        log(f"{restored} has no {', '.join(added)} (added by the changed settings): "
            "started fresh" + (", the weight average from the restored generator"
                               if "generator_ema" in added else ""))
    return restored


def build_task(config: Config, strategy: tf.distribute.Strategy | None = None) -> tasks.Task:
    """The compiled task that `config` (resolved) describes, with fresh
    weights, its variables and optimizers created under `strategy` (default:
    one device) and its layers under `train.mixed_precision`."""
    t = config.train
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope(), distribute.precision_policy(t.mixed_precision):
        task = tasks.task_of(config).build(config, t.sync_batch_norm)
        task.configure(config)
    return task


def train(config: Config, workdir: str, stream=None,
          strategy: tf.distribute.Strategy | None = None,
          callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainResult:
    """Trains (or resumes) the run in `workdir` to the configured length.

    The workdir gets `config.json`, `checkpoints/` (the newest
    `train.keep_checkpoints` kept), `samples/step_<step>.png` grids from a
    fixed latent batch, and TensorBoard logs in `tensorboard/`. If it already
    holds checkpoints of a compatible run, training resumes from the newest
    one and reads exactly the data and noise an uninterrupted run would have.
    Ctrl-C or SIGTERM (what schedulers send before a kill) saves a
    checkpoint at the last finished step before returning. The workdir is
    locked for the call (`run.lock`, naming this process): a second
    `train` on it meanwhile is refused.
    Every task trains through this one loop (`kgan.tasks`).

    Args:
        config: The run's configuration.
        workdir: The run directory (created if missing).
        stream: Where progress is written (default stdout).
        strategy: A `tf.distribute.Strategy` to use instead of the one
            `train.strategy` names (e.g. a MirroredStrategy over chosen devices).
        callbacks: Your `keras.callbacks.Callback`s, called after kgan's own
            (the non-finite guard, logging, previews, checkpoints,
            evaluation) at every step; Keras's batch numbers count from the
            start of this `fit`, not of the run. Their logs hold the
            task's metrics (`d_loss`, `g_loss`, ...), not the loop's
            internal counters. `model.optimizer` holds every player's
            optimizer (`kgan.tasks.base.PlayerOptimizers`), so
            `LearningRateScheduler` and `ReduceLROnPlateau` drive every
            player's rate; the loop runs one Keras epoch per `fit`.

    Returns:
        A `TrainResult`.

    Raises:
        KganError: for bad configs, missing data or an incompatible workdir.
    """
    stream = stream or sys.stdout

    def log(message):
        stream.write(message + "\n")
        stream.flush()

    config = resolve(config)
    # Multi-worker strategies must exist before other TensorFlow work.
    strategy = strategy or distribute.make_strategy(config.train.strategy,
                                                    config.train.peer_timeout, log)
    chief = distribute.is_chief(strategy)
    if not chief:
        log = _prefixed(log, distribute.task_name(strategy))
    task_class = tasks.task_of(config)
    dataset = task_class.load_data(config, "train")
    # One writer per run: the chief holds the workdir's lock from before its
    # first write until its last (`kgan.core.locks`).
    with FolderLock(workdir, "workdir", log) if chief else contextlib.nullcontext():
        return _train_locked(config, workdir, strategy, chief, task_class, dataset, log,
                             stream, callbacks)


def _train_locked(config, workdir, strategy, chief, task_class, dataset, log, stream,
                  callbacks) -> TrainResult:
    """`train` once the data is loaded and the workdir locked.

    Everything that can fail on the user's input (a clashing saved run, a
    model too large for memory, a checkpoint that does not restore, a
    missing evaluation network) is checked before the workdir's first
    write, so a refused command leaves it as it was.
    """
    changed = check_workdir(workdir, config, log) if chief else []
    # Before seeding: counting builds the networks once more, which draws from
    # Keras's global seed and would change the initial weights.
    memory.check_fits(config)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.train.seed)
    try:
        task = build_task(config, strategy)
    except (MemoryError, tf.errors.ResourceExhaustedError) as e:
        raise RunError(f"the {config.task} model does not fit in memory "
                       f"({one_line(e)[:200]}); make it smaller") from None
    checkpoint = checkpoints.make_checkpoint(task.checkpoint_items())
    latest = restore_run(task, workdir, log)
    start_step = int(task.step_counter.numpy())
    end_step = total_steps(config, dataset.num_examples)
    t = config.train
    evaluation_setup = None
    if t.eval_every and chief and start_step < end_step:
        split = task_class.evaluation_split(config)
        labels = evaluation.sample_labels(config.model, config.data, split, t.eval_samples)
        evaluation_setup = (
            evaluation.reference_frechet_metric(t.eval_metric, config.data, split,
                                                t.eval_samples, t.inception_path, log),
            latent.standard_normal(t.seed, latent.Purpose.TRAINING_EVALUATION, t.eval_samples,
                                   task.serving_spec().latent_dim),
            None if labels is None else conditioning.label_vectors(
                labels, config.model.label_kind, config.model.num_labels).numpy())

    if chief:
        prepare_workdir(workdir, config, changed)
    # Every worker restores the chief's newest checkpoint; non-chief workers
    # save into a private scratch folder (see kgan.training.distribute).
    save_dir = workdir if chief else os.path.join(workdir, f".{distribute.task_name(strategy)}")
    manager = checkpoints.checkpoint_manager(checkpoint, save_dir, config.train.keep_checkpoints)
    if start_step >= end_step:
        log(f"{workdir}: already trained to step {start_step} (target {end_step}); nothing to do.")
        return TrainResult(workdir, start_step, start_step, end_step, {}, latest, False,
                           weights_digest(task))
    log(f"{'Resuming from step ' + str(start_step) if start_step else 'Training'}: "
        f"{task_class.describe(config)} ({dataset.num_examples} {dataset.noun} "
        f"from {dataset.source}) to step {end_step} in {workdir}")

    rollbacks = RollbackLog(workdir)
    task.set_learning_rate_scale(rollbacks.lr_scale)
    if t.on_nan == "rollback" and not latest:
        # A diverged first interval then has a state to roll back to.
        checkpoints.save(manager, start_step)

    stop = StopRequest()
    fit_start = start_step
    while True:
        batches = data.seeded_batches(
            dataset.arrays, dataset.num_examples, task_class.examples_per_step(config), t.seed,
            start_step=fit_start, min_batch_size=task_class.min_examples_per_step(config),
            transform=dataset.transform)
        monitor = TrainingMonitor(
            workdir, manager, fit_start, end_step, task_class.examples_per_step(config),
            t.log_every, t.sample_every, t.checkpoint_every, stream, chief=chief,
            scratch_dir=None if chief else save_dir)
        # The guard comes first: it ends a diverged step before anything is written.
        own_callbacks = [NonFiniteGuard(fit_start), monitor]
        if evaluation_setup:
            metric_fn, eval_latents, eval_labels = evaluation_setup
            own_callbacks.append(EvaluationMonitor(workdir, checkpoint, t.eval_metric, metric_fn,
                                                   eval_latents, eval_labels, fit_start,
                                                   t.eval_every, stream))
        try:
            with stop.on_signals():
                task.fit(batches, epochs=1, steps_per_epoch=end_step - fit_start,
                         callbacks=[*own_callbacks, HideInternalMetrics(), *callbacks, stop],
                         verbose=0, shuffle=False)
        except KeyboardInterrupt as e:  # a second signal, or no handler outside the main thread
            stop.requested = stop.requested or signals.interrupt_signal(e)
        except NonFiniteError as e:
            fit_start = _roll_back(e, task, workdir, t, rollbacks, chief, log)
            continue
        break
    interrupted = bool(stop.requested)
    reached = int(task.step_counter.numpy())
    if not interrupted and reached < end_step:
        # Keras ends fit quietly on an OutOfRangeError from anywhere in its loop.
        raise RunError(f"training stopped at step {reached} of {end_step} without an error "
                       f"from TensorFlow; the newest checkpoint is "
                       f"{checkpoints.latest_checkpoint(workdir)}")
    if interrupted:
        monitor.step = int(task.step_counter.numpy())
        monitor.save_checkpoint()
        by = ("" if stop.requested == signal.SIGINT
              else f" by {signals.signal_name(stop.requested)}")
        log(f"\nInterrupted{by}: saved a checkpoint at step {monitor.step} in {workdir}; "
            "run the same command to resume.")
    return TrainResult(workdir, start_step, monitor.step, end_step, monitor.last_logs,
                       checkpoints.latest_checkpoint(workdir), interrupted, weights_digest(task),
                       task.train_step_traces, int(stop.requested))


class RollbackLog:
    """`<workdir>/rollbacks.jsonl`: one line per non-finite rollback of a run.

    Each line records the step that diverged, the step restored and the
    learning-rate scale used from then on; the last line's scale applies to
    the run when it is resumed.
    """

    FILE = "rollbacks.jsonl"

    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, self.FILE)
        self.entries = []
        if os.path.exists(self.path):
            with open(self.path) as f:
                try:
                    self.entries = [json.loads(line) for line in f if line.strip()]
                    [float(entry["lr_scale"]) for entry in self.entries]
                except (ValueError, KeyError, TypeError) as e:
                    raise RunError(f"{self.path} is not a readable rollback log ({e}); "
                                   "fix or remove it") from None

    @property
    def lr_scale(self) -> float:
        return float(self.entries[-1]["lr_scale"]) if self.entries else 1.0

    def append(self, entry: dict, write: bool) -> None:
        self.entries.append(entry)
        if write:
            append_line(self.path, json.dumps(entry, sort_keys=True))


def _roll_back(error, task, workdir, train_config, rollbacks, chief, log) -> int:
    """Handles a `NonFiniteError`: restores the newest checkpoint with lower
    learning rates and returns its step, or raises `RunError` if the run must stop."""
    t = train_config
    latest = checkpoints.latest_checkpoint(workdir)
    where = (f"the newest checkpoint, {latest} (step {checkpoints.checkpoint_step(latest)}), "
             "is intact" if latest else "no checkpoint was written yet")
    if t.on_nan == "stop" or not latest:
        raise RunError(f"training diverged: {error}; nothing from that step was saved and "
                       f"{where}. Lower the learning rates, or pass --on_nan=rollback to "
                       "continue from the checkpoint with lower ones") from None
    if len(rollbacks.entries) >= t.max_rollbacks:
        raise RunError(f"training diverged: {error}, after {len(rollbacks.entries)} rollback(s) "
                       f"(train.max_rollbacks); nothing from that step was saved and {where}")
    try:
        restore_run(task, workdir, log)
    except RunError as e:
        raise RunError(f"training diverged: {error}; rolling back failed: {e}") from None
    scale = rollbacks.lr_scale * t.rollback_lr_factor
    task.set_learning_rate_scale(scale)
    restored = int(task.step_counter.numpy())
    rates = {player: rate * scale for player, rate in task.learning_rates().items()}
    rollbacks.append({"diverged_at_step": error.step, "what": error.what,
                      "restored_step": restored, "lr_scale": scale,
                      **{f"{player}_learning_rate": rate for player, rate in rates.items()}},
                     write=chief)
    task.reset_metrics()
    shown = ", ".join(f"{player.upper()} {rate:.3g}" for player, rate in sorted(
        rates.items(), key=lambda kv: kv[0] != "g"))
    log(f"\nTraining diverged: {error}. Rolled back to step {restored} with learning rates "
        f"x{scale:g} ({shown}); "
        f"rollback {len(rollbacks.entries)} of at most {t.max_rollbacks}, "
        f"recorded in {rollbacks.path}.")
    return restored


class StopRequest(keras.callbacks.Callback):
    """Ends `fit` after the current step on Ctrl-C (SIGINT) or SIGTERM.

    While `on_signals()` is active (main thread only), the first of them
    only records its number in `requested`, so the interrupt never lands
    inside TensorFlow or a finalizer (where Python would drop it); a second
    one interrupts at once (`KeyboardInterrupt`, or
    `kgan.core.signals.Terminated` for SIGTERM).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.requested = 0

    @contextlib.contextmanager
    def on_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request(signum, frame):
            if self.requested:
                raise signals.Terminated if signum == signal.SIGTERM else KeyboardInterrupt
            self.requested = signum

        previous = {signum: signal.signal(signum, request) for signum in self.SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True


def _prefixed(log, prefix):
    return lambda message: log(f"[{prefix}] {message}")


def weights_digest(task: tasks.Task) -> str:
    """sha256 of the task's network weights, to compare runs and replicas at a glance."""
    return checkpoints.weights_digest(task.digest_weights())
