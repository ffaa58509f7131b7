"""Hostile data: broken, odd or oversized files are decoded, skipped with a count, or
refused with a one-line `DataError` naming the file, when loading starts.

The files are made here, in temporary copies of a few shared CelebA images and
of the shared MNIST folders (unchanged files are linked, not copied).
"""

import gzip
import io
import json
import os
import re
import shutil
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgan import data
from kgan.config import DataConfig
from kgan.data import celeba
from kgan.data.record import ImageDataset
from kgan.errors import DataError
from tests.conftest import MNIST_IDX_DIR, MNIST_TFDS_DIR, run_script
from tests.data.test_celeba import ATTRIBUTES, FULL, PARTITION, arrays, config, present

TRAIN_NAMES = present(FULL, (0,))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny_celeba(tmp_path, names):
    """A CelebA folder with copies of `names` and list files holding only their rows."""
    root = tmp_path / "celeba"
    root.mkdir()
    for name in names:
        shutil.copy(FULL / name, root / name)
    with open(ATTRIBUTES, newline="") as f:
        lines = f.read().split("\r\n")
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    attribute_lines = [str(len(names)), lines[1]] + [rows[name] for name in names]
    with open(PARTITION) as f:
        parts = dict(line.split() for line in f if line.strip())
    partition_lines = [f"{name} {parts[name]}" for name in names]
    write_lists(root, attribute_lines, partition_lines)
    return root


def write_lists(root, attribute_lines, partition_lines):
    for name, lines in ((celeba.ATTRIBUTES_FILE, attribute_lines),
                        (celeba.PARTITION_FILE, partition_lines)):
        (root / name).write_text("".join(f"{line}\n" for line in lines))


def pixels_of(name):
    return tf.io.decode_jpeg((FULL / name).read_bytes()).numpy()


def pil_bytes(array, form, **options):
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    (image.convert("CMYK") if form == "CMYK" else image).save(
        buffer, "JPEG" if form == "CMYK" else form, **options)
    return buffer.getvalue()


def jpeg_declaring(height, width):
    """A small valid JPEG whose header is patched to declare height x width pixels."""
    jpeg = bytearray(tf.io.encode_jpeg(np.zeros((16, 16, 3), np.uint8)).numpy())
    start = jpeg.index(b"\xff\xc0")  # baseline start-of-frame: length, precision, height, width
    jpeg[start + 5:start + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def test_hostile_images_are_decoded_by_content_or_skipped_and_named(tmp_path, own_cache,
                                                                    capsys):
    names = TRAIN_NAMES[:12]
    root = tiny_celeba(tmp_path, names)
    reference = arrays(data.load(config(root), "train"))[0]
    shutil.rmtree(own_cache / "celeba")  # so that the one manifest below is the hostile load's
    capsys.readouterr()
    pixels = pixels_of(names[0])
    truncated = (FULL / names[7]).read_bytes()
    hostile = {
        0: b"",  # zero bytes
        1: tf.io.encode_png(pixels_of(names[1])).numpy(),  # a PNG named .jpg
        2: tf.io.encode_jpeg(tf.image.rgb_to_grayscale(pixels_of(names[2]))).numpy(),
        3: pil_bytes(pixels_of(names[3]), "CMYK", quality=95),  # 4-channel Adobe JPEG
        4: tf.io.encode_jpeg(pixels[:40, :50]).numpy(),  # wider than tall: no 45 px square
        5: jpeg_declaring(60_000, 60_000),  # a decompression bomb (10.8 GB of pixels)
        6: pil_bytes(pixels, "GIF"),
        7: truncated[:len(truncated) // 2],
        8: tf.io.encode_png(np.full((300, 10, 3), 128, np.uint8)).numpy(),  # a 9 px crop
        10: tf.io.encode_jpeg(tf.cast(tf.image.resize(pixels_of(names[10]), (436, 356)),
                                      tf.uint8), quality=95).numpy(),  # twice the size: fine
    }
    for index, content in hostile.items():
        (root / names[index]).write_bytes(content)
    with open(root / names[9], "r+b") as f:  # a valid JPEG start, then zeros up to 64 MiB + 1
        f.truncate(celeba.MAX_FILE_BYTES + 1)

    loaded = data.load(config(root), "train")
    output = capsys.readouterr().out
    corrupt = [names[i] for i in (0, 6, 7)]
    wrong_size = [names[i] for i in (4, 5, 8, 9)]
    assert loaded.skipped == {"absent": 0, "corrupt": 3, "wrong_size": 4}
    assert ("decoded 5 images in" in output and f"3 undecodable, skipped: {', '.join(corrupt)}; "
            f"4 of unusable size, skipped: {', '.join(wrong_size)}" in output)
    (manifest_path,) = own_cache.glob("celeba/*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["corrupt_names"] == corrupt and manifest["wrong_size_names"] == wrong_size

    images = arrays(loaded)[0].astype(int)
    assert loaded.num_examples == len(images) == 5
    png, gray, cmyk, larger, untouched = images
    reference = reference.astype(int)
    np.testing.assert_array_equal(png, reference[1])  # lossless: exactly the JPEG's pixels
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 0] == gray[..., 2]).all()
    luminance = tf.image.rgb_to_grayscale(reference[2].astype(np.float32)).numpy()[..., 0]
    assert np.abs(gray[..., 0] - luminance).mean() < 3
    assert np.abs(cmyk - reference[3]).mean() < 3  # measured 1.2: the colours survive CMYK
    assert np.abs(larger - reference[10]).mean() < 4
    np.testing.assert_array_equal(untouched, reference[11])

    # A cache hit reports the same counts without decoding.
    again = data.load(config(root), "train")
    assert again.skipped == loaded.skipped and again.num_examples == 5
    assert "3 undecodable; 4 of unusable size; 5 images read from the cache" in \
        capsys.readouterr().out


def test_a_folder_with_no_usable_image_is_refused(tmp_path):
    names = TRAIN_NAMES[:3]
    root = tiny_celeba(tmp_path, names)
    (root / names[0]).write_bytes(b"")
    (root / names[1]).write_bytes(b"GIF89a" + bytes(100))
    (root / names[2]).write_bytes(jpeg_declaring(10, 10))
    with pytest.raises(DataError, match=rf"^none of the 3 CelebA train images in \S+ is usable: "
                                        rf"2 undecodable .*, 1 of unusable size .*, e.g. "
                                        rf"{names[0]}$"):
        data.load(config(root), "train")


def edit(lines, number, new=None):
    """`lines` with line `number` (1-based) replaced by `new`, or removed if None."""
    lines = list(lines)
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new(lines[number - 1]) if callable(new) else new
    return lines


NAMES = TRAIN_NAMES[:3]


@pytest.mark.parametrize("which, change, message", [
    ("partition", lambda a, p: (a, edit(p, 2, f"{NAMES[1]} 0 1")),
     rf"list_eval_partition.txt line 2 is not 'NNNNNN.jpg 0\|1\|2': '{NAMES[1]} 0 1'$"),
    ("partition", lambda a, p: (a, edit(p, 3, f"{NAMES[2]} 3")), "partition.txt line 3 is not"),
    ("partition", lambda a, p: (a, p + [f"{NAMES[0]} 1"]),
     rf"partition.txt line 4 lists {NAMES[0]} again \(first on line 1\)$"),
    ("attributes", lambda a, p: (edit(a, 4, lambda line: line.rsplit(" ", 1)[0]), p),
     r"list_attr_celeba.txt line 4 is not an image name and 40 values of -1 or 1: "),
    ("attributes", lambda a, p: (edit(a, 5, lambda line: line[:-2] + " 0"), p),
     "list_attr_celeba.txt line 5 is not an image name and 40 values"),
    ("attributes", lambda a, p: (edit(a, 3, lambda line: line.replace("-1", "no", 1)), p),
     "list_attr_celeba.txt line 3 is not an image name"),
    ("attributes", lambda a, p: (edit(a, 1, "three"), p),
     "list_attr_celeba.txt line 1 is not the number of images: 'three'$"),
    ("attributes", lambda a, p: (edit(a, 1, "4"), p),
     r"list_attr_celeba.txt line 1 says 4 images, but the file has 3 image rows \(truncated"),
    # A header that does not match the rows: 39 names for 40 values.
    ("attributes", lambda a, p: (edit(a, 2, lambda line: line.split(" ", 1)[1]), p),
     "list_attr_celeba.txt line 3 is not an image name and 39 values of -1 or 1"),
    ("attributes", lambda a, p: (edit(a, 2, lambda line: line.replace("Young", "Male")), p),
     "list_attr_celeba.txt line 2 names attribute.s. more than once: Male$"),
    ("attributes", lambda a, p: (edit(a, 1, "4") + [a[2]], p),
     rf"list_attr_celeba.txt line 6 lists {NAMES[0]} again \(first on line 3\)$"),
    ("attributes", lambda a, p: (edit(edit(a, 4), 1, "2"), p),
     rf"list_attr_celeba.txt has no attributes for 1 image.s., e.g. {NAMES[1]}$"),
    ("attributes", lambda a, p: ([], p), "list_attr_celeba.txt is empty$"),
])
def test_a_damaged_list_file_is_refused_naming_file_and_line(tmp_path, which, change, message):
    root = tiny_celeba(tmp_path, NAMES)
    attribute_lines = (root / celeba.ATTRIBUTES_FILE).read_text().splitlines()
    partition_lines = (root / celeba.PARTITION_FILE).read_text().splitlines()
    write_lists(root, *change(attribute_lines, partition_lines))
    with pytest.raises(DataError, match=message) as error:
        data.load(config(root), "train")
    assert str(error.value).startswith(str(root)) and "\n" not in str(error.value)
    assert not (tmp_path / "cache" / "celeba").exists() or not any(
        (tmp_path / "cache" / "celeba").glob("*/manifest.json"))


@pytest.mark.parametrize("file_name", [celeba.ATTRIBUTES_FILE, celeba.PARTITION_FILE])
def test_a_binary_list_file_is_refused(tmp_path, file_name):
    root = tiny_celeba(tmp_path, NAMES)
    (root / file_name).write_bytes(b"3\n" + np.random.default_rng(0).bytes(4000))
    with pytest.raises(DataError, match=rf"{file_name} is not a text file \(byte \d+"):
        data.load(config(root), "train")


@pytest.mark.parametrize("damage, message", [
    (lambda cache: (cache / "manifest.json").write_text('{"counts": '),
     r"damaged \(Expecting value: line 1 column 12"),
    (lambda cache: (cache / "manifest.json").write_text('{"counts": {}}'),
     r"damaged \(its manifest has no 'images'\)"),
    (lambda cache: open(cache / "images.npy", "r+b").truncate(1000), "damaged"),
    # An object array needs pickle to load, and unpickling can run code: refused.
    (lambda cache: np.save(cache / "attributes.npy", np.array([{"a": 1}] * 3, dtype=object),
                           allow_pickle=True),
     r"damaged \(Object arrays cannot be loaded when allow_pickle=False\)"),
    (lambda cache: np.save(cache / "attributes.npy", np.zeros((2, 40), np.uint8)),
     r"damaged \(its arrays do not match its manifest\)"),
])
def test_a_damaged_cache_is_reported_not_used(tmp_path, own_cache, damage, message):
    root = tiny_celeba(tmp_path, NAMES)
    data.load(config(root), "train")
    (cache,) = own_cache.glob("celeba/*/")
    damage(cache)
    with pytest.raises(DataError, match=rf"^the CelebA cache {re.escape(str(cache))} is "
                                        rf"{message}.*; delete the folder to decode again$"):
        data.load(config(root), "train")


# MNIST: the TFDS folder and the IDX files.

TEST_SHARD = "mnist-test.tfrecord-00000-of-00001"


def tfds_copy(tmp_path, mnist_tfds_dir):
    """A TFDS data_dir whose test files are copies (to damage) and the rest links."""
    source = MNIST_TFDS_DIR / "mnist" / "3.0.1"
    version = tmp_path / "tfds" / "mnist" / "3.0.1"
    version.mkdir(parents=True)
    for path in source.iterdir():
        if "train" in path.name:
            os.symlink(path.resolve(), version / path.name)
        else:
            shutil.copyfile(path, version / path.name)
    return tmp_path / "tfds", version


def truncate_half(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def overwrite_middle(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        f.write(b"\x00" * 16)


@pytest.mark.parametrize("damage, message", [
    (truncate_half, rf"MNIST test file \S+/{TEST_SHARD} is damaged \(truncated record at \d+"),
    (overwrite_middle, rf"MNIST test file \S+/{TEST_SHARD} is damaged \(corrupted record at \d+\)$"),
    (lambda path: path.write_bytes(b""),
     rf"MNIST test file \S+/{TEST_SHARD} holds 0 records, but dataset_info.json says 10000$"),
    (lambda path: path.unlink(), rf"MNIST test file \S+/{TEST_SHARD} is missing$"),
    (lambda path: (path.parent / "dataset_info.json").write_text("{"),
     r"could not read the TFDS metadata of MNIST in '\S+': ParseError: Failed to load JSON"),
])
def test_a_damaged_tfds_folder_is_refused_when_loading_starts(tmp_path, mnist_tfds_dir, damage,
                                                              message):
    data_dir, version = tfds_copy(tmp_path, mnist_tfds_dir)
    assert data.load(DataConfig(data_dir=str(data_dir)), "test").num_examples == 10_000
    damage(version / TEST_SHARD)
    with pytest.raises(DataError, match=message) as error:
        data.load(DataConfig(data_dir=str(data_dir)), "test")
    assert "\n" not in str(error.value) and "function_node" not in str(error.value)


def test_an_intact_tfds_folder_loads_the_same_examples(tmp_path, mnist_tfds_dir):
    data_dir, _ = tfds_copy(tmp_path, mnist_tfds_dir)
    copied = data.materialize(data.load(DataConfig(data_dir=str(data_dir)), "test"), 500)
    shared = data.materialize(data.load(DataConfig(data_dir=mnist_tfds_dir), "test"), 500)
    np.testing.assert_array_equal(copied[0], shared[0])
    np.testing.assert_array_equal(copied[1], shared[1])


def idx_with_wrong_magic(path):
    with gzip.open(path) as f:
        content = f.read()
    assert content[:4] == b"\x00\x00\x08\x01"  # the labels' magic number, 2049
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + content[4:]))  # the images' one


@pytest.mark.parametrize("file_name, damage", [
    ("train-images-idx3-ubyte.gz", lambda path: path.write_bytes(b"")),
    ("t10k-images-idx3-ubyte.gz",
     lambda path: path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))),
    ("train-labels-idx1-ubyte.gz", idx_with_wrong_magic),
])
def test_a_damaged_idx_file_is_refused_by_its_checksum(tmp_path, file_name, damage):
    idx = tmp_path / "idx"
    idx.mkdir()
    for path in MNIST_IDX_DIR.glob("*.gz"):
        if path.name == file_name:
            shutil.copyfile(path, idx / path.name)
        else:
            os.symlink(path.resolve(), idx / path.name)
    damage(idx / file_name)
    with pytest.raises(DataError, match=rf"^could not prepare MNIST from the IDX files in \S+: "
                                        rf"{file_name} does not have the size and sha256 of the "
                                        r"original MNIST file \(truncated or altered\?\)$"):
        data.load(DataConfig(data_dir=str(idx)), "train")


def test_a_read_error_after_loading_becomes_a_data_error_naming_the_source(tmp_path):
    # A file damaged after `load` checked it: the error surfaces when training materializes.
    path = tmp_path / "records.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(8):
            writer.write(bytes([i]) * 100)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2 + 30)  # inside the fifth record's data
    examples = tf.data.TFRecordDataset(str(path)).map(
        lambda record: (tf.zeros((28, 28, 1), tf.uint8), tf.constant(0, tf.int64)))
    dataset = ImageDataset(examples, 8, (28, 28, 1), "class", tuple("0123456789"), str(path))
    with pytest.raises(DataError, match=rf"^could not read the examples of {path}: truncated "
                                        r"record at \d+"):
        data.training_batches(dataset, batch_size=4, seed=0)


def test_a_split_shorter_than_its_count_is_refused(tmp_path):
    examples = tf.data.Dataset.from_tensor_slices((np.zeros((5, 28, 28, 1), np.uint8),
                                                   np.zeros(5, np.int64)))
    dataset = ImageDataset(examples, 8, (28, 28, 1), "class", tuple("0123456789"), "five.npz")
    with pytest.raises(DataError, match=r"^five.npz yields 5 examples, not the 8 it declares$"):
        data.materialize(dataset)
    assert data.materialize(dataset, 5)[0].shape == (5, 28, 28, 1)


def test_train_py_refuses_damaged_data_in_one_line_before_training(tmp_path, mnist_tfds_dir):
    root = tiny_celeba(tmp_path, NAMES)
    partition = root / celeba.PARTITION_FILE
    partition.write_text(partition.read_text() + "000001.jpg zero\n")
    data_dir, version = tfds_copy(tmp_path, mnist_tfds_dir)
    train_shard = version / "mnist-train.tfrecord-00000-of-00001"
    os.unlink(train_shard)
    shutil.copyfile(MNIST_TFDS_DIR / "mnist" / "3.0.1" / train_shard.name, train_shard)
    overwrite_middle(train_shard)
    cases = [(["--dataset=celeba", f"--data_dir={root}"],
              rf"{re.escape(str(partition))} line 4 is not 'NNNNNN.jpg 0\|1\|2': '000001.jpg zero'"),
             ([f"--data_dir={data_dir}"],
              rf"MNIST train file {re.escape(str(train_shard))} is damaged \(corrupted record")]
    for flags, message in cases:
        workdir = tmp_path / "run"
        result = run_script("train.py", f"--workdir={workdir}", "--model=mlp", "--steps=1",
                            *flags)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert re.fullmatch(rf"train.py: error: {message}.*",
                            result.stderr.strip().splitlines()[-1]), result.stderr
        assert not workdir.exists()
