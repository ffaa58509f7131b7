"""Run directories: their config, their checkpoints, and the generator loader.

A workdir holds `config.json` (the resolved `Config`) and `checkpoints/`
(`tf.train.Checkpoint`s named `ckpt-<step>`). Training writes them; everything
that uses a trained generator (sampling, export, evaluation) reads it back
through `load_generator`, which needs neither the discriminator nor any
training code.
"""

import dataclasses
import os

import keras
import tensorflow as tf

from kgan import models
from kgan.config import Config
from kgan.errors import ConfigError, RunError

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PREFIX = "ckpt"


def config_path(workdir: str) -> str:
    return os.path.join(workdir, CONFIG_FILE)


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(workdir, CHECKPOINT_DIR)


def read_config(workdir: str) -> Config | None:
    """The run's saved config, or None if the workdir has none yet."""
    path = config_path(workdir)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    try:
        return Config.from_json(text, source=path)
    except ConfigError as e:
        raise RunError(f"{path} is not a usable kgan config: {e}") from None


def write_config(workdir: str, config: Config) -> None:
    """Writes `config.json` atomically (a crash never leaves half a file)."""
    os.makedirs(workdir, exist_ok=True)
    path = config_path(workdir)
    partial = path + ".partial"
    with open(partial, "w") as f:
        f.write(config.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def make_checkpoint(generator, discriminator=None, g_optimizer=None, d_optimizer=None,
                    step=None) -> tf.train.Checkpoint:
    """A `tf.train.Checkpoint` over whichever parts of a run are given.

    Training passes everything, including `step`, the variable counting
    generator updates (which also keys the latent noise); loaders pass only
    the generator and restore with `expect_partial()`.
    """
    parts = {"generator": generator}
    if discriminator is not None:
        parts["discriminator"] = discriminator
    if g_optimizer is not None:
        parts["g_optimizer"] = g_optimizer
    if d_optimizer is not None:
        parts["d_optimizer"] = d_optimizer
    if step is not None:
        parts["step"] = step
    return tf.train.Checkpoint(**parts)


def checkpoint_manager(checkpoint: tf.train.Checkpoint, workdir: str,
                       max_to_keep: int) -> tf.train.CheckpointManager:
    return tf.train.CheckpointManager(checkpoint, checkpoint_dir(workdir), max_to_keep=max_to_keep,
                                      checkpoint_name=CHECKPOINT_PREFIX)


def checkpoint_step(path: str) -> int:
    """The step a `ckpt-<step>` checkpoint was written at."""
    return int(path.rsplit("-", 1)[-1])


def latest_checkpoint(workdir: str) -> str | None:
    return tf.train.latest_checkpoint(checkpoint_dir(workdir))


@dataclasses.dataclass(frozen=True)
class LoadedGenerator:
    """A trained generator with the run it came from."""

    generator: keras.Model
    config: Config
    step: int
    checkpoint: str


def load_generator(workdir: str, checkpoint: str | None = None) -> LoadedGenerator:
    """Rebuilds a run's generator from its `config.json` and restores its weights.

    Args:
        workdir: The run directory.
        checkpoint: A checkpoint path; default the newest one.

    Raises:
        RunError: if the workdir has no config or no checkpoint.
    """
    config = read_config(workdir)
    if config is None:
        raise RunError(f"{workdir!r} is not a kgan run directory (no {CONFIG_FILE})")
    checkpoint = checkpoint or latest_checkpoint(workdir)
    if checkpoint is None:
        raise RunError(f"no checkpoint in {checkpoint_dir(workdir)!r}")
    generator = models.build_generator(config.model)
    try:
        make_checkpoint(generator).restore(checkpoint).expect_partial().assert_existing_objects_matched()
    except (tf.errors.OpError, AssertionError, ValueError) as e:
        raise RunError(f"cannot restore the generator from {checkpoint!r}: "
                       f"{str(e).splitlines()[0]}") from None
    return LoadedGenerator(generator, config, checkpoint_step(checkpoint), checkpoint)
