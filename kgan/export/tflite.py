"""TFLite conversion of an exported SavedModel, and running it with LiteRT.

The converter reads the SavedModel's `serving_default` signature (latents,
and labels for a conditional generator, in; uint8 images out);
`generate_from_seed` stays SavedModel-only, because TFLite has no builtin
stateless random op and Flex ops are not allowed here. Every variant keeps
float32 latents in, the SavedModel's label input, and uint8 images out.
"""

import numpy as np
import tensorflow as tf

from kgan import conditioning, latent
from kgan.config import ModelConfig
from kgan.export.signatures import OUTPUT_KEY, SERVING_SIGNATURE, labels_spec


def _input_specs(model: ModelConfig, batch_size: int) -> dict[str, tf.TensorSpec]:
    batch = batch_size or None
    specs = {"z": tf.TensorSpec([batch, model.latent_dim], tf.float32, name="z")}
    label_spec = labels_spec(model)
    if label_spec is not None:
        specs["labels"] = tf.TensorSpec([batch, *label_spec.shape[1:]], label_spec.dtype,
                                        name="labels")
    return specs


def _converter(saved_model_dir: str, model: ModelConfig, batch_size: int):
    if batch_size == 0:
        return tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                        signature_keys=[SERVING_SIGNATURE])
    # The same SavedModel signature, traced for a fixed batch: TRANSPOSE_CONV
    # then gets constant output shapes instead of Shape/Pack ops.
    saved_model = tf.saved_model.load(saved_model_dir)
    serve = saved_model.signatures[SERVING_SIGNATURE]
    specs = _input_specs(model, batch_size)
    if "labels" in specs:
        fixed = tf.function(lambda z, labels: serve(z=z, labels=labels)).get_concrete_function(
            specs["z"], specs["labels"])
    else:
        fixed = tf.function(lambda z: serve(z=z)).get_concrete_function(specs["z"])
    return tf.lite.TFLiteConverter.from_concrete_functions([fixed], saved_model)


def calibration_inputs(model: ModelConfig, samples: int, seed: int, batch_size: int):
    """Representative inputs for full-int8 calibration, by input name:
    standard-normal latents (and labels cycling through every class or grid
    attribute combination)."""
    batch = batch_size or 1
    latents = latent.standard_normal(seed, latent.Purpose.CALIBRATION, samples * batch,
                                     model.latent_dim)
    labels = None
    if model.num_labels:
        if model.label_kind == "class":
            labels = np.arange(samples * batch, dtype=np.int32) % model.num_labels
        else:
            rows, _ = conditioning.grid_rows(model.label_kind, model.label_names)
            labels = np.resize(rows, (samples * batch, model.num_labels)).astype(np.float32)
    for i in range(samples):
        chunk = slice(i * batch, (i + 1) * batch)
        inputs = {"z": latents[chunk]}
        if labels is not None:
            inputs["labels"] = labels[chunk]
        yield inputs


def convert(saved_model_dir: str, variant: str, model: ModelConfig, calibration_samples: int,
            seed: int, batch_size: int = 0) -> bytes:
    """Converts the SavedModel's serving signature into one TFLite variant.

    Variants: `float32`; `float16` (weights stored as float16); `dynamic_int8`
    (int8 weights, activations quantized on the fly); `full_int8` (int8
    weights and activations, calibrated on `calibration_samples`
    standard-normal latents from `seed`). `batch_size` fixes the model's
    batch (0: dynamic).
    """
    converter = _converter(saved_model_dir, model, batch_size)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "full_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: calibration_inputs(
            model, calibration_samples, seed, batch_size)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
    return converter.convert()


def interpreter(model_path: str, num_threads: int = 1):
    """A LiteRT interpreter for a `.tflite` file."""
    from ai_edge_litert.interpreter import Interpreter  # imported on use: a TFLite-only dependency

    return Interpreter(model_path=model_path, num_threads=num_threads)


def generate(model_path: str, z: np.ndarray, labels: np.ndarray | None = None,
             num_threads: int = 1) -> np.ndarray:
    """Runs a kgan `.tflite` file's serving signature on latents `z` (and
    `labels`, one per latent, for a conditional generator).

    A model with a fixed batch size is called on consecutive chunks of that
    size (the last one padded).
    """
    runner = interpreter(model_path, num_threads).get_signature_runner(SERVING_SIGNATURE)
    details = runner.get_input_details()
    inputs = {"z": np.asarray(z, np.float32)}
    if "labels" in details:
        if labels is None:
            raise ValueError(f"{model_path} is a conditional generator: pass labels")
        inputs["labels"] = np.asarray(labels, details["labels"]["dtype"])
    batch = int(details["z"]["shape_signature"][0])
    if batch == -1:
        return runner(**inputs)[OUTPUT_KEY]
    chunks = []
    for start in range(0, len(z), batch):
        chunk = {name: value[start:start + batch] for name, value in inputs.items()}
        count = len(chunk["z"])
        padded = {name: np.concatenate([value, np.zeros((batch - count, *value.shape[1:]),
                                                        value.dtype)])
                  for name, value in chunk.items()}
        chunks.append(runner(**padded)[OUTPUT_KEY][:count])
    return np.concatenate(chunks)


def operator_names(model_path: str) -> set[str]:
    """Names of the operators in a `.tflite` file (Flex and custom ops show as such)."""
    return {op["op_name"] for op in interpreter(model_path)._get_ops_details()}
