"""The data of super-resolution (`srgan`): CelebA faces and their downscaled copies.

High resolution (HR) is what the camera-to-file pipeline of CelebA stored:
the 178x218 aligned originals (`img_align_celeba`), decoded as they are
(`celeba.load_frames`, no crop fraction, no resize) in their centered
176x216 window (`HR_FRAME`), which 2, 4 and 8 divide, so every scale's
low-resolution (LR) face is whole: 88x108, 44x54, 22x27.

LR is made by `downscale`: `tf.image.resize(method="bicubic",
antialias=True)`, i.e. Keys' cubic convolution kernel (a = -0.5) stretched
by the scale factor when reducing, which is what MATLAB's `imresize` does
and what the super-resolution literature's test sets were made with, then
rounded to uint8: an LR input is an image file's pixels, exactly what a
served model receives.

* Training: random `data.crop_size` crops of the `train` faces, mirrored
  half the time, downscaled inside the training step (`crop_and_downscale`,
  keyed by the step so a resumed run sees the same crops).
* Evaluation: whole held-out faces (`validation` and `test`: identities
  that training never saw).
* A second 2x test set (`external_pairs`): the faces present both as
  originals and in `img_align_celeba_89x109`, whose half-size copies were
  made by other software with another kernel. Their LR input is that file
  (89x109, upscaled to the full 178x218 original); kgan did not make it.
  They are training faces, so they measure robustness to a foreign
  downscaling kernel, not generalization.
"""

import os

import numpy as np
import tensorflow as tf

from kgan.config import DataConfig
from kgan.data import celeba, materialize
from kgan.errors import ConfigError, DataError

SCALES = (2, 4, 8)
HR_FRAME = (216, 176)
# The originals' full size, and the half-size copies' folder beside them.
FULL_FRAME = (218, 178)
HALF_SIZE_FOLDER = "img_align_celeba_89x109"
EXTERNAL_SCALE = 2
EVALUATION_SPLIT = "heldout"


def check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise ConfigError(f"data.scale {scale!r} is not a super-resolution factor kgan "
                          f"trains; choose {', '.join(map(str, SCALES))}")
    return scale


def downscale(images, scale: int) -> tf.Tensor:
    """uint8 (or uint8-valued float) `[n, h, w, c]` -> uint8 `[n, h / scale, w
    / scale, c]`: antialiased bicubic (module docstring), rounded. `h` and
    `w` must be multiples of `scale`."""
    images = tf.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    if height is not None and width is not None and (height % scale or width % scale):
        raise ValueError(f"a {height}x{width} image does not divide by scale {scale}")
    size = tf.shape(images)[1:3] // scale
    reduced = tf.image.resize(tf.cast(images, tf.float32), size, method="bicubic",
                              antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(reduced), 0.0, 255.0), tf.uint8)


def bicubic_upscale(images, scale: int) -> tf.Tensor:
    """uint8 `[n, h, w, c]` -> uint8 `[n, h * scale, w * scale, c]`: bicubic
    interpolation (Keys, a = -0.5), the baseline every super-resolution
    method is compared with."""
    images = tf.convert_to_tensor(images)
    size = tf.shape(images)[1:3] * scale
    enlarged = tf.image.resize(tf.cast(images, tf.float32), size, method="bicubic")
    return tf.cast(tf.clip_by_value(tf.round(enlarged), 0.0, 255.0), tf.uint8)


def crops(images, tops, lefts, size: int) -> tf.Tensor:
    """`[n, size, size, c]`: from each image `i` the square whose top-left
    pixel is (`tops[i]`, `lefts[i]`)."""
    offsets = tf.range(size, dtype=tf.int32)
    rows = tf.cast(tops, tf.int32)[:, None] + offsets
    columns = tf.cast(lefts, tf.int32)[:, None] + offsets
    picked_rows = tf.gather(images, rows, axis=1, batch_dims=1)
    return tf.gather(picked_rows, columns, axis=2, batch_dims=1)


def crop_and_downscale(faces, draws, size: int, scale: int) -> tuple[tf.Tensor, tf.Tensor]:
    """A training pair per face: (LR uint8 `[n, size / scale, size / scale, 3]`,
    HR uint8 `[n, size, size, 3]`).

    Args:
        faces: uint8 HR faces `[n, h, w, 3]`.
        draws: uniform [0, 1) `[n, 3]`: the crop's top, its left, and the
            mirroring (`< 0.5`).
        size: The HR crop's side, a multiple of `scale`.
    """
    height, width = tf.shape(faces)[1], tf.shape(faces)[2]
    tops = tf.cast(draws[:, 0] * tf.cast(height - size + 1, tf.float32), tf.int32)
    lefts = tf.cast(draws[:, 1] * tf.cast(width - size + 1, tf.float32), tf.int32)
    high = crops(faces, tops, lefts, size)
    mirror = tf.reshape(draws[:, 2] < 0.5, [-1, 1, 1, 1])
    high = tf.where(mirror, tf.reverse(high, axis=[2]), high)
    return downscale(high, scale), high


def faces(data_config: DataConfig, split: str) -> np.ndarray:
    """uint8 HR faces `[n, 216, 176, 3]` of a CelebA split (`HR_FRAME` of the originals).

    Raises:
        DataError: if the split cannot be read, or its files are smaller
            than the originals (a downscaled copy is not a HR source).
    """
    dataset = celeba.load_frames(data_config, split, HR_FRAME)
    images, _ = materialize(dataset)
    return images.numpy()


def half_size_folder(data_config: DataConfig) -> str:
    """Where the independently downscaled copies are: beside the originals."""
    return os.path.join(os.path.dirname(celeba.image_folder(data_config)), HALF_SIZE_FOLDER)


def external_pairs(data_config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """The foreign-kernel 2x test set (module docstring): (LR uint8 `[n, 109,
    89, 3]`, HR uint8 `[n, 218, 178, 3]`), in file-name order.

    Raises:
        DataError: if the half-size folder is missing, shares no face with
            the originals, or one of the shared files cannot be used.
    """
    folder = half_size_folder(data_config)
    if not os.path.isdir(folder):
        raise DataError(f"no half-size CelebA copies at {folder}: the external 2x test set "
                        f"pairs them with the originals")
    small = DataConfig(dataset="celeba", data_dir=folder, attributes=data_config.attributes,
                       read_timeout=data_config.read_timeout)
    shared = celeba.image_names(data_config) & celeba.image_names(small)
    if not shared:
        raise DataError(f"{folder} and {celeba.image_folder(data_config)} share no face")
    low_frame = tuple(side // EXTERNAL_SCALE for side in FULL_FRAME)
    low, _ = materialize(celeba.load_frames(small, "train", low_frame, names=shared))
    high, _ = materialize(celeba.load_frames(data_config, "train", FULL_FRAME, names=shared))
    if low.shape[0] != high.shape[0]:
        raise DataError(f"of the {len(shared)} faces in both {folder} and the originals, "
                        f"{low.shape[0]} half-size and {high.shape[0]} originals are usable; "
                        f"the pairs need both")
    return low.numpy(), high.numpy()
