"""Export of image-to-image tasks (`kgan.export.translation`), with tiny stand-in
networks instead of trained pix2pix/CycleGAN generators: the signatures and
how they treat bad requests, the TFLite conversions, the checks run before
publishing, and a whole `kgan.export.export` of a two-direction task (its
run loader replaced by the stand-in, so no training is needed)."""

import dataclasses
import json
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan import export as kgan_export
from kgan.config import Config, ExportConfig
from kgan.errors import DataError, ExportError
from kgan.export import translation
from kgan.export.signatures import PNG_OUTPUT
from kgan.export.verify import MIN_PSNR_DB
from kgan.images import to_uint8
from kgan.tasks import Direction, TranslationServing

SIZE = 16
SMALL_CAP, SMALL_CHUNK = 40, 8
STAND_IN = "translation_stand_in"


@keras.saving.register_keras_serializable(package="kgan_tests")
class TinyTranslator(keras.Model):
    """Two 3x3 convolutions ending in tanh, with `pre_tanh` as kgan's generators have."""

    def __init__(self, input_channels=3, **kwargs):
        super().__init__(**kwargs)
        self.input_channels = input_channels
        self.hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu")
        self.last = keras.layers.Conv2D(3, 3, padding="same")

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.last.build((*input_shape[:-1], 8))

    def pre_tanh(self, inputs, training=None):
        return keras.ops.cast(self.last(self.hidden(inputs)), "float32")

    def call(self, inputs, training=None):
        return keras.ops.tanh(self.pre_tanh(inputs, training))

    def get_config(self):
        return {**super().get_config(), "input_channels": self.input_channels}


def translator(seed, input_channels=3):
    network = TinyTranslator(input_channels)
    network.build((None, SIZE, SIZE, input_channels))
    # Larger than initial weights, so translations (and their differences) are visible.
    rng = np.random.default_rng(seed)
    for variable in network.trainable_variables:
        variable.assign(rng.normal(0.0, 0.3, variable.shape).astype(np.float32))
    return network


def rgb_input(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def gray_input(images):
    """The pixels' mean rounded to a grey level, as pix2pix's grayscale input."""
    grey = tf.round(tf.reduce_mean(tf.cast(images, tf.float32), axis=-1, keepdims=True))
    return grey / 127.5 - 1.0


PAIR = TranslationServing(
    directions=(Direction("serving_default", "generator", "domain A", "domain B"),
                Direction("b_to_a", "generator_ba", "domain B", "domain A")),
    image_shape=(SIZE, SIZE, 3), to_input=rgb_input, to_output=to_uint8)
GRAY = TranslationServing(
    directions=(Direction("serving_default", "generator", "grayscale", "colour"),),
    image_shape=(SIZE, SIZE, 3), to_input=gray_input, to_output=to_uint8)


def smooth_images(count, seed, low=0.0, high=255.0):
    """Photo-like inputs: random 4x4 images, bilinearly enlarged."""
    coarse = np.random.default_rng(seed).uniform(low, high, (count, 4, 4, 3)).astype(np.float32)
    return np.round(tf.image.resize(coarse, (SIZE, SIZE)).numpy()).astype(np.uint8)


def keras_translation(network, spec, images):
    return to_uint8(network(spec.to_input(images), training=False)).numpy()


class StandInTask:
    """A trained two-direction task as `kgan.export.export` reads it."""

    NAME = STAND_IN
    examples_error = None

    def __init__(self):
        self.generator, self.generator_ba = translator(1), translator(2)

    def serving_spec(self):
        return PAIR

    @classmethod
    def serving_examples(cls, config, count, seed):
        if cls.examples_error:
            raise cls.examples_error
        return {"serving_default": smooth_images(count, seed),
                "b_to_a": smooth_images(count, seed + 1)}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A published export of the stand-in task: float32 and full_int8 for both directions."""
    root = tmp_path_factory.mktemp("pair")
    loaded = checkpoints.LoadedTask(StandInTask(), Config(task=STAND_IN), 7,
                                    str(root / "pair_run" / "checkpoints" / "ckpt-7"))
    config = ExportConfig(workdir=str(root / "pair_run"), export_dir=str(root / "exports"),
                          tflite_variants=("float32", "full_int8"), calibration_samples=100)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(tasks.TASKS, STAND_IN, StandInTask)
        patch.setattr(checkpoints, "load_task", lambda *args, **kwargs: loaded)
        result = kgan_export.export(config, log=lambda message: None)
    return types.SimpleNamespace(**dataclasses.asdict(result), loaded=loaded, task=loaded.task,
                                 config=config, saved_model=tf.saved_model.load(result.path))


@pytest.fixture(scope="module")
def gray(tmp_path_factory):
    """One direction from a 1-channel network input, with a cap of 40 images and chunks of 8."""
    path = str(tmp_path_factory.mktemp("gray") / "1")
    network = translator(3, input_channels=1)
    translation.write_saved_model({"serving_default": network}, GRAY, path,
                                  max_batch_size=SMALL_CAP, chunk_size=SMALL_CHUNK)
    saved_model = tf.saved_model.load(path)
    return network, saved_model, saved_model.signatures["serving_default"]


# --- the published export --------------------------------------------------------------------

def test_the_version_holds_every_file_and_no_staging_folder(pair):
    assert pair.version == 1 and pair.path.endswith(os.path.join("pair_run", "1"))
    published = {os.path.relpath(os.path.join(folder, name), pair.path)
                 for folder, _, names in os.walk(pair.path) for name in names}
    assert {"saved_model.pb", "export.json", "serving_request.json", "generator.keras",
            "generator_ba.keras", "tflite/pair_run_float32.tflite",
            "tflite/pair_run_full_int8.tflite", "tflite/pair_run_b_to_a_float32.tflite",
            "tflite/pair_run_b_to_a_full_int8.tflite"} <= published
    assert os.listdir(os.path.dirname(pair.path)) == ["1"]


def test_export_json_describes_the_directions_and_their_signatures(pair):
    metadata = json.loads(open(os.path.join(pair.path, "export.json")).read())
    assert metadata == json.loads(json.dumps(pair.metadata)) and metadata["task"] == STAND_IN
    images = {"dtype": "uint8", "shape": [None, SIZE, SIZE, 3]}
    assert metadata["signatures"]["b_to_a"] == {
        "inputs": {"images": images}, "outputs": {"images": images},
        "translates": "domain B -> domain A"}
    assert metadata["signatures"]["serving_png"]["outputs"] == {
        PNG_OUTPUT: {"dtype": "string", "shape": [None]}}
    assert [(d["signature"], d["png_signature"], d["source"], d["target"], d["network"])
            for d in metadata["generator"]["directions"]] == [
        ("serving_default", "serving_png", "domain A", "domain B", "generator"),
        ("b_to_a", "b_to_a_png", "domain B", "domain A", "generator_ba")]
    assert {name: entry["file"] for name, entry in metadata["keras_files"].items()} == {
        "serving_default": "generator.keras", "b_to_a": "generator_ba.keras"}
    assert {name: {variant: entry["file"] for variant, entry in variants.items()}
            for name, variants in metadata["tflite"].items()} == {
        "serving_default": {"float32": "tflite/pair_run_float32.tflite",
                            "full_int8": "tflite/pair_run_full_int8.tflite"},
        "b_to_a": {"float32": "tflite/pair_run_b_to_a_float32.tflite",
                   "full_int8": "tflite/pair_run_b_to_a_full_int8.tflite"}}
    assert metadata["tflite"]["b_to_a"]["full_int8"]["batch_size"] == 1
    assert metadata["source"]["step"] == 7 and metadata["source"]["config"]["task"] == STAND_IN
    assert metadata["serving"]["max_batch_size"] == pair.config.max_batch_size
    assert metadata["serving"]["chunk_size"] == translation.CHUNK_SIZE


def test_verification_report_per_direction_and_variant(pair):
    report = pair.metadata["verification"]
    assert report["inputs"].startswith("held-out input images")
    for name in ("serving_default", "b_to_a"):
        saved = report["saved_model"][name]
        assert saved["max_abs_diff"] <= 1 and saved["png_decodes_to_images"]
        assert saved["refuses_wrong_size"] and saved["refuses_wrong_channels"]
        assert saved["empty_batch_shape"] == [0, SIZE, SIZE, 3]
        assert report["keras_files"][name]["max_abs_diff"] <= 1
        assert report["tflite"][name]["float32"]["max_abs_diff"] <= 1
        fidelity = report["tflite"][name]["full_int8"]["fidelity"]
        assert fidelity["psnr_db"] >= MIN_PSNR_DB
        assert report["tflite"][name]["full_int8"]["float_operators"] == []
        assert "float_operators" not in report["tflite"][name]["float32"]
        print(f"{name} full_int8: PSNR {fidelity['psnr_db']:.1f} dB, {fidelity['levels']} of "
              f"{fidelity['reference_levels']} levels, max "
              f"{report['tflite'][name]['full_int8']['max_abs_diff']} levels")
    assert report["saved_model"]["loaded_without_kgan"]


def test_the_request_file_is_a_request_the_default_signature_answers(pair):
    body = json.loads(open(os.path.join(pair.path, "serving_request.json")).read())
    assert body["signature_name"] == "serving_default"
    images = np.array(body["instances"], np.uint8)
    assert images.shape == (1, SIZE, SIZE, 3) and len(np.unique(images)) > 1
    served = pair.saved_model.signatures["serving_default"](images=tf.constant(images))
    expected = keras_translation(pair.task.generator, PAIR, images)
    assert np.abs(served["images"].numpy().astype(int) - expected).max() <= 1


def test_each_signature_translates_as_its_keras_network(pair):
    images = smooth_images(5, 10)
    for name, network in (("serving_default", pair.task.generator),
                          ("b_to_a", pair.task.generator_ba)):
        served = pair.saved_model.signatures[name](images=tf.constant(images))["images"].numpy()
        assert served.dtype == np.uint8 and served.shape == images.shape
        assert np.abs(served.astype(int) - keras_translation(network, PAIR, images)).max() <= 1
        png = pair.saved_model.signatures[translation.png_signature(name)](
            images=tf.constant(images))[PNG_OUTPUT].numpy()
        assert np.array_equal(np.stack([tf.io.decode_png(p).numpy() for p in png]), served)
    default = pair.saved_model.signatures["serving_default"](images=tf.constant(images))
    other = pair.saved_model.signatures["b_to_a"](images=tf.constant(images))
    assert not np.array_equal(default["images"], other["images"])


def test_an_existing_version_is_refused_and_left_untouched(pair):
    before = {name: os.path.getmtime(os.path.join(pair.path, name))
              for name in os.listdir(pair.path)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(tasks.TASKS, STAND_IN, StandInTask)
        patch.setattr(checkpoints, "load_task", lambda *args, **kwargs: pair.loaded)
        with pytest.raises(ExportError, match="version 1 already exists"):
            kgan_export.export(dataclasses.replace(pair.config, version=1),
                               log=lambda message: None)
    assert before == {name: os.path.getmtime(os.path.join(pair.path, name))
                      for name in os.listdir(pair.path)}
    assert os.listdir(os.path.dirname(pair.path)) == ["1"]


# --- hostile requests against the signatures -------------------------------------------------

@pytest.mark.parametrize("shape", [(1, SIZE - 1, SIZE, 3), (2, SIZE, SIZE + 1, 3),
                                   (1, SIZE, SIZE, 1), (1, SIZE, SIZE, 4), (SIZE, SIZE, 3)])
def test_wrong_sizes_and_channels_are_invalid_argument_naming_images(gray, shape):
    _, _, serve = gray
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"Shape of tensor images \[{','.join(map(str, shape))}\] is not "
                             rf"compatible with expected shape \[\?,{SIZE},{SIZE},3\]"):
        serve(images=tf.zeros(shape, tf.uint8))


def test_more_images_than_the_cap_are_refused(gray):
    _, _, serve = gray
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"at most {SMALL_CAP} images .*rows of images:.*\[{SMALL_CAP + 1}\]"):
        serve(images=tf.zeros([SMALL_CAP + 1, SIZE, SIZE, 3], tf.uint8))


def test_an_empty_batch_returns_no_images(gray):
    _, _, serve = gray
    empty = serve(images=tf.zeros([0, SIZE, SIZE, 3], tf.uint8))["images"]
    assert empty.shape == (0, SIZE, SIZE, 3) and empty.dtype == tf.uint8


def test_float_images_are_refused_as_tensors_and_lists_and_cast_as_numpy_arrays(gray):
    _, _, serve = gray
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        serve(images=tf.zeros([1, SIZE, SIZE, 3], tf.float32))
    with pytest.raises(TypeError, match="Cannot convert .* to EagerTensor of dtype uint8"):
        serve(images=np.full([1, SIZE, SIZE, 3], 0.5).tolist())
    # TensorFlow's binding casts a NumPy array to the declared dtype (as documented).
    as_numpy = serve(images=np.full([1, SIZE, SIZE, 3], 0.5, np.float32))["images"]
    assert np.array_equal(as_numpy, serve(images=tf.zeros([1, SIZE, SIZE, 3], tf.uint8))["images"])


def test_a_batch_in_chunks_equals_its_chunks_and_the_keras_network(gray):
    network, _, serve = gray
    images = smooth_images(SMALL_CAP, 20)
    whole = serve(images=tf.constant(images))["images"].numpy()
    chunks = [serve(images=tf.constant(images[start:start + SMALL_CHUNK]))["images"].numpy()
              for start in range(0, SMALL_CAP, SMALL_CHUNK)]
    assert np.array_equal(whole, np.concatenate(chunks))
    assert np.abs(whole.astype(int) - keras_translation(network, GRAY, images)).max() <= 1


# --- TFLite ----------------------------------------------------------------------------------

def test_tflite_float32_and_full_int8_of_a_one_channel_input_verify(gray, tmp_path):
    network, _, serve = gray
    # Calibration images that never reach 0 or 255.
    calibration = smooth_images(100, 30, low=40, high=200)
    files = {}
    for variant in ("float32", "full_int8"):
        files[variant] = str(tmp_path / f"gray_{variant}.tflite")
        with open(files[variant], "wb") as f:
            f.write(translation.convert(network, GRAY, variant, 1, calibration))
    images = smooth_images(8, 31, low=40, high=200)
    reference = serve(images=tf.constant(images))["images"].numpy()
    report = translation.check_tflite({"serving_default": files}, GRAY,
                                      {"serving_default": images}, {"serving_default": reference},
                                      log=lambda message: None)["serving_default"]
    assert report["float32"]["max_abs_diff"] <= 1
    assert report["full_int8"]["fidelity"]["psnr_db"] >= MIN_PSNR_DB
    # TFLite has no int8 rounding: the grey level is computed in float32.
    assert report["full_int8"]["float_operators"] == ["ROUND"]
    print(f"gray full_int8: PSNR {report['full_int8']['fidelity']['psnr_db']:.1f} dB, "
          f"max {report['full_int8']['max_abs_diff']} levels")
    # The pinned calibration range: the int8 input is the pixel minus 128, exactly.
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=files["full_int8"])
    details = {t["index"]: t for t in interp.get_tensor_details()}
    quantize = next(op for op in interp._get_ops_details() if op["op_name"] == "QUANTIZE")
    assert details[quantize["outputs"][0]]["quantization"] == (1.0, -128)
    assert translation.translate(files["float32"], images[:0]).shape == (0, SIZE, SIZE, 3)


def test_tflite_runner_refuses_images_that_are_not_uint8_pixels(pair):
    path = os.path.join(pair.path, "tflite", "pair_run_float32.tflite")
    with pytest.raises(ValueError, match="images must be uint8"):
        translation.translate(path, np.zeros([1, SIZE, SIZE, 3], np.float32))
    with pytest.raises(ValueError, match=rf"images must be \[batch, {SIZE}, {SIZE}, 3\]"):
        translation.translate(path, np.zeros([1, SIZE, SIZE, 1], np.uint8))


def test_a_tflite_file_of_the_other_direction_is_refused(pair):
    images = smooth_images(8, 40)
    references = {name: pair.saved_model.signatures[name](images=tf.constant(images))[
        "images"].numpy() for name in ("serving_default", "b_to_a")}
    own = os.path.join(pair.path, "tflite", "pair_run_b_to_a_float32.tflite")
    other = os.path.join(pair.path, "tflite", "pair_run_float32.tflite")
    quiet = dict(log=lambda message: None)
    translation.check_tflite({"b_to_a": {"float32": own}}, PAIR, {"b_to_a": images},
                             references, **quiet)
    with pytest.raises(ExportError, match=r"the b_to_a float32 TFLite model differs from the "
                                          r"SavedModel by \d+ uint8 pixel levels"):
        translation.check_tflite({"b_to_a": {"float32": other}}, PAIR, {"b_to_a": images},
                                 references, **quiet)
    with pytest.raises(ExportError, match="b_to_a full_int8 TFLite model loses too much"):
        translation.check_tflite(
            {"b_to_a": {"full_int8": os.path.join(pair.path, "tflite",
                                                  "pair_run_full_int8.tflite")}},
            PAIR, {"b_to_a": images}, references, **quiet)


# --- inputs from the task, and specs that cannot be exported ---------------------------------

def test_missing_held_out_images_stop_full_int8_and_fall_back_to_noise_otherwise(monkeypatch):
    monkeypatch.setitem(tasks.TASKS, STAND_IN, StandInTask)
    monkeypatch.setattr(StandInTask, "examples_error", DataError("CelebA is not in /data"))
    config = Config(task=STAND_IN)
    with pytest.raises(ExportError, match=r"full_int8 needs calibration images.*CelebA is not "
                                          r"in /data"):
        translation.input_images(config, PAIR, 8, 0, required=True)
    images, note = translation.input_images(config, PAIR, 8, 0, required=False)
    assert "uniform-noise" in note and "CelebA is not in /data" in note
    assert images["b_to_a"].shape == (8, SIZE, SIZE, 3) and images["b_to_a"].dtype == np.uint8


def test_held_out_images_of_the_wrong_shape_are_refused(monkeypatch):
    monkeypatch.setitem(tasks.TASKS, STAND_IN, StandInTask)
    with pytest.raises(ExportError, match=r"serving_examples gave uint8 \[8, 16, 16, 3\] for "
                                          r"serving_default, not uint8 \[8, 32, 32, 3\]"):
        translation.input_images(Config(task=STAND_IN),
                                 TranslationServing(PAIR.directions, (32, 32, 3), rgb_input,
                                                    to_uint8), 8, 0, required=False)


def test_a_first_direction_not_served_as_serving_default_is_refused():
    spec = TranslationServing((Direction("a_to_b", "generator", "A", "B"),), (SIZE, SIZE, 3),
                              rgb_input, to_uint8)
    with pytest.raises(ExportError, match="first direction must be served as serving_default, "
                                          "the task names it 'a_to_b'"):
        translation.check_spec(spec)


def test_a_failed_export_publishes_nothing(tmp_path, monkeypatch):
    """A network without `pre_tanh` cannot end in full_int8's clipped tanh: the
    export stops after writing the SavedModel, and its staging folder goes."""
    task = StandInTask()
    task.generator_ba = keras.Sequential([keras.Input((SIZE, SIZE, 3)),
                                          keras.layers.Conv2D(3, 3, padding="same",
                                                              activation="tanh")])
    monkeypatch.setitem(tasks.TASKS, STAND_IN, StandInTask)
    monkeypatch.setattr(checkpoints, "load_task", lambda *args, **kwargs: checkpoints.LoadedTask(
        task, Config(task=STAND_IN), 7, str(tmp_path / "ckpt-7")))
    config = ExportConfig(workdir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                          tflite_variants=("full_int8",), calibration_samples=100)
    with pytest.raises(ExportError, match="full_int8 ends in the network's pre-tanh "
                                          "activations, and Sequential has no pre_tanh"):
        kgan_export.export(config, log=lambda message: None)
    assert os.listdir(tmp_path / "exports" / "run") == []
