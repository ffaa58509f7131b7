"""MNIST through tensorflow-datasets, offline.

Accepted `data_dir` layouts:
  * a TFDS `data_dir` holding a prepared `mnist/3.0.1/` (as in
    `shared/data/tensorflow_datasets`);
  * a folder holding the four original IDX `.gz` files. They are prepared
    once into a TFDS dataset under the kgan cache (`$KGAN_CACHE_DIR`, default
    `~/.cache/kgan`) through TFDS's `manual_dir` mechanism, which checks each
    file's size and sha256 against the checksums TFDS registers for MNIST.
"""

import os
import re
import tempfile

import tensorflow_datasets as tfds

from kgan.config import cache_dir
from kgan.data.record import ImageDataset
from kgan.errors import DataError

IMAGE_SHAPE = (28, 28, 1)
CLASS_NAMES = tuple(str(digit) for digit in range(10))
SPLITS = ("train", "test")
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _has_idx_files(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, name)) for name in IDX_FILES)


def _prepare_from_idx(idx_dir: str) -> str:
    """Prepares TFDS MNIST from IDX files (once) and returns its TFDS data_dir."""
    prepared_dir = os.path.join(cache_dir(), "tensorflow_datasets")
    builder = tfds.builder("mnist", data_dir=prepared_dir)
    if builder.is_prepared():
        return prepared_dir
    print(f"Preparing MNIST from the IDX files in {idx_dir} into {prepared_dir} (once)...",
          flush=True)
    download_config = tfds.download.DownloadConfig(manual_dir=idx_dir, try_download_gcs=False)
    try:
        os.makedirs(prepared_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="kgan-mnist-") as scratch:
            builder.download_and_prepare(download_dir=scratch, download_config=download_config)
    except Exception as e:  # TFDS raises many types; all mean the files are unusable.
        bad_file = re.search(r"downloaded to (\S+?),? has wrong checksum", str(e))
        if bad_file:
            reason = (f"{os.path.basename(bad_file.group(1))} does not have the size and sha256 "
                      "of the original MNIST file (truncated or altered?)")
        else:
            lines = str(e).strip().splitlines()
            reason = f"{type(e).__name__}: {lines[0] if lines else ''}"
        raise DataError(f"could not prepare MNIST from the IDX files in {idx_dir}: {reason}") from None
    return prepared_dir


def load(data_dir: str | None, split: str, download: bool) -> ImageDataset:
    """Loads an MNIST split as (uint8 image [28, 28, 1], int64 label) pairs.

    Args:
        data_dir: A TFDS data_dir, a folder of IDX `.gz` files, or None for
            TFDS's default folder.
        split: "train" or "test".
        download: Allow TFDS to download MNIST if it is not prepared locally.

    Raises:
        DataError: if the folder is missing or holds no usable MNIST.
    """
    if data_dir is not None and not os.path.isdir(data_dir):
        raise DataError(f"data directory {data_dir!r} does not exist")
    tfds_dir = data_dir
    if data_dir is not None and _has_idx_files(data_dir):
        tfds_dir = _prepare_from_idx(data_dir)
    builder = tfds.builder("mnist", data_dir=tfds_dir)
    if not builder.is_prepared() and not download:
        where = data_dir if data_dir is not None else builder.data_dir_root
        raise DataError(
            f"no prepared MNIST in {where!r}: point --data_dir at a TFDS data_dir holding "
            f"mnist/3.0.1 or at a folder with the four IDX .gz files, or pass --download")
    try:
        examples = tfds.load("mnist", split=split, data_dir=tfds_dir, download=download,
                             as_supervised=True)
    except Exception as e:
        raise DataError(f"could not load MNIST split {split!r} from {tfds_dir!r}: "
                        f"{type(e).__name__}: {e}") from None
    return ImageDataset(
        examples=examples,
        num_examples=builder.info.splits[split].num_examples,
        image_shape=IMAGE_SHAPE,
        label_kind="class",
        label_names=CLASS_NAMES,
        source=builder.data_dir,
    )
