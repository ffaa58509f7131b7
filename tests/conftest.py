"""Shared fixtures: where the real data lives, and tiny synthetic data."""

import contextlib
import hashlib
import os
import pathlib
import resource
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kgan.data import ImageDataset

REPO = pathlib.Path(__file__).resolve().parents[1]
# Absolute: tests run programs from other folders (the installed wheel's, from a temp dir).
SHARED_DATA = pathlib.Path(
    os.environ.get("KGAN_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
MNIST_TFDS_DIR = SHARED_DATA / "tensorflow_datasets"
MNIST_IDX_DIR = SHARED_DATA / "mnist"
CELEBA_HALF = str(SHARED_DATA / "celeba" / "img_align_celeba_89x109")  # 10,000 train faces
CELEBA_FULL = str(SHARED_DATA / "celeba" / "img_align_celeba")  # 1,440 held-out faces
# The cached default trains 8 epochs on both folders (BUILD_NOTES.md). After 2 epochs
# the held-out Male accuracy still swings (0.73 on two threads, 0.90 on one); from 3 it
# holds (0.95, then 0.96 after 4).
QUICK_CLASSIFIER_EPOCHS = 3


@pytest.fixture(scope="session", autouse=True)
def kgan_cache(tmp_path_factory):
    """One kgan cache for the test session, so tests never touch ~/.cache/kgan and
    derived files (the evaluation classifier, reference features) are built once."""
    path = tmp_path_factory.mktemp("kgan-cache")
    previous = os.environ.get("KGAN_CACHE_DIR")
    os.environ["KGAN_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("KGAN_CACHE_DIR", None)
    else:
        os.environ["KGAN_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def quick_attribute_classifier(kgan_cache):
    """The CelebA attribute classifier of a quick recipe (the 10,000 half-size
    train faces, `QUICK_CLASSIFIER_EPOCHS`), trained once per session into the
    session cache; measured on the 1,440 held-out faces."""
    from kgan.features import attribute_classifier
    return attribute_classifier.load_classifier(
        [CELEBA_HALF], heldout_dir=CELEBA_FULL, epochs=QUICK_CLASSIFIER_EPOCHS,
        cache_root=str(kgan_cache), log=lambda m: None)


@pytest.fixture(scope="session")
def mnist_tfds_dir():
    if not (MNIST_TFDS_DIR / "mnist" / "3.0.1" / "dataset_info.json").exists():
        pytest.fail(f"the shared MNIST TFDS data_dir is missing at {MNIST_TFDS_DIR}; "
                    "set KGAN_SHARED_DATA to the shared/data folder")
    return str(MNIST_TFDS_DIR)


def tiny_dataset(num_examples=10, image_shape=(28, 28, 1), seed=0) -> ImageDataset:
    """A small in-memory split whose image i is filled with the value i."""
    rng = np.random.default_rng(seed)
    images = np.stack([np.full(image_shape, i, np.uint8) for i in range(num_examples)])
    labels = rng.integers(0, 10, num_examples).astype(np.int64)
    examples = tf.data.Dataset.from_tensor_slices((images, labels))
    return ImageDataset(examples, num_examples, image_shape, "class",
                        tuple(str(c) for c in range(10)), "memory")


@contextlib.contextmanager
def file_size_limit(limit):
    """Lowers this process's soft RLIMIT_FSIZE for the block (Python ignores SIGXFSZ,
    so an over-long write fails with EFBIG instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def tree_digest(folder) -> str:
    """sha256 over every path and file content below `folder`."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(folder).rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_script(script, *args, timeout=300, env=None):
    """Runs one of the repo's scripts in a fresh Python process."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=full_env)
