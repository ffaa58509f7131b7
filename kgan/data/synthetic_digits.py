"""Synthetic digits rendered from fonts: the simulator of the SimGAN task.

Each digit is drawn white on black like MNIST, from a font face of the font
packages kgan installs (`FONT_PACKAGES`, pip wheels of OFL / Apache-2.0
fonts: sans, serif, rounded, hand-drawn and condensed faces), with a
random size, stroke width, rotation, slant and position, rendered at four
times the size and downsampled with a box filter (soft edges, as MNIST's
anti-aliased scans). Everything about example `i` of seed `s` is drawn from
a generator keyed by `(s, i)`, so any example can be rendered on its own and
a dataset is the same on every machine with the same fonts.

What the renderer does not imitate is the point: strokes of even width,
straight font geometry and no pen dynamics are the gap between these digits
and handwriting that a refiner learns to close (Shrivastava et al. 2017).
"""

import functools
import importlib.resources
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kgan.errors import DataError

FONT_PACKAGES = ("font_source_sans_pro", "font_source_serif_pro", "font_caladea",
                 "font_amatic_sc", "font_hanken_grotesk", "font_fredoka_one")
IMAGE_SIZE = 28
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
SUPERSAMPLING = 4
# Ranges of the random rendering parameters (MNIST digits are about 20 of 28
# pixels tall, centred by their centre of mass).
HEIGHT_RANGE = (16.0, 22.0)
STROKE_RANGE = (0, 3)  # extra outline width, in supersampled pixels
ROTATION_DEGREES = 12.0
SHEAR_RANGE = (-0.25, 0.25)
SHIFT_PIXELS = 1.5


@functools.lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    """Every font face of `FONT_PACKAGES`, one file per face (TrueType
    preferred to OpenType where a package ships both), in a fixed order.

    Raises:
        DataError: if a font package is not installed.
    """
    faces = {}
    for package in FONT_PACKAGES:
        try:
            folder = importlib.resources.files(package) / "files"
        except ModuleNotFoundError:
            raise DataError(f"font package {package!r} is not installed; install kgan's "
                            f"requirements (pip install -r requirements.txt)") from None
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            stem, extension = os.path.splitext(entry.name)
            if extension in (".ttf", ".otf") and (stem not in faces or extension == ".ttf"):
                faces[stem] = str(entry)
    return tuple(faces[stem] for stem in sorted(faces))


@functools.lru_cache(maxsize=8192)
def _font(path: str, pixel_size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, pixel_size)


def render_digit(digit: int, rng: np.random.Generator, fonts: tuple[str, ...]) -> np.ndarray:
    """One digit, uint8 `[28, 28]`, its parameters drawn from `rng`."""
    scale = SUPERSAMPLING
    canvas = IMAGE_SIZE * scale
    font_path = fonts[rng.integers(len(fonts))]
    height = rng.uniform(*HEIGHT_RANGE) * scale
    stroke = int(rng.integers(STROKE_RANGE[0], STROKE_RANGE[1] + 1))
    rotation = rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES)
    shear = rng.uniform(*SHEAR_RANGE)
    shift = rng.uniform(-SHIFT_PIXELS, SHIFT_PIXELS, 2) * scale

    # Glyphs of a face differ in height: size the font so the digit's ink is `height` tall.
    font = _font(font_path, 100)
    left, top, right, bottom = font.getbbox(str(digit), stroke_width=stroke)
    font = _font(font_path, max(8, int(round(100 * height / max(1, bottom - top)))))
    left, top, right, bottom = font.getbbox(str(digit), stroke_width=stroke)
    glyph = Image.new("L", (canvas * 2, canvas * 2))
    ImageDraw.Draw(glyph).text((canvas - (left + right) / 2, canvas - (top + bottom) / 2),
                               str(digit), fill=255, font=font, stroke_width=stroke,
                               stroke_fill=255)
    # Shear about the centre (a slant, as in handwriting), then rotate.
    glyph = glyph.transform(glyph.size, Image.Transform.AFFINE,
                            (1, shear, -shear * canvas, 0, 1, 0), Image.Resampling.BILINEAR)
    glyph = glyph.rotate(rotation, Image.Resampling.BILINEAR)
    ink = np.asarray(glyph, np.float32)
    total = ink.sum()
    rows, cols = np.indices(ink.shape)
    # Centre of mass to the canvas centre, as MNIST's preparation did, plus a jitter.
    centre = (np.array([(rows * ink).sum(), (cols * ink).sum()]) / max(total, 1.0))
    top_left = np.round(centre - canvas / 2 - shift).astype(int)
    top_left = np.clip(top_left, 0, ink.shape[0] - canvas)
    crop = ink[top_left[0]:top_left[0] + canvas, top_left[1]:top_left[1] + canvas]
    small = crop.reshape(IMAGE_SIZE, scale, IMAGE_SIZE, scale).mean(axis=(1, 3))
    return np.clip(np.round(small), 0, 255).astype(np.uint8)


def render(count: int, seed: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Examples `start .. start+count-1` of seed `seed`: (uint8 images
    `[count, 28, 28, 1]`, int64 digits `[count]`); digit `i % 10` for
    example `i`, so every class is equally common."""
    fonts = font_files()
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, 1), np.uint8)
    labels = np.arange(start, start + count, dtype=np.int64) % 10
    for row, index in enumerate(range(start, start + count)):
        rng = np.random.default_rng([seed, index, 0xD161])
        images[row, :, :, 0] = render_digit(int(labels[row]), rng, fonts)
    return images, labels
