"""kgan-metrics (kgan.evaluation.compare): any two image sets, compared."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kgan.config import Config, DataConfig, EvalConfig, ModelConfig, TrainConfig
from kgan.config.metrics import MetricsConfig
from kgan.errors import ConfigError, DataError
from kgan.evaluation import compare, distances, evaluate
from kgan.evaluation.inception import InceptionFeatures
from kgan.training import train
from tests.conftest import REPO, SHARED_DATA

GRAPH = str(SHARED_DATA / "inception" / "inception-2015-12-05-pool3.pb")


def kgan_metrics(*args):
    """`python -m kgan.metrics ...` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "kgan.metrics", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def test_precision_recall_hand_computed():
    reference = np.array([[0.0], [1.0], [2.0], [3.0]])
    judged = np.array([[0.5], [10.0], [2.9], [-0.9]])
    # k = 1: every reference ball has radius 1, so 0.5, 2.9 and -0.9 are inside and 10 is
    # not; the judged radii (1.4, 1.4, 2.4, 7.1) cover all four reference points.
    result = distances.precision_recall(judged, reference, k=1)
    assert result.precision == 0.75 and result.recall == 1.0 and result.k == 1


def test_a_collapsed_set_has_precision_without_recall():
    reference = np.array([[0.0], [1.0], [2.0], [3.0]])
    collapsed = np.array([[0.0], [0.1], [0.2], [0.05]])
    result = distances.precision_recall(collapsed, reference, k=1)
    assert result.precision == 1.0 and result.recall == 0.25


def test_precision_recall_chunks_do_not_change_it():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(57, 5)), rng.normal(0.3, 1.2, size=(43, 5))
    assert distances.precision_recall(a, b, k=3, chunk=7) == \
        distances.precision_recall(a, b, k=3, chunk=1000)


def test_precision_recall_needs_more_than_k_vectors():
    with pytest.raises(ConfigError, match="need more than 3 vectors per set, got 3 and 10"):
        distances.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))


def _write(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_folder_images_recursive_sorted_and_mixed_modes(tmp_path):
    _write(tmp_path / "b" / "x.png", np.full((8, 6), 7, np.uint8))
    _write(tmp_path / "a.JPG", np.full((8, 6, 3), 200, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    images = compare.folder_images(str(tmp_path))
    assert images.shape == (2, 8, 6, 3) and images.dtype == np.uint8
    assert images[1].max() == images[1].min() == 7  # b/x.png after a.JPG, as colour


def test_folder_images_refuses_mixed_sizes_and_unreadable_files(tmp_path):
    _write(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    _write(tmp_path / "b.png", np.zeros((9, 8), np.uint8))
    with pytest.raises(DataError, match="b.png' is 8x9, but .*a.png' is 8x8"):
        compare.folder_images(str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match="cannot read the image .*b.png"):
        compare.folder_images(str(tmp_path))
    with pytest.raises(DataError, match="holds no .png/.jpg/.jpeg images"):
        compare.folder_images(str(tmp_path / "missing"))


@pytest.mark.parametrize("changes, message", [
    ({"input1": None}, "metrics.input1 is required"),
    ({"metrics": ("fid", "is")}, "metrics.metrics must name one or more of fid, kid, prc"),
    ({"num_samples": 100}, "metrics.num_samples must be >= 2048"),
    ({"num_samples": 100, "metrics": ("kid",)}, None),
    ({"save_stats1": "stats.json"}, "metrics.save_stats1 must end in .npz"),
])
def test_metrics_config_validation(changes, message):
    values = {"input1": "a", "input2": "b", **changes}
    if message is None:
        MetricsConfig(**values)
    else:
        with pytest.raises(ConfigError, match=message):
            MetricsConfig(**values)


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_tfds_dir):
    workdir = tmp_path_factory.mktemp("compare-run") / "mnist"
    train(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                 model=ModelConfig(latent_dim=16, base_filters=8),
                 train=TrainConfig(batch_size=16, steps=3, checkpoint_every=3)), str(workdir))
    return workdir


@pytest.mark.slow
def test_metrics_equal_evaluate_on_the_same_sets(run, tmp_path, mnist_tfds_dir):
    count = 120
    evaluated = evaluate(EvalConfig(workdir=str(run), num_samples=count, reference_samples=count,
                                    metrics=("kid",), inception_path=GRAPH,
                                    output=str(tmp_path / "eval.json")), log=lambda m: None)
    stats = tmp_path / "samples.npz"
    compared = compare.run(MetricsConfig(input1=str(run), input2="mnist:test",
                                         num_samples=count, metrics=("kid", "prc"),
                                         data_dir=mnist_tfds_dir, inception_path=GRAPH,
                                         save_stats1=str(stats)), log=lambda m: None)
    assert compared["kid"]["mean"] == pytest.approx(evaluated["kid"]["mean"], rel=1e-9)
    assert 0 <= compared["precision_recall"]["precision"] <= 1
    # Three training steps give noise, far from every digit: nothing inside the real manifold.
    assert compared["precision_recall"]["precision"] < 0.2

    # The saved features stand in for the run: the same figures, no sampling.
    again = compare.run(MetricsConfig(input1=str(stats), input2="mnist:test", num_samples=count,
                                      metrics=("kid", "prc"), data_dir=mnist_tfds_dir,
                                      inception_path=GRAPH), log=lambda m: None)
    assert again["kid"] == compared["kid"]
    assert again["precision_recall"] == compared["precision_recall"]


@pytest.mark.slow
def test_identical_folders_are_at_distance_zero_from_the_cli(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(12):
        pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        _write(tmp_path / "a" / f"{i:02d}.png", pixels)
        _write(tmp_path / "b" / f"{i:02d}.png", pixels)
    np.savez(tmp_path / "c.npz", images=np.zeros((12, 16, 16, 3), np.uint8))
    output = tmp_path / "report.json"
    result = kgan_metrics(f"--input1={tmp_path / 'a'}",
                        f"--input2={tmp_path / 'b'}", "--metrics=kid,prc",
                        f"--inception_path={GRAPH}", f"--output={output}")
    assert result.returncode == 0, result.stderr
    report = json.loads(output.read_text())
    # Each image lies in its own ball of the other set's manifold.
    assert report["precision_recall"]["precision"] == report["precision_recall"]["recall"] == 1
    assert "precision  1.0000" in result.stdout and "KID" in result.stdout

    result = kgan_metrics(f"--input1={tmp_path / 'a'}",
                        f"--input2={tmp_path / 'c.npz'}", "--metrics=kid,prc",
                        f"--inception_path={GRAPH}")
    assert result.returncode == 0, result.stderr
    # Twelve black images: one point, balls of radius 0; no noise image is inside them.
    assert "precision  0.0000" in result.stdout


@pytest.mark.parametrize("input2, message", [
    ("nowhere/at/all", "'nowhere/at/all' is not an image folder, a .npz file"),
    ("mnist:nosuchsplit", "nosuchsplit"),
])
def test_bad_inputs_end_in_one_line(tmp_path, input2, message, mnist_tfds_dir):
    _write(tmp_path / "a" / "0.png", np.zeros((8, 8), np.uint8))
    _write(tmp_path / "a" / "1.png", np.ones((8, 8), np.uint8))
    result = kgan_metrics(f"--input1={tmp_path / 'a'}", f"--input2={input2}",
                        "--metrics=kid", f"--data_dir={mnist_tfds_dir}",
                        f"--inception_path={GRAPH}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("kgan-metrics: error: ") and message in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_statistics_only_cache_serves_fid_alone(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(50, 4))
    feature_set = compare.FeatureSet("x", 50, distances.gaussian_stats(features), None,
                                     "inception:abc")
    path = tmp_path / "stats.npz"
    compare.save(feature_set, str(path))

    class Extractor:
        identity = "inception:abc"

    loaded = compare.image_set(str(path), Extractor())
    assert loaded.features is None and loaded.count == 50
    assert compare.compare(loaded, loaded, metrics=("fid",))["fid"] == pytest.approx(0, abs=1e-6)
    with pytest.raises(ConfigError, match="holds statistics only: kid need features"):
        compare.compare(loaded, loaded, metrics=("kid",))

    class OtherExtractor:
        identity = "inception:def"

    with pytest.raises(DataError, match="features of inception:abc, not of inception:def"):
        compare.image_set(str(path), OtherExtractor())
