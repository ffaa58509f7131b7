"""CelebA loading from the shared data: partitions, attributes, crop, corrupt files, cache.

The two shared folders decode once per session (the kgan cache is
session-wide); the special cases use small temporary folders and caches.
"""

import glob
import json
import os
import stat
import shutil

import numpy as np
import pytest
import tensorflow as tf

from kgan import data
from kgan.config import DataConfig
from kgan.data import celeba, image_files
from kgan.errors import ConfigError, DataError
from tests.conftest import SHARED_DATA

CELEBA = SHARED_DATA / "celeba"
FULL = CELEBA / "img_align_celeba"
HALF = CELEBA / "img_align_celeba_89x109"
ATTRIBUTES = CELEBA / "list_attr_celeba.txt"
PARTITION = CELEBA / "list_eval_partition.txt"


@pytest.fixture(scope="module", autouse=True)
def shared_celeba():
    missing = [str(p) for p in (FULL, HALF, ATTRIBUTES, PARTITION) if not p.exists()]
    if missing:
        pytest.fail(f"the shared CelebA data is missing ({', '.join(missing)}); "
                    "set KGAN_SHARED_DATA to the shared/data folder")


def config(data_dir, **kwargs):
    return DataConfig(dataset="celeba", data_dir=str(data_dir), **kwargs)


def arrays(dataset):
    images, labels = next(iter(dataset.examples.batch(dataset.num_examples)))
    return images.numpy(), labels.numpy()


def attribute_table():
    """{name: {attribute: -1 or 1}}, parsed here independently of kgan."""
    with open(ATTRIBUTES, newline="") as f:
        lines = f.read().split("\r\n")
    header = lines[1].split()
    table = {}
    for line in lines[2:]:
        fields = line.split()
        if fields:
            table[fields[0]] = dict(zip(header, map(int, fields[1:])))
    return table


def partition_of():
    with open(PARTITION) as f:
        return {name: int(part) for name, part in (line.split() for line in f if line.strip())}


def present(folder, partitions):
    parts = partition_of()
    return sorted(n for n in os.listdir(folder) if n.endswith(".jpg") and parts[n] in partitions)


@pytest.fixture(scope="module")
def full_train():
    return data.load(config(CELEBA), "train")


def manifests(cache):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{cache}/celeba/*/manifest.json"))]


def small_copy(tmp_path, names, nested=True):
    """A temporary CelebA folder with copies of `names` and the two list files.

    nested: images in `<root>/img_align_celeba/` and the list files in the root
    (the original layout); else everything in one flat folder.
    """
    root = tmp_path / "celeba"
    images = root / "img_align_celeba" if nested else root
    images.mkdir(parents=True)
    for name in names:
        shutil.copy(FULL / name, images / name)
    shutil.copy(ATTRIBUTES, root)
    shutil.copy(PARTITION, root)
    return root, images


def test_registered_with_the_multi_hot_labels_it_yields():
    spec = data.get_dataset_spec("celeba")
    assert spec.image_shape == celeba.IMAGE_SHAPE == (64, 64, 3)
    assert spec.label_kind == "multi_hot" and spec.splits == celeba.SPLITS
    assert spec.label_names(DataConfig(attributes=("Smiling", "Male"))) == ("Smiling", "Male")
    with pytest.raises(ConfigError, match="no split 'bogus'"):
        data.load(config(CELEBA), "bogus")


def test_train_split_images_and_attribute_labels(full_train):
    names = present(FULL, (0,))
    assert full_train.num_examples == len(names) == 4560
    assert full_train.image_shape == (64, 64, 3) and full_train.label_kind == "multi_hot"
    assert full_train.label_names == ("Male", "Smiling", "Eyeglasses", "Blond_Hair")
    assert os.path.realpath(full_train.source) == os.path.realpath(FULL)
    images, labels = arrays(full_train)
    assert images.shape == (4560, 64, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (4560, 4) and labels.dtype == np.float32
    assert images.min() == 0 and images.max() == 255
    assert images.std() > 40, "a real face dataset has a wide spread of values"
    assert (images.reshape(4560, -1).std(axis=1) > 10).all(), "no image should be near-constant"
    assert len(np.unique(images.reshape(4560, -1)[:, ::97], axis=0)) == 4560

    table = attribute_table()
    expected = np.array([[table[n][a] == 1 for a in full_train.label_names] for n in names],
                        np.float32)
    np.testing.assert_array_equal(labels, expected)
    assert 0 < labels[:, 0].mean() < 1 and 0 < labels[:, 3].mean() < 1


def test_attributes_follow_the_configured_order(full_train):
    names = present(FULL, (0,))
    chosen = ("Young", "Eyeglasses", "5_o_Clock_Shadow", "Wearing_Hat")
    reordered = data.load(config(CELEBA, attributes=chosen), "train")
    table = attribute_table()
    _, labels = arrays(reordered)
    for index in (0, 1, 1234, 4559):
        assert labels[index].tolist() == [float(table[names[index]][a] == 1) for a in chosen]
    # Same images: the cache key does not depend on the attributes.
    np.testing.assert_array_equal(arrays(reordered)[0][:50], arrays(full_train)[0][:50])


def test_partition_counts_and_heldout_is_validation_plus_test():
    loaded = {split: data.load(config(FULL), split) for split in ("validation", "test", "heldout")}
    assert {s: d.num_examples for s, d in loaded.items()} == {
        "validation": 780, "test": 660, "heldout": 1440}
    by_name = {}
    for split, partitions in (("validation", (1,)), ("test", (2,))):
        by_name.update(zip(present(FULL, partitions), arrays(loaded[split])[0]))
    heldout = arrays(loaded["heldout"])[0]
    expected = np.stack([by_name[n] for n in present(FULL, (1, 2))])
    np.testing.assert_array_equal(heldout, expected)


def test_half_resolution_folder_is_all_train():
    half = data.load(config(HALF), "train")
    assert half.num_examples == 10_000
    image, label = next(iter(half.examples))
    assert image.shape == (64, 64, 3) and image.dtype == tf.uint8 and label.shape == (4,)
    with pytest.raises(DataError, match=r"no CelebA validation images in .*89x109: its 10000 "
                                        r"\.jpg files are 10000 train, 0 validation, 0 test"):
        data.load(config(HALF), "validation")


def test_same_face_looks_alike_at_both_resolutions(full_train):
    full_names, half_names = present(FULL, (0,)), present(HALF, (0,))
    common = sorted(set(full_names) & set(half_names))
    assert len(common) == 277
    full_images = arrays(full_train)[0].astype(np.float32)
    half_images = arrays(data.load(config(HALF), "train"))[0].astype(np.float32)
    full_of = {n: full_images[full_names.index(n)] for n in common}
    half_of = {n: half_images[half_names.index(n)] for n in common}
    same = np.array([np.abs(full_of[n] - half_of[n]).mean() for n in common])
    other = np.array([np.abs(full_of[n] - half_of[common[i - 1]]).mean()
                      for i, n in enumerate(common)])
    # Measured: same face 6.9 levels on average (max 10.9), different faces 74 (min 34).
    assert same.max() < 15, f"{common[same.argmax()]} differs by {same.max():.1f} levels"
    assert (same < other / 2).all()


@pytest.mark.parametrize("width,height,side", [(178, 218, 160), (89, 109, 80)])
def test_crop_is_the_centered_square_of_crop_fraction_times_width(tmp_path, monkeypatch,
                                                                  width, height, side):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))
    top, left = (height - side) // 2, (width - side) // 2
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = 255  # a red border ...
    image[top:top + side, left:left + side] = (0, 200, 0)  # ... around a green center square
    folder = tmp_path / "synthetic"
    folder.mkdir()
    jpeg = tf.io.encode_jpeg(image, quality=100, chroma_downsampling=False).numpy()
    (folder / "000001.jpg").write_bytes(jpeg)
    header = ATTRIBUTES.read_text().splitlines()[1]
    (folder / "list_attr_celeba.txt").write_text(f"1\n{header}\n000001.jpg" + " -1" * 40 + "\n")
    (folder / "list_eval_partition.txt").write_text("000001.jpg 0\n")

    cropped = arrays(data.load(config(folder), "train"))[0][0].astype(int)
    assert cropped.shape == (64, 64, 3)
    assert cropped[..., 0].max() < 40, "red border pixels survived the crop"
    assert cropped[..., 1].min() > 160
    # The whole width (crop_fraction 1) keeps red columns at both sides: the check above can fail.
    whole = arrays(data.load(config(folder, crop_fraction=1.0), "train"))[0][0].astype(int)
    assert whole[:, 0, 0].min() > 150 and whole[:, -1, 0].min() > 150


def test_corrupt_files_are_skipped_and_named(tmp_path, monkeypatch, capsys, full_train):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KGAN_CACHE_DIR", str(cache))
    names = present(FULL, (0,))[:20]
    root, images = small_copy(tmp_path, names)
    truncated, garbage = names[3], names[11]
    jpeg = (images / truncated).read_bytes()
    (images / truncated).write_bytes(jpeg[:len(jpeg) * 2 // 3])
    (images / garbage).write_bytes(np.random.default_rng(0).bytes(6000))

    loaded = data.load(config(root), "train")
    output = capsys.readouterr().out
    assert loaded.num_examples == 18 and os.path.realpath(loaded.source) == os.path.realpath(images)
    kept = [n for n in names if n not in (truncated, garbage)]
    original = arrays(full_train)[0][:20]
    np.testing.assert_array_equal(arrays(loaded)[0],
                                  original[[names.index(n) for n in kept]])
    assert f"2 undecodable, skipped: {truncated}, {garbage}; 0 of unusable size" in output
    assert loaded.skipped == {"absent": 162_750, "corrupt": 2, "wrong_size": 0}
    (manifest,) = manifests(cache)
    assert manifest["counts"] == {"listed": 162_770, "absent": 162_750, "present": 20,
                                  "corrupt": 2, "wrong_size": 0, "images": 18}
    assert manifest["corrupt_names"] == [truncated, garbage]
    cache_folder = glob.glob(f"{cache}/celeba/*/")[0]
    assert open(os.path.join(cache_folder, "names.txt")).read().split() == kept
    assert np.load(os.path.join(cache_folder, "attributes.npy")).shape == (18, 40)


def test_absent_images_are_counted_and_list_files_found_beside_the_images(tmp_path,
                                                                        monkeypatch, capsys):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))
    names = present(FULL, (1,))[:5]
    root, images = small_copy(tmp_path, names, nested=False)
    loaded = data.load(config(root), "validation")
    assert loaded.num_examples == 5
    assert (f"CelebA validation: 5 of 19867 listed images present in {images}; "
            "19862 absent, skipped") in capsys.readouterr().out


def test_second_load_is_a_cache_hit_and_a_changed_file_is_not(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KGAN_CACHE_DIR", str(cache))
    names = present(FULL, (2,))[:6]
    root, images = small_copy(tmp_path, names)
    first = arrays(data.load(config(root), "test"))
    assert "decoded 6 images" in capsys.readouterr().out
    (manifest_path,) = glob.glob(f"{cache}/celeba/*/manifest.json")
    written = os.stat(manifest_path).st_mtime_ns
    umask = os.umask(0)
    os.umask(umask)
    # Shared like any folder mkdir makes (other users' runs may reuse it), not mkdtemp's 0700.
    assert stat.S_IMODE(os.stat(os.path.dirname(manifest_path)).st_mode) == 0o777 & ~umask

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cache hit must not decode")

    with monkeypatch.context() as patch:
        patch.setattr(celeba, "_decode_into_cache", no_decoding)
        second = arrays(data.load(config(root), "test"))
    output = capsys.readouterr().out
    assert output.count("\n") == 1 and "6 images read from the cache" in output
    assert os.stat(manifest_path).st_mtime_ns == written
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])

    os.utime(images / names[0], ns=(written + 10**9, written + 10**9))
    data.load(config(root), "test")
    assert "decoded 6 images" in capsys.readouterr().out
    assert len(manifests(cache)) == 2


def test_failed_decode_leaves_no_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KGAN_CACHE_DIR", str(cache))
    root, _ = small_copy(tmp_path, present(FULL, (0,))[:3])
    with monkeypatch.context() as patch:
        patch.setattr(image_files.json, "dump", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            data.load(config(root), "train")
    assert os.listdir(cache / "celeba") == []
    assert data.load(config(root), "train").num_examples == 3


def test_an_unwritable_cache_is_a_one_line_error(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("KGAN_CACHE_DIR", str(not_a_folder))
    root, _ = small_copy(tmp_path, present(FULL, (0,))[:2])
    with pytest.raises(DataError, match=r"^cannot write the CelebA cache in .*cache/celeba: "
                                        r".*KGAN_CACHE_DIR"):
        data.load(config(root), "train")


def test_only_temp_folders_of_gone_processes_of_this_host_are_removed(tmp_path):
    import socket
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = socket.gethostname()
    folders = {"killed": f".key.{host}-{gone}.x1", "running": f".key.{host}-{os.getpid()}.x2",
               "other host": f".key.elsewhere.example-{gone}.x3",
               "other key": f".other.{host}-{gone}.x4"}
    for name in folders.values():
        (tmp_path / name).mkdir()
    celeba._remove_abandoned_temp_folders(str(tmp_path), "key")
    assert sorted(os.listdir(tmp_path)) == sorted(
        name for what, name in folders.items() if what != "killed")


def test_unknown_attribute_is_named_with_the_known_ones():
    with pytest.raises(DataError, match=r"unknown CelebA attribute 'Wearing_Monocle'; known: "
                                        r"5_o_Clock_Shadow, Arched_Eyebrows, .*, Young$"):
        data.load(config(CELEBA, attributes=("Male", "Wearing_Monocle")), "train")


def test_missing_folder_list_files_and_data_dir(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="CelebA data directory '.*nope' does not exist"):
        data.load(config(tmp_path / "nope"), "train")
    shutil.copy(FULL / "000002.jpg", tmp_path)
    with pytest.raises(DataError, match="CelebA's list_attr_celeba.txt is missing: looked for"):
        data.load(config(tmp_path), "train")
    shutil.copy(ATTRIBUTES, tmp_path)
    with pytest.raises(DataError, match="list_eval_partition.txt is missing"):
        data.load(config(tmp_path), "train")
    monkeypatch.delenv("KGAN_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="no CelebA data directory"):
        data.load(DataConfig(dataset="celeba"), "train")
    monkeypatch.setenv("KGAN_DATA_DIR", str(tmp_path / "from-env"))
    with pytest.raises(DataError, match="from-env' does not exist"):
        data.load(DataConfig(dataset="celeba"), "train")
