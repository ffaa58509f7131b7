"""CelebA (aligned and cropped) as 64x64 RGB images with attribute labels.

Reads the original layout: a folder of `NNNNNN.jpg` files (`img_align_celeba`,
178x218, or a downscaled copy with the same aspect such as 89x109) and the
original `list_attr_celeba.txt` and `list_eval_partition.txt`. Any subset of the
202,599 images may be present; listed images that are absent are counted and
skipped.

Crop: a square center crop of side `round(crop_fraction * width)`, 160 of the
178 pixels by default, then a resize to 64x64. This is the crop of Lucic et al.
2018 ("Are GANs Created Equal?") and compare_gan: it keeps the whole face and
drops most of the stretched-edge padding that the alignment adds at the sides
and bottom. DCGAN-tensorflow's 108x108 crop is tighter (it cuts off hair and
chin), and a plain resize of the whole 178x218 image would distort the aspect.

Decoding: `tf.io.decode_jpeg` of the whole file, then a slice and
`tf.image.resize(..., antialias=True)`. `decode_and_crop_jpeg` was measured
no faster here (about 2,550 images/s either way on 2 cores, since the entropy
decoding up to the window's bottom row dominates), and it accepts a file
truncated below the crop window; decoding the whole file without
`try_recover_truncated` rejects every truncated file, so a damaged download
is reported rather than silently used. Bilinear resizing with antialiasing
averages over the 2.5x reduction instead of aliasing.

The decoded split is cached once under `<kgan cache>/celeba/<key>/` (see
`load`), so later loads read one `.npy` file and decode nothing.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from kgan.config import DataConfig, cache_dir
from kgan.data.record import ImageDataset
from kgan.errors import ConfigError, DataError

IMAGE_SHAPE = (64, 64, 3)
SPLITS = ("train", "validation", "test", "heldout")
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_FOLDER = "img_align_celeba"

# Which `list_eval_partition.txt` partitions make up each split.
_PARTITIONS = {"train": (0,), "validation": (1,), "test": (2,), "heldout": (1, 2)}
_PARTITION_NAMES = ("train", "validation", "test")
# Bump when the decoded content or the cache layout changes, so old caches are not reused.
_CACHE_VERSION = 1
_PROGRESS_SECONDS = 5.0
_DECODE_BATCH = 256
_MAX_NAMED = 5


def label_names(data_config: DataConfig) -> tuple[str, ...]:
    """The attributes that label each image, in label-vector order."""
    return tuple(data_config.attributes)


def load(data_config: DataConfig, split: str) -> ImageDataset:
    """Loads one CelebA split as (uint8 [64, 64, 3] image, float32 attribute vector) pairs.

    The first load of a split decodes its JPEGs into the kgan cache
    (`$KGAN_CACHE_DIR`, default `~/.cache/kgan`) under a key that hashes the
    absolute image folder, the split, the crop, the output size and the
    name, size and mtime of every file read, so changed files or settings
    decode afresh. Undecodable or truncated JPEGs are skipped and named.

    Args:
        data_config: Its `data_dir` is the folder of `NNNNNN.jpg` files or a
            folder holding `img_align_celeba/` (None: `$KGAN_DATA_DIR`); the
            two list files are in the image folder or its parent.
            `attributes` selects the labels, `crop_fraction` the crop.
        split: One of `SPLITS`; `heldout` is validation and test together.

    Returns:
        An `ImageDataset` in sorted file-name order, with multi-hot labels
        in the order of `data_config.attributes`.

    Raises:
        ConfigError: for an unknown split.
        DataError: if the folder, the list files, an attribute or the
            split's images are missing, or a list file is malformed.
    """
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
    listed = sorted(name for name, part in partitions.items() if part in wanted)
    on_disk = {entry.name for entry in os.scandir(folder)
               if entry.name.lower().endswith(".jpg") and entry.is_file()}
    names = [name for name in listed if name in on_disk]
    if not names:
        raise DataError(_no_images_message(folder, split, on_disk, partitions))
    absent = len(listed) - len(names)
    unlisted = sum(1 for name in on_disk if name not in partitions)

    key = _cache_key(folder, split, data_config.crop_fraction, names,
                     (attributes_path, partition_path))
    split_cache = os.path.join(cache_dir(), "celeba", key)
    counts = (f"{len(names)} of {len(listed)} listed images present in {folder}; {absent} absent, "
              "skipped" + (f"; {unlisted} .jpg files not in {PARTITION_FILE}, ignored"
                           if unlisted else ""))
    cached = _read_cache(split_cache)
    if cached is None:
        print(f"CelebA {split}: {counts}; decoding once into {split_cache}", flush=True)
        attributes = _read_attributes(attributes_path, names, len(all_attributes))
        _decode_into_cache(folder, split, names, attributes, all_attributes,
                           data_config.crop_fraction, split_cache,
                           {"listed": len(listed), "absent": absent})
        cached = _read_cache(split_cache)
        if cached is None:
            raise DataError(f"the CelebA cache {split_cache} was not readable right after writing it")
    else:
        manifest = cached[2]
        corrupt = manifest["counts"]["corrupt"]
        print(f"CelebA {split}: {counts}; {corrupt} undecodable; {manifest['counts']['images']} "
              f"images read from the cache {split_cache}", flush=True)
    images, attributes, manifest = cached
    if manifest["attribute_names"] != list(all_attributes):
        raise DataError(f"the CelebA cache {split_cache} has other attribute names than "
                        f"{attributes_path}; delete the cache folder")
    labels = attributes[:, columns].astype(np.float32)
    return ImageDataset(
        examples=tf.data.Dataset.from_tensor_slices((images, labels)),
        num_examples=len(images),
        image_shape=IMAGE_SHAPE,
        label_kind="multi_hot",
        label_names=label_names(data_config),
        source=folder,
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


def _attribute_names(path: str) -> tuple[str, ...]:
    """The 40 names on line 2 of `list_attr_celeba.txt` (line 1 is the image count)."""
    with open(path) as f:
        f.readline()
        names = tuple(f.readline().split())
    if not names:
        raise DataError(f"{path} has no attribute names on its second line")
    return names


def _read_partitions(path: str) -> dict[str, int]:
    partitions = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise DataError(f"{path} line {number} is not 'NNNNNN.jpg 0|1|2': {line.strip()!r}")
            partitions[fields[0]] = int(fields[1])
    return partitions


def _read_attributes(path: str, names: list[str], num_attributes: int) -> np.ndarray:
    """All attributes of `names` as uint8 {0, 1} rows (the file holds -1/1)."""
    with open(path) as f:
        lines = f.read().splitlines()[2:]
    rows = {}
    for line in lines:
        name, _, values = line.strip().partition(" ")
        if name:
            rows[name] = values
    missing = [name for name in names if name not in rows]
    if missing:
        raise DataError(f"{path} has no attributes for {len(missing)} image(s), e.g. "
                        f"{', '.join(missing[:_MAX_NAMED])}")
    tokens = " ".join(rows[name] for name in names).split()
    if len(tokens) != len(names) * num_attributes:
        bad = next(n for n in names if len(rows[n].split()) != num_attributes)
        raise DataError(f"{path}: the row of {bad} does not hold {num_attributes} values")
    values = np.fromiter(map(int, tokens), np.int8, len(tokens)).reshape(len(names),
                                                                         num_attributes)
    if not np.isin(values, (-1, 1)).all():
        raise DataError(f"{path} holds attribute values other than -1 and 1")
    return (values == 1).astype(np.uint8)


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


def _cache_key(folder: str, split: str, crop_fraction: float, names: list[str],
               list_files: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": _CACHE_VERSION, "folder": folder, "split": split,
                              "crop_fraction": crop_fraction,
                              "image_shape": IMAGE_SHAPE}).encode())
    for path in list_files:
        stat = os.stat(path)
        digest.update(f"\n{os.path.abspath(path)}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    for name in names:
        stat = os.stat(os.path.join(folder, name))
        digest.update(f"\n{name}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    return f"{split}-{digest.hexdigest()[:24]}"


def _read_cache(split_cache: str):
    """(images, attributes, manifest) from a complete cache folder, else None."""
    manifest_path = os.path.join(split_cache, "manifest.json")
    if not os.path.isfile(manifest_path):
        return None
    with open(manifest_path) as f:
        manifest = json.load(f)
    images = np.load(os.path.join(split_cache, "images.npy"))
    attributes = np.load(os.path.join(split_cache, "attributes.npy"))
    count = manifest["counts"]["images"]
    if images.shape != (count, *IMAGE_SHAPE) or len(attributes) != count:
        raise DataError(f"the CelebA cache {split_cache} is inconsistent with its manifest; "
                        "delete the folder to decode again")
    return images, attributes, manifest


def _decode_fn(crop_fraction: float):
    def decode(index, path):
        # try_recover_truncated stays False: a truncated file fails and is skipped.
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        side = tf.cast(tf.round(crop_fraction * tf.cast(width, tf.float64)), tf.int32)
        side = tf.clip_by_value(side, 1, tf.minimum(height, width))
        top, left = (height - side) // 2, (width - side) // 2
        square = image[top:top + side, left:left + side]
        resized = tf.image.resize(square, IMAGE_SHAPE[:2], method="bilinear", antialias=True)
        return index, tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
    return decode


def _decode_into_cache(folder: str, split: str, names: list[str], attributes: np.ndarray,
                       attribute_names: tuple[str, ...], crop_fraction: float,
                       split_cache: str, counts: dict) -> None:
    """Decodes `names` and moves the finished cache folder into `split_cache`.

    Everything is written into a temporary sibling folder first, so an
    interrupted decode leaves no cache that a later load would trust.
    """
    parent = os.path.dirname(split_cache)
    os.makedirs(parent, exist_ok=True)
    _remove_abandoned_temp_folders(parent, os.path.basename(split_cache))
    scratch = tempfile.mkdtemp(prefix=f".{os.path.basename(split_cache)}.{os.getpid()}.",
                               dir=parent)
    try:
        paths = [os.path.join(folder, name) for name in names]
        examples = (tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
                    .map(_decode_fn(crop_fraction), num_parallel_calls=tf.data.AUTOTUNE)
                    # Dropping failed elements keeps one bad file from ending the pass;
                    # the indices that come through tell which files failed.
                    .ignore_errors()
                    .batch(_DECODE_BATCH)
                    .prefetch(2))
        # Written straight to disk: the full train split is 2 GB.
        images_path = os.path.join(scratch, "images.npy")
        images = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.uint8,
                                           shape=(len(names), *IMAGE_SHAPE))
        kept = np.zeros(len(names), bool)
        done = 0
        began = last_report = time.perf_counter()
        for indices, batch in examples:
            indices = indices.numpy()
            images[done:done + len(indices)] = batch.numpy()
            kept[indices] = True
            done += len(indices)
            now = time.perf_counter()
            if now - last_report >= _PROGRESS_SECONDS:
                print(f"CelebA {split}: decoded {done}/{len(names)} "
                      f"({done / (now - began):.0f} images/s)", flush=True)
                last_report = now
        seconds = time.perf_counter() - began
        if done == 0:
            raise DataError(f"none of the {len(names)} CelebA {split} images in {folder} "
                            "could be decoded as JPEG")
        images.flush()
        del images
        if done < len(names):
            _shrink_npy(images_path, done)
        corrupt = [name for name, ok in zip(names, kept) if not ok]
        kept_names = [name for name, ok in zip(names, kept) if ok]
        np.save(os.path.join(scratch, "attributes.npy"), attributes[kept])
        with open(os.path.join(scratch, "names.txt"), "w") as f:
            f.write("".join(f"{name}\n" for name in kept_names))
        manifest = {
            "format_version": _CACHE_VERSION,
            "folder": folder,
            "split": split,
            "crop_fraction": crop_fraction,
            "image_shape": list(IMAGE_SHAPE),
            "attribute_names": list(attribute_names),
            "counts": {**counts, "present": len(names), "corrupt": len(corrupt),
                       "images": done},
            "corrupt_names": corrupt,
            "decode_seconds": round(seconds, 3),
            "images_per_second": round(len(names) / seconds, 1) if seconds > 0 else None,
        }
        # The manifest is written last: its presence marks a complete folder.
        with open(os.path.join(scratch, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        try:
            os.rename(scratch, split_cache)
        except OSError:
            # Another process finished the same key first; its copy is as good as ours.
            if not os.path.isfile(os.path.join(split_cache, "manifest.json")):
                raise
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    named = ", ".join(corrupt[:_MAX_NAMED]) + (", ..." if len(corrupt) > _MAX_NAMED else "")
    print(f"CelebA {split}: decoded {done} images in {seconds:.1f} s "
          f"({manifest['images_per_second']} images/s); {len(corrupt)} undecodable, skipped"
          + (f": {named}" if corrupt else ""), flush=True)


def _shrink_npy(path: str, count: int) -> None:
    """Rewrites an .npy file to its first `count` images, chunk by chunk on disk."""
    source = np.load(path, mmap_mode="r")
    smaller_path = path + ".part"
    smaller = np.lib.format.open_memmap(smaller_path, mode="w+", dtype=np.uint8,
                                        shape=(count, *IMAGE_SHAPE))
    for start in range(0, count, 4096):
        stop = min(start + 4096, count)
        smaller[start:stop] = source[start:stop]
    smaller.flush()
    del smaller, source
    os.replace(smaller_path, path)


def _remove_abandoned_temp_folders(parent: str, key: str) -> None:
    """Deletes temp folders of `key` whose writing process is gone (an interrupted decode)."""
    prefix = f".{key}."
    for entry in os.scandir(parent):
        if not (entry.name.startswith(prefix) and entry.is_dir()):
            continue
        pid = entry.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
