"""TFLite conversion of an exported generator, and running it with LiteRT.

This is a latent task's conversion; an image-to-image task's
(`kgan.export.translation`) shares its variants (`convert_variant`), its
full-int8 image end (`clipped_tanh`, `require_pixel_grid`) and its chunked
runner (`run_signature`).

Every variant has one signature, `serving_default`: float32 latents `z`
(and the SavedModel's `labels` input for a conditional generator) in, the
task's served output out (`spec.output_key`: uint8 `images` for the image
GAN, float32 `points` for the points task). `generate_from_seed` stays
SavedModel-only, because TFLite has no builtin stateless random op and Flex
ops are not allowed here.

`full_int8` of a uint8 output (images) ends its int8 graph with its own
tanh of the generator's pre-tanh activation clipped to [-3.5, 3.5]
(`INT8_TANH_CLIP`), and makes the model's output uint8
(`inference_output_type`). TFLite fixes an int8 tanh's output at scale
1/128 and zero point 0, so the final requantization only adds 128: a pixel
is `round(128 x) + 128`, clipped to 0..255, within one level of the float
mapping `round(127.5 (x + 1))`. The clip sets the int8 scale of the tanh's
input: unclipped, a trained generator's pre-tanh activations span about
-50..5, and an int8 step of 0.2 there left 22 grey levels (BUILD_NOTES,
issue 20). A clip at c gives a step of 2c / 255; c must keep tanh(c) above
127.5 / 128 (c > 3.12), or black would come out as level 1 and white as
254. At 3.5, tanh(3.5) = 0.998 still maps to 0 and 255 after the input's
own rounding. Converting `to_uint8` itself instead quantized `x + 1` to an
int8 tensor of scale ~1, leaving 3 grey levels. `convert` refuses a result
whose output is not on that grid, and a generator whose body does not end
in tanh cannot take this path (`GeneratorBase.pre_tanh`).

Every variant applies to every task. For a float output (points), `full_int8`
quantizes the activations and the output too (its float32 output is
dequantized from int8 at a scale calibrated on standard-normal latents), so
its samples are on a grid of that scale: usable on an int8-only device, and
verified without a tolerance (`kgan.export.verify` reports its difference).

The SavedModel's serving signatures check every request with Assert ops and
generate large batches in a loop (`kgan.export.signatures`); TFLite's
builtin ops cannot express that loop for a dynamic batch, and drop Asserts.
The TFLite model is therefore converted from the bare generator: the
network that the export's config describes (built fresh by the caller),
given the SavedModel's weights, written as a temporary SavedModel. `generate` checks inputs in
Python instead, each bad input giving a one-line `ValueError` that names it:
latents of the wrong shape or with NaN/Inf, non-numeric latents, missing or
unexpected labels, labels of the wrong shape or row count, class ids that are
not integers or outside the model's classes, non-finite attribute values. An
empty batch returns `[0, *output_shape]` samples.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kgan import conditioning, latent
from kgan.config import TFLITE_VARIANTS
from kgan.errors import ExportError
from kgan.export.signatures import CHUNK_SIZE, SERVING_SIGNATURE, labels_spec, output_function
from kgan.models import generator_with_weights
from kgan.tasks import LatentServing


def _input_specs(spec: LatentServing, batch_size: int) -> dict[str, tf.TensorSpec]:
    batch = batch_size or None
    specs = {"z": tf.TensorSpec([batch, spec.latent_dim], tf.float32, name="z")}
    label_spec = labels_spec(spec)
    if label_spec is not None:
        specs["labels"] = tf.TensorSpec([batch, *label_spec.shape[1:]], label_spec.dtype,
                                        name="labels")
    return specs


def _network_from_saved_model(saved_model_dir: str, network):
    """`network` (freshly built), holding the SavedModel's weights."""
    try:
        return generator_with_weights(network, tf.saved_model.load(saved_model_dir).variables)
    except ValueError as e:
        raise ExportError(f"{saved_model_dir!r} does not hold the weights of the "
                          f"{type(network).__name__} its config describes ({e})") from None


INT8_TANH_CLIP = 3.5


def _int8_image_output(variant: str, spec: LatentServing) -> bool:
    """Whether the model ends in the clipped tanh, made uint8 by the
    converter (module docstring)."""
    return variant == "full_int8" and spec.output_dtype == "uint8"


def clipped_tanh(clip: float | None):
    """The full-int8 image end: `tanh(clip(pre_tanh, -clip, clip))` (plain tanh for None)."""
    if clip is None:
        return tf.tanh
    return lambda pre_tanh: tf.tanh(tf.clip_by_value(pre_tanh, -clip, clip))


def _write_bare_saved_model(saved_model_dir: str, network, spec: LatentServing,
                            path: str, head=None) -> None:
    network = _network_from_saved_model(saved_model_dir, network)
    samples = output_function(network, spec, head)
    specs = _input_specs(spec, 0)
    key = spec.output_key
    archive = keras.export.ExportArchive()
    archive.track(network)
    if "labels" in specs:
        fn = lambda z, labels: {key: samples(z, labels)}  # noqa: E731
    else:
        fn = lambda z: {key: samples(z)}  # noqa: E731
    archive.add_endpoint(SERVING_SIGNATURE, fn, input_signature=list(specs.values()))
    archive.write_out(path, verbose=False)


def _converter(bare_dir: str, spec: LatentServing, batch_size: int):
    if batch_size == 0:
        return tf.lite.TFLiteConverter.from_saved_model(bare_dir,
                                                        signature_keys=[SERVING_SIGNATURE])
    # The same signature, traced for a fixed batch: TRANSPOSE_CONV then gets
    # constant output shapes instead of Shape/Pack ops.
    saved_model = tf.saved_model.load(bare_dir)
    serve = saved_model.signatures[SERVING_SIGNATURE]
    specs = _input_specs(spec, batch_size)
    if "labels" in specs:
        fixed = tf.function(lambda z, labels: serve(z=z, labels=labels)).get_concrete_function(
            specs["z"], specs["labels"])
    else:
        fixed = tf.function(lambda z: serve(z=z)).get_concrete_function(specs["z"])
    return tf.lite.TFLiteConverter.from_concrete_functions([fixed], saved_model)


def calibration_inputs(spec: LatentServing, samples: int, seed: int, batch_size: int):
    """Representative inputs for full-int8 calibration, by input name:
    standard-normal latents (and labels cycling through every class or grid
    attribute combination)."""
    batch = batch_size or 1
    latents = latent.standard_normal(seed, latent.Purpose.CALIBRATION, samples * batch,
                                     spec.latent_dim)
    labels = None
    if spec.num_labels:
        if spec.label_kind == "class":
            labels = np.arange(samples * batch, dtype=np.int32) % spec.num_labels
        else:
            rows, _ = conditioning.grid_rows(spec.label_kind, spec.label_names)
            labels = np.resize(rows, (samples * batch, spec.num_labels)).astype(np.float32)
    for i in range(samples):
        chunk = slice(i * batch, (i + 1) * batch)
        inputs = {"z": latents[chunk]}
        if labels is not None:
            inputs["labels"] = labels[chunk]
        yield inputs


def convert(saved_model_dir: str, variant: str, network, spec: LatentServing,
            calibration_samples: int, seed: int, batch_size: int = 0,
            int8_tanh_clip: float | None = INT8_TANH_CLIP) -> bytes:
    """Converts the exported generator into one TFLite variant.

    Args:
        saved_model_dir: The export's SavedModel.
        variant: `float32`; `float16` (weights stored as float16);
            `dynamic_int8` (int8 weights, activations quantized on the fly);
            `full_int8` (int8 weights and activations, calibrated on
            `calibration_samples` standard-normal latents from `seed`).
        network: A freshly built network of the kind the SavedModel serves
            (`spec.network` of `kgan.tasks.task_of(config).build(config)`);
            it is given the SavedModel's weights (ExportError if they do not fit).
        spec: The task's serving spec.
        calibration_samples, seed: Full-int8 calibration.
        batch_size: Fixes the model's batch (0: dynamic).
        int8_tanh_clip: The clip of the full-int8 image end (module
            docstring); None ends at the plain tanh (measured, not shipped).
    """
    if variant not in TFLITE_VARIANTS:
        raise ValueError(f"unknown TFLite variant {variant!r}")
    with tempfile.TemporaryDirectory(prefix="kgan-tflite-") as scratch:
        bare_dir = os.path.join(scratch, "bare")
        _write_bare_saved_model(saved_model_dir, network, spec, bare_dir,
                                clipped_tanh(int8_tanh_clip)
                                if _int8_image_output(variant, spec) else None)
        converted = convert_variant(
            _converter(bare_dir, spec, batch_size), variant,
            lambda: calibration_inputs(spec, calibration_samples, seed, batch_size),
            _int8_image_output(variant, spec))
        if _int8_image_output(variant, spec):
            path = os.path.join(scratch, "check.tflite")
            with open(path, "wb") as f:
                f.write(converted)
            require_pixel_grid(path)
        return converted


# A uint8 output of scale 1/128 and zero point 128 is the pixel mapping of the
# module docstring; anything else would serve values that are not pixels.
PIXEL_GRID = (1.0 / 128.0, 128)
FULL_INT8_PIXEL_MAPPING = ("round(128 x) + 128, clipped to 0..255, for generator output x in "
                           "[-1, 1] (within one level of the SavedModel's mapping)")


def require_pixel_grid(model_path: str) -> None:
    """ExportError unless the model's output is uint8 pixels (`PIXEL_GRID`)."""
    runner = interpreter(model_path).get_signature_runner(SERVING_SIGNATURE)
    output = next(iter(runner.get_output_details().values()))
    scale, zero_point = output["quantization"]
    if (output["dtype"] != np.uint8 or not np.isclose(scale, PIXEL_GRID[0], rtol=1e-6)
            or zero_point != PIXEL_GRID[1]):
        raise ExportError(
            f"the full_int8 model's output is {np.dtype(output['dtype']).name} at scale "
            f"{scale:.6g}, zero point {zero_point}, not uint8 pixels (scale 1/128, zero point "
            "128): only a generator that ends in tanh converts to full_int8 images")


def convert_variant(converter, variant: str, representative_dataset=None,
                    uint8_output: bool = False) -> bytes:
    """`converter`'s model as `variant`, builtin ops only. full_int8 is
    calibrated on `representative_dataset` (a callable yielding input dicts);
    with `uint8_output` its output is made uint8 (the clipped tanh's pixels)."""
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "full_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if uint8_output:
            converter.inference_output_type = tf.uint8
    return converter.convert()


def interpreter(model_path: str, num_threads: int = 1):
    """A LiteRT interpreter for a `.tflite` file."""
    from ai_edge_litert.interpreter import Interpreter  # imported on use: a TFLite-only dependency

    return Interpreter(model_path=model_path, num_threads=num_threads)


def _few(values) -> str:
    values = np.asarray(values).ravel()
    shown = ", ".join(str(v) for v in values[:8])
    return f"[{shown}{', ...' if values.size > 8 else ''}]"


def _num_classes(interp, labels_index: int, model_path: str) -> int:
    """The classes of a class-conditional model: rows of the table its labels index."""
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    for op in interp._get_ops_details():
        if op["op_name"] == "EMBEDDING_LOOKUP" and op["inputs"][0] == labels_index:
            return int(tensors[op["inputs"][1]]["shape"][0])
    raise ExportError(f"{model_path}: no embedding lookup of the class ids; not a kgan "
                      "class-conditional generator?")


def _checked_inputs(interp, details: dict, model_path: str, z, labels) -> dict:
    """`z` (and `labels`) as the model's input arrays; `ValueError` naming a bad one."""
    latent_dim = int(details["z"]["shape_signature"][1])
    z = np.asarray(z)
    if z.dtype.kind not in "fiu":
        raise ValueError(f"z must be real numbers, got dtype {z.dtype}")
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must be [batch, {latent_dim}] latents, got shape {z.shape}")
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes Inf, refused below
        z = z.astype(np.float32)
    bad_rows = np.flatnonzero(~np.isfinite(z).all(axis=1))
    if bad_rows.size:
        raise ValueError(f"z must be finite (no NaN or Inf); rows that are not: {_few(bad_rows)}")
    if "labels" not in details:
        if labels is not None:
            raise ValueError(f"{model_path} is an unconditional generator: labels must be None")
        return {"z": z}
    if labels is None:
        raise ValueError(f"{model_path} is a conditional generator: pass labels")
    labels = np.asarray(labels)
    shape = (len(z), *(int(d) for d in details["labels"]["shape_signature"][1:]))
    if labels.shape != shape:
        raise ValueError(f"labels must have shape {shape}, one row per latent, got {labels.shape}")
    if details["labels"]["dtype"] == np.int32:
        if labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
        # Checked before the int32 cast, which would wrap 2**32 + 3 to a valid 3.
        classes = _num_classes(interp, details["labels"]["index"], model_path)
        bad = labels[(labels < 0) | (labels >= classes)]
        if bad.size:
            raise ValueError(f"labels must be class ids 0..{classes - 1}, got {_few(bad)}")
        return {"z": z, "labels": labels.astype(np.int32)}
    if labels.dtype.kind not in "fiu":
        raise ValueError(f"labels must be attribute values (numbers), got dtype {labels.dtype}")
    with np.errstate(over="ignore"):
        labels = labels.astype(np.float32)
    bad_rows = np.flatnonzero(~np.isfinite(labels).all(axis=1))
    if bad_rows.size:
        raise ValueError(f"labels must be finite (no NaN or Inf); rows that are not: "
                         f"{_few(bad_rows)}")
    return {"z": z, "labels": labels}


def output_key(runner) -> str:
    """The name of a kgan `.tflite` signature's one output (`images`, `points`)."""
    outputs = runner.get_output_details()
    if len(outputs) != 1:
        raise ExportError(f"a kgan TFLite model has one output, this one {sorted(outputs)}")
    return next(iter(outputs))


def generate(model_path: str, z: np.ndarray, labels: np.ndarray | None = None,
             num_threads: int = 1) -> np.ndarray:
    """Runs a kgan `.tflite` file's serving signature on latents `z` (and
    `labels`, one per latent, for a conditional generator); returns its one
    output (uint8 images, float32 points).

    Inputs are checked first (see the module docstring); an empty batch gives
    `[0, *output_shape]` samples of the output's dtype. A model with a fixed batch size is
    called on consecutive chunks of that size (the last one padded), a
    dynamic-batch model on chunks of at most `CHUNK_SIZE`, so memory does not
    grow with the batch beyond the output.

    Raises:
        ValueError: for a bad input, naming it.
    """
    interp = interpreter(model_path, num_threads)
    runner = interp.get_signature_runner(SERVING_SIGNATURE)
    inputs = _checked_inputs(interp, runner.get_input_details(), model_path, z, labels)
    return run_signature(runner, inputs, CHUNK_SIZE)


def run_signature(runner, inputs: dict, chunk_size: int) -> np.ndarray:
    """A signature runner's one output for checked `inputs` (arrays with one
    row per sample, the batch-defining one first), computed on consecutive
    chunks: of the model's batch size for a fixed-batch model (the last one
    padded), of at most `chunk_size` rows for a dynamic one. An empty batch
    gives `[0, *output_shape]` of the output's dtype."""
    first = next(iter(inputs))
    count = len(inputs[first])
    key = output_key(runner)
    if count == 0:
        output = runner.get_output_details()[key]
        return np.zeros((0, *(int(d) for d in output["shape_signature"][1:])), output["dtype"])
    batch = int(runner.get_input_details()[first]["shape_signature"][0])
    fixed = batch != -1
    step = batch if fixed else chunk_size
    chunks = []
    for start in range(0, count, step):
        chunk = {name: value[start:start + step] for name, value in inputs.items()}
        rows = len(chunk[first])
        if fixed and rows < batch:
            chunk = {name: np.concatenate([value, np.zeros((batch - rows, *value.shape[1:]),
                                                           value.dtype)])
                     for name, value in chunk.items()}
        chunks.append(runner(**chunk)[key][:rows])
    return np.concatenate(chunks)


def operator_names(model_path: str) -> set[str]:
    """Names of the operators in a `.tflite` file (Flex and custom ops show as such)."""
    return {op["op_name"] for op in interpreter(model_path)._get_ops_details()}
