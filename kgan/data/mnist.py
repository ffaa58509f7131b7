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

import tensorflow as tf
import tensorflow_datasets as tfds

from kgan.config import cache_dir
from kgan.core.messages import one_line
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
            reason = f"{type(e).__name__}: {one_line(e)}"
        raise DataError(f"could not prepare MNIST from the IDX files in {idx_dir}: {reason}") from None
    return prepared_dir


def _builder(tfds_dir: str | None):
    """TFDS's MNIST builder for `tfds_dir`, which reads its `dataset_info.json` if prepared."""
    try:
        return tfds.builder("mnist", data_dir=tfds_dir)
    except Exception as e:  # e.g. a damaged dataset_info.json: TFDS raises a protobuf ParseError
        # TFDS prefixes 'Failed to construct dataset "mnist", builder_kwargs "{...}": '.
        reason = re.sub(r'^Failed to construct dataset "mnist", builder_kwargs "\{.*?\}": ', "",
                        one_line(e))
        raise DataError(f"could not read the TFDS metadata of MNIST in {tfds_dir!r}: "
                        f"{type(e).__name__}: {reason}") from None


def _verify_split_files(builder, split: str) -> None:
    """Reads every record of the split's TFRecord files once, checking each
    record's CRCs and the record count that `dataset_info.json` gives.

    This takes about 0.1 s for the 60,000 training images (records are
    counted in batches, not decoded), and turns a damaged file into an error
    naming it when loading starts, not an exception from inside TensorFlow
    once training reads that far.

    Raises:
        DataError: naming a missing, truncated or damaged file.
    """
    where = builder.data_dir
    try:
        instructions = builder.info.splits[split].file_instructions
    except Exception as e:
        raise DataError(f"the TFDS metadata in {where} has no usable MNIST split {split!r}: "
                        f"{type(e).__name__}: {one_line(e)}") from None
    hint = ""
    if os.path.abspath(where).startswith(os.path.abspath(cache_dir()) + os.sep):
        hint = f"; it was prepared by kgan: delete {where} to prepare it again"
    for instruction in instructions:
        path = instruction.filename
        if not tf.io.gfile.exists(path):  # gfile: TFDS data_dirs may be remote (gs://)
            raise DataError(f"MNIST {split} file {path} is missing{hint}")
        try:
            records = (tf.data.TFRecordDataset(path, buffer_size=8 << 20)
                       .batch(4096)
                       .reduce(tf.constant(0, tf.int64),
                               lambda count, batch: count + tf.size(batch, out_type=tf.int64)))
        except tf.errors.OpError as e:
            raise DataError(f"MNIST {split} file {path} is damaged ({one_line(e)}){hint}") from None
        if int(records) != instruction.examples_in_shard:
            raise DataError(f"MNIST {split} file {path} holds {int(records)} records, but "
                            f"dataset_info.json says {instruction.examples_in_shard}{hint}")


def load(data_dir: str | None, split: str, download: bool) -> ImageDataset:
    """Loads an MNIST split as (uint8 image [28, 28, 1], int64 label) pairs.

    Args:
        data_dir: A TFDS data_dir, a folder of IDX `.gz` files, or None for
            TFDS's default folder.
        split: "train" or "test".
        download: Allow TFDS to download MNIST if it is not prepared locally.

    Raises:
        DataError: if the folder is missing or holds no usable MNIST: no
            prepared dataset, damaged TFDS metadata, or a split file that is
            missing, truncated, damaged (a record's CRC) or short of records.
    """
    if data_dir is not None and not os.path.isdir(data_dir):
        raise DataError(f"data directory {data_dir!r} does not exist")
    tfds_dir = data_dir
    if data_dir is not None and _has_idx_files(data_dir):
        tfds_dir = _prepare_from_idx(data_dir)
    builder = _builder(tfds_dir)
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
                        f"{type(e).__name__}: {one_line(e)}") from None
    if download:
        builder = _builder(tfds_dir)  # now prepared, with the split's files known
    _verify_split_files(builder, split)
    return ImageDataset(
        examples=examples,
        num_examples=builder.info.splits[split].num_examples,
        image_shape=IMAGE_SHAPE,
        label_kind="class",
        label_names=CLASS_NAMES,
        source=builder.data_dir,
    )
