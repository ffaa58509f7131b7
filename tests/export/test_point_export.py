"""Export of the `points` task: everything follows its serving spec (float32
`points` [batch, 2], coordinate units, tolerance 1e-3), nothing assumes images."""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan import export as kgan_export
from kgan.config import Config, DataConfig, ExportConfig, ModelConfig, TrainConfig
from kgan.evaluation import sampling
from kgan.export import tflite

LATENT_DIM = 2
STEP = 5


def point_config() -> Config:
    return Config(task="points", data=DataConfig(dataset="ring8"),
                  model=ModelConfig(architecture="mlp", latent_dim=LATENT_DIM,
                                    hidden_units=(16, 16)),
                  train=TrainConfig(steps=1))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A points run directory as training leaves it, without training: its
    config and one checkpoint of a freshly initialized (seeded) task."""
    workdir = tmp_path_factory.mktemp("points-run") / "ring"
    keras.utils.set_random_seed(3)
    config = point_config()
    task = tasks.task_of(config).build(config)
    checkpoints.write_config(str(workdir), config)
    items = {name: item for name, item in task.checkpoint_items().items()
             if not name.endswith("_optimizer")}
    checkpoints.checkpoint_manager(checkpoints.make_checkpoint(items), str(workdir), 3).save(
        checkpoint_number=STEP)
    return str(workdir)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    return kgan_export.export(
        ExportConfig(workdir=run, export_dir=str(tmp_path_factory.mktemp("exports")),
                     tflite_variants=("float32",), calibration_samples=100),
        log=lambda message: None)


def latents(count, seed=0):
    return np.random.default_rng(seed).standard_normal((count, LATENT_DIM)).astype(np.float32)


def test_metadata_describes_a_point_generator(exported):
    m = exported.metadata
    assert m["task"] == "points"
    generator = m["generator"]
    assert generator["latent_dim"] == LATENT_DIM and generator["kind"] == "points"
    assert generator["output"] == {"key": "points", "dtype": "float32", "shape": [None, 2]}
    assert generator["labels"] is None
    assert not {"image_shape", "pixel_mapping", "value_range"} & set(generator)
    for name in ("serving_default", "generate_from_seed"):
        assert m["signatures"][name]["outputs"] == {
            "points": {"dtype": "float32", "shape": [None, 2]}}
    assert m["signatures"]["serving_default"]["inputs"] == {
        "z": {"dtype": "float32", "shape": [None, LATENT_DIM]}}
    verification = m["verification"]
    assert verification["units"] == "coordinate units"
    assert verification["saved_model"]["seed_repeats_exactly"]
    assert verification["saved_model"]["empty_batch_shape"] == [0, 2]
    assert verification["saved_model"]["points_checked"] > 0
    entry = verification["tflite"]["float32"]
    assert entry["builtin_ops_only"] and entry["tolerance"] == 1e-3
    assert entry["max_abs_diff"] <= 1e-3
    assert m["tflite"]["float32"]["tolerance"] == 1e-3
    on_disk = json.loads((pathlib.Path(exported.path) / "export.json").read_text())
    assert on_disk["generator"]["output"]["key"] == "points"


def test_saved_model_serves_the_keras_generators_points(exported, run):
    loaded = checkpoints.load_task(run)
    saved = tf.saved_model.load(exported.path)
    z = latents(300)
    points = saved.signatures["serving_default"](z=tf.constant(z))["points"].numpy()
    assert points.dtype == np.float32 and points.shape == (300, 2)  # 300 > one chunk of 256
    expected = np.asarray(loaded.generator(z, training=False), np.float32)
    np.testing.assert_allclose(points, expected, atol=1e-5)
    empty = saved.signatures["serving_default"](z=tf.zeros([0, LATENT_DIM]))["points"]
    assert empty.dtype == tf.float32 and tuple(empty.shape) == (0, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="z must be finite"):
        saved.signatures["serving_default"](z=np.full((1, LATENT_DIM), np.nan, np.float32))


def test_seed_signature_repeats(exported):
    seeded = tf.saved_model.load(exported.path).signatures["generate_from_seed"]
    seeds = tf.constant([0, 7, -2**63, 2**63 - 1], tf.int64)
    first = seeded(seed=seeds)["points"].numpy()
    assert first.dtype == np.float32 and first.shape == (4, 2)
    np.testing.assert_array_equal(seeded(seed=seeds)["points"].numpy(), first)
    np.testing.assert_array_equal(seeded(seed=seeds[1:2])["points"].numpy()[0], first[1])
    assert len({row.tobytes() for row in first}) == 4


def test_float32_tflite_matches_the_saved_model(exported):
    path = str(pathlib.Path(exported.path) / "tflite" / "ring_float32.tflite")
    z = latents(40, seed=1)
    reference = tf.saved_model.load(exported.path).signatures["serving_default"](
        z=tf.constant(z))["points"].numpy()
    points = tflite.generate(path, z)
    assert points.dtype == np.float32 and points.shape == (40, 2)
    assert np.abs(points - reference).max() <= 1e-3
    empty = tflite.generate(path, z[:0])
    assert empty.dtype == np.float32 and empty.shape == (0, 2)


def test_the_loader_samples_the_run_and_the_export_alike(exported, run):
    z = latents(10, seed=2)
    from_run, from_export = sampling.load(run), sampling.load(exported.path)
    for source in (from_run, from_export):
        assert source.spec.output_key == "points" and source.latent_dim == LATENT_DIM
    expected = from_run.generate(z)
    assert expected.dtype == np.float32 and expected.shape == (10, 2)
    np.testing.assert_allclose(from_export.generate(z), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(from_export.network_output(z)), expected, atol=1e-5)
    assert sampling.sample(from_export, 5, seed=0).shape == (5, 2)


def test_quantized_variants_export_with_their_differences_reported(run, tmp_path):
    """float16 and the int8 variants of a float output have no tolerance: their
    differences are measured and reported, and the models run."""
    result = kgan_export.export(
        ExportConfig(workdir=run, export_dir=str(tmp_path),
                     tflite_variants=("float16", "dynamic_int8", "full_int8"),
                     calibration_samples=100), log=lambda message: None)
    for variant, entry in result.metadata["verification"]["tflite"].items():
        assert entry["tolerance"] is None and entry["builtin_ops_only"], variant
        assert np.isfinite(entry["max_abs_diff"]), variant
        path = str(pathlib.Path(result.path) / "tflite" / f"ring_{variant}.tflite")
        points = tflite.generate(path, latents(3))
        assert points.dtype == np.float32 and points.shape == (3, 2), variant
