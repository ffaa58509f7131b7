"""Export of an image-to-image task (`kgan.tasks.TranslationServing`): uint8 RGB
images in, uint8 RGB images out, one direction per signature.

`kgan.export.export` calls `write_version` for such a task; the version's
folder then holds:

* the SavedModel, one signature per direction, each taking `images` uint8
  `[batch, height, width, 3]` and returning `{"images": uint8 [batch, height,
  width, 3]}`, computed as `to_output(network(to_input(images),
  training=False))` with the spec's mappings. The first direction is
  `serving_default` (the spec names it so; CycleGAN's second is `b_to_a`).
  Each direction has a PNG twin (`serving_png`, `<signature>_png`: the same
  input, `{"png_bytes": string [batch]}`, one PNG file per image, which TF
  Serving's REST API sends base64-encoded instead of 4 bytes of JSON per
  pixel);
* `generator.keras`, the default direction's network (the latent export's
  name), and `<network>.keras` for each other direction (`generator_ba.keras`):
  `import kgan`, then `keras.models.load_model(path)` (safe mode on) gives
  the network, float input as `to_input` makes it, float output in [-1, 1];
* `tflite/<model_name>_<variant>.tflite` for the default direction and
  `tflite/<model_name>_<signature>_<variant>.tflite` for the others, taking
  the served size, or `tflite_image_shape` where the SavedModel takes any;
* `export.json` and `serving_request.json`, a complete TF Serving REST
  request for `serving_default` with one verification input image (as
  nested lists it is about 65 KB at 64x64, 260 KB at 128x128, so
  `export.json` describes the body instead of repeating it).

Bad requests are refused inside the graph with InvalidArgument
(`tf.errors.InvalidArgumentError`) naming `images`, and the server carries on:

* Wrong size or channels (`[1, 63, 64, 3]`, grayscale `[1, 64, 64, 1]`):
  "Shape of tensor images [1,64,64,1] is not compatible with expected shape
  [?,64,64,3]". A model server does not check a fed tensor against the
  declared shape. A spec that takes any size (super-resolution, `scale`
  times larger out) refuses images without pixels or over the spec's
  `max_input_pixels`: "tensor images must hold images of at least 1 and at
  most 4194304 pixels ...".
* More than `max_batch_size` images: "a request may ask for at most 10000
  images (the limit of this export; split the request); rows of images:
  [10001]".
* Float images given as a tensor are refused by TensorFlow before the graph
  runs ("... expected to be a uint8 tensor but is a float tensor"), and so
  is a Python list holding fractions ("Cannot convert ... to EagerTensor of
  dtype uint8"). A NumPy array of another dtype, though, is cast to uint8
  by TensorFlow's binding when calling `tf.saved_model.load(path)
  .signatures[name]` from Python: float images in [0, 1] become black, and
  values outside 0..255 wrap around. Send uint8 pixels.

An empty batch returns `[0, height, width, 3]` without running the network.
A batch is translated in chunks of at most `chunk_size` images
(`CHUNK_SIZE`), one after the other, so activations in memory are one
chunk's whatever the batch size.

The TFLite models are converted from a bare SavedModel of the unchecked
translation of each direction's network (TFLite has no Assert op), at the
fixed batch `tflite_batch_size` (0: dynamic), uint8 in and out, with one
signature, `serving_default`; `translate` runs one, checking its input in
Python. `full_int8` is int8 inside: its uint8 input is cast and quantized
at the boundary (as the latent full_int8 quantizes its float latents), its
end is the clipped tanh of the network's `pre_tanh` made uint8 (the pixel
grid of `kgan.export.tflite`: `round(128 x) + 128`). It is calibrated on
held-out input images from the task (`serving_examples`); the first of them
has one value set to 0 and one to 255, so the input's int8 scale is
exactly one pixel level whatever range the images span. Operations without
an int8 kernel stay in float32 between a dequantization and a quantization
(the converter does not refuse them): the report lists them for each
full_int8 model (`float_operators`, empty when it is integer-only after its
input cast), since such a model needs a float-capable CPU beside an int8
accelerator.

Verification, before anything is published (`verify`): a fresh Python
process that imports TensorFlow only loads the SavedModel, translates the
verification images with every signature (and its PNG twin), sends a
wrong-size and a wrong-channel request (each must be refused naming
`images`) and an empty batch (`[0, height, width, 3]`); its translations
must be within `spec.tolerance` levels of the Keras networks'. Each `.keras`
file must load in safe mode and agree as closely. Each `.tflite` file runs
through LiteRT with builtin ops only and is compared with the SavedModel's
signature of its direction: float32 within `spec.tolerance` levels, float16
within 2, the int8 variants held to `kgan.export.verify.fidelity_failure`
(PSNR and grey levels). The verification images are held-out inputs from
the task; when the task cannot give them (its data is missing), seeded
uniform-noise images stand in and the report says so, except for
full_int8, whose calibration needs real images (ExportError).
"""

import json
import os
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kgan import tasks
from kgan.core.messages import failure_reason
from kgan.errors import ExportError, KganError
from kgan.export import tflite
from kgan.export.signatures import (MAX_BATCH_SIZE, PNG_OUTPUT, PNG_SIGNATURE, SERVING_SIGNATURE,
                                    Endpoint, describe, encode_png, in_chunks, require)
from kgan.export.verify import (check_keras_file, differences, fidelity_failure, image_fidelity,
                                run_program)
from kgan.tasks import Direction, TranslationServing

# The default direction's Keras file: the latent export's name (kgan.export.KERAS_FILE).
KERAS_FILE = "generator.keras"
# Images translated at once within one request. A 64-image request to
# CycleGAN's 128x128 ResNet generator grew the server's peak memory by 170 MB
# in chunks of 16 and by 1.1 GB in chunks of 64, at the same 6-7 images/s
# on this 2-core CPU (untrained weights; pix2pix's U-Net: 240 MB and 700 MB).
CHUNK_SIZE = 16
_VERIFY_IMAGES = 8
# A float16 model may flip roundings by up to two levels.
_FLOAT16_LEVELS = 2

_FRESH_PROCESS_SCRIPT = f"""
import json
import sys
import numpy as np
import tensorflow as tf

saved_model_dir, inputs_path, outputs_path, names, probes = sys.argv[1:6]
inputs = np.load(inputs_path, allow_pickle=False)
model = tf.saved_model.load(saved_model_dir)


def refusal(serve, images):
    try:
        serve(images=tf.constant(images))
    except tf.errors.InvalidArgumentError as e:
        return str(e)
    return ""


results = {{}}
for name, png_name in json.loads(names).items():
    serve = model.signatures[name]
    images = inputs[name]
    results[name] = serve(images=tf.constant(images))["images"].numpy()
    pngs = model.signatures[png_name](images=tf.constant(images))["{PNG_OUTPUT}"].numpy()
    results[name + ".png"] = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
    for probe, shape in json.loads(probes).items():
        results[name + "." + probe] = np.array(refusal(serve, np.zeros(shape, np.uint8)))
    results[name + ".empty_shape"] = np.array(serve(images=tf.constant(images[:0]))["images"].shape)
results["kgan_modules"] = np.array(
    [name for name in sys.modules if name == "kgan" or name.startswith("kgan.")], dtype=str)
np.savez(outputs_path, **results)
"""


def check_spec(spec: TranslationServing) -> None:
    """ExportError unless `spec` can be exported: its first direction is
    `serving_default`, signatures (PNG twins included) and Keras files are
    distinct, and images are RGB."""
    if len(spec.image_shape) != 3 or spec.image_shape[-1] != 3:
        raise ExportError(f"a translation task serves RGB images (height, width, 3), this one "
                          f"{tuple(spec.image_shape)}")
    if spec.any_size and (spec.tflite_image_shape is None
                          or None in spec.tflite_image_shape
                          or tuple(spec.tflite_image_shape)[-1:] != (3,)):
        raise ExportError(f"a translation task serving images of any size must state the "
                          f"TFLite models' fixed (height, width, 3), not "
                          f"{spec.tflite_image_shape}")
    if not spec.directions or spec.directions[0].signature != SERVING_SIGNATURE:
        first = spec.directions[0].signature if spec.directions else None
        raise ExportError(f"the first direction must be served as {SERVING_SIGNATURE}, "
                          f"the task names it {first!r}")
    names = [name for d in spec.directions for name in (d.signature, png_signature(d.signature))]
    files = [keras_file(spec, d) for d in spec.directions]
    for kind, taken in (("signature", names), ("Keras file", files)):
        repeated = sorted({name for name in taken if taken.count(name) > 1})
        if repeated:
            raise ExportError(f"the task's directions share the {kind} {repeated[0]!r}")


def png_signature(signature: str) -> str:
    """The PNG twin of a direction's signature (`serving_png`, `<signature>_png`)."""
    return PNG_SIGNATURE if signature == SERVING_SIGNATURE else f"{signature}_png"


def keras_file(spec: TranslationServing, direction: Direction) -> str:
    """The `.keras` file of a direction's network."""
    return KERAS_FILE if direction == spec.directions[0] else f"{direction.network}.keras"


def tflite_file(model_name: str, signature: str, variant: str) -> str:
    """The `.tflite` file name of a direction's variant."""
    if signature == SERVING_SIGNATURE:
        return f"{model_name}_{variant}.tflite"
    return f"{model_name}_{signature}_{variant}.tflite"


def networks_of(task, spec: TranslationServing) -> dict:
    """Each direction's network on `task` (`Direction.network`), by signature."""
    networks = {}
    for direction in spec.directions:
        network = getattr(task, direction.network, None)
        if not isinstance(network, keras.Model):
            raise ExportError(f"task {type(task).__name__} has no network "
                              f"{direction.network!r} for {direction.signature}")
        networks[direction.signature] = network
    return networks


def input_spec(spec: TranslationServing, batch_size: int | None = None,
               fixed: bool = False) -> tf.TensorSpec:
    """Every signature's input: uint8 `[batch, *image_shape]`; `fixed`: the
    TFLite models' input, `tflite_image_shape` when the spec takes any size."""
    shape = spec.tflite_image_shape if fixed and spec.any_size else spec.image_shape
    return tf.TensorSpec([batch_size, *shape], tf.uint8, name=spec.input_key)


def output_spec(spec: TranslationServing, fixed: bool = False) -> tf.TensorSpec:
    """Every signature's output: uint8 `[batch, *output_shape]` (`fixed`: of
    the TFLite models)."""
    return tf.TensorSpec([None, *spec.scaled(input_spec(spec, fixed=fixed).shape)], tf.uint8,
                         name=spec.output_key)


def verification_shape(spec: TranslationServing) -> tuple:
    """The shape of the images export verifies with: the served shape, or
    the TFLite models' when the spec takes any size."""
    return tuple(input_spec(spec, fixed=True).shape[1:])


def probe_shapes(spec: TranslationServing) -> dict:
    """The requests the SavedModel must refuse, as image shapes: one of the
    wrong size (a fixed-size spec: a row short; any size: an image with a
    side of 0 pixels) and one of the wrong channels (grayscale)."""
    height, width, _ = verification_shape(spec)
    wrong_size = (1, 0, width, 3) if spec.any_size else (1, height - 1, width, 3)
    return {"wrong_size": wrong_size, "wrong_channels": (1, height, width, 1)}


def translation_function(network, spec: TranslationServing, head=None):
    """The bare computation, unchecked: uint8 images -> served uint8 images.
    With `head`, the result is instead `head(network.pre_tanh(inputs))`
    (the full-int8 end, `kgan.export.tflite.clipped_tanh`)."""
    def translate(images):
        inputs = spec.to_input(images)
        if head is None:
            return spec.to_output(network(inputs, training=False))
        return head(network.pre_tanh(inputs, training=False))
    return translate


def _checked(images, spec: TranslationServing, max_batch_size: int) -> tf.Tensor:
    """`images` once its shape and the batch cap (and, for any size, the
    image size) are checked."""
    # A model server feeds whatever shape it was sent: the declared one is not enforced.
    images = tf.ensure_shape(images, [None, *spec.image_shape], name=spec.input_key)
    count = tf.shape(images)[0]
    checks = [require(count <= max_batch_size,
                      f"a request may ask for at most {max_batch_size} images (the limit of "
                      f"this export; split the request); rows of {spec.input_key}:", count)]
    if spec.any_size:
        sides = tf.shape(images)[1:3]
        pixels = tf.cast(sides[0], tf.int64) * tf.cast(sides[1], tf.int64)
        checks.append(require(
            (tf.reduce_min(sides) >= 1) & (pixels <= spec.max_input_pixels),
            f"tensor {spec.input_key} must hold images of at least 1 and at most "
            f"{spec.max_input_pixels} pixels (the limit of this export); height and width:", sides))
    # Nothing is translated before the checks passed.
    with tf.control_dependencies(checks):
        return tf.identity(images)


def endpoints(networks: dict, spec: TranslationServing, max_batch_size: int = MAX_BATCH_SIZE,
              chunk_size: int = CHUNK_SIZE) -> dict[str, Endpoint]:
    """The SavedModel signatures, by name: each direction's and its PNG twin.

    Args:
        networks: Each direction's Keras network, by signature (`networks_of`).
        spec: The task's serving spec.
        max_batch_size: The most images one request may hold.
        chunk_size: The most images translated at once within a request.
    """
    check_spec(spec)
    output = output_spec(spec)

    def serving(translate):
        def served(images):
            images = _checked(images, spec, max_batch_size)
            sides = tf.shape(images)[1:3] * spec.scale
            return in_chunks(translate, [images], chunk_size, output,
                             tf.concat([[0], sides, [3]], 0))

        # Named `images`: a restored function binds keyword arguments by it.
        def fn(images):
            return {spec.output_key: served(images)}

        def png(images):
            return {PNG_OUTPUT: encode_png(served(images))}

        return Endpoint(fn, [input_spec(spec)]), Endpoint(png, [input_spec(spec)])

    table = {}
    for direction in spec.directions:
        table[direction.signature], table[png_signature(direction.signature)] = serving(
            translation_function(networks[direction.signature], spec))
    return table


def write_saved_model(networks: dict, spec: TranslationServing, path: str,
                      max_batch_size: int = MAX_BATCH_SIZE, chunk_size: int = CHUNK_SIZE) -> None:
    """Writes the signatures of `endpoints` as a SavedModel at `path`."""
    archive = keras.export.ExportArchive()
    for network in {id(n): n for n in networks.values()}.values():
        archive.track(network)
    for name, endpoint in endpoints(networks, spec, max_batch_size, chunk_size).items():
        archive.add_endpoint(name, endpoint.fn, input_signature=endpoint.input_signature)
    archive.write_out(path, verbose=False)


def signature_table(spec: TranslationServing) -> dict:
    """`export.json`'s `signatures`: each signature's inputs, outputs and direction."""
    images, outputs = describe(input_spec(spec)), describe(output_spec(spec))
    table = {}
    for direction in spec.directions:
        translates = f"{direction.source} -> {direction.target}"
        table[direction.signature] = {"inputs": {spec.input_key: images},
                                      "outputs": {spec.output_key: outputs},
                                      "translates": translates}
        table[png_signature(direction.signature)] = {
            "inputs": {spec.input_key: images},
            "outputs": {PNG_OUTPUT: {"dtype": "string", "shape": [None]}},
            "translates": f"{translates}, as PNG files"}
    return table


# ----- TFLite -----

def _write_bare_saved_model(network, spec: TranslationServing, path: str, head=None) -> None:
    if head is not None and not callable(getattr(network, "pre_tanh", None)):
        raise ExportError(f"full_int8 ends in the network's pre-tanh activations, and "
                          f"{type(network).__name__} has no pre_tanh")
    translate = translation_function(network, spec, head)
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint(SERVING_SIGNATURE, lambda images: {spec.output_key: translate(images)},
                         input_signature=[input_spec(spec, fixed=True)])
    archive.write_out(path, verbose=False)


def _converter(bare_dir: str, spec: TranslationServing, batch_size: int):
    if batch_size == 0:
        return tf.lite.TFLiteConverter.from_saved_model(bare_dir,
                                                        signature_keys=[SERVING_SIGNATURE])
    # Traced for a fixed batch: TRANSPOSE_CONV then gets constant output shapes.
    saved_model = tf.saved_model.load(bare_dir)
    serve = saved_model.signatures[SERVING_SIGNATURE]
    fixed = tf.function(lambda images: serve(images=images)).get_concrete_function(
        input_spec(spec, batch_size, fixed=True))
    return tf.lite.TFLiteConverter.from_concrete_functions([fixed], saved_model)


def calibration_batches(images: np.ndarray, batch_size: int, key: str = "images"):
    """full_int8's representative dataset: every image once, in batches of
    `batch_size` (0: dynamic, batches of 1; the last one filled from the
    first images). The first image has one value set to 0 and one to 255,
    pinning the input's calibrated range to the whole pixel range."""
    batch = batch_size or 1
    count = -(-len(images) // batch) * batch
    images = np.resize(np.asarray(images, np.uint8), (count, *np.shape(images)[1:]))
    images[0].flat[:2] = (0, 255)
    for start in range(0, count, batch):
        yield {key: images[start:start + batch]}


def convert(network, spec: TranslationServing, variant: str, batch_size: int = 1,
            calibration_images: np.ndarray | None = None) -> bytes:
    """Converts one direction's network into one TFLite variant.

    Args:
        network: The direction's Keras network (`networks_of`).
        spec: The task's serving spec.
        variant: One of `kgan.config.TFLITE_VARIANTS` (`kgan.export.tflite.convert`).
        batch_size: Fixes the model's batch (0: dynamic).
        calibration_images: full_int8's representative inputs, held-out
            uint8 images of this direction `[n, *image_shape]`.
    """
    int8 = variant == "full_int8"
    if int8 and (calibration_images is None or not len(calibration_images)):
        raise ExportError("full_int8 needs calibration images, the task's held-out inputs")
    with tempfile.TemporaryDirectory(prefix="kgan-tflite-") as scratch:
        bare_dir = os.path.join(scratch, "bare")
        _write_bare_saved_model(network, spec, bare_dir,
                                tflite.clipped_tanh(tflite.INT8_TANH_CLIP) if int8 else None)
        converted = tflite.convert_variant(
            _converter(bare_dir, spec, batch_size), variant,
            lambda: calibration_batches(calibration_images, batch_size, spec.input_key), int8)
        path = os.path.join(scratch, "check.tflite")
        with open(path, "wb") as f:
            f.write(converted)
        output = tflite.interpreter(path).get_signature_runner(
            SERVING_SIGNATURE).get_output_details()[spec.output_key]
        wanted = tuple(output_spec(spec, fixed=True).shape[1:])
        if tuple(output["shape_signature"][1:]) != wanted:
            raise ExportError(f"the {variant} model outputs "
                              f"{[int(d) for d in output['shape_signature']]}, not "
                              f"[batch, {', '.join(map(str, wanted))}] images")
        if int8:
            tflite.require_pixel_grid(path)
        return converted


def translate(model_path: str, images, num_threads: int = 1,
              chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Runs a kgan translation `.tflite` file on uint8 `images`; returns uint8 images.

    A fixed-batch model runs on consecutive chunks of its batch size (the
    last one padded), a dynamic one on chunks of at most `chunk_size`; an
    empty batch gives `[0, *image_shape]`.

    Raises:
        ValueError: for images that are not uint8 `[batch, *image_shape]`.
    """
    runner = tflite.interpreter(model_path, num_threads).get_signature_runner(SERVING_SIGNATURE)
    details = runner.get_input_details()
    if list(details) != ["images"]:
        raise ValueError(f"{model_path} is not a kgan translation model: its inputs are "
                         f"{sorted(details)}, not images")
    shape = tuple(int(d) for d in details["images"]["shape_signature"][1:])
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels (0..255), got dtype {images.dtype}")
    if images.shape[1:] != shape or images.ndim != 4:
        raise ValueError(f"images must be [batch, {', '.join(map(str, shape))}], got shape "
                         f"{list(images.shape)}")
    return tflite.run_signature(runner, {"images": images}, chunk_size)


def float_operators(model_path: str) -> list[str]:
    """The operators of a `.tflite` file that compute in float32, by name:
    those with a float32 output, besides the casts and dequantizations that
    only convert into float."""
    interp = tflite.interpreter(model_path)
    dtypes = {t["index"]: t["dtype"] for t in interp.get_tensor_details()}
    return sorted({op["op_name"] for op in interp._get_ops_details()
                   if op["op_name"] not in ("CAST", "DEQUANTIZE")
                   and any(dtypes[i] == np.float32 for i in op["outputs"])})


def tflite_tolerance(spec: TranslationServing, variant: str):
    """The largest level difference a variant may show against the
    SavedModel; None for the int8 variants, held to their fidelity instead."""
    return {"float32": spec.tolerance,
            "float16": max(spec.tolerance, _FLOAT16_LEVELS)}.get(variant)


# ----- verification -----

def input_images(run_config, spec: TranslationServing, count: int, seed: int,
                 required: bool) -> tuple[dict, str]:
    """`count` held-out uint8 input images per direction (by signature), from
    the task's `serving_examples`, and where they came from.

    When the task cannot give them (a `KganError`, such as missing data),
    seeded uniform-noise images stand in, unless they are `required`
    (full_int8's calibration): then ExportError.
    """
    try:
        examples = tasks.task_of(run_config).serving_examples(run_config, count, seed)
    except KganError as e:
        if required:
            raise ExportError(f"full_int8 needs calibration images, the task's held-out inputs, "
                              f"and they are not available: {failure_reason(e)} (export the "
                              f"other --tflite variants)") from None
        noise = np.random.default_rng(seed).integers(
            0, 256, (count, *verification_shape(spec)), dtype=np.uint8)
        return ({d.signature: noise for d in spec.directions},
                f"seeded uniform-noise images: the task's held-out inputs are not available "
                f"({failure_reason(e)})")
    wanted = (count, *verification_shape(spec))
    images = {}
    for direction in spec.directions:
        given = examples.get(direction.signature) if isinstance(examples, dict) else None
        if given is None or np.asarray(given).dtype != np.uint8 or np.shape(given) != wanted:
            got = "nothing" if given is None else (
                f"{np.asarray(given).dtype} {list(np.shape(given))}")
            raise ExportError(f"the task's serving_examples gave {got} for "
                              f"{direction.signature}, not uint8 {list(wanted)} images")
        images[direction.signature] = np.asarray(given)
    return images, "held-out input images (the task's serving_examples)"


def check_saved_model(saved_model_dir: str, spec: TranslationServing, images: dict,
                      expected: dict, log=print) -> tuple[dict, dict]:
    """Loads the SavedModel in a fresh process without kgan and checks every
    direction's signature (module docstring).

    Args:
        images: uint8 input images `[n, *image_shape]` per signature.
        expected: The Keras networks' translations of them, per signature.

    Returns:
        The report, and the SavedModel's translations per signature (what
        the Keras and TFLite files are compared with).
    """
    names = {d.signature: png_signature(d.signature) for d in spec.directions}
    with tempfile.TemporaryDirectory(prefix="kgan-verify-") as scratch:
        inputs, outputs = os.path.join(scratch, "inputs.npz"), os.path.join(scratch, "out.npz")
        np.savez(inputs, **images)
        log("  loading the SavedModel in a fresh process without kgan")
        run_program([sys.executable, "-c", _FRESH_PROCESS_SCRIPT,
                     os.path.abspath(saved_model_dir), inputs, outputs, json.dumps(names),
                     json.dumps(probe_shapes(spec))],
                    "loading the SavedModel in a fresh process", scratch)
        with np.load(outputs, allow_pickle=False) as loaded:  # arrays only: never unpickle
            fresh = dict(loaded)
    if fresh["kgan_modules"].size:
        raise ExportError(f"the SavedModel imported kgan when loaded: {fresh['kgan_modules']}")
    report = {"loaded_without_kgan": True}
    empty = [0, *spec.scaled(verification_shape(spec))]
    for name in names:
        result = {**differences(fresh[name], expected[name], spec), "tolerance": spec.tolerance,
                  "png_decodes_to_images": bool(np.array_equal(fresh[f"{name}.png"],
                                                               fresh[name])),
                  "empty_batch_shape": [int(d) for d in fresh[f"{name}.empty_shape"]]}
        for probe in ("wrong_size", "wrong_channels"):
            result[f"refuses_{probe}"] = (f"tensor {spec.input_key} "
                                          in str(fresh[f"{name}.{probe}"]))
        report[name] = result
        if result["max_abs_diff"] > spec.tolerance:
            raise ExportError(f"the SavedModel's {name} differs from the Keras network by "
                              f"{result['max_abs_diff']} {spec.unit} "
                              f"(tolerance {spec.tolerance})")
        if not result["png_decodes_to_images"]:
            raise ExportError(f"{names[name]}'s PNG files differ from {name}'s images")
        for probe in ("wrong_size", "wrong_channels"):
            if not result[f"refuses_{probe}"]:
                raise ExportError(f"{name} did not refuse a {probe.replace('_', ' ')} request "
                                  f"with InvalidArgument naming {spec.input_key}")
        if result["empty_batch_shape"] != empty:
            raise ExportError(f"{name} returned shape {result['empty_batch_shape']} for an "
                              f"empty batch, not {empty}")
    return report, {name: fresh[name] for name in names}


def check_keras_files(keras_files: dict, spec: TranslationServing, images: dict,
                      references: dict, log=print) -> dict:
    """Each direction's `.keras` file (by signature) loads in safe mode and
    translates `images` within `spec.tolerance` of `references`."""
    report = {}
    for name, path in keras_files.items():
        log(f"  loading {os.path.basename(path)} with keras.models.load_model(safe_mode=True)")
        report[name] = check_keras_file(
            path, spec,
            lambda network: translation_function(network, spec)(tf.constant(images[name])),
            references[name], spec.tolerance)
    return report


def check_tflite(tflite_files: dict, spec: TranslationServing, images: dict,
                 references: dict, log=print) -> dict:
    """Runs each `.tflite` file (`{signature: {variant: path}}`) with LiteRT on
    its direction's `images` and compares it with `references` (the
    SavedModel's translations); ExportError on a non-builtin op or a variant
    outside its bound (module docstring). Returns the report in the same
    layout."""
    report = {}
    for name, variants in tflite_files.items():
        report[name] = {}
        for variant, path in variants.items():
            log(f"  running {os.path.basename(path)} with LiteRT")
            not_builtin = sorted(op for op in tflite.operator_names(path)
                                 if op.startswith("Flex") or op == "CUSTOM")
            if not_builtin:
                raise ExportError(f"the {name} {variant} TFLite model uses non-builtin ops: "
                                  f"{not_builtin}")
            translated = translate(path, images[name])
            tolerance = tflite_tolerance(spec, variant)
            fidelity = image_fidelity(translated, references[name])
            result = {**differences(translated, references[name], spec),
                      "builtin_ops_only": True, "tolerance": tolerance, "fidelity": fidelity}
            if variant == "full_int8":
                result["float_operators"] = float_operators(path)
            report[name][variant] = result
            if tolerance is not None and result["max_abs_diff"] > tolerance:
                raise ExportError(f"the {name} {variant} TFLite model differs from the "
                                  f"SavedModel by {result['max_abs_diff']} {spec.unit} "
                                  f"(tolerance {tolerance})")
            failure = fidelity_failure(fidelity)
            if failure:
                raise ExportError(f"the {name} {variant} TFLite model loses too much against "
                                  f"the SavedModel: {failure}; not published (choose other "
                                  f"--tflite variants)")
    return report


def verify(saved_model_dir: str, spec: TranslationServing, networks: dict, images: dict,
           keras_files: dict, tflite_files: dict, inputs_note: str, log=print) -> dict:
    """Runs every check (module docstring); returns the report, raises
    ExportError on a failure.

    Args:
        saved_model_dir: The SavedModel to check.
        spec: The task's serving spec.
        networks: Each direction's Keras network, by signature.
        images: uint8 verification inputs `[n, *image_shape]`, by signature.
        keras_files: `{signature: path}` of the `.keras` files.
        tflite_files: `{signature: {variant: path}}` of the converted models.
        inputs_note: Where the images came from, for the report.
        log: Progress output.
    """
    expected = {name: np.asarray(translation_function(network, spec)(tf.constant(images[name])))
                for name, network in networks.items()}
    saved_model, references = check_saved_model(saved_model_dir, spec, images, expected, log)
    return {
        "units": spec.unit,
        "inputs": inputs_note,
        "images_per_direction": int(len(next(iter(images.values())))),
        "saved_model": saved_model,
        "keras_files": check_keras_files(keras_files, spec, images, references, log),
        "tflite_compared_with": "the SavedModel's signature of the same direction",
        "tflite": check_tflite(tflite_files, spec, images, references, log),
    }


# ----- the version's contents -----

def write_version(config, loaded, staging: str, model_name: str, log=print) -> tuple[dict, dict]:
    """Writes and verifies a translation task's artifacts in `staging`
    (`kgan.export.export` publishes the folder).

    Args:
        config: The `ExportConfig`.
        loaded: The trained task (`kgan.checkpoints.LoadedTask`): its `spec`,
            `task` (the directions' networks), `config` (the run's).

    Returns:
        `export.json`'s task-specific sections (`generator`, `signatures`,
        `keras_files`, `tflite`, `verification`, and `serving`'s entries),
        and the request body of `serving_request.json`.
    """
    spec = loaded.spec
    check_spec(spec)
    networks = networks_of(loaded.task, spec)
    full_int8 = "full_int8" in config.tflite_variants
    calibration_count = config.calibration_samples * (config.tflite_batch_size or 1)
    images, inputs_note = input_images(loaded.config, spec,
                                       _VERIFY_IMAGES + (calibration_count if full_int8 else 0),
                                       config.seed, required=full_int8)

    log("  writing the SavedModel")
    write_saved_model(networks, spec, staging, config.max_batch_size)
    keras_files = {}
    for direction in spec.directions:
        path = os.path.join(staging, keras_file(spec, direction))
        log(f"  writing {os.path.basename(path)}")
        networks[direction.signature].save(path)
        keras_files[direction.signature] = path
    tflite_files = {}
    if config.tflite_variants:
        os.makedirs(os.path.join(staging, "tflite"))
    for name in networks:
        for variant in config.tflite_variants:
            log(f"  converting {name} to TFLite {variant}")
            path = os.path.join(staging, "tflite", tflite_file(model_name, name, variant))
            with open(path, "wb") as f:
                f.write(convert(networks[name], spec, variant, config.tflite_batch_size,
                                images[name][_VERIFY_IMAGES:] if full_int8 else None))
            tflite_files.setdefault(name, {})[variant] = path

    verify_images = {name: batch[:_VERIFY_IMAGES] for name, batch in images.items()}
    report = None
    if config.verify:
        log("Verifying")
        report = verify(staging, spec, networks, verify_images, keras_files, tflite_files,
                        inputs_note, log)
    request_body = {"signature_name": SERVING_SIGNATURE,
                    "instances": [verify_images[SERVING_SIGNATURE][0].tolist()]}
    sections = {
        "generator": _generator_metadata(spec, networks),
        "signatures": signature_table(spec),
        "keras_files": {
            name: {"file": os.path.basename(path), "bytes": os.path.getsize(path),
                   "network": spec.direction(name).network,
                   "load": "import kgan; keras.models.load_model(path)",
                   "input": "the network's float input: the spec's to_input of uint8 images",
                   "output": "the network's float output, in [-1, 1] (pixel_mapping gives the "
                             "served images)"}
            for name, path in keras_files.items()},
        "tflite": {
            name: {variant: {"file": os.path.relpath(path, staging),
                             "bytes": os.path.getsize(path),
                             "signature": SERVING_SIGNATURE,
                             "batch_size": config.tflite_batch_size or None,
                             "tolerance": tflite_tolerance(spec, variant),
                             **({"pixel_mapping": tflite.FULL_INT8_PIXEL_MAPPING}
                                if variant == "full_int8" else {})}
                   for variant, path in variants.items()}
            for name, variants in tflite_files.items()},
        "verification": report,
        "serving": {
            "chunk_size": CHUNK_SIZE,
            "request_body": {
                "signature_name": SERVING_SIGNATURE,
                "instances": (f"uint8 RGB images {list(spec.image_shape)}, each as nested "
                              f"lists of integers 0..255 (height, width, channel); "
                              f"serving_request.json holds a complete request with one "
                              f"verification input")},
            "png_responses": (f"signature_name {png_signature(SERVING_SIGNATURE)} (or "
                              f"<signature>_png) returns png_bytes, base64 PNG files"),
        },
    }
    return sections, request_body


def _generator_metadata(spec: TranslationServing, networks: dict) -> dict:
    """What is served: the same image fields as a latent image export, and
    the directions instead of a latent."""
    return {
        "kind": spec.kind,
        "serves": "uint8 RGB images -> uint8 RGB images" + (
            f" {spec.scale} times larger" if spec.scale > 1 else ""),
        "input": {"key": spec.input_key, **describe(input_spec(spec))},
        "output": {"key": spec.output_key, **describe(output_spec(spec))},
        "dtype": spec.output_dtype,
        "unit": spec.unit,
        "image_shape": list(spec.image_shape),
        "scale": spec.scale,
        **({"max_input_pixels": spec.max_input_pixels,
            "tflite_image_shape": list(spec.tflite_image_shape)} if spec.any_size else {}),
        "value_range": [0, 255],
        "pixel_mapping": "round((x + 1) * 127.5), clipped to 0..255, for network output x in "
                         "[-1, 1]",
        "directions": [{
            "signature": d.signature,
            "png_signature": png_signature(d.signature),
            "source": d.source,
            "target": d.target,
            "network": d.network,
            "network_class": type(networks[d.signature]).__name__,
        } for d in spec.directions],
    }
