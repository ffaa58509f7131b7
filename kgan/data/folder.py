"""Any folder of JPEG/PNG images (`--dataset=folder --data_dir=DIR`).

Every `.jpg`, `.jpeg` and `.png` file under `data_dir` (recursively, any
case; hidden files and folders skipped) is one training image: the largest
centered square, resized to `resolution` x `resolution` RGB (32, 64 or
128), with the hostile-file rules of `kgan.data.image_files` (undecodable
or unusably sized files are skipped, counted and named). Symbolic links are
followed for files, not for folders (no cycles).

Labels follow `keras.utils.image_dataset_from_directory`: each folder
directly under `data_dir` is a class, its name the class name, classes
numbered in sorted name order, and the images anywhere below it belong to
it. A conditional model needs at least two class folders and no image
directly in `data_dir` (it would have no class); an unconditional one
reads every image and ignores the folders.

A folder has one split, `train`: FID and the other evaluations compare
with the training images themselves; `kgan-metrics` compares a run with
any other folder (a held-out set you keep apart).

The decoded images are cached once under `<kgan cache>/folder/<key>/`; the
key hashes the folder, the resolution and every file's name, size and
mtime, so adding, removing or changing a file decodes afresh.
"""

import os

import numpy as np
import tensorflow as tf

from kgan.config import DataConfig, cache_dir
from kgan.config.run import FOLDER_RESOLUTIONS as RESOLUTIONS
from kgan.core.messages import failure_reason
from kgan.data import image_files
from kgan.data.record import ImageDataset
from kgan.errors import ConfigError, DataError

SPLITS = ("train",)
EXTENSIONS = (".jpg", ".jpeg", ".png")
_CACHE_VERSION = 1
NO_CLASS = -1


def image_shape(data_config: DataConfig) -> tuple[int, int, int]:
    return (data_config.resolution, data_config.resolution, 3)


def _decoding(data_config: DataConfig) -> image_files.Decoding:
    return image_files.Decoding("image folder", image_shape(data_config), None, "labels.npy",
                                _CACHE_VERSION)


def _folder(data_config: DataConfig) -> str:
    # Imported here: kgan.data imports this module, so a top-level import would be circular.
    from kgan.data import resolve_data_dir

    data_dir = resolve_data_dir(data_config.data_dir)
    if data_dir is None:
        raise DataError("--dataset=folder needs --data_dir: the folder of images (or set "
                        "KGAN_DATA_DIR)")
    if not os.path.isdir(data_dir):
        raise DataError(f"image folder {data_dir!r} does not exist")
    return os.path.abspath(data_dir)


def _image_names(folder: str) -> list[str]:
    """The image files under `folder`, as sorted relative paths with `/`."""
    names = []

    def failed(error):
        raise DataError(f"cannot list {error.filename}: {failure_reason(error)}")

    for root, dirs, files in os.walk(folder, onerror=failed):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative = os.path.relpath(root, folder)
        for name in files:
            if name.startswith(".") or not name.lower().endswith(EXTENSIONS):
                continue
            path = name if relative == "." else os.path.join(relative, name)
            names.append(path.replace(os.sep, "/"))
    return sorted(names)


def _class_of(name: str) -> str | None:
    """The class folder of a relative path, None for a file directly in the folder."""
    head, sep, _ = name.partition("/")
    return head if sep else None


def _classes(names: list[str]) -> tuple[str, ...]:
    return tuple(sorted({c for c in map(_class_of, names) if c is not None}))


def _listed(data_config: DataConfig) -> tuple[str, list[str]]:
    folder = _folder(data_config)
    names = _image_names(folder)
    if not names:
        raise DataError(f"no images in {folder}: it holds no {', '.join(EXTENSIONS)} files "
                        "(searched recursively)")
    return folder, names


def label_names(data_config: DataConfig) -> tuple[str, ...]:
    """The class names (the folders directly under `data_dir`), for a
    conditional model.

    Raises:
        ConfigError: if there are fewer than two class folders, or images
            directly in `data_dir`.
    """
    folder, names = _listed(data_config)
    classes = _classes(names)
    unfiled = [name for name in names if _class_of(name) is None]
    if unfiled:
        raise ConfigError(f"a conditional model takes its classes from the folders in {folder}, "
                          f"but {len(unfiled)} image(s) lie directly in it, e.g. {unfiled[0]}; "
                          "move them into class folders or train unconditionally")
    if len(classes) < 2:
        raise ConfigError(f"a conditional model needs at least two class folders in {folder}; "
                          f"found {len(classes)}{': ' + classes[0] if classes else ''}")
    return classes


def fingerprint(data_config: DataConfig) -> str:
    """Identifies the images a load would read (folder, resolution, files)."""
    folder, names = _listed(data_config)
    sizes = image_files.file_sizes(folder, names)
    return image_files.cache_key(_decoding(data_config), folder, "train", sizes)


def load(data_config: DataConfig, split: str) -> ImageDataset:
    """Loads the folder as (uint8 [r, r, 3] image, int64 class id) pairs in
    sorted path order; the class id is `NO_CLASS` for an image directly in
    the folder.

    Raises:
        ConfigError: for a split other than `train`.
        DataError: if the folder is missing or holds no usable image, or the
            cache is damaged.
    """
    if split not in SPLITS:
        raise ConfigError(f"an image folder has only the split 'train', not {split!r}")
    folder, names = _listed(data_config)
    decoding = _decoding(data_config)
    classes = _classes(names)
    class_ids = np.array([NO_CLASS if _class_of(name) is None else classes.index(_class_of(name))
                          for name in names], np.int64)
    sizes = image_files.file_sizes(folder, names)
    key = image_files.cache_key(decoding, folder, split, sizes)
    split_cache = os.path.join(cache_dir(), "folder", key)
    where = f"{len(names)} image files in {folder}"
    cached = image_files.read_cache(decoding, split_cache)
    if cached is None:
        print(f"image folder: {where}; decoding once into {split_cache}", flush=True)
        image_files.decode_into_cache(decoding, folder, split, names, sizes, class_ids,
                                      split_cache, {"listed": len(names), "absent": 0},
                                      {"class_names": list(classes)}, data_config.read_timeout)
        cached = image_files.read_cache(decoding, split_cache)
        if cached is None:
            raise DataError(f"the image-folder cache {split_cache} was not readable right "
                            "after writing it")
    else:
        print(f"image folder: {where}; {image_files.skipped_summary(cached[2], named=False)}; "
              f"{cached[2]['counts']['images']} images read from the cache {split_cache}",
              flush=True)
    images, labels, manifest = cached
    return ImageDataset(
        examples=tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64))),
        num_examples=len(images),
        image_shape=decoding.image_shape,
        label_kind="class",
        label_names=classes,
        source=folder,
        skipped={reason: manifest["counts"][reason] for reason in image_files.SKIP_REASONS},
    )


__all__ = ["RESOLUTIONS", "SPLITS", "fingerprint", "image_shape", "label_names", "load"]
