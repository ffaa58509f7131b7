import numpy as np
import pytest
import tensorflow as tf

from kgan import images

# size 101 and extent 2 give 25 pixels per unit: (x, y) -> row (2 - y) * 25, column (x + 2) * 25.
SIZE, EXTENT = 101, 2.0
CENTERS = np.array([[1.0, 0.0], [-1.0, -1.0]], np.float32)


def plot(points, **kwargs):
    return images.scatter_plot(np.asarray(points, np.float32), CENTERS, extent=EXTENT, size=SIZE,
                               std=0.05, **kwargs)


def test_size_and_dtype():
    image = plot([[0.5, 0.5]])
    assert image.shape == (101, 101, 3) and image.dtype == np.uint8
    assert images.scatter_plot(np.zeros((3, 2))).shape == (256, 256, 3)


def test_modes_axes_and_background():
    image = plot(np.zeros((0, 2)))
    # Mode (1, 0) at row 50, column 75: light red fill.
    assert image[50, 75].tolist() == [255, 200, 200]
    # Radius 3 std = 0.15 units = 3.75 pixels: the outline passes 4 pixels out, not 6.
    assert image[50, 79].tolist() == [220, 30, 30]
    assert image[50, 81].tolist() == [210, 210, 210]  # the x axis (row 50), outside the mode
    # Mode (-1, -1) at row 75, column 25.
    assert image[75, 25].tolist() == [255, 200, 200]
    # The y axis is column 50; elsewhere white.
    assert image[10, 50].tolist() == [210, 210, 210]
    assert image[10, 10].tolist() == [255, 255, 255]


def test_samples_are_dark_blue_dots():
    # (-1, 1) -> row 25, column 25; one dot covers the pixel and its 4 neighbours.
    image = plot([[-1.0, 1.0]])
    red, green, blue = image[25, 25].astype(int)
    assert red < 100 and green < 100 and blue > red + 50  # 0.3 * 255 + 0.7 * (20, 30, 140)
    assert image[24, 25].tolist() == image[25, 25].tolist()
    assert image[24, 24].tolist() == [255, 255, 255]
    # Overlapping samples darken (alpha blending): 0.09 * 255 + 0.91 * 20 = 41.
    twice = plot([[-1.0, 1.0], [-1.0, 1.0]])
    assert twice[25, 25].tolist() == [41, 50, 150]


def test_out_of_view_and_non_finite_samples():
    # A sample far to the right is clamped onto the right border (row 50 is y = 0).
    image = plot([[100.0, 0.0]])
    assert image[50, 100, 2] > image[50, 100, 0] + 50
    # Non-finite rows are skipped.
    np.testing.assert_array_equal(plot([[np.nan, 0.0], [-1.0, 1.0]]), plot([[-1.0, 1.0]]))


def test_default_extent_frames_the_modes():
    # From the centers: 1.1 * (1 + 3 * 0.05) = 1.265 units half-width, whatever the samples do.
    image = images.scatter_plot(np.array([[50.0, 50.0]]), CENTERS, size=SIZE, std=0.05)
    scale = (SIZE - 1) / (2 * 1.265)
    row, column = round((1.265 - 0.0) * scale), round((1.0 + 1.265) * scale)
    assert image[row, column].tolist() == [255, 200, 200]
    # Without centers: from the points, 1.1 * 2 = 2.2.
    alone = images.scatter_plot(np.array([[2.0, -1.0]]), size=SIZE)
    scale = (SIZE - 1) / 4.4
    red, _, blue = alone[round((2.2 + 1.0) * scale), round((2.0 + 2.2) * scale)].astype(int)
    assert blue > red + 50


def test_writable_as_png(tmp_path):
    image = plot([[-1.0, 1.0]])
    path = str(tmp_path / "scatter.png")
    images.write_png(path, image)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(path)).numpy(), image)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        images.scatter_plot(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="extent"):
        images.scatter_plot(np.zeros((3, 2)), extent=-1.0)
