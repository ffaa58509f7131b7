"""kgan.data.synthetic_digits: seeded digits rendered from the installed font packages."""

import numpy as np
import pytest

from kgan.data import synthetic_digits
from kgan.errors import DataError


def test_fonts_come_from_the_installed_packages_one_file_per_face():
    fonts = synthetic_digits.font_files()
    assert len(fonts) >= 30
    assert {f.split("/site-packages/")[1].split("/")[0] for f in fonts} == set(
        synthetic_digits.FONT_PACKAGES)
    stems = [f.rsplit("/", 1)[1].rsplit(".", 1)[0] for f in fonts]
    assert len(stems) == len(set(stems))


def test_each_example_is_fixed_by_seed_and_index():
    images, labels = synthetic_digits.render(30, seed=4)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.arange(30) % 10)
    later, later_labels = synthetic_digits.render(10, seed=4, start=20)
    np.testing.assert_array_equal(later, images[20:])
    np.testing.assert_array_equal(later_labels, labels[20:])
    assert not np.array_equal(synthetic_digits.render(30, seed=5)[0], images)


def test_digits_are_white_on_black_and_centred_like_mnist():
    images, _ = synthetic_digits.render(200, seed=0)
    ink = images[..., 0].astype(np.float64)
    assert np.all(ink[:, 0, :] < 64) and np.all(ink[:, :, 0] < 64)  # a dark border
    assert np.all(ink.max(axis=(1, 2)) >= 128) and 0.05 < (ink > 127).mean() < 0.35
    rows, cols = np.indices((28, 28))
    centres = np.stack([(ink * rows).sum(axis=(1, 2)), (ink * cols).sum(axis=(1, 2))], 1) \
        / ink.sum(axis=(1, 2))[:, None]
    assert np.all(np.abs(centres - 13.5) < 3.0)


def test_a_missing_font_package_is_named(monkeypatch):
    monkeypatch.setattr(synthetic_digits, "FONT_PACKAGES", ("font_not_installed_here",))
    synthetic_digits.font_files.cache_clear()
    try:
        with pytest.raises(DataError, match="font package 'font_not_installed_here' is not"):
            synthetic_digits.font_files()
    finally:
        synthetic_digits.font_files.cache_clear()
