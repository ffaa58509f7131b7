"""Super-resolution figures: PSNR and SSIM on Y with a border, against hand numbers."""

import numpy as np
import pytest

from kgan.evaluation import super_resolution


def test_luma_is_bt601_in_16_to_235():
    pixels = np.array([[[[0, 0, 0], [255, 255, 255], [255, 0, 0]]]], np.uint8)
    np.testing.assert_allclose(super_resolution.luma(pixels)[0, 0],
                               [16.0, 16.0 + 65.481 + 128.553 + 24.966, 16.0 + 65.481])


def test_psnr_y_crops_the_border_before_comparing():
    target = np.full([1, 8, 8, 3], 100, np.uint8)
    output = target.copy()
    output[:, :2] = 0  # damage only in the two top rows: inside a border of 2
    assert super_resolution.psnr_y(output, target, border=2)[0] == np.inf
    # Without the border: 16 of 64 pixels off by 100 levels of grey, in Y
    # 100 * (65.481 + 128.553 + 24.966) / 255 = 85.882 levels.
    expected = 10 * np.log10(255 ** 2 / (16 / 64 * (100 * 219 / 255) ** 2))
    assert super_resolution.psnr_y(output, target, border=0)[0] == pytest.approx(expected)


def test_ssim_y_is_one_for_identical_images_and_lower_for_noise():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, [2, 24, 24, 3], dtype=np.uint8)
    np.testing.assert_allclose(super_resolution.ssim_y(faces, faces, 2), 1.0, atol=1e-6)
    noisy = np.clip(faces.astype(int) + rng.integers(-60, 61, faces.shape), 0, 255)
    assert (super_resolution.ssim_y(noisy.astype(np.uint8), faces, 2) < 0.98).all()


def test_distortion_reports_the_mean_and_the_border():
    target = np.full([2, 16, 16, 3], 50, np.uint8)
    output = target.copy()
    output[1, 4, 4] = 60
    result = super_resolution.distortion(output, target, 2)
    # Only the second image differs (one of 12 x 12 pixels inside the
    # border): the mean is over the finite one.
    y = 10 * 219 / 255
    assert result["psnr_y_db"] == pytest.approx(10 * np.log10(255 ** 2 / (y ** 2 / 144)))
    assert result["border"] == 2 and 0 < result["ssim_y"] < 1


def test_ssim_refuses_images_smaller_than_its_window():
    small = np.zeros([1, 14, 30, 3], np.uint8)
    with pytest.raises(ValueError, match="10x26 after a border of 2 .SSIM's window is 11"):
        super_resolution.ssim_y(small, small, 2)


def test_bicubic_of_a_flat_face_is_exact():
    low = np.full([3, 6, 5, 3], 77, np.uint8)
    high = np.full([3, 24, 20, 3], 77, np.uint8)
    assert super_resolution.distortion(super_resolution.bicubic(low, 4), high, 4)[
        "psnr_y_db"] == np.inf
