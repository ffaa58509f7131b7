"""Folders of JPEG/PNG files decoded once into a cache of uint8 arrays.

What CelebA (`kgan.data.celeba`) and any image folder (`kgan.data.folder`)
share: a square center crop resized to the output shape, the hostile-file
rules, and a cache folder written atomically.

Crop: `crop_fraction` of the width (CelebA's aligned faces), or, with None,
the largest centered square (`min(height, width)`). Then
`tf.image.resize(..., antialias=True)`: bilinear with antialiasing averages
over a reduction instead of aliasing. A `Decoding` with `exact_frame` instead
keeps the pixels as stored: the centered `image_shape` window of each file,
never resized (super-resolution learns from the original pixels), and a
file smaller than the window is of unusable size.

Hostile files: every file is one of
  * decoded: a JPEG (baseline or progressive; RGB, grayscale or CMYK) or a
    PNG (any bit depth; with alpha), converted to the output's channels;
    its content, not its name, decides;
  * undecodable, skipped and named: empty, truncated or damaged files, and
    anything that is not a JPEG or PNG (GIF, BMP, WebP: their size cannot
    be read before decoding them);
  * of unusable size, skipped and named: the square crop does not fit, it
    would be under a quarter of the output side (upsampled into a blur), the
    header declares more than 16 megapixels (a decompression bomb), or the
    file is over 64 MiB (not read at all).
Decoding the whole file without `try_recover_truncated` rejects every
truncated file, so a damaged download is reported rather than silently used.

The cache folder (`<kgan cache>/<dataset>/<key>/`) holds `images.npy`, the
labels array, `names.txt` and `manifest.json`, written last: a folder
without it is incomplete and never trusted. The key hashes the settings and
the name, size and mtime of every file read, so changed files decode afresh.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from kgan.core import scratch, waits
from kgan.core.files import make_shareable
from kgan.core.messages import failure_reason, one_line
from kgan.errors import DataError

_PROGRESS_SECONDS = 5.0
_DECODE_BATCH = 256
MAX_NAMED = 5
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 4096 * 4096
MAX_FILE_BYTES = 64 << 20
# Why a file is left out, as counted in `ImageDataset.skipped` and the cache
# manifest: not in the folder (list-based datasets), undecodable, of unusable size.
SKIP_REASONS = ("absent", "corrupt", "wrong_size")


@dataclasses.dataclass(frozen=True)
class Decoding:
    """How one dataset's files become images.

    Attributes:
        dataset: Its name in messages ("CelebA", "image folder").
        image_shape: The output (height, width, channels).
        crop_fraction: The square's side as a fraction of the width; None
            for the largest centered square.
        labels_file: The cache's labels array file name.
        version: Cache format version, in every key: bump it when the decoded
            content or the cache layout changes.
        exact_frame: Keep the centered `image_shape` window of each file's
            own pixels (no crop fraction, no resize; `crop_fraction` must
            be None).
    """

    dataset: str
    image_shape: tuple[int, int, int]
    crop_fraction: float | None
    labels_file: str
    version: int
    exact_frame: bool = False

    @property
    def min_crop_side(self) -> int:
        return self.image_shape[0] // 4

    @property
    def crop_rule(self) -> str:
        """What makes a file's size usable, for messages."""
        if self.exact_frame:
            return (f"a file must be at least {self.image_shape[0]}x{self.image_shape[1]} "
                    f"(height x width)")
        crop = ("the largest centered square" if self.crop_fraction is None else
                f"crop_fraction {self.crop_fraction} of the width")
        return f"{crop} must give a square that fits and has at least {self.min_crop_side} pixels"


def skipped_summary(manifest: dict, named: bool = True) -> str:
    """'N undecodable[, skipped: names]; M of unusable size[...]' from a cache manifest."""
    parts = []
    for reason, what in (("corrupt", "undecodable"), ("wrong_size", "of unusable size")):
        skipped = manifest[f"{reason}_names"]
        text = f"{len(skipped)} {what}"
        if named and skipped:
            text += (", skipped: " + ", ".join(skipped[:MAX_NAMED])
                     + (", ..." if len(skipped) > MAX_NAMED else ""))
        elif named:
            text += ", skipped"
        parts.append(text)
    return "; ".join(parts)


def file_sizes(folder: str, names: list[str]) -> dict[str, tuple[int, int]]:
    """{name: (size in bytes, mtime in ns)} of the files to read (names relative to `folder`)."""
    sizes = {}
    for name in names:
        try:
            stat = os.stat(os.path.join(folder, name))
        except OSError as e:  # removed since the folder was listed, or unreadable
            raise DataError(f"cannot read {os.path.join(folder, name)}: "
                            f"{failure_reason(e)}") from None
        sizes[name] = (stat.st_size, stat.st_mtime_ns)
    return sizes


def cache_key(decoding: Decoding, folder: str, split: str, sizes: dict[str, tuple[int, int]],
              list_files: tuple[str, ...] = (), settings: dict | None = None) -> str:
    digest = hashlib.sha256()
    exact = {"exact_frame": True} if decoding.exact_frame else {}  # earlier keys unchanged
    digest.update(json.dumps({"version": decoding.version, "folder": folder, "split": split,
                              "crop_fraction": decoding.crop_fraction,
                              "image_shape": tuple(decoding.image_shape),
                              **exact, **(settings or {})}).encode())
    for path in list_files:
        stat = os.stat(path)
        digest.update(f"\n{os.path.abspath(path)}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    for name, (size, mtime_ns) in sizes.items():
        digest.update(f"\n{name}\t{size}\t{mtime_ns}".encode())
    return f"{split}-{digest.hexdigest()[:24]}"


def read_cache(decoding: Decoding, split_cache: str):
    """(images, labels, manifest) from a complete cache folder, else None.

    Raises:
        DataError: if the folder is complete (has its manifest) but damaged.
    """
    manifest_path = os.path.join(split_cache, "manifest.json")
    if not os.path.isfile(manifest_path):
        return None
    damaged = (f"the {decoding.dataset} cache {split_cache} is damaged (%s); delete the folder "
               "to decode again")
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        # The cache holds only arrays: never unpickle (a pickled object can run code).
        images = np.load(os.path.join(split_cache, "images.npy"), allow_pickle=False)
        labels = np.load(os.path.join(split_cache, decoding.labels_file), allow_pickle=False)
        counts = manifest["counts"]
        count = counts["images"]
        complete = all(isinstance(counts[r], int) for r in SKIP_REASONS) and all(
            isinstance(manifest[f"{r}_names"], list) for r in ("corrupt", "wrong_size"))
    except KeyError as e:
        raise DataError(damaged % f"its manifest has no {e}") from None
    except (OSError, ValueError, TypeError, EOFError) as e:
        raise DataError(damaged % one_line(e)) from None
    if not complete or images.dtype != np.uint8 or \
            images.shape != (count, *decoding.image_shape) or labels.shape[:1] != (count,):
        raise DataError(damaged % "its arrays do not match its manifest")
    return images, labels, manifest


def header_shape(contents: tf.Tensor) -> tf.Tensor:
    """int64 (height, width) from a JPEG's or PNG's header, without decoding
    pixels; an error (the element is dropped) for anything else."""
    is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), _JPEG_MAGIC)
    is_png = tf.equal(tf.strings.substr(contents, 0, 8), _PNG_MAGIC)
    check = tf.debugging.Assert(is_jpeg | is_png, ["not a JPEG or PNG file"])

    def jpeg_shape():
        return tf.cast(tf.image.extract_jpeg_shape(contents)[:2], tf.int64)

    def png_shape():
        # IHDR, the first chunk: width and height as big-endian uint32 at bytes 16..23.
        header = tf.io.decode_raw(tf.strings.substr(contents, 16, 8), tf.uint8)
        header = tf.reshape(tf.cast(header, tf.int64), [2, 4])  # fails for a shorter file
        big_endian = tf.constant([2**24, 2**16, 2**8, 1], tf.int64)
        width, height = tf.unstack(tf.reduce_sum(header * big_endian, axis=1))
        return tf.stack([height, width])

    with tf.control_dependencies([check]):
        return tf.cond(is_jpeg, jpeg_shape, png_shape)


def decode_fn(decoding: Decoding):
    """(index, path) -> (index, usable, image): the cropped, resized image, or
    zeros and `usable` False for an image of unusable size."""
    image_shape = tuple(decoding.image_shape)

    def crop_side(height, width):
        if decoding.crop_fraction is None:
            side = tf.minimum(height, width)
        else:
            side = tf.cast(tf.round(decoding.crop_fraction * tf.cast(width, tf.float64)),
                           tf.int64)
        return side, (side <= height) & (side >= decoding.min_crop_side)

    def frame(image):
        shape = tf.shape(image, out_type=tf.int64)
        top, left = (shape[0] - image_shape[0]) // 2, (shape[1] - image_shape[1]) // 2
        return image[top:top + image_shape[0], left:left + image_shape[1]]

    def decode(index, path):
        contents = tf.io.read_file(path)
        height, width = tf.unstack(header_shape(contents))
        if decoding.exact_frame:
            fits = (height >= image_shape[0]) & (width >= image_shape[1])
        else:
            _, fits = crop_side(height, width)
        usable = fits & (height * width <= MAX_PIXELS)

        def crop_and_resize():
            # try_recover_truncated stays False: a truncated file fails and is skipped.
            # decode_image (JPEG or PNG here) converts grayscale, CMYK or RGBA sources;
            # a 16-bit PNG is scaled to 8 bits.
            image = tf.io.decode_image(contents, channels=image_shape[2], dtype=tf.uint8,
                                       expand_animations=False)
            if decoding.exact_frame:
                return frame(image)
            shape = tf.shape(image, out_type=tf.int64)
            side, _ = crop_side(shape[0], shape[1])
            side = tf.clip_by_value(side, 1, tf.minimum(shape[0], shape[1]))
            top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
            square = image[top:top + side, left:left + side]
            resized = tf.image.resize(square, image_shape[:2], method="bilinear",
                                      antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)

        image = tf.cond(usable, crop_and_resize, lambda: tf.zeros(image_shape, tf.uint8))
        return index, usable, tf.ensure_shape(image, image_shape)
    return decode


def decode_into_cache(decoding: Decoding, folder: str, split: str, names: list[str],
                      sizes: dict[str, tuple[int, int]], labels: np.ndarray, split_cache: str,
                      counts: dict, manifest_fields: dict, read_timeout: float) -> None:
    """Decodes `names` (relative to `folder`) and moves the finished cache
    folder into `split_cache`; `labels` has one row per name.

    Everything is written into a temporary sibling folder first, so an
    interrupted decode leaves no cache that a later load would trust. Each
    batch of files is waited for with `kgan.core.waits`: a read that hangs
    (a network mount, a FIFO named like an image) ends the decode after
    `read_timeout` seconds, and Ctrl-C/SIGTERM stop it at once.

    Raises:
        DataError: if no file is usable, or the cache cannot be written.
        WaitTimeout: if no batch of files was read within `read_timeout`.
    """
    parent = os.path.dirname(split_cache)
    what = f"{decoding.dataset} {split}"
    try:
        os.makedirs(parent, exist_ok=True)
        remove_abandoned_temp_folders(parent, os.path.basename(split_cache))
        staging = tempfile.mkdtemp(
            prefix=f".{os.path.basename(split_cache)}.{scratch.owner()}.", dir=parent)
    except OSError as e:
        raise DataError(f"cannot write the {decoding.dataset} cache in {parent}: "
                        f"{failure_reason(e)} (set KGAN_CACHE_DIR to a writable folder)") from None
    try:
        make_shareable(staging)  # other users' runs may reuse the cache
        # Files too large to be a usable image are not read at all.
        wrong_size = np.array([sizes[name][0] > MAX_FILE_BYTES for name in names], bool)
        candidates = np.flatnonzero(~wrong_size)
        paths = [os.path.join(folder, names[i]) for i in candidates]
        examples = (tf.data.Dataset.from_tensor_slices((candidates, paths))
                    .map(decode_fn(decoding), num_parallel_calls=tf.data.AUTOTUNE)
                    # Dropping failed elements keeps one bad file from ending the pass;
                    # the indices that come through tell which files failed.
                    .ignore_errors()
                    .batch(_DECODE_BATCH)
                    .prefetch(2))
        # Written straight to disk: CelebA's full train split is 2 GB.
        images_path = os.path.join(staging, "images.npy")
        images = allocated_memmap(images_path, (len(names), *decoding.image_shape))
        kept = np.zeros(len(names), bool)
        done = seen = 0
        began = last_report = time.perf_counter()
        batches = iter(examples)
        while (decoded := waits.wait_for(
                lambda: next(batches, None), what=f"the next {what} files to be read",
                timeout=read_timeout, log=print, quiet_seconds=_PROGRESS_SECONDS,
                hint="is one on a hung network mount, or not a regular file? "
                     "(--read_timeout sets the limit)")) is not None:
            indices, usable, batch = (tensor.numpy() for tensor in decoded)
            good = batch[usable]
            images[done:done + len(good)] = good
            kept[indices[usable]] = True
            wrong_size[indices[~usable]] = True
            done += len(good)
            seen += len(indices)
            now = time.perf_counter()
            if now - last_report >= _PROGRESS_SECONDS:
                print(f"{what}: decoded {seen}/{len(paths)} "
                      f"({seen / (now - began):.0f} images/s)", flush=True)
                last_report = now
        seconds = time.perf_counter() - began
        corrupt = [name for name, ok, bad in zip(names, kept, wrong_size) if not (ok or bad)]
        wrong_size_names = [name for name, bad in zip(names, wrong_size) if bad]
        if done == 0:
            raise DataError(
                f"none of the {len(names)} {what} images in {folder} is usable: "
                f"{len(corrupt)} undecodable (empty, damaged, or not a JPEG or PNG), "
                f"{len(wrong_size_names)} of unusable size ({decoding.crop_rule}; at most "
                f"{MAX_PIXELS // 2**20} megapixels and {MAX_FILE_BYTES >> 20} MiB), e.g. "
                f"{(corrupt + wrong_size_names)[0]}")
        images.flush()
        del images
        if done < len(names):
            shrink_npy(images_path, done, decoding.image_shape)
        kept_names = [name for name, ok in zip(names, kept) if ok]
        np.save(os.path.join(staging, decoding.labels_file), labels[kept])
        with open(os.path.join(staging, "names.txt"), "w") as f:
            f.write("".join(f"{name}\n" for name in kept_names))
        manifest = {
            "format_version": decoding.version,
            "folder": folder,
            "split": split,
            "crop_fraction": decoding.crop_fraction,
            "image_shape": list(decoding.image_shape),
            **manifest_fields,
            "counts": {**counts, "present": len(names), "corrupt": len(corrupt),
                       "wrong_size": len(wrong_size_names), "images": done},
            "corrupt_names": corrupt,
            "wrong_size_names": wrong_size_names,
            "decode_seconds": round(seconds, 3),
            "images_per_second": round(len(names) / seconds, 1) if seconds > 0 else None,
        }
        # The manifest is written last: its presence marks a complete folder.
        with open(os.path.join(staging, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        try:
            os.rename(staging, split_cache)
        except OSError:
            # Another process finished the same key first; its copy is as good as ours.
            if not os.path.isfile(os.path.join(split_cache, "manifest.json")):
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):  # a full disk or a file-size limit: nothing was cached
            raise DataError(f"cannot write the {decoding.dataset} cache {split_cache}: "
                            f"{failure_reason(e)}") from None
        raise
    print(f"{what}: decoded {done} images in {seconds:.1f} s "
          f"({manifest['images_per_second']} images/s); {skipped_summary(manifest)}",
          flush=True)


def allocated_memmap(path: str, shape: tuple[int, ...]) -> np.memmap:
    """A new uint8 `.npy` file of `shape`, memory-mapped, with its disk space reserved.

    A memory-mapped file is sparse: the disk fills while pages are written,
    and a full disk then kills the process with SIGBUS ("Bus error") instead
    of raising. Reserving the blocks first turns a full disk (or a file-size
    limit) into an `OSError` here, before any work is done.

    Raises:
        OSError: if the space cannot be reserved.
    """
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    try:
        with open(path, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
    except BaseException:
        del array
        raise
    return array


def shrink_npy(path: str, count: int, image_shape) -> None:
    """Rewrites an .npy file to its first `count` images, chunk by chunk on disk."""
    source = np.load(path, mmap_mode="r", allow_pickle=False)
    smaller_path = path + ".part"
    smaller = allocated_memmap(smaller_path, (count, *image_shape))
    for start in range(0, count, 4096):
        stop = min(start + 4096, count)
        smaller[start:stop] = source[start:stop]
    smaller.flush()
    del smaller, source
    os.replace(smaller_path, path)


def remove_abandoned_temp_folders(parent: str, key: str) -> None:
    """Deletes temp folders of `key` whose writing process is gone (an interrupted decode)."""
    prefix = f".{key}."
    for entry in os.scandir(parent):
        if not (entry.name.startswith(prefix) and entry.is_dir()):
            continue
        # .<key>.<host>-<pid>.<random>; host names may hold dots, the random part none.
        folder_owner = entry.name[len(prefix):].rpartition(".")[0]
        if scratch.abandoned(folder_owner):
            shutil.rmtree(entry.path, ignore_errors=True)
