"""generate.py and kgan.latent.commands on saved generators made in the test."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import export as kgan_export, images
from kgan.config import (Config, DataConfig, ExportConfig, GenerateConfig, ModelConfig,
                         ProjectionConfig, TrainConfig)
from kgan.errors import ConfigError, DataError, RunError
from kgan.evaluation import sampling
from kgan.latent import commands, concepts
from kgan.training import train
from tests.conftest import run_script
from tests.latent.conftest import MNIST_CONDITIONAL, MNIST_DCGAN, make_run

TILE = 28 + 2  # a 28x28 tile and its padding in a grid


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_tfds_dir):
    workdir = tmp_path_factory.mktemp("run") / "digits"
    make_run(workdir, MNIST_DCGAN, step=40, gain=2000.0, data=DataConfig(data_dir=mnist_tfds_dir))
    for step, value in [(10, 0), (20, 100), (30, 200)]:
        images.write_png(str(workdir / "samples" / f"step_{step:08d}.png"),
                         np.full((62, 62, 1), value, np.uint8))
    return str(workdir)


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "cdigits"
    make_run(workdir, MNIST_CONDITIONAL, gain=2000.0)
    return str(workdir)


def decode(path):
    data = tf.io.read_file(path)
    return (tf.io.decode_gif(data) if path.endswith(".gif") else tf.io.decode_png(data)).numpy()


def test_grid_truncated_and_scaled(run, tmp_path):
    config = GenerateConfig(mode="grid", source=run, output_dir=str(tmp_path), num_samples=6,
                            truncation=0.5, scale=2)
    result = commands.run(config, log=lambda m: None)
    (path,) = result.files
    assert os.path.basename(path) == "grid_step40_seed0_trunc0.5.png"
    assert decode(path).shape == (2 * (2 * TILE + 2), 2 * (3 * TILE + 2), 1)
    plain = commands.run(GenerateConfig(mode="grid", source=run, num_samples=6),
                         log=lambda m: None)
    assert plain.files == (os.path.join(run, "generated", "grid_step40_seed0.png"),)
    assert not np.array_equal(decode(plain.files[0]), decode(path)[::2, ::2])


def test_conditional_grid_rows_and_fixed_labels(conditional, tmp_path):
    result = commands.run(GenerateConfig(mode="grid", source=conditional,
                                         output_dir=str(tmp_path), num_samples=20),
                          log=lambda m: None)
    assert result.lines == ("rows: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9",)
    assert decode(result.files[0]).shape == (10 * TILE + 2, 2 * TILE + 2, 1)
    source = sampling.load(conditional)
    np.testing.assert_array_equal(commands.generator_labels(source, 3, "7"), [7, 7, 7])
    np.testing.assert_array_equal(commands.generator_labels(source, 12, None)[9:], [9, 0, 1])
    with pytest.raises(ConfigError, match="labels 'seven' is not a class of this generator"):
        commands.generator_labels(source, 3, "seven")


def test_interpolation_strip_and_gif_frame_count(run, tmp_path):
    config = GenerateConfig(mode="interpolate", source=run, output_dir=str(tmp_path),
                            keyframes=3, frames_per_keyframe=5, paths=2, interpolation="linear")
    strip, gif = commands.run(config, log=lambda m: None).files
    assert strip.endswith("interpolate_step40_seed0_linear.png") and gif.endswith(".gif")
    assert decode(strip).shape == (2 * TILE + 2, (2 * 5 + 1) * TILE + 2, 1)
    frames = decode(gif)
    assert frames.shape == (3 * 5, TILE + 2, 2 * TILE + 2, 3)  # closed loop: keyframes x steps
    # The loop starts on the strip's first column: path p is row p there, column p here.
    for p in range(2):
        np.testing.assert_array_equal(frames[0][2:TILE, 2 + p * TILE:(p + 1) * TILE, 0],
                                      decode(strip)[2 + p * TILE:(p + 1) * TILE, 2:TILE, 0])


def test_progress_gif_has_a_frame_per_sample_grid(run, tmp_path):
    result = commands.run(GenerateConfig(mode="progress", source=run, output_dir=str(tmp_path)),
                          log=lambda m: None)
    frames = decode(result.files[0])
    assert frames.shape == (3, 62 + 14, 62, 3)
    assert [int(f[20:, :, 0].mean()) for f in frames] == [0, 100, 200]


def test_an_export_writes_beside_it_never_into_it(run, tmp_path, monkeypatch):
    exported = kgan_export.export(ExportConfig(workdir=run, export_dir=str(tmp_path / "exports"),
                                               tflite_variants=(), verify=False),
                                  log=lambda m: None)
    before = sorted(os.listdir(exported.path))
    monkeypatch.chdir(tmp_path)
    result = commands.run(GenerateConfig(mode="grid", source=os.path.dirname(exported.path),
                                         num_samples=4), log=lambda m: None)
    assert result.files == (os.path.join("generated", "digits_v1", "grid_step40_seed0.png"),)
    assert sorted(os.listdir(exported.path)) == before
    np.testing.assert_array_equal(
        decode(str(tmp_path / result.files[0])),
        decode(commands.run(GenerateConfig(mode="grid", source=run, num_samples=4,
                                           output_dir=str(tmp_path / "w")),
                            log=lambda m: None).files[0]))


def test_read_image_crops_and_resizes(tmp_path):
    photo = np.zeros((218, 178, 3), np.uint8)
    photo[29:189, 9:169] = 255  # exactly the dataset's 160-pixel centered square
    path = str(tmp_path / "face.png")
    images.write_png(path, photo)
    face = commands.read_image(path, (64, 64, 3), crop_fraction=0.9)
    assert face.shape == (64, 64, 3) and face.min() == 255
    digit = commands.read_image(path, (28, 28, 1))
    assert digit.shape == (28, 28, 1)
    with pytest.raises(DataError, match="does not exist"):
        commands.read_image(str(tmp_path / "none.png"), (28, 28, 1))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot decode image"):
        commands.read_image(str(tmp_path / "bad.png"), (28, 28, 1))


def test_file_names_tell_edits_apart():
    base = GenerateConfig(mode="arithmetic", source="x", attribute="Smiling")
    assert commands._edit_suffix(base) == "_Smiling"
    assert commands._edit_suffix(GenerateConfig(
        mode="arithmetic", source="x", attribute="Smiling", measure_on="-Male",
        apply_to="Male", strength=2.0)) == "_Smiling_in-Male_toMale_x2"


def test_concept_groups_for_attributes_and_digits():
    faces = concepts.Judge(("Male", "Smiling"), False, None, "faces")
    config = GenerateConfig(mode="arithmetic", source="x", attribute="Smiling",
                            measure_on="-Male", apply_to="Male")
    assert commands.concept_groups(config, faces) == (
        (("Male", False), ("Smiling", True)), (("Male", False), ("Smiling", False)),
        (("Male", True), ("Smiling", False)), (("Male", True), ("Smiling", True)))
    digits = concepts.Judge(tuple("0123456789"), True, None, "digits")
    config = GenerateConfig(mode="arithmetic", source="x", attribute="7", measure_on="1")
    assert commands.concept_groups(config, digits) == (
        (("7", True),), (("1", True),), (("1", True),), (("7", True),))
    with pytest.raises(ConfigError, match="measure_on names one class"):
        commands.concept_groups(GenerateConfig(mode="arithmetic", source="x", attribute="7",
                                               measure_on="1,2"), digits)


def test_script_writes_and_prints_paths(run, tmp_path):
    result = run_script("generate.py", "--mode=grid", f"--workdir={run}", "--num_samples=4",
                        f"--output_dir={tmp_path}", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"Wrote {tmp_path}/grid_step40_seed0.png" in result.stdout
    dry = run_script("generate.py", "--mode=interpolate", f"--workdir={run}", "--dry_run")
    assert dry.returncode == 0 and json.loads(dry.stdout)["interpolation"] == "slerp"


@pytest.mark.parametrize("flags, message", [
    (["--mode=grid"], "give exactly one of --workdir and --saved_model"),
    (["--mode=progress", "--saved_model=exports/x"], "progress animates a training run"),
    (["--mode=grid", "--workdir=/nonexistent/run"], "'/nonexistent/run' does not exist"),
    (["--mode=grid", "--workdir=run", "--truncation=0"],
     "generate.truncation must be in 0.01..100, got 0.0"),
    (["--mode=arithmetic", "--workdir=run"], "generate.attribute must name the concept"),
    (["--mode=project", "--workdir=run"], "give exactly one for project"),
])
def test_script_bad_input_is_one_line(flags, message):
    result = run_script("generate.py", *flags, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("generate.py: error: ") and message in last_line


@pytest.mark.parametrize("changes, error, message", [
    ({"labels": "7"}, ConfigError, "is not a conditional generator"),
    ({"checkpoint": "nope"}, RunError, "cannot restore the generator from 'nope'"),
    ({"mode": "project", "images": ("/nonexistent.png",)}, DataError,
     "image '/nonexistent.png' does not exist"),
    ({"mode": "progress", "checkpoint": "x"}, ConfigError, "--checkpoint does not apply"),
])
def test_bad_input_inside_the_library_is_a_kgan_error(run, tmp_path, changes, error, message):
    with pytest.raises(error, match=message):
        commands.run(GenerateConfig(**{"mode": "grid", "source": run,
                                       "output_dir": str(tmp_path), **changes}),
                     log=lambda m: None)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mnist_tfds_dir):
    """A briefly trained MNIST DCGAN: its samples are judged as several different digits
    (an untrained generator's are nearly all judged one digit)."""
    workdir = tmp_path_factory.mktemp("trained") / "digits"
    train(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                 model=ModelConfig(latent_dim=8, base_filters=8),
                 train=TrainConfig(batch_size=32, steps=300, checkpoint_every=300,
                                   sample_every=300, log_every=300)), str(workdir))
    return str(workdir)


@pytest.mark.slow
def test_arithmetic_and_projection_judged_by_the_mnist_classifier(trained_run, tmp_path):
    run = trained_run
    # The session's classifier (trained once per test session, as on a user's first use).
    source = sampling.load(run)
    judge, _, quality = commands.dataset_judge(
        GenerateConfig(mode="arithmetic", source=run, attribute="0"), source, log=lambda m: None)
    assert quality["test_accuracy"] >= 0.99
    z = np.random.default_rng(0).standard_normal((1000, source.latent_dim)).astype(np.float32)
    counts = concepts.judge_samples(source.generate, judge, z).sum(axis=0)
    # The untrained generator's "digit" nearest half of the samples: both groups are large.
    digit = str(int(np.argmax(np.minimum(counts, len(z) - counts))))
    assert 100 <= counts[int(digit)] <= 900, counts
    config = GenerateConfig(mode="arithmetic", source=run, output_dir=str(tmp_path),
                            attribute=digit, num_samples=5, concept_samples=1000,
                            transfer_samples=1000)
    result = commands.run(config, log=lambda m: None)
    png, report_path, npz = result.files
    report = json.loads(open(report_path).read())
    assert report["concept"] == f"({digit}) - (-{digit})"
    assert report["start"] == f"-{digit}" and report["target"] == digit
    assert 0 <= report["random_direction_rate"] <= 1 and 0 <= report["success_rate"] <= 1
    with np.load(npz) as arrays:
        assert arrays["concept"].shape == (source.latent_dim,)
        np.testing.assert_allclose(arrays["edited"] - arrays["start"],
                                   np.broadcast_to(arrays["concept"], arrays["start"].shape),
                                   atol=1e-5)
    columns = min(5, report["start_samples"])
    assert decode(png).shape == (3 * TILE + 2, columns * TILE + 2, 1)
    assert any("random direction of the same length" in line for line in result.lines)

    projected = commands.run(GenerateConfig(
        mode="project", source=run, output_dir=str(tmp_path), project_split="test",
        project_count=3, attribute=digit, concept_samples=1000,
        projection=ProjectionConfig(steps=30, candidates=8)), log=lambda m: None)
    png, report_path, npz = projected.files
    report = json.loads(open(report_path).read())
    assert len(report["pixel_rmse"]) == 3 and report["features"] == "MNIST digit classifier"
    assert report["figure_rows"] == ["target", "reconstruction", "reconstruction + 1 x concept"]
    assert decode(png).shape == (3 * TILE + 2, 3 * TILE + 2, 1)
    with np.load(npz) as arrays:
        assert arrays["latents"].shape == arrays["edited"].shape == (3, source.latent_dim)


def test_an_unwritable_output_is_a_one_line_error(run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for mode in ("grid", "interpolate", "progress"):
        with pytest.raises(RunError, match=f"cannot write {blocker}/"):
            commands.run(GenerateConfig(mode=mode, source=run, output_dir=str(blocker / "out"),
                                        num_samples=2, keyframes=2, frames_per_keyframe=1),
                         log=lambda m: None)
    assert os.listdir(tmp_path) == ["file"]


def test_a_single_image_of_a_split_can_be_projected(run):
    config = GenerateConfig(mode="project", source=run, project_split="test", project_count=1)
    targets, names = commands.projection_targets(config, sampling.load(run))
    assert targets.shape == (1, 28, 28, 1) and names == ["test[0]"]
