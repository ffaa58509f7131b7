"""Image grids and PNG files."""

import math
import os

import numpy as np
import tensorflow as tf


def to_uint8(images) -> tf.Tensor:
    """Images in [-1, 1] -> uint8 in 0..255, rounded, values outside clipped.

    Built from TensorFlow ops so that sample grids and exported serving
    signatures (including TFLite) share one conversion.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def make_grid(images, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles `[n, height, width, channels]` images in [-1, 1] into one uint8 image.

    Args:
        images: The images, values in [-1, 1].
        columns: Images per row; default ceil(sqrt(n)).
        padding: Pixels of black between and around tiles.

    Returns:
        uint8 array `[rows * (height + padding) + padding, columns * (width +
        padding) + padding, channels]`.
    """
    tiles = np.asarray(to_uint8(images))
    count, height, width, channels = tiles.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding,
                     columns * (width + padding) + padding, channels), np.uint8)
    for index, tile in enumerate(tiles):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = tile
    return grid


def write_png(path: str, image: np.ndarray) -> None:
    """Writes a uint8 `[height, width, channels]` image as PNG, atomically."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = path + ".partial"
    try:
        tf.io.write_file(partial, tf.io.encode_png(image))
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
