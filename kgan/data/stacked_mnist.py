"""Stacked MNIST: the 1,000-mode benchmark of the mode-collapse literature.

Each image is 28x28x3, its three channels three MNIST digits drawn
uniformly and independently; its mode is the digit triple, so the data
have 10^3 = 1,000 equally likely modes (Metz et al. 2016, Sec. 3.3;
Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN, Sec. 5). A
generator covers a mode when kgan's MNIST classifier reads that triple in
its channels (`kgan.evaluation.stacked_mnist`).

The images are built in the pipeline from the MNIST files (`kgan.data.mnist`):
the train split stacks digits of MNIST's train split, the test split digits
of its test split. Which digits are stacked depends only on the split
(a fixed Philox key), not on the training seed: like a dataset file, every
run sees the same images. Nothing is written to disk.
"""

import numpy as np
import tensorflow as tf

from kgan.core.messages import one_line
from kgan.data import mnist
from kgan.data.record import ImageDataset
from kgan.errors import DataError

IMAGE_SHAPE = (28, 28, 3)
CHANNELS = 3
NUM_MODES = 10 ** CHANNELS
MODE_NAMES = tuple(f"{mode:03d}" for mode in range(NUM_MODES))
SPLITS = mnist.SPLITS
# Stacked images per split: enough that every mode has about 100 train
# examples; the test split is as large as the evaluation protocol's sample.
SIZES = {"train": 100_000, "test": 26_000}
# Philox key of the digit draws of each split.
_SPLIT_KEYS = {"train": 1, "test": 2}


def mode_of(digits) -> np.ndarray:
    """The mode id (0..999) of `[n, 3]` digit triples: red * 100 + green * 10 + blue."""
    digits = np.asarray(digits, np.int64)
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stack(digit_images, digit_labels, count: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` stacked images from MNIST digits.

    Args:
        digit_images: uint8 `[n, 28, 28, 1]` digits.
        digit_labels: Their int64 classes `[n]`.
        count: Stacked images to make.
        key: Seed of the uniform draws of which digits go into which channel.

    Returns:
        (uint8 `[count, 28, 28, 3]` images, int64 `[count]` mode ids).
    """
    digit_images = np.asarray(digit_images)
    picks = tf.random.stateless_uniform([count, CHANNELS], seed=[0, key], minval=0,
                                        maxval=len(digit_images), dtype=tf.int64,
                                        alg="philox").numpy()
    images = np.concatenate([digit_images[picks[:, c]] for c in range(CHANNELS)], axis=-1)
    return images, mode_of(np.asarray(digit_labels)[picks])


def load(data_dir: str | None, split: str, download: bool) -> ImageDataset:
    """One Stacked MNIST split as (uint8 image [28, 28, 3], int64 mode id) pairs.

    Raises:
        DataError: as `kgan.data.mnist.load`, for missing or damaged MNIST files.
    """
    digits = mnist.load(data_dir, split, download)
    try:
        digit_images, digit_labels = next(iter(
            digits.examples.batch(digits.num_examples).take(1)))
    except tf.errors.OpError as e:
        raise DataError(f"could not read the MNIST {split} digits of {digits.source}: "
                        f"{one_line(e)}") from None
    images, modes = stack(digit_images.numpy(), digit_labels.numpy(), SIZES[split],
                          _SPLIT_KEYS[split])
    return ImageDataset(
        examples=tf.data.Dataset.from_tensor_slices((images, modes)),
        num_examples=len(images),
        image_shape=IMAGE_SHAPE,
        label_kind="class",
        label_names=MODE_NAMES,
        source=f"Stacked MNIST ({SIZES[split]} {split} triples of {digits.source})",
    )


__all__ = ["IMAGE_SHAPE", "MODE_NAMES", "NUM_MODES", "SIZES", "load", "mode_of", "stack"]
