"""Checks an export as its users will run it, before it is published.

These are a latent task's checks; an image-to-image task's
(`kgan.export.translation.verify`) use the comparisons defined here.

* The SavedModel is loaded in a fresh Python process that imports TensorFlow
  only (not kgan); both signatures are called and compared with the Keras
  generator, and the seed signature is called twice to check it repeats.
  Two hostile requests must behave as documented in
  `kgan.export.signatures`: a NaN latent is refused with InvalidArgument,
  and an empty batch returns `[0, *output_shape]` samples.
* TensorFlow's `saved_model_cli` shows the signatures and runs both.
* A served classifier (`classify`, the semi-supervised GAN's) is loaded the
  same way: its probabilities must match the Keras classifier's within
  `CLASSIFY_TOLERANCE`, an empty batch must give `[0, num_classes]`, and an
  image of the wrong size and a batch over the request limit must be
  refused with InvalidArgument.
* Each `.tflite` file runs through the LiteRT interpreter's signature runner
  and is compared with the SavedModel; its operators must all be builtins.

Differences are in the serving spec's unit (`spec.unit`): integer levels for
uint8 outputs (images: pixel levels 0..255), float max/mean absolute
differences for float outputs (points: coordinate units). Tolerances: the
SavedModel may differ from the Keras generator by one level (uint8) or by
`spec.tolerance` (float). A float32 TFLite model may differ from the
SavedModel by one level (float16: two) for uint8 outputs, by
`spec.tolerance` for float outputs.

Quantized image variants are held to what a user sees instead of a level
bound: over the verification latents, their PSNR against the SavedModel's
images must reach `MIN_PSNR_DB`, and they must use at least
`MIN_LEVEL_SHARE` (a quarter) of the distinct grey levels the SavedModel's
images use, which catches a posterized output: the 3-level full_int8 model
this replaced, and the 22 of 256 levels of an unclipped tanh end, while the
clipped end uses about half (130 of 256 on the `make train` generator;
`kgan.export.tflite`).
The report also gives each side's share of pixels strictly between black and
white. The bounds come from the measured FID cost of each variant
(BUILD_NOTES, issue 20).
Quantized float outputs (points) and float16 of a float output, whose error
grows with the weights' magnitudes, have no tolerance: their differences are
reported, not enforced.
"""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

# The classes a `.keras` file of a kgan generator names are registered here.
import kgan.models  # noqa: F401
from kgan.conditioning import label_vectors
from kgan.core.messages import failure_reason
from kgan.errors import ExportError
from kgan.export import tflite
from kgan.export.signatures import (CLASSIFY_OUTPUT, CLASSIFY_SIGNATURE, PNG_OUTPUT,
                                    PNG_SEED_SIGNATURE, PNG_SIGNATURE, SEED_SIGNATURE,
                                    SERVING_SIGNATURE)
from kgan.tasks import ClassifierServing, LatentServing

_FRESH_PROCESS_SCRIPT = f"""
import sys
import numpy as np
import tensorflow as tf

saved_model_dir, inputs_path, outputs_path, OUTPUT_KEY = sys.argv[1:5]
inputs = np.load(inputs_path, allow_pickle=False)
model = tf.saved_model.load(saved_model_dir)
serve = model.signatures["{SERVING_SIGNATURE}"]
seeded = model.signatures["{SEED_SIGNATURE}"]
labels = {{"labels": tf.constant(inputs["labels"])}} if "labels" in inputs else {{}}
seed_labels = {{"labels": tf.constant(inputs["seed_labels"])}} if "labels" in inputs else {{}}
from_z = serve(z=tf.constant(inputs["z"]), **labels)[OUTPUT_KEY].numpy()
from_seed = seeded(seed=tf.constant(inputs["seeds"]), **seed_labels)[OUTPUT_KEY].numpy()
from_seed_again = seeded(seed=tf.constant(inputs["seeds"]), **seed_labels)[OUTPUT_KEY].numpy()
nan_z = inputs["z"][:2].copy()
nan_z[1, 0] = np.nan
try:
    serve(z=tf.constant(nan_z), **{{name: value[:2] for name, value in labels.items()}})
    nan_refusal = ""
except tf.errors.InvalidArgumentError as e:
    nan_refusal = str(e)
empty = serve(z=tf.constant(inputs["z"][:0]), **{{name: value[:0] for name, value in labels.items()}})
png_equal = None
if "{PNG_SIGNATURE}" in model.signatures:
    def decoded(pngs):
        return np.stack([tf.io.decode_png(png).numpy() for png in pngs.numpy()])
    png_z = model.signatures["{PNG_SIGNATURE}"](z=tf.constant(inputs["z"]), **labels)
    png_seed = model.signatures["{PNG_SEED_SIGNATURE}"](seed=tf.constant(inputs["seeds"]),
                                                       **seed_labels)
    png_equal = bool(np.array_equal(decoded(png_z["{PNG_OUTPUT}"]), from_z)
                     and np.array_equal(decoded(png_seed["{PNG_OUTPUT}"]), from_seed))
import keras
tfsm = keras.layers.TFSMLayer(saved_model_dir, call_endpoint="{SERVING_SIGNATURE}")
from_tfsm_layer = np.asarray(tfsm(tf.constant(inputs["z"]), **labels)[OUTPUT_KEY])
kgan_modules = [name for name in sys.modules if name == "kgan" or name.startswith("kgan.")]
np.savez(outputs_path, from_z=from_z, from_seed=from_seed, from_seed_again=from_seed_again,
         from_tfsm_layer=from_tfsm_layer, png_equal=np.array(-1 if png_equal is None else png_equal),
         nan_refusal=np.array(nan_refusal), empty_shape=np.array(empty[OUTPUT_KEY].shape),
         kgan_modules=np.array(kgan_modules, dtype=str))
"""

_FRESH_CLASSIFY_SCRIPT = f"""
import sys
import numpy as np
import tensorflow as tf

saved_model_dir, inputs_path, outputs_path, max_batch_size = sys.argv[1:5]
images = np.load(inputs_path, allow_pickle=False)
classify = tf.saved_model.load(saved_model_dir).signatures["{CLASSIFY_SIGNATURE}"]
probabilities = classify(images=tf.constant(images))["{CLASSIFY_OUTPUT}"].numpy()
empty_shape = classify(images=tf.constant(images[:0]))["{CLASSIFY_OUTPUT}"].shape
refusals = []
for hostile in (np.zeros((2, images.shape[1] + 1, *images.shape[2:]), np.uint8),
                np.zeros((int(max_batch_size) + 1, *images.shape[1:]), np.uint8)):
    try:
        classify(images=tf.constant(hostile))
        refusals.append("")
    except tf.errors.InvalidArgumentError as e:
        refusals.append(str(e))
kgan_modules = [name for name in sys.modules if name == "kgan" or name.startswith("kgan.")]
np.savez(outputs_path, probabilities=probabilities, empty_shape=np.array(empty_shape),
         refusals=np.array(refusals), kgan_modules=np.array(kgan_modules, dtype=str))
"""
# Probabilities are float32 softmax outputs: the same graph, reordered, agrees to rounding.
CLASSIFY_TOLERANCE = 1e-5
_CLASSIFY_IMAGES = 32


def verify_classifier(saved_model_dir: str, classifier: ClassifierServing, network, seed: int,
                      max_batch_size: int, log=print) -> dict:
    """Checks the `classify` signature in a fresh process (see the module
    docstring); returns its report, raises `ExportError` on a failure."""
    images = np.random.default_rng([seed, 0xC1A5]).integers(
        0, 256, (_CLASSIFY_IMAGES, *classifier.image_shape), dtype=np.uint8)
    expected = tf.nn.softmax(tf.cast(network(classifier.to_input(tf.constant(images))),
                                     tf.float32)).numpy()
    log(f"  checking {CLASSIFY_SIGNATURE} in a fresh process without kgan")
    with tempfile.TemporaryDirectory(prefix="kgan-verify-classify-") as scratch:
        inputs, outputs = os.path.join(scratch, "images.npy"), os.path.join(scratch, "out.npz")
        np.save(inputs, images)
        run_program([sys.executable, "-c", _FRESH_CLASSIFY_SCRIPT,
                     os.path.abspath(saved_model_dir), inputs, outputs, str(max_batch_size)],
                    f"running {CLASSIFY_SIGNATURE} in a fresh process", scratch)
        fresh = np.load(outputs, allow_pickle=False)
    if fresh["kgan_modules"].size:
        raise ExportError(f"the SavedModel imported kgan when loaded: {fresh['kgan_modules']}")
    difference = float(np.abs(fresh["probabilities"] - expected).max())
    wrong_size, too_many = (str(message) for message in fresh["refusals"])
    report = {"images_checked": _CLASSIFY_IMAGES, "max_abs_diff": difference,
              "same_classes": bool(np.array_equal(fresh["probabilities"].argmax(1),
                                                  expected.argmax(1))),
              "empty_batch_shape": [int(d) for d in fresh["empty_shape"]],
              "refuses_wrong_image_size": "images" in wrong_size,
              "refuses_too_many_images": f"at most {max_batch_size} images" in too_many}
    if difference > CLASSIFY_TOLERANCE or not report["same_classes"]:
        raise ExportError(f"{CLASSIFY_SIGNATURE} differs from the Keras classifier by "
                          f"{difference:.2g} in probability (tolerance {CLASSIFY_TOLERANCE})")
    if report["empty_batch_shape"] != [0, len(classifier.class_names)]:
        raise ExportError(f"{CLASSIFY_SIGNATURE} returned shape {report['empty_batch_shape']} "
                          "for an empty batch")
    if not (report["refuses_wrong_image_size"] and report["refuses_too_many_images"]):
        raise ExportError(f"{CLASSIFY_SIGNATURE} accepted a hostile request: "
                          f"{wrong_size or 'an image of the wrong size'}; "
                          f"{too_many or 'more images than the limit'}")
    return report


# A converted float32 model may flip a rounding by one level; anything more is a broken export.
_LEVEL_TOLERANCE = {"float32": 1, "float16": 2}


def tflite_tolerance(spec: LatentServing, variant: str):
    """The largest difference a TFLite variant may show against the
    SavedModel, in `spec.unit`; None if only reported."""
    if spec.output_dtype == "uint8":
        return _LEVEL_TOLERANCE.get(variant)
    return spec.tolerance if variant == "float32" else None


def _saved_model_tolerance(spec: LatentServing):
    return 1 if spec.output_dtype == "uint8" else spec.tolerance


def _proto_dtype(dtype: str) -> str:
    """`DT_UINT8`, `DT_FLOAT`: how saved_model_cli names a dtype."""
    return types_pb2.DataType.Name(tf.dtypes.as_dtype(dtype).as_datatype_enum)


def run_program(args, what: str, cwd: str) -> str:
    """`args`' stdout; ExportError `<what> failed: <its last stderr line>` if it fails."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
        raise ExportError(f"{what} failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}")
    return result.stdout


# Publication bounds of quantized image variants (module docstring).
MIN_PSNR_DB = 30.0
MIN_LEVEL_SHARE = 0.25


def _tone_share(images) -> float:
    """Share of pixels strictly between black (0) and white (255)."""
    images = np.asarray(images)
    return float(np.mean((images > 0) & (images < 255))) if images.size else 0.0


def image_fidelity(candidate, reference) -> dict:
    """How uint8 images `candidate` compare with `reference` (same latents):
    PSNR in dB over all pixels (None when identical), distinct levels used,
    and the in-between tone share of each."""
    candidate = np.asarray(candidate, np.float64)
    reference = np.asarray(reference, np.float64)
    mse = float(np.mean((candidate - reference) ** 2)) if candidate.size else 0.0
    return {"psnr_db": None if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse)),
            "levels": int(np.unique(candidate).size),
            "reference_levels": int(np.unique(reference).size),
            "tone_share": _tone_share(candidate),
            "reference_tone_share": _tone_share(reference)}


def fidelity_failure(fidelity: dict) -> str | None:
    """Why a quantized image variant is not published, or None."""
    psnr = fidelity["psnr_db"]
    if psnr is not None and psnr < MIN_PSNR_DB:
        return f"PSNR {psnr:.1f} dB against the SavedModel (at least {MIN_PSNR_DB:g} dB)"
    if fidelity["levels"] < MIN_LEVEL_SHARE * fidelity["reference_levels"]:
        return (f"{fidelity['levels']} grey levels used against the SavedModel's "
                f"{fidelity['reference_levels']}: posterized")
    return None


def check_keras_file(path: str, spec, serve, saved_model_output, tolerance) -> dict:
    """Loads a `.keras` file with `safe_mode=True` and compares `serve(network)`
    (its served output for the verification inputs) with the SavedModel's;
    ExportError if it does not load or differs by more than `tolerance`."""
    try:
        network = keras.models.load_model(path, safe_mode=True)
    except Exception as e:  # whatever Keras raises, the file does not load
        raise ExportError(f"{path} does not load with keras.models.load_model(safe_mode=True): "
                          f"{failure_reason(e)}") from None
    result = {**differences(np.asarray(serve(network)), saved_model_output, spec),
              "safe_mode": True, "tolerance": tolerance}
    if result["max_abs_diff"] > tolerance:
        raise ExportError(f"{path} differs from the SavedModel by {result['max_abs_diff']} "
                          f"{spec.unit} (tolerance {tolerance})")
    return result


def _verify_keras_file(path: str, spec: LatentServing, z, labels, saved_model_output) -> dict:
    inputs = tf.constant(z) if labels is None else [
        tf.constant(z), label_vectors(labels, spec.label_kind, spec.num_labels)]
    return check_keras_file(
        path, spec, lambda network: spec.to_output(network(inputs, training=False)),
        saved_model_output, _saved_model_tolerance(spec))


def differences(a, b, spec) -> dict:
    """Max and mean absolute difference of two outputs, in `spec.unit`
    (integer levels for uint8 outputs)."""
    if spec.output_dtype == "uint8":
        difference = np.abs(np.asarray(a, np.int32) - np.asarray(b, np.int32))
        return {"max_abs_diff": int(difference.max()), "mean_abs_diff": float(difference.mean())}
    difference = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return {"max_abs_diff": float(difference.max()), "mean_abs_diff": float(difference.mean())}


def verify(saved_model_dir: str, spec: LatentServing, tflite_files: dict[str, str],
           expected_from_z: np.ndarray,
           expected_from_seed: np.ndarray, z: np.ndarray, seeds: np.ndarray,
           labels: np.ndarray | None = None, seed_labels: np.ndarray | None = None,
           keras_file: str | None = None, log=print) -> dict:
    """Runs every check; returns the report, raises `ExportError` on a failure.

    Args:
        saved_model_dir: The SavedModel to check.
        spec: The task's serving spec (output key, dtype, unit, tolerance).
        tflite_files: `{variant: path}` of the converted models.
        expected_from_z: The Keras generator's served output for `z`.
        expected_from_seed: The Keras generator's served output for `seeds`.
        z: float32 latents `[n, latent_dim]`.
        seeds: int64 seeds `[m]`.
        labels, seed_labels: The labels given with `z` and with `seeds`, for
            a conditional generator.
        keras_file: The generator's `.keras` file, checked to load with
            `safe_mode=True` and to serve the SavedModel's output.
        log: Progress output.
    """
    key = spec.output_key
    report = {"units": spec.unit,
              "tflite_compared_with": f"SavedModel {SERVING_SIGNATURE}"}
    with tempfile.TemporaryDirectory(prefix="kgan-verify-") as scratch:
        inputs = os.path.join(scratch, "inputs.npz")
        outputs = os.path.join(scratch, "outputs.npz")
        arrays = {"z": z, "seeds": seeds}
        if labels is not None:
            arrays.update(labels=labels, seed_labels=seed_labels)
            np.save(os.path.join(scratch, "labels.npy"), labels)
        np.savez(inputs, **arrays)
        np.save(os.path.join(scratch, "z.npy"), z)

        log("  loading the SavedModel in a fresh process without kgan")
        run_program([sys.executable, "-c", _FRESH_PROCESS_SCRIPT,
                     os.path.abspath(saved_model_dir), inputs, outputs, key],
                    "loading the SavedModel in a fresh process", scratch)
        fresh = np.load(outputs, allow_pickle=False)  # arrays only: never unpickle
        if fresh["kgan_modules"].size:
            raise ExportError(f"the SavedModel imported kgan when loaded: {fresh['kgan_modules']}")
        report["saved_model"] = {
            SERVING_SIGNATURE: differences(fresh["from_z"], expected_from_z, spec),
            SEED_SIGNATURE: differences(fresh["from_seed"], expected_from_seed, spec),
            "seed_repeats_exactly": bool(np.array_equal(fresh["from_seed"],
                                                        fresh["from_seed_again"])),
            "loaded_without_kgan": True,
            "keras_tfsm_layer_equal": bool(np.array_equal(fresh["from_tfsm_layer"],
                                                          fresh["from_z"])),
            f"{key}_checked": int(len(z) + len(seeds)),
            "refuses_nan_latents": "z must be finite" in str(fresh["nan_refusal"]),
            "empty_batch_shape": [int(d) for d in fresh["empty_shape"]],
        }
        if not report["saved_model"]["seed_repeats_exactly"]:
            raise ExportError(f"{SEED_SIGNATURE} gave different {key} for the same seeds")
        if int(fresh["png_equal"]) >= 0:
            report["saved_model"]["png_decodes_to_images"] = bool(fresh["png_equal"])
            if not fresh["png_equal"]:
                raise ExportError(f"the PNG signatures' images differ from {SERVING_SIGNATURE}'s "
                                  f"and {SEED_SIGNATURE}'s")
        if not report["saved_model"]["keras_tfsm_layer_equal"]:
            raise ExportError(f"keras.layers.TFSMLayer's {SERVING_SIGNATURE} disagrees with "
                              "tf.saved_model.load")
        if not report["saved_model"]["refuses_nan_latents"]:
            raise ExportError(f"{SERVING_SIGNATURE} accepted a NaN latent")
        if report["saved_model"]["empty_batch_shape"] != [0, *expected_from_z.shape[1:]]:
            raise ExportError(f"{SERVING_SIGNATURE} returned shape "
                              f"{report['saved_model']['empty_batch_shape']} for an empty batch")
        tolerance = _saved_model_tolerance(spec)
        for name in (SERVING_SIGNATURE, SEED_SIGNATURE):
            if report["saved_model"][name]["max_abs_diff"] > tolerance:
                raise ExportError(f"the SavedModel's {name} differs from the Keras generator by "
                                  f"{report['saved_model'][name]['max_abs_diff']} {spec.unit} "
                                  f"(tolerance {tolerance})")

        log("  inspecting and running it with saved_model_cli")
        cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
        shown = run_program([*cli, "show", "--dir", saved_model_dir, "--all"],
                            "saved_model_cli show", scratch)
        for needed in (f"signature_def['{SERVING_SIGNATURE}']", f"signature_def['{SEED_SIGNATURE}']",
                       f"outputs['{key}']", _proto_dtype(spec.output_dtype)):
            if needed not in shown:
                raise ExportError(f"saved_model_cli show does not list {needed}")
        z_inputs = f"z={os.path.join(scratch, 'z.npy')}"
        seed_exprs = f"seed={[int(s) for s in seeds]}"
        if labels is not None:
            z_inputs += f";labels={os.path.join(scratch, 'labels.npy')}"
            seed_exprs += f";labels={seed_labels.tolist()}"
        runs = {SERVING_SIGNATURE: (["--inputs", z_inputs], fresh["from_z"]),
                SEED_SIGNATURE: (["--input_exprs", seed_exprs], fresh["from_seed"])}
        for name, (input_args, fresh_output) in runs.items():
            outdir = os.path.join(scratch, name)
            run_program([*cli, "run", "--dir", saved_model_dir, "--tag_set", "serve",
                         "--signature_def", name, *input_args, "--outdir", outdir],
                        f"saved_model_cli run {name}", scratch)
            if not np.array_equal(np.load(os.path.join(outdir, f"{key}.npy"),
                                          allow_pickle=False), fresh_output):
                raise ExportError(f"saved_model_cli run {name} disagrees with tf.saved_model.load")
        report["saved_model_cli"] = {"show": "ok", "run": sorted(runs)}

    if keras_file:
        log(f"  loading {os.path.basename(keras_file)} with keras.models.load_model(safe_mode=True)")
        report["keras_file"] = _verify_keras_file(keras_file, spec, z, labels, fresh["from_z"])

    report["tflite"] = {}
    for variant, path in tflite_files.items():
        log(f"  running {os.path.basename(path)} with LiteRT")
        not_builtin = sorted(op for op in tflite.operator_names(path)
                             if op.startswith("Flex") or op == "CUSTOM")
        if not_builtin:
            raise ExportError(f"{variant} TFLite model uses non-builtin ops: {not_builtin}")
        tolerance = tflite_tolerance(spec, variant)
        samples = tflite.generate(path, z, labels)
        result = {**differences(samples, fresh["from_z"], spec),
                  "builtin_ops_only": True, "tolerance": tolerance}
        if spec.output_dtype == "uint8":
            result["fidelity"] = image_fidelity(samples, fresh["from_z"])
        report["tflite"][variant] = result
        if tolerance is not None and result["max_abs_diff"] > tolerance:
            raise ExportError(f"the {variant} TFLite model differs from the SavedModel by "
                              f"{result['max_abs_diff']} {spec.unit} (tolerance {tolerance})")
        failure = "fidelity" in result and fidelity_failure(result["fidelity"])
        if failure:
            raise ExportError(f"the {variant} TFLite model loses too much against the "
                              f"SavedModel: {failure}; not published (choose other "
                              f"--tflite variants)")
    return report
