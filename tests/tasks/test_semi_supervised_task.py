"""The semi-supervised GAN (Salimans et al. 2016): contract, data, learning, evaluation."""

import dataclasses
import io
import json

import numpy as np
import pytest

from kgan import tasks
from kgan.config import Config, DataConfig, EvalConfig, ModelConfig, TrainConfig
from kgan.evaluation import classification, evaluate
from kgan.tasks.semi_supervised import SemiSupervisedGAN
from kgan.training import train
from tests.tasks.harness import TaskContract, assert_resolve_refuses


def tiny(data_dir, **train_changes):
    return Config(task="semi_supervised",
                  data=DataConfig(data_dir=data_dir, labeled_per_class=2),
                  model=ModelConfig(architecture="mlp", latent_dim=8, hidden_units=(32,),
                                    classifier_units=(64, 32)),
                  train=TrainConfig(batch_size=16, num_samples=16, **train_changes))


class TestSemiSupervisedTaskContract(TaskContract):
    def config(self, request):
        return tiny(request.getfixturevalue("mnist_tfds_dir"))

    def test_the_export_serves_the_classifier_beside_generation(self, run, exported):
        import tensorflow as tf
        from kgan import checkpoints

        table = exported.metadata["signatures"]["classify"]
        assert table["inputs"] == {"images": {"dtype": "uint8", "shape": [None, 28, 28, 1]}}
        assert table["outputs"] == {"probabilities": {"dtype": "float32", "shape": [None, 10]}}
        assert table["classes"] == [str(d) for d in range(10)]
        checked = exported.metadata["verification"]["classify"]
        assert checked["max_abs_diff"] <= 1e-5 and checked["refuses_too_many_images"]
        images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
        classify = tf.saved_model.load(exported.path).signatures["classify"]
        served = classify(images=tf.constant(images))["probabilities"].numpy()
        task = checkpoints.load_task(run[0]).task
        np.testing.assert_allclose(served, task.classify(images / 127.5 - 1.0).numpy(),
                                   atol=1e-5)
        np.testing.assert_allclose(served.sum(axis=1), 1.0, rtol=1e-5)
        # Hostile requests: another image size; more images than the export's limit (64).
        with pytest.raises(tf.errors.InvalidArgumentError, match="images"):
            classify(images=tf.zeros([2, 28, 27, 1], tf.uint8))
        with pytest.raises(tf.errors.InvalidArgumentError, match="at most 64 images"):
            classify(images=tf.zeros([65, 28, 28, 1], tf.uint8))

    def test_evaluate_measures_the_export_s_classifier_as_the_run_s(self, run, exported):
        settings = dict(metrics=("classifier",), num_samples=200, reference_samples=200)
        quiet = dict(log=lambda message: None)
        from_run = evaluate(EvalConfig(workdir=run[0], output=f"{run[0]}/a.json", **settings),
                            **quiet)["classification"]
        from_export = evaluate(EvalConfig(saved_model=exported.path,
                                          output=f"{run[0]}/b.json", **settings),
                               **quiet)["classification"]
        assert from_export == from_run


def test_training_batches_pair_each_image_with_a_labelled_one(mnist_tfds_dir):
    config = tasks.task_of(tiny(mnist_tfds_dir)).resolve(tiny(mnist_tfds_dir))
    split = SemiSupervisedGAN.load_data(config, "train")
    assert split.num_examples == 60_000
    labelled = split.arrays["labelled_image"]
    distinct = np.unique(labelled.reshape(len(labelled), -1), axis=0)
    assert len(distinct) == 20  # 2 per class
    assert np.bincount(split.arrays["labelled_class"], minlength=10).tolist() == [6000] * 10


@pytest.mark.parametrize("changes, message", [
    ({"model": {"conditional": True}}, "model.conditional must be false"),
    ({"model": {"architecture": "dcgan"}}, "model.architecture must be 'mlp'"),
    ({"train": {"r1_gamma": 1.0}}, "train.r1_gamma does not apply"),
    ({"train": {"d_steps": 2}}, "train.d_steps does not apply"),
    ({"data": {"dataset": "celeba"}}, "data.dataset must have two or more classes"),
    ({"data": {"examples_per_class": 5}}, "task semi_supervised uses all its data"),
])
def test_settings_the_game_does_not_play_are_refused(mnist_tfds_dir, changes, message):
    assert_resolve_refuses(tiny(mnist_tfds_dir), changes, message)


@pytest.fixture(scope="module")
def learned(mnist_tfds_dir, tmp_path_factory):
    """300 steps of the tiny task: enough for its classifier to beat chance clearly."""
    workdir = str(tmp_path_factory.mktemp("ssl") / "run")
    config = tiny(mnist_tfds_dir, steps=300, log_every=300, sample_every=300,
                  checkpoint_every=300)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                   labeled_per_class=10))
    train(config, workdir, stream=io.StringIO())
    return workdir


def test_the_discriminator_learns_to_classify_and_evaluate_reports_its_test_error(
        learned, mnist_tfds_dir):
    report = evaluate(EvalConfig(workdir=learned, metrics=("classifier",), num_samples=200,
                                 reference_samples=200), log=lambda message: None)
    c = report["classification"]
    assert (c["split"], c["count"]) == ("test", 10_000)
    assert c["errors"] == round(c["error"] * 10_000)
    assert c["error"] < 0.5  # chance is 0.9
    assert set(c["per_class_error"]) == {str(d) for d in range(10)}
    assert json.loads(open(report["output"]).read())["classification"] == c


def test_test_error_of_a_constant_classifier_is_the_other_classes_share(mnist_tfds_dir):
    def always_one(images):
        return np.tile(np.eye(10)[1], (len(images), 1))

    result = classification.test_error(always_one, DataConfig(data_dir=mnist_tfds_dir),
                                       log=lambda message: None)
    # MNIST's test split has 1,135 ones.
    assert result["errors"] == 10_000 - 1_135
    assert result["per_class_error"]["1"] == 0.0 and result["per_class_error"]["7"] == 1.0


def test_adversarial_weight_zero_is_the_labels_only_baseline(mnist_tfds_dir, tmp_path):
    import tensorflow as tf
    from kgan import checkpoints

    config = tiny(mnist_tfds_dir, steps=3, log_every=3, sample_every=3, checkpoint_every=3,
                  adversarial_weight=0.0)
    result = train(config, str(tmp_path / "run"), stream=io.StringIO())
    assert set(result.metrics) == {"d_loss", "labelled_accuracy"}
    reader = tf.train.load_checkpoint(result.checkpoint)
    iterations = {name.split("/")[0]: int(reader.get_tensor(name))
                  for name in reader.get_variable_to_shape_map()
                  if name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")}
    # Three classifier updates, no generator update.
    assert iterations == {"d_optimizer": 3, "g_optimizer": 0}
    assert checkpoints.load_task(str(tmp_path / "run")).task.adversarial_weight == 0.0
