"""Run directories: their config, their checkpoints, and the task loader.

A workdir holds `config.json` (the resolved `Config`) and `checkpoints/`
(`tf.train.Checkpoint`s named `ckpt-<step>`, over the task's
`checkpoint_items()`). Training writes them; everything that uses a trained
model (sampling, export, evaluation) reads it back through `load_task`,
which rebuilds the run's task and restores only its `serving_items()`
(for a GAN, the generator), with no optimizer and no training code.

Crash safety. A `tf.train.CheckpointManager` save writes the variables into
`ckpt-<step>_temp/`, moves them to `ckpt-<step>.data-*`, writes
`ckpt-<step>.index`, and only then rewrites the `checkpoint` state file (by
an atomic rename) to name the new checkpoint. A process killed during a save
therefore leaves the state file naming the previous, complete checkpoint, plus
leftovers that `checkpoint_manager` removes when the next run starts. The one
unsafe case, rewriting in place the checkpoint the state file already names,
is never done (`TrainingMonitor.save_checkpoint` skips it). A save that fails
(disk full, file-size limit) raises `RunError` after removing its leftovers.

Discovery never trusts the state file alone: a state file can be deleted,
left behind by a copy, or lag the disk (a save killed between writing its
files and naming them). The checkpoints are found on disk (`ckpt-<step>`
with its index and every data shard), newest first; the newest that
restores wins, and any failure to read one (whatever the reader raises)
falls back to the next older. A state file that is missing, unreadable or
names an older checkpoint is reported, not followed.
"""

import contextlib
import dataclasses
import glob
import hashlib
import os
import re
import shutil

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from kgan import tasks
from kgan.config import Config
from kgan.core.files import write_text_atomically
from kgan.core.messages import failure_reason, one_line
from kgan.errors import ConfigError, RunError

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PREFIX = "ckpt"
STATE_FILE = "checkpoint"  # the CheckpointManager's state, naming the newest checkpoint


def config_path(workdir: str) -> str:
    return os.path.join(workdir, CONFIG_FILE)


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(workdir, CHECKPOINT_DIR)


def read_config(workdir: str) -> Config | None:
    """The run's saved config, or None if the workdir has none yet."""
    path = config_path(workdir)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise RunError(f"cannot read {path}: {failure_reason(e)}") from None
    try:
        return Config.from_json(text, source=path)
    except ConfigError as e:
        raise RunError(f"{path} is not a usable kgan config: {e}") from None


def write_config(workdir: str, config: Config) -> None:
    """Writes `config.json` atomically (a crash never leaves half a file).

    Raises:
        RunError: if it cannot be written; a previous `config.json` is kept.
    """
    write_text_atomically(config_path(workdir), config.to_json())


def make_checkpoint(items: dict) -> tf.train.Checkpoint:
    """A `tf.train.Checkpoint` over named parts of a run.

    Training passes the task's `checkpoint_items()` (networks, optimizers,
    averaged copies, and `step`, which also keys the noise); loaders pass
    `serving_items()` and restore with `expect_partial()`. The names are
    the checkpoint's format.
    """
    return tf.train.Checkpoint(**items)


def saved_item_names(path: str) -> set[str] | None:
    """The top-level item names (`make_checkpoint`'s keys) a checkpoint
    holds, or None if it cannot be read (`restore_newest` reports that).

    Read from the checkpoint's object graph, not from its variable keys: a
    variable reachable from several items is keyed by one path only (a
    network whose weights are all trainable is keyed under the optimizer
    that updates them, which sorts first), yet every item is in the graph.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    except Exception:  # noqa: BLE001 (e.g. IndexError from a truncated data file)
        return None
    return {child.local_name for child in graph.nodes[0].children} - {"save_counter"}


def checkpoint_manager(checkpoint: tf.train.Checkpoint, workdir: str,
                       max_to_keep: int) -> tf.train.CheckpointManager:
    """The manager that saves `checkpoint` into `<workdir>/checkpoints/`.

    It is made once when a run starts, so it first removes what a save of an
    earlier process left when that process was killed (see
    `remove_save_leftovers`), and rewrites a state file that disagrees with
    the complete checkpoints on disk, so that the manager keeps (and in
    time deletes, past `max_to_keep`) every one of them.

    Raises:
        RunError: if the state file needs rewriting and cannot be written.
    """
    remove_save_leftovers(checkpoint_dir(workdir))
    _reconcile_state(checkpoint_dir(workdir))
    return tf.train.CheckpointManager(checkpoint, checkpoint_dir(workdir), max_to_keep=max_to_keep,
                                      checkpoint_name=CHECKPOINT_PREFIX)


def _reconcile_state(directory: str) -> None:
    """Adds to the state file the complete checkpoints on disk it does not
    list. Those it lists stay, complete or not: a save killed while sweeping
    an old checkpoint leaves part of it listed, and the manager's next sweep
    deletes the rest."""
    on_disk = complete_checkpoints(directory)
    try:
        state = _read_state(directory)
    except RunError:
        state = None
    named = {os.path.abspath(p) for p in _state_checkpoints(state)}
    # Never hand the manager paths outside its folder (a state file copied
    # from another run): its sweep would delete that run's checkpoints.
    listed = {p for p in named if os.path.dirname(p) == os.path.abspath(directory)}
    if listed == named and {os.path.abspath(p) for p in on_disk} <= listed:
        return
    if not listed and not on_disk:
        return
    oldest_first = sorted(listed | {os.path.abspath(p) for p in on_disk}, key=checkpoint_step)
    # The manager deletes (past max_to_keep) only checkpoints stamped after
    # the last preserved time: stamp each with its newest file's modification time.
    try:
        stamps = [max((os.path.getmtime(f) for f in glob.glob(glob.escape(p) + ".*")),
                      default=0.0) for p in oldest_first]
        tf.compat.v1.train.update_checkpoint_state(
            directory, oldest_first[-1], all_model_checkpoint_paths=oldest_first,
            all_model_checkpoint_timestamps=stamps, last_preserved_timestamp=min(stamps) - 1)
    except (tf.errors.OpError, OSError) as e:
        raise RunError(f"cannot rewrite {os.path.join(directory, STATE_FILE)}: "
                       f"{failure_reason(e)}") from None


def checkpoint_step(path: str) -> int:
    """The step a `ckpt-<step>` checkpoint was written at."""
    return int(path.rsplit("-", 1)[-1])


_DATA_SHARD = re.compile(r"\.data-(\d+)-of-(\d+)$")


def complete_checkpoints(directory: str) -> list[str]:
    """Every `ckpt-<step>` prefix in `directory` whose files are all there (a
    non-empty index and each of its data shards), newest first. Whether one
    restores is known only by restoring it (`restore_newest`)."""
    found = {}
    name = re.compile(rf"^{re.escape(CHECKPOINT_PREFIX)}-(\d+)\.index$")
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory):
            match = name.match(entry)
            if not match:
                continue
            prefix = os.path.join(directory, entry[:-len(".index")])
            with contextlib.suppress(OSError):
                if os.path.getsize(prefix + ".index") and _has_every_shard(prefix):
                    found[prefix] = int(match.group(1))
    return sorted(found, key=found.get, reverse=True)


def _has_every_shard(prefix: str) -> bool:
    shards = {}
    for path in glob.glob(glob.escape(prefix) + ".data-*-of-*"):
        match = _DATA_SHARD.search(path)
        if match:
            shards[int(match.group(1))] = int(match.group(2))
    counts = set(shards.values())
    return len(counts) == 1 and set(shards) == set(range(counts.pop()))


def _index_reads(path: str) -> bool:
    try:
        tf.train.load_checkpoint(path)
    except Exception:  # noqa: BLE001 (any failure to read means: not this one)
        return False
    return True


def _read_state(directory: str):
    """The `checkpoint` state file of `directory` as a `CheckpointState`
    (absolute paths), or None if there is none.

    Raises:
        RunError: if the file exists but cannot be read. (TensorFlow would
            log a warning and report no checkpoint, and a run would silently
            start again from step 0 over the existing checkpoints.)
    """
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        state = tf.train.get_checkpoint_state(directory)
    except ValueError:
        state = None
    if state is None:
        raise RunError(f"{path} is not a readable checkpoint state file; restore it from a "
                       "backup, or delete it to start the run again from step 0")
    return state


def _state_checkpoints(state) -> list[str]:
    """Every checkpoint a state names, newest first."""
    if state is None:
        return []
    paths = set(state.all_model_checkpoint_paths) | {state.model_checkpoint_path}
    return sorted(paths, key=checkpoint_step, reverse=True)


def latest_checkpoint(workdir: str) -> str | None:
    """The newest checkpoint on disk whose files are all there and whose index
    reads (the state file aside: see the module docstring), or None.

    Raises:
        RunError: if there is none and the state file is unreadable (the
            checkpoints it lists may be elsewhere).
    """
    for path in complete_checkpoints(checkpoint_dir(workdir)):
        if _index_reads(path):
            return path
    _read_state(checkpoint_dir(workdir))
    return None


def _state_disagreement(directory: str, restored: str, skipped: list[str]) -> str | None:
    """What is wrong with the state file, given that `restored` was the
    newest checkpoint that restored after `skipped` did not, or None if it
    named `restored` or one of `skipped` (reported as skipped)."""
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return f"{directory} has no {STATE_FILE} state file"
    try:
        state = _read_state(directory)
    except RunError:
        return f"{path} is unreadable"
    named = state.model_checkpoint_path
    if os.path.abspath(named) == os.path.abspath(restored):
        return None
    if os.path.dirname(os.path.abspath(named)) != os.path.abspath(directory):
        return f"{path} names {named}, outside {directory}"
    if os.path.abspath(named) in {os.path.abspath(p) for p in skipped}:
        return None
    if checkpoint_step(named) > checkpoint_step(restored):
        return f"{path} names {named}, whose files are missing or incomplete"
    return f"{path} names the older {named}"


def restore_newest(checkpoint: tf.train.Checkpoint, workdir: str, log=None,
                   partial: bool = False) -> str | None:
    """Restores the newest checkpoint of `workdir` that restores completely.

    The candidates are the complete checkpoints on disk, newest first
    (`complete_checkpoints`); normally the newest is the one the state file
    names. Should it not restore (kgan never leaves it so, but a disk can),
    older ones are tried in turn, whatever the reader raised, and `log` is
    told which were skipped, and when the state file is missing, unreadable
    or names an older checkpoint than the one restored.

    Args:
        checkpoint: What to restore into.
        workdir: The run directory.
        log: Called with a message for each skipped checkpoint.
        partial: Restore only the objects of `checkpoint` (a loader's
            generator-only checkpoint) instead of requiring the whole
            checkpoint to match.

    Returns:
        The restored checkpoint's path, or None if the run has no checkpoint.

    Raises:
        RunError: if no checkpoint on disk restores, or there is none and
            the state file is unreadable.
    """
    directory = checkpoint_dir(workdir)
    failures = {}  # path -> why it did not restore
    for path in complete_checkpoints(directory):
        try:
            status = checkpoint.restore(path)
            if partial:
                status.expect_partial()
            status.assert_existing_objects_matched()
        except Exception as e:  # noqa: BLE001 (e.g. IndexError from a truncated data file)
            failures[path] = one_line(e) or type(e).__name__
            continue
        if log:
            if failures:
                log(f"Warning: skipped {len(failures)} unreadable checkpoint(s) ("
                    + "; ".join(f"{p}: {why}" for p, why in failures.items())
                    + f"); restored {path}")
            disagreement = _state_disagreement(directory, path, list(failures))
            if disagreement:
                log(f"Note: {disagreement}; restored the newest complete checkpoint on disk, "
                    f"{path}")
        return path
    if failures:
        older = (f" (nor do the {len(failures) - 1} older ones on disk)"
                 if len(failures) > 1 else "")
        newest, why = next(iter(failures.items()))
        raise RunError(f"cannot restore {newest}: {why}{older}")
    _read_state(directory)
    return None


def remove_save_leftovers(directory: str, prefix: str | None = None) -> list[str]:
    """Removes what interrupted or failed checkpoint saves left in `directory`.

    That is every `ckpt-<step>_temp/` staging folder and `checkpoint.tmp*`
    state file, and, if `prefix` is given (the checkpoint whose save just
    failed), that checkpoint's files unless the state file names it. A
    complete checkpoint the state file does not name (a save killed after
    its files were written) is left alone: the run writes it again when it
    reaches that step.

    Returns:
        The paths removed.
    """
    removed = []
    staging = re.compile(rf"^{re.escape(CHECKPOINT_PREFIX)}-\d+_temp$")
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if staging.match(name) and os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            elif name.startswith(STATE_FILE + ".tmp") and os.path.isfile(path):
                with contextlib.suppress(OSError):
                    os.remove(path)
                    removed.append(path)
    if prefix is not None:
        named = set()
        with contextlib.suppress(RunError):
            named = set(_state_checkpoints(_read_state(directory)))
        if os.path.abspath(prefix) not in {os.path.abspath(p) for p in named}:
            for path in glob.glob(glob.escape(prefix) + ".index") + glob.glob(
                    glob.escape(prefix) + ".data-*"):
                with contextlib.suppress(OSError):
                    os.remove(path)
                    removed.append(path)
    return removed


def save(manager: tf.train.CheckpointManager, step: int) -> str:
    """Saves `ckpt-<step>` with `manager`; the state file names it only once it is complete.

    Raises:
        RunError: if the save fails (e.g. the disk is full), naming the
            checkpoint, the reason and the newest complete checkpoint, which
            is intact; what the failed save wrote is removed first. (Raising
            TensorFlow's own error would be worse than a traceback: a full
            disk or a file-size limit surfaces as `OutOfRangeError`, which
            Keras's `fit` takes for the end of the data and stops silently.)
    """
    try:
        return manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
        prefix = os.path.join(manager.directory, f"{CHECKPOINT_PREFIX}-{step}")
        remove_save_leftovers(manager.directory, prefix)
        try:
            newest = tf.train.latest_checkpoint(manager.directory)
        except (tf.errors.OpError, ValueError):
            newest = None
        intact = (f"the newest complete checkpoint, {newest} (step {checkpoint_step(newest)}), "
                  "is intact" if newest else "no earlier checkpoint exists")
        raise RunError(f"cannot save checkpoint {prefix}: {failure_reason(e)}; {intact}") from None


@dataclasses.dataclass(frozen=True)
class LoadedTask:
    """A trained task (its serving networks restored) with the run it came from."""

    task: tasks.Task
    config: Config
    step: int
    checkpoint: str

    @property
    def spec(self):
        """The task's serving spec (e.g. `kgan.tasks.LatentServing`)."""
        return self.task.serving_spec()

    @property
    def generator(self) -> keras.Model:
        """The network the serving spec samples from."""
        return getattr(self.task, self.spec.network)


def load_task(workdir: str, checkpoint: str | None = None, log=None,
              raw_weights: bool = False) -> LoadedTask:
    """Rebuilds a run's task from its `config.json` and restores its serving networks.

    Args:
        workdir: The run directory.
        checkpoint: A checkpoint path; default the newest one that restores
            (see `restore_newest`).
        log: Told about unreadable checkpoints skipped for the default.
        raw_weights: Serve the trained generator's own weights, not the
            moving average of them that a run with `train.ema_half_life` keeps.

    Raises:
        RunError: if the workdir has no config or no checkpoint.
    """
    config = read_config(workdir)
    if config is None:
        raise RunError(f"{workdir!r} is not a kgan run directory (no {CONFIG_FILE})")
    task = tasks.task_of(config).build(config)
    task.serve_raw_weights = raw_weights
    _serve_what_the_checkpoint_holds(task, checkpoint or latest_checkpoint(workdir), log)
    serving = make_checkpoint(task.serving_items())
    if checkpoint is None:
        checkpoint = restore_newest(serving, workdir, log, partial=True)
        if checkpoint is None:
            raise RunError(f"no checkpoint in {checkpoint_dir(workdir)!r}")
        return LoadedTask(task, config, checkpoint_step(checkpoint), checkpoint)
    try:
        serving.restore(checkpoint).expect_partial().assert_existing_objects_matched()
    except Exception as e:  # noqa: BLE001 (any reader failure is the same to the user)
        raise RunError(f"cannot restore the {' and '.join(task.serving_items())} from "
                       f"{checkpoint!r}: {one_line(e)}") from None
    return LoadedTask(task, config, checkpoint_step(checkpoint), checkpoint)


def _serve_what_the_checkpoint_holds(task, path: str | None, log) -> None:
    """Serves the raw weights when `path` lacks the weight average the config
    names: a run resumed with the average turned on that stopped before its
    next checkpoint has a `config.json` ahead of its checkpoints."""
    saved = saved_item_names(path) if path else None
    if saved is None or task.serve_raw_weights or set(task.serving_items()) <= saved:
        return
    task.serve_raw_weights = True
    if not set(task.serving_items()) <= saved:
        task.serve_raw_weights = False  # neither restores: restoring reports it
    elif log:
        log(f"Note: {path} has no weight average (it was turned on after this checkpoint); "
            "serving the generator's own weights")


def weights_digest(variables) -> str:
    """sha256 of variables' values, to compare runs and replicas at a glance."""
    digest = hashlib.sha256()
    for variable in variables:
        digest.update(np.asarray(variable.numpy()).tobytes())
    return digest.hexdigest()


def weights_digest_of(workdir: str, checkpoint: str | None = None) -> str:
    """The weights digest (as `kgan.training.train` reports it) of a saved
    run's checkpoint, from every network the task digests."""
    config = read_config(workdir)
    if config is None:
        raise RunError(f"{workdir!r} is not a kgan run directory (no {CONFIG_FILE})")
    task = tasks.task_of(config).build(config)
    networks = {name: getattr(task, name) for name in task.network_names}
    target = make_checkpoint(networks)
    path = checkpoint or latest_checkpoint(workdir)
    if path is None:
        raise RunError(f"no checkpoint in {checkpoint_dir(workdir)!r}")
    target.restore(path).expect_partial().assert_existing_objects_matched()
    return weights_digest(task.digest_weights())
