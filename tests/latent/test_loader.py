"""The one loader: a run directory, an export version or an export model folder."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import export as kgan_export
from kgan.config import ExportConfig
from kgan.errors import ConfigError, RunError
from kgan.evaluation import sampling
from kgan.images import to_uint8
from tests.latent.conftest import MNIST_CONDITIONAL, make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "digits"
    make_run(workdir, MNIST_CONDITIONAL)
    return str(workdir)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    return kgan_export.export(ExportConfig(workdir=run, export_dir=str(root), tflite_variants=(),
                                           verify=False), log=lambda message: None)


def latents_and_labels(count=6):
    z = np.random.default_rng(0).standard_normal((count, 8)).astype(np.float32)
    return z, np.arange(count) % 10


def test_workdir_export_version_and_model_folder_give_the_same_images(run, exported):
    z, labels = latents_and_labels()
    from_run = sampling.load(run)
    assert from_run.step == 7 and from_run.latent_dim == 8
    assert from_run.path == run and not from_run.is_export
    expected = from_run.generate(z, labels)
    for path in (exported.path, os.path.dirname(exported.path)):
        source = sampling.load(path)
        assert source.description.startswith("digits version 1")
        assert source.path == exported.path and source.is_export
        np.testing.assert_array_equal(source.generate(z, labels), expected)
        # The Keras generator rebuilt from the export's own weights agrees with its signature.
        np.testing.assert_array_equal(np.asarray(to_uint8(source.images(z, labels))), expected)


def test_the_loaded_generator_is_differentiable_in_z(exported):
    source = sampling.load(exported.path)
    z, labels = latents_and_labels(2)
    z = tf.Variable(z)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(source.images(z, labels)))
    gradient = tape.gradient(loss, z)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0


def test_unusable_paths_are_one_line_errors(tmp_path, run, exported):
    with pytest.raises(RunError, match="does not exist"):
        sampling.load(str(tmp_path / "nowhere"))
    with pytest.raises(RunError, match="neither a kgan run directory"):
        sampling.load(str(tmp_path))
    with pytest.raises(ConfigError, match="only applies to a training run"):
        sampling.load(exported.path, checkpoint="ckpt-7")
    broken = tmp_path / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "export.json").write_text("{not json")
    with pytest.raises(RunError, match="not a usable kgan export description"):
        sampling.load(str(broken))


def test_an_export_whose_config_describes_another_generator_is_refused(tmp_path, exported):
    import json
    import shutil
    copy = tmp_path / "digits" / "1"
    shutil.copytree(exported.path, copy)
    metadata = json.loads((copy / "export.json").read_text())
    metadata["source"]["config"]["model"]["base_filters"] *= 2
    (copy / "export.json").write_text(json.dumps(metadata))
    with pytest.raises(RunError, match=r"does not hold the generator its config describes "
                                       r"\(.*kernel \[.*\] where the generator has"):
        sampling.load(str(copy))
