"""Samples from a saved generator: a training run or an exported SavedModel.

This is kgan's one loader for a trained generator outside training:
evaluation and the latent tools (`generate.py`) both read generators through
`load` (or `from_workdir` / `from_saved_model`). It serves whatever the
task's serving spec (`kgan.tasks.LatentServing`) says: uint8 images for the
image GAN, float32 points for the points task.
"""

import dataclasses
import json
import os
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from kgan import checkpoints, conditioning, latent, models, tasks
from kgan.config import Config
from kgan.core.messages import one_line
from kgan.errors import ConfigError, RunError

EXPORT_FILE = "export.json"  # kgan.export.EXPORT_FILE (evaluation does not import export)


# Samples generated per call (an export may allow fewer per request).
SAMPLING_BATCH = 500


@dataclasses.dataclass(frozen=True)
class GeneratorSource:
    """A generator to sample, whatever form it was saved in.

    Attributes:
        generate: The served output (`spec.output_key`: uint8 images `[n, h,
            w, c]`, float32 points `[n, 2]`) from float32 latents `[n,
            latent_dim]` (and, for a conditional generator, labels `[n, ...]`
            as its dataset encodes them: class ids, or attribute vectors).
        latent_dim: Latent size.
        run_config: The training run's config (task, dataset, data_dir, model).
        step: Training step of the weights.
        description: What was loaded, for reports.
        generator: The Keras network the spec serves (for images, float
            images in [-1, 1]), for gradients with respect to the latents
            (projection). For an export it is rebuilt from the run config and
            given the SavedModel's own weights.
        path: The run directory, or the export version folder.
        is_export: Whether `path` is an export.
        spec: The task's serving spec.
        max_batch_size: The most samples one call may ask for (an export's
            request limit).
    """

    generate: Callable[[np.ndarray], np.ndarray]
    latent_dim: int
    run_config: Config
    step: int
    description: str
    generator: keras.Model | None = None
    path: str = ""
    is_export: bool = False
    spec: tasks.LatentServing | None = None
    max_batch_size: int = SAMPLING_BATCH

    def network_output(self, z, labels=None) -> tf.Tensor:
        """The Keras network's float output for `z` (and labels as the dataset
        encodes them), before `spec.to_output`; differentiable in `z`."""
        spec = self.spec
        if spec.num_labels:
            z = [z, conditioning.label_vectors(labels, spec.label_kind, spec.num_labels)]
        return self.generator(z, training=False)

    def images(self, z, labels=None) -> tf.Tensor:
        """Float images in [-1, 1] from the Keras generator (differentiable in `z`)."""
        if self.spec.kind != "image":
            raise ConfigError(f"{self.description} makes {self.spec.output_key}, not images")
        return self.network_output(z, labels)


def load(path: str, checkpoint: str | None = None, raw_weights: bool = False) -> GeneratorSource:
    """Loads whichever saved generator `path` is.

    Args:
        path: A training run (a folder with `config.json`), an export
            version folder (with `export.json`), or an export model folder
            (its highest integer version is loaded).
        checkpoint: A checkpoint of a training run; default its newest.
        raw_weights: A run's generator weights, not their moving average.

    Raises:
        RunError: if `path` is none of these, or cannot be loaded.
        ConfigError: for a checkpoint or raw weights asked of an export.
    """
    kind, located = locate(path)
    if kind == "run":
        return from_workdir(located, checkpoint, raw_weights)
    if raw_weights:
        raise ConfigError(f"raw weights only apply to a training run, and {path!r} is not one")
    if checkpoint is not None:
        raise ConfigError(f"a checkpoint ({checkpoint!r}) only applies to a training run, and "
                          f"{path!r} is not one")
    return from_saved_model(located)


def locate(path: str) -> tuple[str, str]:
    """(`run`, path) for a training run; (`export`, version folder) for an
    export version folder or an export model folder (its highest version).

    Raises:
        RunError: if `path` is neither.
    """
    if os.path.exists(checkpoints.config_path(path)):
        return "run", path
    if os.path.exists(os.path.join(path, EXPORT_FILE)):
        return "export", path
    versions = sorted(int(name) for name in (os.listdir(path) if os.path.isdir(path) else [])
                      if name.isdigit() and os.path.exists(os.path.join(path, name, EXPORT_FILE)))
    if versions:
        return "export", os.path.join(path, str(versions[-1]))
    what = "does not exist" if not os.path.exists(path) else (
        f"is neither a kgan run directory ({checkpoints.CONFIG_FILE}) nor a kgan export "
        f"({EXPORT_FILE}, or integer version folders holding one)")
    raise RunError(f"{path!r} {what}")


def _latent_spec(spec, what: str):
    if not isinstance(spec, tasks.LatentServing):
        raise RunError(f"{what} is not served as latents -> samples; it cannot be sampled here")
    return spec


def from_workdir(workdir: str, checkpoint: str | None = None,
                 raw_weights: bool = False) -> GeneratorSource:
    loaded = checkpoints.load_task(workdir, checkpoint, raw_weights=raw_weights)
    spec = _latent_spec(loaded.spec, workdir)
    generator = loaded.generator

    def generate(z, labels=None):
        inputs = z
        if spec.num_labels:
            inputs = [z, conditioning.label_vectors(labels, spec.label_kind, spec.num_labels)]
        return np.asarray(spec.to_output(generator(inputs, training=False)))

    return GeneratorSource(
        generate=generate, latent_dim=spec.latent_dim, run_config=loaded.config,
        step=loaded.step, description=f"{workdir} ({os.path.basename(loaded.checkpoint)})",
        generator=generator, path=workdir, spec=spec)


def _keras_network(saved_model, run_config: Config, path: str):
    """(the run's serving network holding the weights of a loaded export, its spec)."""
    task = tasks.task_of(run_config).build(run_config)
    spec = _latent_spec(task.serving_spec(), path)
    try:
        return models.generator_with_weights(getattr(task, spec.network),
                                             saved_model.variables), spec
    except ValueError as e:
        raise RunError(f"the export at {path!r} does not hold the generator its config "
                       f"describes ({e}); was it written by another kgan version?") from None


def from_saved_model(path: str) -> GeneratorSource:
    """Loads an export version folder: its SavedModel and `export.json`."""
    metadata_path = os.path.join(path, EXPORT_FILE)
    if not os.path.exists(metadata_path):
        raise RunError(f"{path!r} is not a kgan export version folder (no {EXPORT_FILE})")
    try:
        with open(metadata_path) as f:
            metadata = json.load(f)
        run_config = Config.from_dict(metadata["source"]["config"])
        latent_dim, step = metadata["generator"]["latent_dim"], metadata["source"]["step"]
        description = f"{metadata['model_name']} version {metadata['version']} ({path})"
        tasks.task_of(run_config)
    except (ValueError, KeyError, TypeError) as e:  # ConfigError and JSONDecodeError included
        raise RunError(f"{metadata_path} is not a usable kgan export description: "
                       f"{type(e).__name__}: {one_line(e)}") from None
    try:
        saved_model = tf.saved_model.load(path)
    except (OSError, ValueError, tf.errors.OpError) as e:
        raise RunError(f"cannot load the SavedModel in {path!r}: "
                       f"{one_line(e)}") from None
    generator, spec = _keras_network(saved_model, run_config, path)
    if spec.latent_dim != latent_dim:
        raise RunError(f"{metadata_path} says latent_dim {latent_dim}, its config "
                       f"{spec.latent_dim}")
    serve = saved_model.signatures["serving_default"]
    labels_spec = serve.structured_input_signature[1].get("labels")
    # Exports written before tasks name no output in export.json: theirs is the spec's.
    output_key = metadata["generator"].get("output", {}).get("key", spec.output_key)

    def generate(z, labels=None):
        inputs = {"z": tf.constant(z, tf.float32)}
        if labels_spec is not None:
            inputs["labels"] = tf.constant(labels, labels_spec.dtype)
        return serve(**inputs)[output_key].numpy()

    return GeneratorSource(
        generate=generate, latent_dim=latent_dim, run_config=run_config, step=step,
        description=description, generator=generator, path=path, is_export=True, spec=spec,
        max_batch_size=export_request_limit(metadata))


def sample(source: GeneratorSource, count: int, seed: int,
           labels: np.ndarray | None = None) -> np.ndarray:
    """`count` samples (uint8 images, float32 points: the served output) from
    standard-normal latents drawn with `seed` (under `labels`, one per
    sample, for a conditional generator)."""
    return latent.generate_in_batches(source.generate, latent.standard_normal(
        seed, latent.Purpose.EVALUATION, count, source.latent_dim), labels,
        batch_size=min(SAMPLING_BATCH, source.max_batch_size))


def export_request_limit(metadata: dict) -> int:
    """The most rows one request to an export may hold (`export.json`; exports
    written before it was recorded had the default, 10,000)."""
    return int(metadata.get("serving", {}).get("max_batch_size", 10_000))
