"""Super-resolution data: original pixels kept, bicubic downscaling, seeded crops, the external set."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.config import DataConfig
from kgan.data import celeba, super_resolution
from kgan.errors import ConfigError, DataError
from tests.conftest import SHARED_DATA

CELEBA = DataConfig(dataset="celeba", data_dir=str(SHARED_DATA / "celeba" / "img_align_celeba"))


def _ramp(height, width):
    rows = np.arange(height, dtype=np.float64)[:, None] * 255 / (height - 1)
    return np.repeat(np.broadcast_to(rows, (height, width))[None, ..., None], 3, -1)


def test_downscaling_keeps_flat_images_flat_and_halves_the_sides():
    flat = np.full([2, 8, 12, 3], 200, np.uint8)
    small = super_resolution.downscale(flat, 2).numpy()
    assert small.dtype == np.uint8 and small.shape == (2, 4, 6, 3)
    assert (small == 200).all()


def test_downscaling_is_antialiased_bicubic():
    # A 1-pixel checkerboard has no frequency a 4x smaller image can show:
    # the antialiased kernel averages it to grey, plain decimation keeps one phase.
    board = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)
    small = super_resolution.downscale(np.repeat(board[None, ..., None], 3, -1), 4).numpy()
    assert np.abs(small[:, 1:-1, 1:-1].astype(int) - 128).max() <= 2
    # On a smooth ramp it agrees with TensorFlow's antialiased bicubic, rounded.
    ramp = _ramp(16, 8)
    got = super_resolution.downscale(ramp.astype(np.uint8), 2).numpy().astype(int)
    reference = np.round(tf.image.resize(ramp.astype(np.uint8).astype(np.float32), [8, 4],
                                         "bicubic", antialias=True).numpy()).astype(int)
    np.testing.assert_array_equal(got, np.clip(reference, 0, 255))


def test_downscaling_refuses_sides_the_scale_does_not_divide():
    with pytest.raises(ValueError, match="does not divide by scale 4"):
        super_resolution.downscale(np.zeros([1, 10, 8, 3], np.uint8), 4)


def test_bicubic_upscaling_restores_a_flat_image_and_enlarges_the_sides():
    flat = np.full([1, 3, 5, 3], 90, np.uint8)
    enlarged = super_resolution.bicubic_upscale(flat, 4).numpy()
    assert enlarged.shape == (1, 12, 20, 3) and (enlarged == 90).all()


def test_crops_take_the_drawn_squares_and_mirror_half_of_them():
    faces = np.arange(2 * 8 * 6 * 3, dtype=np.int64).reshape(2, 8, 6, 3).astype(np.uint8)
    picked = super_resolution.crops(faces, [0, 4], [2, 0], 4).numpy()
    np.testing.assert_array_equal(picked[0], faces[0, 0:4, 2:6])
    np.testing.assert_array_equal(picked[1], faces[1, 4:8, 0:4])
    # draws: top, left (0: first position, 0.999: last) and mirroring (< 0.5)
    draws = tf.constant([[0.0, 0.999, 0.9], [0.999, 0.0, 0.1]])
    low, high = super_resolution.crop_and_downscale(faces, draws, 4, 2)
    np.testing.assert_array_equal(high[0], faces[0, 0:4, 2:6])
    np.testing.assert_array_equal(high[1], faces[1, 4:8, 0:4][:, ::-1])
    np.testing.assert_array_equal(low, super_resolution.downscale(high, 2))


def test_faces_are_the_originals_own_pixels_in_the_centered_frame():
    faces = super_resolution.faces(CELEBA, "heldout")
    assert faces.shape == (1440, 216, 176, 3) and faces.dtype == np.uint8
    first = sorted(name for name, part in celeba._read_partitions(
        str(SHARED_DATA / "celeba" / "list_eval_partition.txt")).items()
        if part in (1, 2) and (SHARED_DATA / "celeba" / "img_align_celeba" / name).exists())[0]
    decoded = tf.io.decode_jpeg(tf.io.read_file(
        str(SHARED_DATA / "celeba" / "img_align_celeba" / first))).numpy()
    np.testing.assert_array_equal(faces[0], decoded[1:217, 1:177])


def test_half_size_copies_are_too_small_to_be_high_resolution_faces(tmp_path):
    small = DataConfig(dataset="celeba",
                       data_dir=str(SHARED_DATA / "celeba" / "img_align_celeba_89x109"))
    with pytest.raises(DataError, match="at least 216x176"):
        super_resolution.faces(small, "train")


def test_the_external_set_pairs_each_half_size_copy_with_its_original():
    low, high = super_resolution.external_pairs(CELEBA)
    assert low.shape == (277, 109, 89, 3) and high.shape == (277, 218, 178, 3)
    # The copies were made by other software, but they are the same faces:
    # their own downscaling of the originals is close, not equal.
    ours = super_resolution.downscale(high[:, :216, :176], 2).numpy()
    difference = np.abs(ours.astype(int) - low[:, :108, :88].astype(int)).mean()
    assert 0.5 < difference < 12


def test_scales_kgan_does_not_train_are_refused():
    with pytest.raises(ConfigError, match="data.scale 3"):
        super_resolution.check_scale(3)
