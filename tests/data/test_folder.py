"""`--dataset=folder`: any folder of JPEG/PNG images, classes from its subfolders.

The folders are built here from a few shared CelebA JPEGs (re-encoded as
PNG, grayscale, nested), with hostile files beside them.
"""

import io
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from kgan import checkpoints, data
from kgan.config import DataConfig
from kgan.data import folder
from kgan.errors import ConfigError, DataError
from tests.conftest import REPO, SHARED_DATA, run_script

FACES = sorted((SHARED_DATA / "celeba" / "img_align_celeba").glob("*.jpg"))[:12]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "cache"))


def config(path, **kwargs):
    return DataConfig(dataset="folder", data_dir=str(path), **kwargs)


def arrays(dataset):
    images, labels = next(iter(dataset.examples.batch(dataset.num_examples)))
    return images.numpy(), labels.numpy()


def build_classes(root):
    """cats/ (3 JPEGs, one in a nested folder, one as PNG), dogs/ (2 JPEGs, one grayscale
    PNG), and files that are not images or are hidden."""
    (root / "cats" / "indoor").mkdir(parents=True)
    (root / "dogs").mkdir()
    (root / ".thumbnails").mkdir()
    shutil.copy(FACES[0], root / "cats" / "a.jpg")
    shutil.copy(FACES[1], root / "cats" / "indoor" / "b.JPEG")
    Image.open(FACES[2]).save(root / "cats" / "c.png")
    shutil.copy(FACES[3], root / "dogs" / "d.jpg")
    Image.open(FACES[4]).convert("L").save(root / "dogs" / "e.png")
    shutil.copy(FACES[5], root / ".thumbnails" / "hidden.jpg")
    shutil.copy(FACES[6], root / "dogs" / ".hidden.jpg")
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def test_images_are_found_recursively_and_labelled_by_class_folder(tmp_path, capsys):
    root = build_classes(tmp_path / "pets")
    dataset = data.load(config(root, resolution=32), "train")
    assert dataset.num_examples == 5 and dataset.image_shape == (32, 32, 3)
    assert dataset.label_names == ("cats", "dogs")
    images, labels = arrays(dataset)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    # Sorted paths: cats/a.jpg, cats/c.png, cats/indoor/b.JPEG, dogs/d.jpg, dogs/e.png.
    assert labels.tolist() == [0, 0, 0, 1, 1]
    # The grayscale PNG becomes RGB with equal channels; the faces stay colourful.
    assert np.array_equal(images[4, ..., 0], images[4, ..., 1])
    assert not np.array_equal(images[3, ..., 0], images[3, ..., 1])
    # The PNG copy decodes like its JPEG (PIL's and TensorFlow's JPEG decoders differ
    # by a few levels).
    jpeg = arrays(data.load(config(_single(tmp_path / "single", FACES[2]), resolution=32),
                            "train"))[0][0]
    difference = np.abs(images[1].astype(int) - jpeg.astype(int))
    assert difference.max() <= 4 and difference.mean() < 1.0
    assert data.get_dataset_spec("folder").label_names(config(root)) == ("cats", "dogs")
    capsys.readouterr()

    again = data.load(config(root, resolution=32), "train")
    assert "read from the cache" in capsys.readouterr().out
    np.testing.assert_array_equal(arrays(again)[0], images)


def _single(path, source):
    path.mkdir()
    shutil.copy(source, path / source.name)
    return path


@pytest.mark.parametrize("resolution", [64, 128])
def test_every_resolution_is_a_centered_square(tmp_path, resolution):
    root = _single(tmp_path / "one", FACES[0])
    images, labels = arrays(data.load(config(root, resolution=resolution), "train"))
    assert images.shape == (1, resolution, resolution, 3)
    assert labels.tolist() == [folder.NO_CLASS]
    with Image.open(FACES[0]) as source:
        width, height = source.size
        top = (height - width) // 2
        expected = np.asarray(source.crop((0, top, width, top + width)).resize(
            (resolution, resolution), Image.BILINEAR), np.float64)
    assert np.abs(images[0].astype(np.float64) - expected).mean() < 4.0


def test_hostile_files_are_skipped_counted_and_named(tmp_path, capsys):
    root = build_classes(tmp_path / "pets")
    (root / "cats" / "empty.jpg").write_bytes(b"")
    (root / "cats" / "truncated.jpg").write_bytes(FACES[7].read_bytes()[:2000])
    gif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(gif, format="GIF")
    (root / "dogs" / "animated.png").write_bytes(gif.getvalue())
    Image.new("RGB", (12, 12), (200, 10, 10)).save(root / "dogs" / "tiny.png")
    # A decompression bomb's header: 20,000 x 20,000 pixels declared.
    Image.new("1", (20_000, 20_000)).save(root / "dogs" / "bomb.png")
    dataset = data.load(config(root, resolution=64), "train")
    assert dataset.num_examples == 5
    assert dataset.skipped == {"absent": 0, "corrupt": 3, "wrong_size": 2}
    out = capsys.readouterr().out
    for name in ("cats/empty.jpg", "cats/truncated.jpg", "dogs/animated.png"):
        assert name in out
    assert "dogs/tiny.png" in out and "dogs/bomb.png" in out


def test_class_folders_are_checked_for_a_conditional_model(tmp_path):
    root = build_classes(tmp_path / "pets")
    shutil.copy(FACES[8], root / "loose.jpg")
    with pytest.raises(ConfigError, match="1 image.*directly in it, e.g. loose.jpg"):
        folder.label_names(config(root))
    # Unconditionally, every image counts, the loose one without a class.
    images, labels = arrays(data.load(config(root, resolution=32), "train"))
    assert len(images) == 6 and labels.tolist().count(folder.NO_CLASS) == 1

    one_class = tmp_path / "one_class" / "cats"
    one_class.mkdir(parents=True)
    shutil.copy(FACES[0], one_class / "a.jpg")
    with pytest.raises(ConfigError, match="at least two class folders.*found 1: cats"):
        folder.label_names(config(one_class.parent))


def test_missing_or_empty_folders_and_bad_settings_are_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        data.load(config(tmp_path / "nowhere"), "train")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match="no images in .*empty"):
        data.load(config(tmp_path / "empty"), "train")
    with pytest.raises(ConfigError, match="data.resolution.*48"):
        DataConfig(dataset="folder", resolution=48)
    with pytest.raises(ConfigError, match="no split 'test'; choose from train"):
        data.load(config(build_classes(tmp_path / "pets")), "test")
    with pytest.raises(DataError, match="needs --data_dir"):
        data.load(DataConfig(dataset="folder"), "train")


def test_a_changed_folder_decodes_afresh(tmp_path):
    root = build_classes(tmp_path / "pets")
    before = data.load(config(root, resolution=32), "train").num_examples
    shutil.copy(FACES[9], root / "dogs" / "f.jpg")
    assert data.load(config(root, resolution=32), "train").num_examples == before + 1


def test_a_conditional_folder_run_trains_and_names_its_classes(tmp_path):
    root = build_classes(tmp_path / "pets")
    run = tmp_path / "run"
    result = run_script("train.py", f"--workdir={run}", "--dataset=folder", f"--data_dir={root}",
                        "--resolution=32", "--conditional", "--steps=2", "--batch_size=4",
                        "--base_filters=8", "--latent_dim=8", "--log_every=1",
                        "--sample_every=2", "--checkpoint_every=2", "--preset=none")
    assert result.returncode == 0, result.stderr
    saved = checkpoints.read_config(str(run))
    assert saved.model.image_shape == (32, 32, 3)
    assert saved.model.label_names == ("cats", "dogs")
    assert (run / "samples" / "step_00000002.png").exists()
    assert "cats" in (run / "samples" / "rows.txt").read_text()


def test_a_bad_resolution_flag_is_one_line(tmp_path):
    result = run_script("train.py", "--dataset=folder", f"--data_dir={tmp_path}",
                        "--resolution=48", f"--workdir={tmp_path / 'run'}")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "resolution" in result.stderr


def hung_folder(tmp_path):
    """An image folder in which one "image" is a FIFO: reading it blocks forever."""
    root = build_classes(tmp_path / "pets")
    os.mkfifo(root / "dogs" / "stuck.png")
    return root


def test_a_read_that_hangs_ends_at_the_read_timeout_without_leftovers(tmp_path):
    root = hung_folder(tmp_path)
    result = run_script("train.py", f"--workdir={tmp_path / 'run'}", "--dataset=folder",
                        f"--data_dir={root}", "--resolution=32", "--read_timeout=3",
                        env={"KGAN_CACHE_DIR": str(tmp_path / "cache")}, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "train.py: error: gave up waiting for the next image folder train files to be read "
        "after 3 s; is one on a hung network mount, or not a regular file? "
        "(--read_timeout sets the limit)")
    assert not (tmp_path / "run").exists()
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_hung_decode_without_leftovers(tmp_path, signum, status):
    root = hung_folder(tmp_path)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), f"--workdir={tmp_path / 'run'}",
         "--dataset=folder", f"--data_dir={root}", "--resolution=32"],
        cwd=REPO, env=dict(os.environ, KGAN_CACHE_DIR=str(tmp_path / "cache")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The decode is under way once its staging folder exists.
        deadline = time.monotonic() + 120
        while not list((tmp_path / "cache").rglob("images.npy")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("train.py: interrupted")
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


@pytest.fixture
def small_filesystem(tmp_path):
    """A 128 KiB tmpfs (needs root, as the suite's other-user tests do)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_cache_decoded_onto_a_full_disk_is_one_line_without_leftovers(tmp_path,
                                                                         small_filesystem):
    # 5 images of 128x128x3 need 240 KiB: the disk fills while the cache is written.
    root = build_classes(tmp_path / "pets")
    result = run_script("train.py", f"--workdir={tmp_path / 'run'}", "--dataset=folder",
                        f"--data_dir={root}", "--resolution=128",
                        env={"KGAN_CACHE_DIR": str(small_filesystem)}, timeout=120)
    assert result.returncode == 1 and "Bus error" not in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: error: cannot write the image folder cache ")
    assert last.endswith(": No space left on device")
    assert [p for p in small_filesystem.rglob("*") if p.is_file()] == []
    assert not (tmp_path / "run").exists()
