"""SimGAN meets the task contract on rendered digits and real MNIST, and plays the paper's game."""

import io

import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config, DataConfig, EvalConfig, ModelConfig, TrainConfig
from kgan.data import synthetic_digits
from kgan.evaluation import evaluate
from kgan.models.simgan import SimGANRefiner
from kgan.tasks.simgan import SimGAN
from kgan.training import train
from tests.tasks.harness import TaskContract, assert_resolve_refuses


def tiny(data_dir, **train_changes):
    return Config(task="simgan",
                  data=DataConfig(data_dir=data_dir, synthetic_examples=40),
                  model=ModelConfig(architecture="simgan", base_filters=4, generator_blocks=1,
                                    patch_layers=1),
                  train=TrainConfig(batch_size=4, num_samples=8, history_size=6,
                                    l1_weight=1.0, **train_changes))


class TestSimGANTaskContract(TaskContract):
    def config(self, request):
        return tiny(request.getfixturevalue("mnist_tfds_dir"))

    def test_the_history_buffer_holds_refined_digits(self, run):
        workdir, _ = run
        reader = tf.train.load_checkpoint(checkpoints.latest_checkpoint(workdir))
        names = reader.get_variable_to_shape_map()
        (history,) = [n for n in names if n.startswith("history/")]
        (filled,) = [n for n in names if n.startswith("history_filled/")]
        # Four steps of four refinements: the six slots are full.
        assert int(reader.get_tensor(filled)) == 6
        stored = reader.get_tensor(history)
        assert stored.shape == (6, 28, 28, 1) and np.abs(stored).max() > 0.5

    def test_evaluate_judges_the_refined_digits_beside_the_rendered_ones(self, run, tmp_path):
        from kgan.commands.evaluate import translation_lines

        workdir, _ = run
        report = evaluate(EvalConfig(workdir=workdir, metrics=("classifier",), num_samples=200,
                                     output=str(tmp_path / "report.json")), log=lambda m: None)
        entry = report["directions"]["serving_default"]
        assert entry["inputs"] == 200 and report["split"] == "heldout"
        # Four steps from the identity leave every digit within a level of its rendering.
        assert 0 <= entry["change_levels"] < 1
        judged = entry["digit_classifier"]
        assert judged["real_digits"] == 10000 and judged["classifier_test_accuracy"] >= 0.99
        for side in ("inputs", "outputs"):
            assert 0.3 < judged[side]["accuracy"] <= 1 and judged[side]["frechet_distance"] > 0
        assert judged["outputs"]["accuracy"] == pytest.approx(judged["inputs"]["accuracy"],
                                                              abs=0.1)
        printed = "\n".join(translation_lines(report))
        assert "MNIST classifier: class kept" in printed and "10000 real digits" in printed


def test_a_new_refiner_is_the_identity():
    refiner = SimGANRefiner(1, base_filters=4, blocks=1)
    refiner.build((None, 28, 28, 1))
    digits, _ = synthetic_digits.render(8, seed=0)
    x = tf.cast(digits, tf.float32) / 127.5 - 1.0
    refined = refiner(x).numpy()
    np.testing.assert_allclose(refined, x.numpy(), atol=1.1e-3)
    np.testing.assert_allclose(np.tanh(refiner.pre_tanh(x).numpy()), refined, atol=1e-6)


def test_rendered_and_real_digits_ride_side_by_side(mnist_tfds_dir):
    config = SimGAN.resolve(tiny(mnist_tfds_dir))
    split = SimGAN.load_data(config, "train")
    assert split.num_examples == 60_000
    synthetic = split.arrays["synthetic"]
    distinct = np.unique(synthetic.reshape(len(synthetic), -1), axis=0)
    assert len(distinct) == 40  # the 40 rendered digits, tiled
    held_out = SimGAN.examples(config)["serving_default"].inputs
    rendered_next, _ = synthetic_digits.render(3, config.train.seed, start=40)
    np.testing.assert_array_equal(held_out[:3, ..., 0], rendered_next[..., 0])
    assert held_out.shape[1:] == (28, 28, 3)


@pytest.mark.parametrize("changes, message", [
    ({"data": {"dataset": "celeba"}}, "data.dataset must be 'mnist'"),
    ({"model": {"architecture": "resnet"}}, "model.architecture must be 'simgan'"),
    ({"model": {"patch_layers": 3}}, "model.patch_layers=3 halves a 28x28 digit below 7x7"),
    ({"train": {"augment": ["translation"]}}, "train.augment is an option"),
    ({"data": {"examples_per_class": 3}}, "task simgan uses all its data"),
])
def test_settings_outside_the_game_are_refused(mnist_tfds_dir, changes, message):
    assert_resolve_refuses(tiny(mnist_tfds_dir), changes, message)


def test_adversarial_weight_zero_trains_the_refiner_on_self_regularization_alone(
        mnist_tfds_dir, tmp_path):
    config = tiny(mnist_tfds_dir, adversarial_weight=0.0, steps=2, log_every=2,
                  sample_every=2, checkpoint_every=2)
    result = train(config, str(tmp_path / "run"), stream=io.StringIO())
    assert set(result.metrics) == {"g_loss"}
    reader = tf.train.load_checkpoint(result.checkpoint)
    iterations = {name.split("/")[0]: int(reader.get_tensor(name))
                  for name in reader.get_variable_to_shape_map()
                  if name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")}
    assert iterations == {"g_optimizer": 2, "d_optimizer": 0}


def test_held_out_digits_carry_their_classes_and_the_real_test_digits(mnist_tfds_dir):
    config = tiny(mnist_tfds_dir)
    held_out = SimGAN.examples(config)["serving_default"]
    # Rendered digit i shows i % 10; the held-out ones start after the 40 training digits.
    assert list(held_out.labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert held_out.real.shape == (10000, 28, 28, 3) and held_out.real.dtype == np.uint8
    chosen = SimGAN.chosen_examples(config, 5, seed=3)["serving_default"]
    rows = [int(np.flatnonzero((held_out.inputs == image).all(axis=(1, 2, 3)))[0])
            for image in chosen.inputs]
    assert list(chosen.labels) == list(held_out.labels[rows])
    assert chosen.real.shape == held_out.real.shape  # the reference is not drawn per input
