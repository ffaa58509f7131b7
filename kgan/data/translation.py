"""The data of the image-to-image tasks on CelebA: pix2pix pairs and CycleGAN domains.

pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks") learns from aligned pairs (input, face); kgan makes
the inputs from the faces themselves (`data.translation`):
  * `colorization`: the face's luma (`grayscale`), turned back into colour;
  * `sketch`: a pencil-like line drawing of the face (`sketch`), turned
    into a face.
CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks") learns from two unpaired sets:
`domain_split` divides a CelebA split by one attribute each (`-Male` /
`Male`: women and men).

Serving and training share one input function. A served pix2pix model takes
uint8 RGB pictures; `to_network_input` turns them into the network's
one-channel input. For `colorization` that is the picture's grayscale, so a
user's colour or grayscale photo both work. For `sketch` it is the
grayscale of the user's own drawing, which is NOT sketched again: users
draw sketches, while training computes them from faces. The asymmetry is
deliberate, and it is why `sketch` draws dark lines on white, the way
people draw. Both paths go through uint8 (`grayscale_uint8`,
in integer arithmetic, and `sketch_uint8`), so a training input is exactly
what serving computes from the same picture, in a SavedModel or a TFLite
model, and a sketch saved as a PNG and served again gives the same network
input it had in training.

The picture functions (`grayscale`, `sketch` and their uint8 forms) use
only TensorFlow ops that TFLite has as builtins (CONV_2D, MIRROR_PAD,
ROUND, CAST, MINIMUM, RELU, MUL, ADD, SUB, NEG once converted), so they run unchanged inside a
SavedModel signature and a TFLite graph.

Everything a split holds stays uint8: 4,560 faces at 128x128 are 224 MB;
float inputs are computed batch by batch, never for a whole split.
"""

import dataclasses
import math
import os
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from kgan.config import DataConfig
from kgan.config.run import TRANSLATIONS
from kgan.core.messages import failure_reason
from kgan.data import celeba, folder, image_files, to_unit_range
from kgan.errors import ConfigError, DataError
from kgan.images import to_uint8

# The CelebA sides the translation tasks train at (`data.resolution`).
RESOLUTIONS = celeba.IMAGE_SIZES
# ITU-R BT.601 luma: what JPEG and most grayscale conversions use.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
# The same weights in 256ths (77 + 150 + 29 = 256), for integer-exact uint8 luma.
LUMA_WEIGHTS_256 = (77, 150, 29)
# The sketch's difference of Gaussians, in output pixels and luma units of [-1, 1];
# see `sketch`.
SKETCH_SIGMA = 0.6
SKETCH_SIGMA_RATIO = 1.6
SKETCH_THRESHOLD = 0.015
SKETCH_RAMP = 0.04
# Faces per batch when the inputs of a split are computed (a float batch at 128: 50 MB).
_BATCH = 256


def _gaussian(sigma: float, radius: int) -> list[float]:
    taps = [math.exp(-i * i / (2 * sigma * sigma)) for i in range(-radius, radius + 1)]
    return [tap / sum(taps) for tap in taps]


# Three standard deviations of the wider Gaussian: a 7x7 kernel.
_SKETCH_RADIUS = math.ceil(3 * SKETCH_SIGMA * SKETCH_SIGMA_RATIO)
_NARROW = _gaussian(SKETCH_SIGMA, _SKETCH_RADIUS)
_WIDE = _gaussian(SKETCH_SIGMA * SKETCH_SIGMA_RATIO, _SKETCH_RADIUS)
# Both Gaussians sum to 1, so the difference sums to 0: a flat picture has no lines.
_DOG_KERNEL = [[n_i * n_j - w_i * w_j for n_j, w_j in zip(_NARROW, _WIDE)]
               for n_i, w_i in zip(_NARROW, _WIDE)]


def grayscale(images) -> tf.Tensor:
    """float RGB `[n, h, w, 3]` in [-1, 1] -> float luma `[n, h, w, 1]` in [-1, 1].

    The BT.601 weighted sum (0.299 R + 0.587 G + 0.114 B) as a 1x1
    convolution. The weights sum to 1, so it maps [-1, 1] onto [-1, 1] and
    commutes with `to_unit_range`: the luma of the scaled picture is the
    scaled luma (clipped against float rounding at white).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    kernel = tf.constant(LUMA_WEIGHTS, tf.float32, shape=[1, 1, 3, 1])
    return tf.clip_by_value(tf.nn.conv2d(images, kernel, 1, "VALID"), -1.0, 1.0)


def grayscale_uint8(images) -> tf.Tensor:
    """uint8 RGB `[n, h, w, 3]` -> uint8 luma `[n, h, w, 1]`, in integers:
    `(77 R + 150 G + 29 B + 128) // 256`, the BT.601 weights in 256ths
    (within half a level of the float luma). Integer arithmetic gives the
    same level in a SavedModel, a TFLite model and the pipeline: rounding
    float luma flips pixels that lie on a .5 boundary between them, and a
    one-level change of a pix2pix input moved its output by up to 6 levels."""
    rgb = tf.cast(images, tf.int32)
    red, green, blue = (rgb[..., i:i + 1] for i in range(3))
    red_w, green_w, blue_w = LUMA_WEIGHTS_256
    return tf.cast((red_w * red + green_w * green + blue_w * blue + 128) // 256, tf.uint8)


def sketch(images) -> tf.Tensor:
    """float RGB `[n, h, w, 3]` in [-1, 1] -> a line drawing `[n, h, w, 1]` in [-1, 1].

    Dark lines (-1) on white (+1), deterministic. The recipe, a thresholded
    difference of Gaussians (Marr and Hildreth 1980; the soft threshold is
    that of Winnemoller et al. 2012, "XDoG", made linear):
      1. `grayscale` (BT.601 luma, [-1, 1]);
      2. DoG = G(0.6) * luma - G(0.96) * luma: Gaussians of sigma
         `SKETCH_SIGMA` = 0.6 px and `SKETCH_SIGMA_RATIO` = 1.6 times it,
         as one 7x7 convolution (truncated at three sigma of the wider one,
         each normalized to sum 1) over the reflected picture (so the
         border draws no frame);
      3. darkness = clip((-DoG - 0.015) / 0.04, 0, 1): the DoG is negative
         on the dark side of an edge; differences under
         `SKETCH_THRESHOLD` = 0.015 (skin texture, JPEG noise) stay white,
         and a line is fully black from 0.015 + `SKETCH_RAMP` = 0.055;
      4. output = 1 - 2 * darkness.
    Only the dark side of each edge is drawn, so an outline is one thin
    stroke, like a pencil's. A Sobel gradient magnitude (also tried) marks
    both sides of an edge: thick double outlines, and eyes and nostrils
    filled black. The parameters are in pixels and the same at 64 and 128:
    at 64 they draw the outline, hair, eyes, brows, nose and mouth; at 128
    finer strokes of the same features. Pictures need at least 4x4 pixels
    (the reflection).
    """
    luma = grayscale(images)
    r = _SKETCH_RADIUS
    padded = tf.pad(luma, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    kernel = tf.constant(_DOG_KERNEL, tf.float32, shape=[2 * r + 1, 2 * r + 1, 1, 1])
    dog = tf.nn.conv2d(padded, kernel, 1, "VALID")
    darkness = tf.clip_by_value((-dog - SKETCH_THRESHOLD) * (1.0 / SKETCH_RAMP), 0.0, 1.0)
    return 1.0 - 2.0 * darkness


def sketch_uint8(images) -> tf.Tensor:
    """uint8 RGB `[n, h, w, 3]` -> uint8 drawing `[n, h, w, 1]`: `sketch`, rounded."""
    return to_uint8(sketch(to_unit_range(images)))


def _check_translation(translation: str) -> None:
    if translation not in TRANSLATIONS:
        raise ConfigError(f"unknown translation {translation!r}; choose one of: "
                          f"{', '.join(TRANSLATIONS)}")


def to_network_input(translation: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """The function from served uint8 RGB `[n, h, w, 3]` to the pix2pix
    network's float input `[n, h, w, 1]` in [-1, 1].

    Both translations take the grayscale of the served picture, through
    uint8 as training does: for `colorization` a photo (colour or gray),
    for `sketch` the user's drawing, used as drawn (see the module
    docstring for why it is not sketched again).

    Raises:
        ConfigError: for an unknown translation.
    """
    _check_translation(translation)

    def network_input(images):
        return to_unit_range(grayscale_uint8(images))

    return network_input


# uint8 faces -> uint8 training inputs: what the pipeline computes from a face.
_PAIR_INPUTS = {"colorization": grayscale_uint8, "sketch": sketch_uint8}


def _resolution(data_config: DataConfig) -> int:
    if data_config.resolution not in RESOLUTIONS:
        raise ConfigError(
            f"data.resolution {data_config.resolution} is too small for pix2pix and cyclegan on "
            f"CelebA: choose {' or '.join(map(str, RESOLUTIONS))} (at 32 a face's eyes and "
            "mouth span 2-3 pixels, too few to draw or recolour)")
    return data_config.resolution


@dataclasses.dataclass(frozen=True)
class PairedSplit:
    """pix2pix's aligned pairs of one CelebA split.

    Attributes:
        inputs: uint8 `[n, s, s, 1]`: each face's grayscale or sketch.
        targets: uint8 `[n, s, s, 3]`: the faces, in the order of `inputs`.
        source: Where the faces come from, for logs.
        translation: `colorization` or `sketch`.
    """

    inputs: np.ndarray
    targets: np.ndarray
    source: str
    translation: str


def paired_split(data_config: DataConfig, split: str) -> PairedSplit:
    """Loads a CelebA split at `data_config.resolution` and makes each face's
    pix2pix input (`data_config.translation`), batch by batch.

    Raises:
        ConfigError: for a resolution other than 64 or 128, or an unknown split.
        DataError: if CelebA cannot be loaded (see `kgan.data.celeba.load`).
    """
    size = _resolution(data_config)
    make_input = _PAIR_INPUTS[data_config.translation]
    faces = celeba.load(data_config, split, image_size=size)
    count = faces.num_examples
    targets = np.empty((count, size, size, 3), np.uint8)
    inputs = np.empty((count, size, size, 1), np.uint8)
    start = 0
    for images, _ in faces.examples.batch(_BATCH):
        stop = start + len(images)
        targets[start:stop] = images.numpy()
        inputs[start:stop] = make_input(images).numpy()
        start = stop
    return PairedSplit(inputs, targets,
                       f"CelebA {split} in {faces.source}: {count} faces at {size}x{size}, "
                       f"{data_config.translation} inputs", data_config.translation)


def parse_domain(text: str, attribute_names: Sequence[str]) -> tuple[str, bool]:
    """A domain as configured -> (attribute, whether its faces have it):
    `Male` -> ("Male", True), `-Male` -> ("Male", False).

    Raises:
        ConfigError: for an attribute not in `attribute_names`, listing them.
    """
    attribute = text.removeprefix("-")
    if attribute not in attribute_names:
        raise ConfigError(f"domain {text!r} names no CelebA attribute; write NAME or -NAME with "
                          f"one of: {', '.join(attribute_names)}")
    return attribute, not text.startswith("-")


@dataclasses.dataclass(frozen=True)
class DomainSplit:
    """CycleGAN's two unpaired domains of one CelebA split.

    Attributes:
        a, b: uint8 `[n_a, s, s, 3]` and `[n_b, s, s, 3]`: the faces of
            domain A and of domain B, each in file-name order.
        a_attributes, b_attributes: float32 `[n, 40]` {0, 1}: every CelebA
            attribute of each face, in `attribute_names` order.
        attribute_names: The 40 attribute names, in `list_attr_celeba.txt` order.
        source: Where the faces come from and how many fell where, for logs.
        domain_a, domain_b: The domains as configured (`-Male`, `Male`).
    """

    a: np.ndarray
    b: np.ndarray
    a_attributes: np.ndarray
    b_attributes: np.ndarray
    attribute_names: tuple[str, ...]
    source: str
    domain_a: str
    domain_b: str


def domain_split(data_config: DataConfig, split: str) -> DomainSplit:
    """Divides a CelebA split at `data_config.resolution` into the faces
    matching `data_config.domain_a` and those matching `domain_b`.

    A domain is one attribute present (`Eyeglasses`) or absent
    (`-Eyeglasses`). When the two domains name different attributes a face
    can match both (a man with glasses for `Eyeglasses` and `Male`); it
    belongs to neither, so that no face is an example of both sides of the
    translation. Faces matching neither are left out too. `source` counts both.

    Raises:
        ConfigError: for a resolution other than 64 or 128, an unknown
            split, or a domain naming no CelebA attribute.
        DataError: if CelebA cannot be loaded, or a domain has no face in the split.
    """
    size = _resolution(data_config)
    names = celeba.all_attribute_names(data_config)
    wanted = [parse_domain(text, names) for text in (data_config.domain_a, data_config.domain_b)]
    faces = celeba.load(dataclasses.replace(data_config, attributes=names), split,
                        image_size=size)
    count = faces.num_examples
    attributes = next(iter(faces.examples.map(lambda image, label: label).batch(count))).numpy()
    matches = [attributes[:, names.index(attribute)] == (1.0 if present else 0.0)
               for attribute, present in wanted]
    both = matches[0] & matches[1]
    in_a, in_b = matches[0] & ~both, matches[1] & ~both
    neither = count - int(matches[0].sum() + matches[1].sum() - both.sum())
    counts = (f"{int(in_a.sum())} match domain_a {data_config.domain_a!r}, {int(in_b.sum())} "
              f"domain_b {data_config.domain_b!r}, {int(both.sum())} both and {neither} "
              f"neither (left out)")
    for label, text, members in (("domain_a", data_config.domain_a, in_a),
                                 ("domain_b", data_config.domain_b, in_b)):
        if not members.any():
            raise DataError(f"{label} {text!r} has no face in the CelebA {split} split of "
                            f"{faces.source}: of its {count} faces {counts}")
    a = np.empty((int(in_a.sum()), size, size, 3), np.uint8)
    b = np.empty((int(in_b.sum()), size, size, 3), np.uint8)
    filled_a = filled_b = start = 0
    for images, _ in faces.examples.batch(_BATCH):
        images = images.numpy()
        stop = start + len(images)
        chunk_a, chunk_b = images[in_a[start:stop]], images[in_b[start:stop]]
        a[filled_a:filled_a + len(chunk_a)] = chunk_a
        b[filled_b:filled_b + len(chunk_b)] = chunk_b
        filled_a, filled_b, start = filled_a + len(chunk_a), filled_b + len(chunk_b), stop
    return DomainSplit(
        a=a, b=b, a_attributes=attributes[in_a], b_attributes=attributes[in_b],
        attribute_names=names,
        source=f"CelebA {split} in {faces.source} at {size}x{size}: of {count} faces {counts}",
        domain_a=data_config.domain_a, domain_b=data_config.domain_b)


def _image_paths(paths: Sequence[str]) -> list[str]:
    """The files `paths` names: files as given, folders expanded (recursively,
    sorted; see `kgan.data.folder`) into their JPEG and PNG files."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = folder._image_names(path)
            if not found:
                raise DataError(f"no images in {path}: it holds no "
                                f"{', '.join(folder.EXTENSIONS)} files (searched recursively)")
            files += [os.path.join(path, name) for name in found]
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise DataError(f"no such image file or folder: {path}")
    if not files:
        raise DataError("no image files given")
    return files


def _readable(fn, paths: list[str]) -> dict[int, tuple]:
    """{index in `paths`: the rest of `fn(index, path)`'s output} for the files
    `fn` reads without an error. As in the cache decoder, tf.data drops the
    failures: TensorFlow's messages about a damaged file quote its raw bytes."""
    examples = (tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
                .map(fn).ignore_errors())
    return {int(index): rest for index, *rest in examples.as_numpy_iterator()}


def _unreadable(path: str) -> DataError:
    return DataError(f"{path} is not a readable JPEG or PNG image (empty, truncated or damaged)")


def _decoding_of(path: str, height: int, width: int, image_size: int,
                 crop_fraction: float) -> image_files.Decoding:
    """How one picture is decoded: the square of `crop_fraction` when it
    fits, else the largest centered square.

    Raises:
        DataError: for a picture over the pixel limit or whose square would be
            under a quarter of the output side.
    """
    if height * width > image_files.MAX_PIXELS:
        raise DataError(f"{path} declares {width}x{height} pixels, over the "
                        f"{image_files.MAX_PIXELS // 2**20}-megapixel limit")
    # Python's round, like tf.round in the decoder, rounds halves to even.
    fits = round(crop_fraction * width) <= height
    side = round(crop_fraction * width) if fits else min(height, width)
    decoding = image_files.Decoding("user images", (image_size, image_size, 3),
                                    crop_fraction if fits else None, labels_file="", version=0)
    if side < decoding.min_crop_side:
        raise DataError(f"{path} is {width}x{height} pixels: its {side}-pixel square crop is "
                        f"under a quarter of the {image_size}-pixel output")
    return decoding


def load_user_images(paths: str | Sequence[str], image_size: int,
                     crop_fraction: float) -> tuple[np.ndarray, list[str]]:
    """A user's own pictures, prepared exactly as CelebA's faces are.

    Each picture is cropped to the centered square of `crop_fraction` x
    its width when that fits in its height (CelebA's crop: pass the
    model's `data.crop_fraction` for an aligned face photo), else to the
    largest centered square (a landscape picture, where the fraction's
    square would not fit); then resized to `image_size` with antialiasing
    (`kgan.data.image_files`). Grayscale, CMYK and RGBA pictures become RGB.
    The decoding, its limits (16 megapixels, 64 MiB, a crop of at least a
    quarter of the output) and its refusal of truncated files are the
    pipeline's own.

    Args:
        paths: JPEG or PNG files (their content decides, not their name),
            and folders (or one path) whose `.jpg`, `.jpeg` and `.png` files are read
            (recursively, in sorted order).
        image_size: The output side.
        crop_fraction: The square's side as a fraction of the width, in (0, 1].

    Returns:
        uint8 `[n, image_size, image_size, 3]` and the n file paths, in order.

    Raises:
        ConfigError: for a crop fraction outside (0, 1] or a size under 1.
        DataError: naming the path, for a missing path, a folder without
            images, or a file that is not a readable JPEG or PNG or is of
            unusable size.
    """
    if not 0.0 < crop_fraction <= 1.0:
        raise ConfigError(f"crop_fraction {crop_fraction} must be in (0, 1]")
    if image_size < 1:
        raise ConfigError(f"image_size {image_size} must be at least 1")
    files, shapes = _checked_files(paths)
    decodings = []
    for path, (height, width) in zip(files, shapes):
        decodings.append(_decoding_of(path, height, width, image_size, crop_fraction))
    images = np.empty((len(files), image_size, image_size, 3), np.uint8)
    for decoding in dict.fromkeys(decodings):  # in first-use order
        group = [index for index, d in enumerate(decodings) if d == decoding]
        decoded = _readable(image_files.decode_fn(decoding), [files[i] for i in group])
        for position, index in enumerate(group):
            if position not in decoded:
                raise _unreadable(files[index])
            images[index] = decoded[position][1]
    return images, files


def _checked_files(paths: str | Sequence[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """The image files `paths` names and each one's (height, width), read
    from its header; DataError naming the first file over the size limit,
    not a JPEG or PNG, or unreadable."""
    if isinstance(paths, str):
        paths = [paths]
    files = _image_paths(paths)
    for path in files:
        try:
            if os.path.getsize(path) > image_files.MAX_FILE_BYTES:
                raise DataError(f"{path} is over {image_files.MAX_FILE_BYTES >> 20} MiB; "
                                "not read")
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError as e:
            raise DataError(f"cannot read {path}: {failure_reason(e)}") from None
        if not head.startswith((image_files._JPEG_MAGIC, image_files._PNG_MAGIC)):
            raise DataError(f"{path} is not a JPEG or PNG image (its content, not its name, "
                            "decides)")
    read = _readable(lambda index, path: (index, image_files.header_shape(
        tf.io.read_file(path))), files)
    shapes = []
    for index, path in enumerate(files):
        if index not in read:
            raise _unreadable(path)
        shapes.append(tuple(map(int, read[index][0])))
    return files, shapes


def load_pictures(paths: str | Sequence[str], max_pixels: int) -> tuple[list, list[str]]:
    """A user's own pictures as they are: no crop, no resize (what
    super-resolution enlarges). Grayscale, CMYK and RGBA pictures become
    RGB; truncated files are refused, as in `load_user_images`.

    Returns:
        A list of uint8 `[height, width, 3]` arrays and the file paths, in order.

    Raises:
        DataError: naming the path, as `load_user_images`, or for a picture
            over `max_pixels`.
    """
    files, shapes = _checked_files(paths)
    for path, (height, width) in zip(files, shapes):
        if height * width > max_pixels:
            raise DataError(f"{path} is {width}x{height} pixels, over the {max_pixels}-pixel "
                            f"limit of this model")
    decoded = _readable(lambda index, path: (index, tf.io.decode_image(
        tf.io.read_file(path), channels=3, dtype=tf.uint8, expand_animations=False)), files)
    pictures = []
    for index, path in enumerate(files):
        if index not in decoded:
            raise _unreadable(path)
        pictures.append(decoded[index][0])
    return pictures, files


__all__ = [
    "DomainSplit", "LUMA_WEIGHTS", "PairedSplit", "RESOLUTIONS", "domain_split", "grayscale",
    "grayscale_uint8", "load_pictures", "load_user_images", "paired_split", "parse_domain", "sketch",
    "sketch_uint8", "to_network_input",
]
