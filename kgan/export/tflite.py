"""TFLite conversion of an exported SavedModel, and running it with LiteRT.

The converter reads the SavedModel's `serving_default` signature (latents in,
uint8 images out); `generate_from_seed` stays SavedModel-only, because
TFLite has no builtin stateless random op and Flex ops are not allowed here.
Every variant keeps float32 latents in and uint8 images out.
"""

import numpy as np
import tensorflow as tf

from kgan import latent
from kgan.export.signatures import OUTPUT_KEY, SERVING_SIGNATURE


def _converter(saved_model_dir: str, latent_dim: int, batch_size: int):
    if batch_size == 0:
        return tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                        signature_keys=[SERVING_SIGNATURE])
    # The same SavedModel signature, traced for a fixed batch: TRANSPOSE_CONV
    # then gets constant output shapes instead of Shape/Pack ops.
    saved_model = tf.saved_model.load(saved_model_dir)
    serve = saved_model.signatures[SERVING_SIGNATURE]
    fixed = tf.function(lambda z: serve(z=z)).get_concrete_function(
        tf.TensorSpec([batch_size, latent_dim], tf.float32, name="z"))
    return tf.lite.TFLiteConverter.from_concrete_functions([fixed], saved_model)


def convert(saved_model_dir: str, variant: str, latent_dim: int, calibration_samples: int,
            seed: int, batch_size: int = 0) -> bytes:
    """Converts the SavedModel's serving signature into one TFLite variant.

    Variants: `float32`; `float16` (weights stored as float16); `dynamic_int8`
    (int8 weights, activations quantized on the fly); `full_int8` (int8
    weights and activations, calibrated on `calibration_samples`
    standard-normal latents from `seed`). `batch_size` fixes the model's
    batch (0: dynamic).
    """
    converter = _converter(saved_model_dir, latent_dim, batch_size)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "full_int8":
        batch = batch_size or 1
        latents = latent.standard_normal(seed, latent.Purpose.CALIBRATION,
                                         calibration_samples * batch, latent_dim).reshape(
                                             calibration_samples, batch, latent_dim)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([z] for z in latents)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
    return converter.convert()


def interpreter(model_path: str, num_threads: int = 1):
    """A LiteRT interpreter for a `.tflite` file."""
    from ai_edge_litert.interpreter import Interpreter  # imported on use: a TFLite-only dependency

    return Interpreter(model_path=model_path, num_threads=num_threads)


def generate(model_path: str, z: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Runs a kgan `.tflite` file's serving signature on latents `z`.

    A model with a fixed batch size is called on consecutive chunks of that
    size (the last one padded).
    """
    runner = interpreter(model_path, num_threads).get_signature_runner(SERVING_SIGNATURE)
    z = np.asarray(z, np.float32)
    batch = int(runner.get_input_details()["z"]["shape_signature"][0])
    if batch == -1:
        return runner(z=z)[OUTPUT_KEY]
    chunks = []
    for start in range(0, len(z), batch):
        chunk = z[start:start + batch]
        padded = np.concatenate([chunk, np.zeros((batch - len(chunk), z.shape[1]), np.float32)])
        chunks.append(runner(z=padded)[OUTPUT_KEY][:len(chunk)])
    return np.concatenate(chunks)


def operator_names(model_path: str) -> set[str]:
    """Names of the operators in a `.tflite` file (Flex and custom ops show as such)."""
    return {op["op_name"] for op in interpreter(model_path)._get_ops_details()}
