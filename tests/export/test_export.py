"""Export of a briefly trained generator: SavedModel, TFLite variants, versions, errors."""

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from kgan import export as kgan_export
from kgan import checkpoints
from kgan.export import tflite
from kgan.export.verify import MIN_PSNR_DB, fidelity_failure, image_fidelity
from kgan.config import Config, DataConfig, ExportConfig, ModelConfig, TrainConfig
from kgan.errors import ExportError, RunError
from kgan.training import train
from tests.conftest import run_script, tree_digest

LATENT_DIM = 16

# Fresh-process check written independently of kgan.export.verify.
LOAD_WITHOUT_KGAN = """
import sys, numpy as np, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
seeds = tf.constant([int(s) for s in sys.argv[2].split(",")], tf.int64)
images = model.signatures["generate_from_seed"](seed=seeds)["images"].numpy()
z = np.random.default_rng(0).standard_normal((3, int(sys.argv[3]))).astype(np.float32)
from_z = model.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
assert not [m for m in sys.modules if m.startswith("kgan")], "kgan was imported"
np.save(sys.argv[4], images)
print(images.dtype, images.shape, from_z.dtype, from_z.shape)
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_tfds_dir):
    workdir = tmp_path_factory.mktemp("run") / "mnist"
    config = Config(data=DataConfig(data_dir=mnist_tfds_dir),
                    model=ModelConfig(latent_dim=LATENT_DIM, base_filters=8),
                    train=TrainConfig(batch_size=16, steps=5, checkpoint_every=5))
    train(config, str(workdir))
    return workdir


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    export_dir = tmp_path_factory.mktemp("exports")
    result = kgan_export.export(ExportConfig(workdir=str(run), export_dir=str(export_dir),
                                             calibration_samples=200),
                                log=lambda message: None)
    return result


def test_version_layout(exported):
    version_dir = pathlib.Path(exported.path)
    assert version_dir.name == "1" and exported.version == 1 and exported.model_name == "mnist"
    for name in ("saved_model.pb", "variables", "export.json", "serving_request.json",
                 "generator.keras"):
        assert (version_dir / name).exists(), name
    assert sorted(p.name for p in (version_dir / "tflite").iterdir()) == [
        f"mnist_{v}.tflite" for v in sorted(("float32", "float16", "dynamic_int8", "full_int8"))]
    assert os.listdir(version_dir.parent) == ["1"], "no staging folder may remain"


def test_the_keras_file_loads_in_safe_mode_and_serves_the_saved_models_images(exported):
    z = np.random.default_rng(7).standard_normal((6, LATENT_DIM)).astype(np.float32)
    network = keras.models.load_model(str(pathlib.Path(exported.path) / "generator.keras"),
                                      safe_mode=True)
    images = np.round((np.asarray(network(z)) + 1.0) * 127.5).clip(0, 255)
    reference = tf.saved_model.load(exported.path).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    assert np.abs(images - reference).max() <= 1
    recorded = exported.metadata["keras_file"]
    assert recorded["file"] == "generator.keras" and recorded["bytes"] > 0
    assert exported.metadata["verification"]["keras_file"]["safe_mode"] is True


def test_plain_keras_serves_the_saved_model_through_tfsm_layer(exported):
    """The README's plain-Keras route; export verification checks it in a process without kgan."""
    z = np.random.default_rng(8).standard_normal((3, LATENT_DIM)).astype(np.float32)
    layer = keras.layers.TFSMLayer(exported.path, call_endpoint="serving_default")
    images = np.asarray(layer(tf.constant(z))["images"])
    reference = tf.saved_model.load(exported.path).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    np.testing.assert_array_equal(images, reference)
    assert exported.metadata["verification"]["saved_model"]["keras_tfsm_layer_equal"] is True


def test_the_request_cap_is_configurable_and_recorded(run, tmp_path):
    result = kgan_export.export(ExportConfig(workdir=str(run), export_dir=str(tmp_path),
                                             tflite_variants=(), verify=False, max_batch_size=3),
                                log=lambda message: None)
    assert result.metadata["serving"]["max_batch_size"] == 3
    seeded = tf.saved_model.load(result.path).signatures["generate_from_seed"]
    assert seeded(seed=tf.constant([1, 2, 3], tf.int64))["images"].shape[0] == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 3 images"):
        seeded(seed=tf.constant([1, 2, 3, 4], tf.int64))


def test_metadata_describes_the_export(exported, run):
    m = exported.metadata
    assert m["generator"]["latent_dim"] == LATENT_DIM
    assert m["generator"]["image_shape"] == [28, 28, 1]
    assert m["generator"]["value_range"] == [0, 255]
    assert m["signatures"]["serving_default"]["inputs"] == {
        "z": {"dtype": "float32", "shape": [None, LATENT_DIM]}}
    assert m["signatures"]["generate_from_seed"]["inputs"] == {
        "seed": {"dtype": "int64", "shape": [None]}}
    assert m["source"]["step"] == 5 and m["source"]["workdir"] == str(run)
    assert m["versions"]["tensorflow"] == tf.__version__
    assert {entry["batch_size"] for entry in m["tflite"].values()} == {1}
    assert m["serving"]["request_body"]["signature_name"] == "generate_from_seed"
    assert (m["serving"]["max_batch_size"], m["serving"]["chunk_size"]) == (10_000, 256)
    assert f"--model_base_path={pathlib.Path(exported.path).parent}" in \
        m["serving"]["model_server_command"]
    verification = m["verification"]["saved_model"]
    assert verification["serving_default"]["max_abs_diff"] <= 1
    assert verification["seed_repeats_exactly"] and verification["loaded_without_kgan"]


def test_saved_model_runs_in_a_fresh_process_without_kgan(exported, tmp_path):
    outputs = []
    for attempt in range(2):
        path = tmp_path / f"images{attempt}.npy"
        result = subprocess.run(
            [sys.executable, "-c", LOAD_WITHOUT_KGAN, exported.path, "7,-3,9223372036854775807",
             str(LATENT_DIM), str(path)], cwd=tmp_path, capture_output=True, text=True,
            timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["uint8", "(3,", "28,", "28,", "1)", "uint8",
                                         "(3,", "28,", "28,", "1)"]
        outputs.append(np.load(path))
    np.testing.assert_array_equal(outputs[0], outputs[1])  # same seeds, another process


def test_seed_signature_is_per_seed_and_images_are_uint8(exported):
    model = tf.saved_model.load(exported.path)
    seeded = model.signatures["generate_from_seed"]
    pair = seeded(seed=tf.constant([5, 7], tf.int64))["images"].numpy()
    alone = seeded(seed=tf.constant([7], tf.int64))["images"].numpy()
    np.testing.assert_array_equal(pair[1], alone[0])
    assert not np.array_equal(pair[0], pair[1])
    assert pair.dtype == np.uint8 and pair.shape == (2, 28, 28, 1)
    assert pair.max() > pair.min()


def test_saved_model_cli_lists_both_signatures(exported):
    shown = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli",
                            "show", "--dir", exported.path, "--all"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0
    for signature in ("serving_default", "generate_from_seed"):
        assert f"signature_def['{signature}']" in shown.stdout


# Measured on this generator (mean levels): float32 0.0, float16 ~0.01, dynamic_int8 ~0.4,
# full_int8 ~5; bounds leave room for other briefly trained weights.
TFLITE_BOUNDS = {"float32": (1, 0.01), "float16": (2, 0.1), "dynamic_int8": (64, 2.0),
                 "full_int8": (255, 16.0)}


@pytest.mark.parametrize("variant", sorted(TFLITE_BOUNDS))
def test_tflite_matches_the_saved_model_within_bounds(exported, variant):
    z = np.random.default_rng(5).standard_normal((8, LATENT_DIM)).astype(np.float32)
    reference = tf.saved_model.load(exported.path).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy().astype(int)
    interpreter = Interpreter(
        model_path=str(pathlib.Path(exported.path) / "tflite" / f"mnist_{variant}.tflite"))
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    runner = interpreter.get_signature_runner("serving_default")
    assert list(runner.get_input_details()["z"]["shape_signature"]) == [1, LATENT_DIM]
    images = np.concatenate([runner(z=z[i:i + 1])["images"] for i in range(len(z))])
    assert images.dtype == np.uint8 and images.shape == (8, 28, 28, 1)
    difference = np.abs(images.astype(int) - reference)
    max_bound, mean_bound = TFLITE_BOUNDS[variant]
    assert difference.max() <= max_bound and difference.mean() <= mean_bound


def test_full_int8_images_keep_their_tones(exported, run, tmp_path):
    """The defect of issue 20: full_int8 served only the levels 0, 128 and 255. Five
    training steps draw flat grey, so the generator's output layer is scaled up here
    until its images span black to white."""
    loaded = checkpoints.load_task(str(run))
    output_kernel = [w for w in loaded.generator.weights if w.path.endswith("kernel")][-1]
    output_kernel.assign(output_kernel * 100.0)
    saved_model = tmp_path / "saved_model"
    kgan_export.write_saved_model(loaded.generator, loaded.spec, str(saved_model))
    converted = tflite.convert(str(saved_model), "full_int8",
                               kgan_export.fresh_network(loaded.config, loaded.spec),
                               loaded.spec, calibration_samples=100, seed=0, batch_size=1)
    model_path = tmp_path / "full_int8.tflite"
    model_path.write_bytes(converted)
    z = np.random.default_rng(6).standard_normal((32, LATENT_DIM)).astype(np.float32)
    reference = tf.saved_model.load(str(saved_model)).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    output = Interpreter(model_path=str(model_path)).get_signature_runner(
        ).get_output_details()["images"]
    assert output["dtype"] == np.uint8
    assert output["quantization"][1] == 128 and abs(output["quantization"][0] - 1 / 128) < 1e-9
    images = tflite.generate(str(model_path), z)
    assert np.unique(reference).size > 100, "the scaled generator should span the range"
    assert np.unique(images).size >= 0.5 * np.unique(reference).size
    fidelity = image_fidelity(images, reference)
    assert fidelity["tone_share"] >= 0.5 * fidelity["reference_tone_share"]
    assert fidelity["psnr_db"] >= MIN_PSNR_DB
    assert fidelity_failure(fidelity) is None


def test_an_unclipped_full_int8_end_is_posterized_and_refused(run, tmp_path):
    """Like a trained generator (pre-tanh activations of -50..5), the output layer
    is scaled until most pixels saturate: without the clip, the tanh's int8 input
    spans that whole range, and verification's level bound refuses the model."""
    loaded = checkpoints.load_task(str(run))
    output_kernel = [w for w in loaded.generator.weights if w.path.endswith("kernel")][-1]
    output_kernel.assign(output_kernel * 3000.0)
    saved_model = tmp_path / "saved_model"
    kgan_export.write_saved_model(loaded.generator, loaded.spec, str(saved_model))
    z = np.random.default_rng(6).standard_normal((32, LATENT_DIM)).astype(np.float32)
    reference = tf.saved_model.load(str(saved_model)).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    model_path = tmp_path / "full_int8.tflite"
    fidelity = {}
    for clip in (tflite.INT8_TANH_CLIP, None):
        model_path.write_bytes(tflite.convert(
            str(saved_model), "full_int8", kgan_export.fresh_network(loaded.config, loaded.spec),
            loaded.spec, calibration_samples=100, seed=0, batch_size=1, int8_tanh_clip=clip))
        fidelity[clip] = image_fidelity(tflite.generate(str(model_path), z), reference)
    assert fidelity_failure(fidelity[tflite.INT8_TANH_CLIP]) is None
    assert "posterized" in fidelity_failure(fidelity[None])


def test_export_states_the_full_int8_pixel_mapping_and_its_fidelity(exported):
    published = json.loads((pathlib.Path(exported.path) / "export.json").read_text())
    assert "round(128 x) + 128" in published["tflite"]["full_int8"]["pixel_mapping"]
    assert "pixel_mapping" not in published["tflite"]["float32"]
    fidelity = published["verification"]["tflite"]["full_int8"]["fidelity"]
    assert fidelity["psnr_db"] is None or fidelity["psnr_db"] >= MIN_PSNR_DB
    assert fidelity["levels"] >= 0.5 * fidelity["reference_levels"]


def test_next_export_is_a_new_version_and_the_old_one_is_untouched(exported, run):
    before = tree_digest(exported.path)
    second = kgan_export.export(ExportConfig(
        workdir=str(run), export_dir=str(pathlib.Path(exported.path).parents[1]),
        tflite_variants=("float32",), tflite_batch_size=0), log=lambda message: None)
    assert second.version == 2 and pathlib.Path(second.path).name == "2"
    # A dynamic-batch TFLite model takes any batch size.
    runner = Interpreter(model_path=str(pathlib.Path(second.path) / "tflite" /
                                        "mnist_float32.tflite")).get_signature_runner()
    for batch in (1, 5):
        z = np.zeros((batch, LATENT_DIM), np.float32)
        assert runner(z=z)["images"].shape == (batch, 28, 28, 1)
    assert tree_digest(exported.path) == before
    with pytest.raises(ExportError, match="version 1 already exists"):
        kgan_export.export(ExportConfig(workdir=str(run), version=1, tflite_variants=(),
                                        export_dir=str(pathlib.Path(exported.path).parents[1])),
                           log=lambda message: None)
    assert tree_digest(exported.path) == before
    assert sorted(os.listdir(pathlib.Path(exported.path).parent)) == ["1", "2"]


def test_only_folders_tf_serving_reads_as_versions_count(tmp_path, run):
    model_dir = tmp_path / "mnist"
    for name in ("3", "²", "99999999999999999999", "notes"):  # "²" is a digit to str.isdigit
        (model_dir / name).mkdir(parents=True)
    assert kgan_export.existing_versions(str(model_dir)) == [3]
    (model_dir / str(2**63 - 1)).mkdir()
    with pytest.raises(ExportError, match=r"holds version 9223372036854775807, the largest TF "
                                          r"Serving reads: pass --version"):
        kgan_export.export(ExportConfig(workdir=str(run), export_dir=str(tmp_path),
                                        model_name="mnist", tflite_variants=()),
                           log=lambda message: None)


def test_a_failure_midway_publishes_nothing(run, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kgan_export.tflite, "convert", full_disk)
    with pytest.raises(ExportError, match="writing the export failed: No space left on device"):
        kgan_export.export(ExportConfig(workdir=str(run), export_dir=str(tmp_path)),
                           log=lambda message: None)
    assert os.listdir(tmp_path / "mnist") == []


def test_workdir_without_checkpoint_is_refused(tmp_path):
    with pytest.raises(RunError, match="not a kgan run directory"):
        kgan_export.export(ExportConfig(workdir=str(tmp_path), export_dir=str(tmp_path / "e")))


def test_export_cli_help_documents_every_flag():
    result = run_script("export.py", "--help")  # absl prints the help and exits 1
    for flag in ("workdir", "export_dir", "model_name", "version", "checkpoint", "tflite",
                 "calibration_samples", "seed"):
        assert f"--{flag}:" in result.stdout, flag
    assert "--[no]verify:" in result.stdout


@pytest.mark.parametrize("case", ["no_checkpoint", "unknown_variant", "existing_version",
                                  "unwritable_export_dir"])
def test_export_cli_bad_input(case, run, exported, tmp_path):
    export_root = pathlib.Path(exported.path).parents[1]
    before = tree_digest(export_root)
    args, message = {
        "no_checkpoint": ([f"--workdir={tmp_path}", f"--export_dir={export_root}"],
                          f"'{tmp_path}' is not a kgan run directory (no config.json)"),
        "unknown_variant": ([f"--workdir={run}", f"--export_dir={export_root}",
                             "--tflite=float32,int4"],
                            "export.tflite_variants has unknown variant(s); choose from "
                            "float32, float16, dynamic_int8, full_int8, got 'int4'"),
        "existing_version": ([f"--workdir={run}", f"--export_dir={export_root}", "--version=1"],
                             "version 1 already exists"),
        "unwritable_export_dir": ([f"--workdir={run}",
                                   f"--export_dir={exported.path}/export.json"],
                                  "cannot write to export directory"),
    }[case]
    result = run_script("export.py", *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("export.py: error: ") and message in last_line
    assert tree_digest(export_root) == before


NOBODY = 65534


def test_a_published_version_is_readable_by_another_user(run):
    """A model server often runs as its own user: every folder of a version
    must be listable and every file readable by others (umask 022)."""
    shared = tempfile.mkdtemp(dir="/tmp")  # outside pytest's private (0700) folders
    previous = os.umask(0o022)
    try:
        os.chmod(shared, 0o755)
        result = kgan_export.export(ExportConfig(workdir=str(run), export_dir=shared,
                                                 tflite_variants=("float32",)),
                                    log=lambda message: None)
        paths = [result.path]
        for folder, subfolders, names in os.walk(os.path.dirname(result.path)):
            paths += [os.path.join(folder, name) for name in subfolders + names]
        for path in paths:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            wanted = 0o755 if os.path.isdir(path) else 0o644
            assert mode & wanted == wanted, f"{path}: {oct(mode)}"
        files = [p for p in paths if os.path.isfile(p)]
        read = subprocess.run(["cat", *files], user=NOBODY, capture_output=True)
        assert read.returncode == 0, read.stderr
        assert len(read.stdout) == sum(os.path.getsize(p) for p in files)
    finally:
        os.umask(previous)
        shutil.rmtree(shared, ignore_errors=True)
