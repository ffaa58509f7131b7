"""Publication bounds of quantized image variants (kgan.export.verify), on hand-made images."""

import numpy as np
import pytest

from kgan.export.verify import MIN_PSNR_DB, fidelity_failure, image_fidelity


def test_image_fidelity_hand_computed():
    reference = np.array([0, 64, 128, 255], np.uint8)
    candidate = np.array([0, 0, 128, 255], np.uint8)
    fidelity = image_fidelity(candidate, reference)
    # MSE = 64^2 / 4 = 1024; PSNR = 10 log10(65025 / 1024) = 10 log10(63.501) = 18.0278 dB.
    assert fidelity["psnr_db"] == pytest.approx(18.0278, abs=1e-4)
    assert fidelity["levels"] == 3 and fidelity["reference_levels"] == 4
    assert fidelity["tone_share"] == 0.25 and fidelity["reference_tone_share"] == 0.5


def test_identical_images_have_no_psnr_and_pass():
    images = np.arange(256, dtype=np.uint8)
    fidelity = image_fidelity(images, images)
    assert fidelity["psnr_db"] is None and fidelity_failure(fidelity) is None


def test_posterized_images_fail_even_at_a_passing_psnr():
    """The 3-level full_int8 model: every tone snapped to 0, 128 or 255."""
    rng = np.random.default_rng(0)
    tones = rng.integers(1, 255, 10_000)
    reference = np.where(rng.random(10_000) < 0.99, rng.choice([0, 255], 10_000),
                         tones).astype(np.uint8)
    posterized = (np.round(reference / 127.5) * 127.5).clip(0, 255).astype(np.uint8)
    fidelity = image_fidelity(posterized, reference)
    assert fidelity["levels"] <= 3 and fidelity["psnr_db"] >= MIN_PSNR_DB
    assert "posterized" in fidelity_failure(fidelity)


def test_low_psnr_fails_with_the_figure():
    reference = np.full(1000, 100, np.uint8)
    noisy = (reference + np.random.default_rng(1).integers(-40, 41, 1000)).astype(np.uint8)
    fidelity = image_fidelity(noisy, reference)
    assert fidelity["psnr_db"] < MIN_PSNR_DB
    assert f"{fidelity['psnr_db']:.1f} dB" in fidelity_failure(fidelity)
