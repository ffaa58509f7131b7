"""Evaluation of conditional generators: label agreement on MNIST, CelebA against held-out faces."""

import json

import numpy as np
import pytest

from kgan.config import Config, DataConfig, EvalConfig, ModelConfig, TrainConfig
from kgan.evaluation import evaluate, sample_labels
from kgan.training import train
from tests.conftest import SHARED_DATA, run_script

GRAPH = str(SHARED_DATA / "inception" / "inception-2015-12-05-pool3.pb")
CELEBA_178 = str(SHARED_DATA / "celeba" / "img_align_celeba")


def test_sample_labels_are_balanced_classes_or_the_reference_attributes():
    digits = Config(model=ModelConfig(conditional=True, label_kind="class",
                                      label_names=tuple("0123456789")))
    labels = sample_labels(digits.model, digits.data, "test", 25)
    assert labels.tolist() == list(range(10)) * 2 + list(range(5))
    assert sample_labels(Config().model, Config().data, "test", 5) is None


@pytest.mark.slow
def test_briefly_trained_conditional_mnist_generator_follows_its_labels(tmp_path, mnist_tfds_dir):
    """500 steps (about 30 s here) of the default conditional DCGAN; chance agreement is 0.1."""
    workdir = tmp_path / "digits"
    train(Config(data=DataConfig(data_dir=mnist_tfds_dir), model=ModelConfig(conditional=True),
                 train=TrainConfig(steps=500, log_every=500, sample_every=500)),
          str(workdir), stream=open("/dev/null", "w"))
    result = run_script("evaluate.py", f"--workdir={workdir}", "--metrics=classifier",
                        "--num_samples=1000", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "classifier agrees with the requested label" in result.stdout
    report = json.loads((workdir / "eval" / "step_00000500.json").read_text())
    classifier = report["classifier"]
    assert report["conditional"] is True
    assert classifier["label_agreement"] > 0.5
    # Balanced requests: 100 per class, and most classes are mostly right.
    per_class = classifier["label_agreement_per_class"]
    assert sorted(per_class) == list("0123456789")
    assert sum(value > 0.5 for value in per_class.values()) >= 7
    assert set(classifier["frechet_distance_per_class"]) == set(per_class)
    grid_rows = (workdir / "samples" / "rows.txt").read_text().splitlines()
    assert grid_rows[0] == "row 1: 0" and grid_rows[-1] == "row 10: 9"

    # Five samples request classes 0-4 only: the others have no agreement to report.
    few = run_script("evaluate.py", f"--workdir={workdir}", "--metrics=classifier",
                     "--num_samples=5", f"--output={tmp_path / 'few.json'}", timeout=600)
    assert few.returncode == 0, few.stderr
    assert "5:- 6:- 7:- 8:- 9:-)" in few.stdout
    per_class = json.loads((tmp_path / "few.json").read_text())["classifier"][
        "label_agreement_per_class"]
    assert [value is None for value in per_class.values()] == [False] * 5 + [True] * 5


@pytest.mark.slow
def test_conditional_celeba_run_trains_exports_and_evaluates(tmp_path):
    from kgan import export as kgan_export
    from kgan.config import ExportConfig
    import tensorflow as tf

    workdir = tmp_path / "faces"
    attributes = ("Male", "Smiling", "Eyeglasses", "Blond_Hair")
    result = train(Config(data=DataConfig(dataset="celeba", data_dir=CELEBA_178,
                                          attributes=attributes),
                          model=ModelConfig(conditional=True, base_filters=8, latent_dim=16),
                          train=TrainConfig(batch_size=8, steps=3, num_samples=32)),
                   str(workdir), stream=open("/dev/null", "w"))
    assert result.step == 3
    # 16 attribute combinations, 2 columns each: 16 rows of 64x64 tiles with 2-pixel padding.
    grid = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / "step_00000003.png")))
    assert grid.shape == (16 * 66 + 2, 2 * 66 + 2, 3)
    rows = (workdir / "samples" / "rows.txt").read_text().splitlines()
    assert rows[0] == "row 1: none" and rows[-1] == "row 16: " + "+".join(attributes)

    exported = kgan_export.export(ExportConfig(workdir=str(workdir),
                                               export_dir=str(tmp_path / "exports"),
                                               tflite_variants=("float32",)),
                                  log=lambda message: None)
    assert exported.metadata["signatures"]["serving_default"]["inputs"]["labels"] == {
        "dtype": "float32", "shape": [None, 4]}
    assert exported.metadata["generator"]["labels"]["names"] == list(attributes)
    serve = tf.saved_model.load(exported.path).signatures["serving_default"]
    z = tf.zeros([2, 16])
    images = serve(z=z, labels=tf.constant([[1, 0, 0, 0], [0, 1, 1, 0]], tf.float32))["images"]
    assert images.dtype == tf.uint8 and images.shape == (2, 64, 64, 3)
    assert not np.array_equal(images[0], images[1])

    report = evaluate(EvalConfig(saved_model=exported.path, metrics=("kid",), num_samples=100,
                                 reference_samples=100, inception_path=GRAPH,
                                 output=str(tmp_path / "eval.json")), log=lambda message: None)
    assert report["reference"] == {"dataset": "celeba", "split": "heldout", "samples": 100}
    assert report["kid"]["mean"] > 0.05, "three training steps cannot give faces"
