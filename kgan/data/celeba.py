"""CelebA (aligned and cropped) as 64x64 (or 128x128) RGB images with attribute labels.

Reads the original layout: a folder of `NNNNNN.jpg` files (`img_align_celeba`,
178x218, or a downscaled copy with the same aspect such as 89x109) and the
original `list_attr_celeba.txt` and `list_eval_partition.txt`. Any subset of the
202,599 images may be present; listed images that are absent are counted and
skipped.

Crop: a square center crop of side `round(crop_fraction * width)`, 160 of the
178 pixels by default, then a resize to 64x64 (`image_size` 128 for the
image-to-image tasks, `kgan.data.translation`). This is the crop of Lucic et al.
2018 ("Are GANs Created Equal?") and compare_gan: it keeps the whole face and
drops most of the stretched-edge padding that the alignment adds at the sides
and bottom. DCGAN-tensorflow's 108x108 crop is tighter (it cuts off hair and
chin), and a plain resize of the whole 178x218 image would distort the aspect.

Decoding: the whole file, then a slice and `tf.image.resize(...,
antialias=True)`. `decode_and_crop_jpeg` was measured no faster here (about
2,550 images/s either way on 2 cores, since the entropy decoding up to the
window's bottom row dominates), and it accepts a file truncated below the crop
window; decoding the whole file without `try_recover_truncated` rejects every
truncated file, so a damaged download is reported rather than silently used.
Bilinear resizing with antialiasing averages over the 2.5x reduction instead
of aliasing (1.25x at 128). The half-size 89x109 copies give an 80-pixel crop:
a 1.25x reduction at 64, but at 128 a 1.6x bilinear upsampling, softer than
the originals' detail (it is not refused: the crop is above a quarter of the
output, the rule below); decode the 178x218 originals for 128x128 work.

Hostile files: every listed file is one of
  * decoded: a JPEG (baseline or progressive; RGB, grayscale or CMYK, all
    converted to RGB) or a PNG (a lossless copy someone converted; its
    content, not its `.jpg` name, decides), whose crop fits;
  * undecodable, skipped and named: empty, truncated or damaged files, and
    anything that is not a JPEG or PNG (GIF, BMP, WebP: CelebA never held
    them, and their size cannot be read before decoding them);
  * of unusable size, skipped and named: no centered square of
    `crop_fraction` x width fits in the image (it is wider than an aligned
    CelebA face allows), the square would be under a quarter of the output
    side (upsampled into a blur), the header declares more than 16
    megapixels (a decompression bomb: CelebA images have 0.04), or the file
    is over 64 MiB (not read at all).
A malformed line in a list file refuses the load with a `DataError` naming
the file and line: the lists are the labels, and a damaged list cannot be
trusted for the lines that do parse.

The decoded split is cached once under `<kgan cache>/celeba/<key>/` (see
`load`), so later loads read one `.npy` file and decode nothing.
"""

import os
from typing import Collection, Optional

import numpy as np
import tensorflow as tf

from kgan.config import DataConfig, cache_dir
from kgan.core.messages import failure_reason
from kgan.data import image_files
from kgan.data.record import ImageDataset
from kgan.errors import ConfigError, DataError

IMAGE_SHAPE = (64, 64, 3)
# The output sides `load` decodes: 64 (the GANs) and 128 (pix2pix, CycleGAN).
IMAGE_SIZES = (64, 128)
SPLITS = ("train", "validation", "test", "heldout")
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_FOLDER = "img_align_celeba"

# Which `list_eval_partition.txt` partitions make up each split.
_PARTITIONS = {"train": (0,), "validation": (1,), "test": (2,), "heldout": (1, 2)}
_PARTITION_NAMES = ("train", "validation", "test")
# Bump when the decoded content or the cache layout changes, so old caches are not reused.
# 2: PNG and CMYK files decoded, unusable sizes skipped and counted.
_CACHE_VERSION = 2
_MAX_NAMED = image_files.MAX_NAMED
# Files over this size are not read (the other limits: `image_files.Decoding`).
MAX_FILE_BYTES = image_files.MAX_FILE_BYTES
SKIP_REASONS = image_files.SKIP_REASONS


def _decoding(crop_fraction: float, image_size: int = 64) -> image_files.Decoding:
    # The output shape is part of `image_files.cache_key`, so each size has its own
    # cache; at 64 the Decoding (and so the key) is the one this module always used.
    return image_files.Decoding("CelebA", (image_size, image_size, 3), crop_fraction,
                                "attributes.npy", _CACHE_VERSION)


def label_names(data_config: DataConfig) -> tuple[str, ...]:
    """The attributes that label each image, in label-vector order."""
    return tuple(data_config.attributes)


def all_attribute_names(data_config: DataConfig) -> tuple[str, ...]:
    """Every attribute `list_attr_celeba.txt` names (40), in its column order.

    Raises:
        DataError: if the folder or the list file is missing or its header is malformed.
    """
    folder = _image_folder(data_config.data_dir)
    return _attribute_names(_find_list_file(folder, ATTRIBUTES_FILE))


def load(data_config: DataConfig, split: str, image_size: int = 64) -> ImageDataset:
    """Loads one CelebA split as (uint8 [size, size, 3] image, float32 attribute vector) pairs.

    The first load of a split decodes its images into the kgan cache
    (`$KGAN_CACHE_DIR`, default `~/.cache/kgan`) under a key that hashes the
    absolute image folder, the split, the crop, the output size and the
    name, size and mtime of every file read, so changed files or settings
    decode afresh. Undecodable files and files of unusable size are skipped,
    counted and named (see the module docstring); the counts are printed and
    returned in `ImageDataset.skipped`.

    Args:
        data_config: Its `data_dir` is the folder of `NNNNNN.jpg` files or a
            folder holding `img_align_celeba/` (None: `$KGAN_DATA_DIR`); the
            two list files are in the image folder or its parent.
            `attributes` selects the labels, `crop_fraction` the crop.
        split: One of `SPLITS`; `heldout` is validation and test together.
        image_size: The output side, one of `IMAGE_SIZES`: the same crop is
            resized to 64x64 (the default, `IMAGE_SHAPE`) or 128x128.

    Returns:
        An `ImageDataset` in sorted file-name order, with multi-hot labels
        in the order of `data_config.attributes`.

    Raises:
        ConfigError: for an unknown split or image size.
        DataError: if the folder, the list files, an attribute or the
            split's images are missing, a list file is malformed, no image
            of the split is usable, or the cache is damaged.
    """
    if type(image_size) is not int or image_size not in IMAGE_SIZES:
        raise ConfigError(f"CelebA image_size {image_size!r} is not supported; choose "
                          f"{' or '.join(map(str, IMAGE_SIZES))}")
    return _load(data_config, split, _decoding(data_config.crop_fraction, image_size))


def load_frames(data_config: DataConfig, split: str, frame: tuple[int, int],
                names: Optional[Collection[str]] = None) -> ImageDataset:
    """Loads one CelebA split as its files' own pixels: the centered `frame`
    (height, width) window of each image, not resized (`data_config.crop_fraction`
    does not apply). Super-resolution learns and is judged on these.

    As `load` otherwise (cache, skipped files, labels); an image smaller
    than `frame` is of unusable size. `names` (file names) keeps only those
    images of the split.
    """
    height, width = (int(side) for side in frame)
    return _load(data_config, split, image_files.Decoding(
        "CelebA", (height, width, 3), None, "attributes.npy", _CACHE_VERSION, exact_frame=True),
        names)


def image_folder(data_config: DataConfig) -> str:
    """The absolute CelebA image folder `data_config.data_dir` names.

    Raises:
        DataError: if there is none.
    """
    return _image_folder(data_config.data_dir)


def image_names(data_config: DataConfig) -> set[str]:
    """The `.jpg` file names in the CelebA image folder of `data_config`."""
    folder = _image_folder(data_config.data_dir)
    try:
        return {entry.name for entry in os.scandir(folder)
                if entry.name.lower().endswith(".jpg") and entry.is_file()}
    except OSError as e:
        raise DataError(f"cannot list the CelebA folder {folder}: {failure_reason(e)}") from None


def _load(data_config: DataConfig, split: str, decoding: image_files.Decoding,
          only: Optional[Collection[str]] = None) -> ImageDataset:
    if split not in _PARTITIONS:
        raise ConfigError(f"CelebA has no split {split!r}; choose from {', '.join(SPLITS)}")
    folder = _image_folder(data_config.data_dir)
    attributes_path = _find_list_file(folder, ATTRIBUTES_FILE)
    partition_path = _find_list_file(folder, PARTITION_FILE)
    all_attributes = _attribute_names(attributes_path)
    for name in data_config.attributes:
        if name not in all_attributes:
            raise DataError(f"unknown CelebA attribute {name!r}; known: {', '.join(all_attributes)}")
    columns = [all_attributes.index(name) for name in data_config.attributes]

    partitions = _read_partitions(partition_path)
    wanted = _PARTITIONS[split]
    listed = sorted(name for name, part in partitions.items()
                    if part in wanted and (only is None or name in only))
    on_disk = image_names(data_config)
    names = [name for name in listed if name in on_disk]
    if not names:
        raise DataError(_no_images_message(folder, split, on_disk, partitions))
    absent = len(listed) - len(names)
    unlisted = sum(1 for name in on_disk if name not in partitions)

    sizes = image_files.file_sizes(folder, names)
    key = image_files.cache_key(decoding, folder, split, sizes, (attributes_path, partition_path))
    split_cache = os.path.join(cache_dir(), "celeba", key)
    counts = (f"{len(names)} of {len(listed)} listed images present in {folder}; {absent} absent, "
              "skipped" + (f"; {unlisted} .jpg files not in {PARTITION_FILE}, ignored"
                           if unlisted else ""))
    cached = image_files.read_cache(decoding, split_cache)
    if cached is None:
        print(f"CelebA {split}: {counts}; decoding once into {split_cache}", flush=True)
        attributes = _read_attributes(attributes_path, names, len(all_attributes))
        _decode_into_cache(decoding, folder, split, names, sizes, attributes, all_attributes,
                           split_cache, {"listed": len(listed), "absent": absent},
                           data_config.read_timeout)
        cached = image_files.read_cache(decoding, split_cache)
        if cached is None:
            raise DataError(f"the CelebA cache {split_cache} was not readable right after writing it")
    else:
        manifest = cached[2]
        print(f"CelebA {split}: {counts}; {image_files.skipped_summary(manifest, named=False)}; "
              f"{manifest['counts']['images']} images read from the cache {split_cache}",
              flush=True)
    images, attributes, manifest = cached
    if manifest["attribute_names"] != list(all_attributes):
        raise DataError(f"the CelebA cache {split_cache} has other attribute names than "
                        f"{attributes_path}; delete the cache folder")
    labels = attributes[:, columns].astype(np.float32)
    return ImageDataset(
        examples=tf.data.Dataset.from_tensor_slices((images, labels)),
        num_examples=len(images),
        image_shape=decoding.image_shape,
        label_kind="multi_hot",
        label_names=label_names(data_config),
        source=folder,
        skipped={reason: manifest["counts"][reason] for reason in SKIP_REASONS},
    )



def _image_folder(data_dir: str | None) -> str:
    """The absolute folder of JPEGs that `data_dir` (or `$KGAN_DATA_DIR`) names."""
    # Imported here: kgan.data imports this module, so a top-level import would be circular.
    from kgan.data import resolve_data_dir

    data_dir = resolve_data_dir(data_dir)
    if data_dir is None:
        raise DataError("no CelebA data directory: pass --data_dir (the img_align_celeba folder "
                        "or its parent) or set KGAN_DATA_DIR")
    if not os.path.isdir(data_dir):
        raise DataError(f"CelebA data directory {data_dir!r} does not exist")
    nested = os.path.join(data_dir, IMAGE_FOLDER)
    return os.path.abspath(nested if os.path.isdir(nested) else data_dir)


def _find_list_file(folder: str, name: str) -> str:
    candidates = [os.path.join(folder, name), os.path.join(os.path.dirname(folder), name)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DataError(f"CelebA's {name} is missing: looked for {candidates[0]} and {candidates[1]}")


def _numbered_lines(path: str):
    """Yields (line number, line) of a list file; a `DataError` if it is not readable text."""
    try:
        with open(path, encoding="utf-8") as f:
            yield from enumerate(f, 1)
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not a text file (byte {e.start} of a block cannot be read "
                        "as UTF-8)") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {failure_reason(e)}") from None


def _shown(line: str) -> str:
    """A list-file line for an error message: stripped and at most 80 characters."""
    line = line.strip()
    return repr(line if len(line) <= 80 else line[:80] + "...")


def _declared_count(path: str, line: str) -> int:
    """Line 1 of `list_attr_celeba.txt`: the number of image rows that follow."""
    count = line.strip()
    if not count.isdigit():
        raise DataError(f"{path} line 1 is not the number of images: {_shown(line)}")
    return int(count)


def _attribute_names(path: str) -> tuple[str, ...]:
    """The 40 names on line 2 of `list_attr_celeba.txt` (line 1 is the image count)."""
    lines = _numbered_lines(path)
    head = [line for _, (_, line) in zip(range(2), lines)]
    lines.close()
    if not head:
        raise DataError(f"{path} is empty")
    _declared_count(path, head[0])
    names = tuple(head[1].split()) if len(head) == 2 else ()
    if not names:
        raise DataError(f"{path} has no attribute names on its second line")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{path} line 2 names attribute(s) more than once: {', '.join(repeated)}")
    return names


def _read_partitions(path: str) -> dict[str, int]:
    partitions, first_line = {}, {}
    for number, line in _numbered_lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataError(f"{path} line {number} is not 'NNNNNN.jpg 0|1|2': {_shown(line)}")
        name = fields[0]
        if name in partitions:
            raise DataError(f"{path} line {number} lists {name} again (first on line "
                            f"{first_line[name]})")
        partitions[name] = int(fields[1])
        first_line[name] = number
    return partitions


def _read_attributes(path: str, names: list[str], num_attributes: int) -> np.ndarray:
    """Checks every line of `list_attr_celeba.txt` and returns the attributes
    of `names` as uint8 {0, 1} rows (the file holds -1/1).

    Raises:
        DataError: naming the line, for a count on line 1 that is not the
            number of rows, a row without a name and `num_attributes` values
            of -1 or 1, or a name listed twice; or naming the images that
            have no row.
    """
    row_of = {name: i for i, name in enumerate(names)}
    values = np.zeros((len(names), num_attributes), np.uint8)
    found = np.zeros(len(names), bool)
    first_line = {}
    declared = None
    allowed = {"-1", "1"}
    for number, line in _numbered_lines(path):
        if number == 1:
            declared = _declared_count(path, line)
            continue
        if number == 2:
            continue  # the names, read by _attribute_names
        fields = line.split()
        if not fields:
            continue
        if len(fields) != num_attributes + 1 or not allowed.issuperset(fields[1:]):
            raise DataError(f"{path} line {number} is not an image name and {num_attributes} "
                            f"values of -1 or 1: {_shown(line)}")
        name = fields[0]
        if name in first_line:
            raise DataError(f"{path} line {number} lists {name} again (first on line "
                            f"{first_line[name]})")
        first_line[name] = number
        row = row_of.get(name)
        if row is not None:
            values[row] = [value == "1" for value in fields[1:]]
            found[row] = True
    if declared != len(first_line):
        raise DataError(f"{path} line 1 says {declared} images, but the file has "
                        f"{len(first_line)} image rows (truncated or edited?)")
    if not found.all():
        missing = [name for name, ok in zip(names, found) if not ok]
        raise DataError(f"{path} has no attributes for {len(missing)} image(s), e.g. "
                        f"{', '.join(missing[:_MAX_NAMED])}")
    return values


def _no_images_message(folder: str, split: str, on_disk: set[str],
                       partitions: dict[str, int]) -> str:
    if not on_disk:
        return (f"no .jpg files in the CelebA folder {folder} (expected the NNNNNN.jpg files "
                f"or an {IMAGE_FOLDER}/ subfolder)")
    per_partition = [0, 0, 0]
    unlisted = 0
    for name in on_disk:
        if name in partitions:
            per_partition[partitions[name]] += 1
        else:
            unlisted += 1
    breakdown = ", ".join(f"{count} {part}" for count, part in zip(per_partition, _PARTITION_NAMES))
    return (f"no CelebA {split} images in {folder}: its {len(on_disk)} .jpg files are "
            f"{breakdown}" + (f", {unlisted} not in {PARTITION_FILE}" if unlisted else "") +
            " by the official partition")


def _decode_into_cache(decoding: image_files.Decoding, folder: str, split: str,
                       names: list[str], sizes: dict[str, tuple[int, int]],
                       attributes: np.ndarray, attribute_names: tuple[str, ...],
                       split_cache: str, counts: dict, read_timeout: float) -> None:
    image_files.decode_into_cache(decoding, folder, split, names, sizes,
                                  attributes, split_cache, counts,
                                  {"attribute_names": list(attribute_names)}, read_timeout)


def _remove_abandoned_temp_folders(parent: str, key: str) -> None:
    image_files.remove_abandoned_temp_folders(parent, key)
