"""Generated images from a saved generator: a training run or an exported SavedModel."""

import dataclasses
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from kgan import checkpoints, conditioning, latent
from kgan.config import Config
from kgan.errors import RunError
from kgan.images import to_uint8


@dataclasses.dataclass(frozen=True)
class GeneratorSource:
    """A generator to sample, whatever form it was saved in.

    Attributes:
        generate: uint8 images `[n, h, w, c]` from float32 latents `[n,
            latent_dim]` (and, for a conditional generator, labels `[n, ...]`
            as its dataset encodes them: class ids, or attribute vectors).
        latent_dim: Latent size.
        run_config: The training run's config (dataset, data_dir, model).
        step: Training step of the weights.
        description: What was loaded, for reports.
    """

    generate: Callable[[np.ndarray], np.ndarray]
    latent_dim: int
    run_config: Config
    step: int
    description: str


def from_workdir(workdir: str, checkpoint: str | None = None) -> GeneratorSource:
    loaded = checkpoints.load_generator(workdir, checkpoint)
    generator, model = loaded.generator, loaded.config.model

    def generate(z, labels=None):
        if model.num_labels:
            z = [z, conditioning.label_vectors(labels, model.label_kind, model.num_labels)]
        return np.asarray(to_uint8(generator(z, training=False)))

    return GeneratorSource(
        generate=generate,
        latent_dim=loaded.config.model.latent_dim, run_config=loaded.config, step=loaded.step,
        description=f"{workdir} ({os.path.basename(loaded.checkpoint)})")


def from_saved_model(path: str) -> GeneratorSource:
    """Loads an export version folder: its SavedModel and `export.json`."""
    metadata_path = os.path.join(path, "export.json")
    if not os.path.exists(metadata_path):
        raise RunError(f"{path!r} is not a kgan export version folder (no export.json)")
    with open(metadata_path) as f:
        metadata = json.load(f)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    labels_spec = serve.structured_input_signature[1].get("labels")

    def generate(z, labels=None):
        inputs = {"z": tf.constant(z, tf.float32)}
        if labels_spec is not None:
            inputs["labels"] = tf.constant(labels, labels_spec.dtype)
        return serve(**inputs)["images"].numpy()

    return GeneratorSource(
        generate=generate,
        latent_dim=metadata["generator"]["latent_dim"],
        run_config=Config.from_dict(metadata["source"]["config"]),
        step=metadata["source"]["step"],
        description=f"{metadata['model_name']} version {metadata['version']} ({path})")


def sample(source: GeneratorSource, count: int, seed: int,
           labels: np.ndarray | None = None) -> np.ndarray:
    """`count` uint8 images from standard-normal latents drawn with `seed`
    (under `labels`, one per image, for a conditional generator)."""
    return latent.generate_in_batches(source.generate, latent.standard_normal(
        seed, latent.Purpose.EVALUATION, count, source.latent_dim), labels)
