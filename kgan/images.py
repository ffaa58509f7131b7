"""Image grids and PNG files."""

import math

import numpy as np
import tensorflow as tf

from kgan.core.files import write_atomically


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
    """Writes a uint8 `[height, width, channels]` image as PNG, atomically.

    Raises:
        RunError: if it cannot be written (an earlier file at `path` is kept).
    """
    png = tf.io.encode_png(image)
    write_atomically(path, lambda partial: tf.io.write_file(partial, png))


# Scatter-plot colors (RGB) and the opacity of one sample's dot.
_SCATTER_AXES = (210, 210, 210)
_SCATTER_MODE_FILL = (255, 200, 200)
_SCATTER_MODE_EDGE = (220, 30, 30)
_SCATTER_DOT = (20, 30, 140)
_SCATTER_DOT_ALPHA = 0.7
# A dot is a plus sign of 5 pixels around the sample's pixel.
_SCATTER_DOT_OFFSETS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def scatter_plot(points, centers=None, extent=None, size: int = 256, std=None) -> np.ndarray:
    """Draws 2-D points (and optionally the true modes) as a uint8 RGB image.

    White background, light grey axes through the origin, each mode center a
    light red disk of radius `3 * std` (at least 2 pixels; 3 without `std`)
    with a red outline, each sample a small dark blue dot. Dots are
    alpha-blended (opacity 0.7 each), so overlapping samples darken: dense
    regions read as dense. The outlines are drawn last, so a mode stays
    visible under its samples. The y axis points up.

    Args:
        points: `[n, 2]` samples; non-finite rows are skipped. Samples outside
            the view are drawn clamped to its border, so samples that left
            the view still show (piled on the edge).
        centers: `[num_modes, 2]` true mode centers, or None.
        extent: Half-width of the square view `[-extent, extent]^2`. Default:
            from the centers when given (max |coordinate| + 3 std, plus a 10%
            margin; a frame that stays put across training steps, so previews
            compare), else from the finite points (max |coordinate| + 10%).
        size: Side of the image in pixels.
        std: The modes' standard deviation, for the disks' radius.

    Returns:
        uint8 `[size, size, 3]`, ready for `write_png`.
    """
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be [n, 2], got shape {points.shape}")
    points = points[np.all(np.isfinite(points), axis=1)]
    if centers is not None:
        centers = np.asarray(centers, np.float64).reshape(-1, 2)
    spread = 3.0 * float(std) if std else 0.0
    if extent is None:
        reference = centers if centers is not None and len(centers) else points
        extent = 1.1 * (float(np.abs(reference).max()) + spread) if len(reference) else 1.0
        extent = extent or 1.0  # everything at the origin
    extent = float(extent)
    if not (np.isfinite(extent) and extent > 0):
        raise ValueError(f"extent must be positive, got {extent}")
    scale = (size - 1) / (2.0 * extent)  # pixels per unit

    def to_pixels(xy):  # float (row, column); row 0 at the top (y = extent)
        return (extent - xy[..., 1]) * scale, (xy[..., 0] + extent) * scale

    image = np.full((size, size, 3), 255.0)
    origin_row, origin_col = (int(round(v)) for v in to_pixels(np.zeros(2)))
    image[origin_row, :] = _SCATTER_AXES
    image[:, origin_col] = _SCATTER_AXES
    edge = np.zeros((size, size), bool)
    if centers is not None and len(centers):
        radius = max(2.0, spread * scale) if std else 3.0
        rows, cols = np.mgrid[0:size, 0:size]
        for row, col in zip(*to_pixels(centers)):
            distance = np.hypot(rows - row, cols - col)
            image[distance <= radius] = _SCATTER_MODE_FILL
            edge |= np.abs(distance - radius) <= 0.5
    hits = np.zeros((size, size))
    rows, cols = (np.clip(np.round(v), 0, size - 1).astype(np.int64) for v in to_pixels(points))
    for d_row, d_col in _SCATTER_DOT_OFFSETS:
        r, c = rows + d_row, cols + d_col
        inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        np.add.at(hits, (r[inside], c[inside]), 1.0)
    kept = ((1.0 - _SCATTER_DOT_ALPHA) ** hits)[..., None]
    image = image * kept + np.asarray(_SCATTER_DOT, np.float64) * (1.0 - kept)
    image[edge] = _SCATTER_MODE_EDGE
    return np.round(image).astype(np.uint8)
