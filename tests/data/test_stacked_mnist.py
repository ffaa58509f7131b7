"""Stacked MNIST, built from the shared MNIST files."""

import numpy as np
import pytest

from kgan import data
from kgan.config import DataConfig
from kgan.data import stacked_mnist


def test_stack_puts_three_digits_in_the_channels_and_names_their_mode():
    digits = np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1) * np.ones((1, 28, 28, 1), np.uint8)
    labels = np.array([7, 1, 4, 0, 9])
    images, modes = stacked_mnist.stack(digits, labels, count=50, key=3)
    assert images.shape == (50, 28, 28, 3) and images.dtype == np.uint8
    picked = images[:, 0, 0, :]  # the digit index, since digit i is filled with i
    np.testing.assert_array_equal(modes, labels[picked[:, 0]] * 100 + labels[picked[:, 1]] * 10
                                  + labels[picked[:, 2]])
    again, _ = stacked_mnist.stack(digits, labels, count=50, key=3)
    np.testing.assert_array_equal(images, again)
    other, _ = stacked_mnist.stack(digits, labels, count=50, key=4)
    assert not np.array_equal(images, other)


def test_mode_ids():
    np.testing.assert_array_equal(stacked_mnist.mode_of([[0, 0, 0], [9, 9, 9], [1, 2, 3]]),
                                  [0, 999, 123])


@pytest.fixture(scope="module")
def test_split(mnist_tfds_dir):
    return data.load(DataConfig(dataset="stacked_mnist", data_dir=mnist_tfds_dir), "test")


def test_the_test_split_covers_the_thousand_modes_about_evenly(test_split, mnist_tfds_dir):
    assert test_split.num_examples == 26_000 and test_split.image_shape == (28, 28, 3)
    assert test_split.label_kind == "class" and test_split.num_labels == 1000
    images, modes = (t.numpy() for t in data.materialize(test_split))
    counts = np.bincount(modes, minlength=1000)
    assert counts.min() >= 5 and counts.max() <= 60  # 26 expected per mode
    # Every channel is an MNIST test digit of the class its mode names.
    digits, labels = (t.numpy() for t in data.materialize(
        data.load(DataConfig(data_dir=mnist_tfds_dir), "test")))
    for i in range(3):
        for channel, digit in enumerate(f"{modes[i]:03d}"):
            matches = np.all(digits[..., 0] == images[i, ..., channel], axis=(1, 2))
            assert matches.any() and int(digit) in set(labels[matches])


def test_a_gan_config_resolves_to_three_channels(mnist_tfds_dir):
    from kgan.config import Config
    from kgan.training import resolve
    config = resolve(Config(data=DataConfig(dataset="stacked_mnist", data_dir=mnist_tfds_dir)))
    assert config.model.image_shape == (28, 28, 3)
