"""Stacked MNIST mode statistics (PacGAN's protocol), by hand and on real data."""

import numpy as np
import pytest

from kgan.evaluation.stacked_mnist import digit_probabilities, stacked_modes


def one_hot_triples(triples):
    probabilities = np.zeros((len(triples), 3, 10))
    for row, triple in enumerate(triples):
        for channel, digit in enumerate(triple):
            probabilities[row, channel, digit] = 1.0
    return probabilities


def test_a_collapsed_generator_covers_one_mode():
    report = stacked_modes(one_hot_triples([(1, 2, 3)] * 40))
    assert report["modes_covered"] == 1 and report["num_modes"] == 1000
    assert report["kl_from_uniform"] == pytest.approx(np.log(1000))
    assert report["confident_share"] == 1.0


def test_an_even_generator_has_zero_kl():
    triples = [(m // 100, m // 10 % 10, m % 10) for m in range(1000)] * 2
    report = stacked_modes(one_hot_triples(triples))
    assert report["modes_covered"] == 1000 and report["modes_at_tenth_uniform"] == 1000
    assert report["kl_from_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_two_modes_by_hand():
    # 3/4 on mode 5, 1/4 on mode 7: KL = 3/4 log(750) + 1/4 log(250).
    probabilities = one_hot_triples([(0, 0, 5)] * 3 + [(0, 0, 7)])
    probabilities[0, 1] = 0.1  # an unsure channel: still read as its argmax, 0
    probabilities[0, 1, 0] = 0.5
    report = stacked_modes(probabilities)
    assert report["modes_covered"] == 2
    assert report["kl_from_uniform"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))
    assert report["confident_share"] == 0.75


def test_channels_are_read_one_at_a_time():
    class ReadsTheMeanLevel:
        def probabilities(self, images):
            levels = np.asarray(images).reshape(len(images), -1).mean(axis=1)
            return np.eye(10)[np.round(levels / 10).astype(int)]

    images = np.zeros((2, 28, 28, 3), np.uint8)
    images[0] = [10, 20, 30]
    images[1] = [90, 0, 50]
    read = digit_probabilities(ReadsTheMeanLevel(), images).argmax(axis=-1)
    np.testing.assert_array_equal(read, [[1, 2, 3], [9, 0, 5]])
    with pytest.raises(ValueError, match="Stacked MNIST images are"):
        digit_probabilities(ReadsTheMeanLevel(), np.zeros((2, 28, 28, 1)))


def test_real_stacked_digits_cover_every_mode_evenly(mnist_tfds_dir):
    """The protocol's ceiling: the 26,000 real test triples, read channel by
    channel by kgan's MNIST classifier."""
    from kgan import data
    from kgan.config import DataConfig
    from kgan.evaluation import mnist_classifier

    config = DataConfig(dataset="stacked_mnist", data_dir=mnist_tfds_dir)
    images, modes = (t.numpy() for t in data.materialize(data.load(config, "test")))
    classifier = mnist_classifier.load_classifier(DataConfig(data_dir=mnist_tfds_dir))
    probabilities = digit_probabilities(classifier, images)
    report = stacked_modes(probabilities)
    assert report["modes_covered"] == 1000
    assert report["kl_from_uniform"] < 0.05
    read = probabilities.argmax(axis=-1)
    assert np.mean(read[:, 0] * 100 + read[:, 1] * 10 + read[:, 2] == modes) > 0.95


@pytest.mark.slow
def test_a_stacked_mnist_run_trains_and_evaluate_reports_its_modes(tmp_path, mnist_tfds_dir):
    import json

    from tests.conftest import run_script

    workdir = tmp_path / "stacked"
    trained = run_script("train.py", f"--workdir={workdir}", "--dataset=stacked_mnist",
                         f"--data_dir={mnist_tfds_dir}", "--base_filters=8", "--latent_dim=16",
                         "--batch_size=16", "--steps=4", "--log_every=2", "--sample_every=4",
                         "--checkpoint_every=4", "--model=dcgan", "--pack=2",
                         "--minibatch_discrimination=4", "--unrolled_steps=1")
    assert trained.returncode == 0, trained.stderr
    config = json.loads((workdir / "config.json").read_text())
    assert config["data"]["dataset"] == "stacked_mnist"
    assert config["model"]["image_shape"] == [28, 28, 3]
    result = run_script("evaluate.py", f"--workdir={workdir}", "--metrics=classifier",
                        "--num_samples=300", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Stacked MNIST: " in result.stdout and "/1000 modes covered" in result.stdout
    assert "not the protocol's 26000" in result.stdout
    report = json.loads((workdir / "eval" / "step_00000004.json").read_text())["stacked_mnist"]
    assert report["num_samples"] == 300 and 1 <= report["modes_covered"] <= 300
    assert 0 <= report["kl_from_uniform"] <= np.log(1000) + 1e-9
