"""MNIST loading from the shared data: a TFDS data_dir and a folder of IDX files."""

import gzip
import os
import shutil

import numpy as np
import pytest

from kgan import data
from kgan.config import DataConfig
from kgan.errors import DataError
from tests.conftest import MNIST_IDX_DIR


def idx_pixel_sum(name):
    with gzip.open(MNIST_IDX_DIR / name) as f:
        return int(np.frombuffer(f.read()[16:], np.uint8).sum(dtype=np.int64))


def pixel_sum(dataset):
    total = 0
    for images, _ in dataset.examples.batch(10_000):
        total += int(images.numpy().sum(dtype=np.int64))
    return total


def test_tfds_data_dir_loads_both_splits(mnist_tfds_dir):
    train = data.load(DataConfig(data_dir=mnist_tfds_dir), "train")
    test = data.load(DataConfig(data_dir=mnist_tfds_dir), "test")
    assert (train.num_examples, test.num_examples) == (60_000, 10_000)
    assert train.image_shape == (28, 28, 1) and train.label_names == tuple("0123456789")
    image, label = next(iter(train.examples))
    assert image.shape == (28, 28, 1) and image.dtype.name == "uint8"
    assert 0 <= int(label) < 10
    assert pixel_sum(test) == idx_pixel_sum("t10k-images-idx3-ubyte.gz")


@pytest.mark.slow
def test_idx_folder_is_prepared_offline_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))
    train = data.load(DataConfig(data_dir=str(MNIST_IDX_DIR)), "train")
    assert train.num_examples == 60_000
    assert train.source.startswith(str(tmp_path / "cache"))
    assert pixel_sum(train) == idx_pixel_sum("train-images-idx3-ubyte.gz")
    assert not any(name.endswith(".tfrecord") for name in os.listdir(MNIST_IDX_DIR))
    # A second load reuses the prepared copy.
    again = data.load(DataConfig(data_dir=str(MNIST_IDX_DIR)), "test")
    assert again.source == train.source and again.num_examples == 10_000


def test_corrupt_idx_file_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))
    idx = tmp_path / "idx"
    shutil.copytree(MNIST_IDX_DIR, idx)
    with open(idx / "t10k-labels-idx1-ubyte.gz", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DataError, match="could not prepare MNIST from the IDX files in .*: t10k-labels-idx1-ubyte.gz does not have the size and sha256"):
        data.load(DataConfig(data_dir=str(idx)), "train")


def test_missing_and_empty_data_dirs(tmp_path):
    with pytest.raises(DataError, match="data directory '.*nope' does not exist"):
        data.load(DataConfig(data_dir=str(tmp_path / "nope")))
    with pytest.raises(DataError, match="no prepared MNIST in"):
        data.load(DataConfig(data_dir=str(tmp_path)))


def test_data_dir_resolution_order(monkeypatch):
    monkeypatch.setenv("KGAN_DATA_DIR", "/from/env")
    assert data.resolve_data_dir("/from/flag") == "/from/flag"
    assert data.resolve_data_dir(None) == "/from/env"
    monkeypatch.delenv("KGAN_DATA_DIR")
    assert data.resolve_data_dir(None) is None


def test_env_data_dir_is_used(mnist_tfds_dir, monkeypatch):
    monkeypatch.setenv("KGAN_DATA_DIR", mnist_tfds_dir)
    assert data.load(DataConfig(), "test").num_examples == 10_000
