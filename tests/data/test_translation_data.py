"""The data of pix2pix and CycleGAN on CelebA (`kgan.data.translation`), on the shared data.

The picture functions are checked on hand-made arrays; the splits on the
6,000 shared originals (decoded once per session into the session cache).
"""

import glob
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from kgan.config import DataConfig
from kgan.data import celeba, to_unit_range, translation
from kgan.errors import ConfigError, DataError
from kgan.images import to_uint8
from tests.conftest import SHARED_DATA

CELEBA = SHARED_DATA / "celeba"
FULL = CELEBA / "img_align_celeba"
ATTRIBUTES = CELEBA / "list_attr_celeba.txt"
PARTITION = CELEBA / "list_eval_partition.txt"


@pytest.fixture(scope="module", autouse=True)
def shared_celeba():
    missing = [str(p) for p in (FULL, ATTRIBUTES, PARTITION) if not p.exists()]
    if missing:
        pytest.fail(f"the shared CelebA data is missing ({', '.join(missing)}); "
                    "set KGAN_SHARED_DATA to the shared/data folder")


def config(**kwargs):
    return DataConfig(dataset="celeba", data_dir=str(FULL), **kwargs)


def attribute_table():
    """(header, {name: [-1 or 1, ...]}), parsed here independently of kgan."""
    with open(ATTRIBUTES, newline="") as f:
        lines = f.read().split("\r\n")
    return lines[1].split(), {fields[0]: list(map(int, fields[1:]))
                              for fields in map(str.split, lines[2:]) if fields}


def present(partitions):
    with open(PARTITION) as f:
        part = {name: int(p) for name, p in (line.split() for line in f if line.strip())}
    return sorted(n for n in os.listdir(FULL) if n.endswith(".jpg") and part[n] in partitions)


def faces(split, image_size=64):
    dataset = celeba.load(config(), split, image_size=image_size)
    return next(iter(dataset.examples.batch(dataset.num_examples)))[0].numpy()


@pytest.fixture(scope="module")
def test_faces():
    return faces("test")


# The picture functions.

def test_grayscale_is_the_bt601_weighted_sum():
    pixels = np.array([[[[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, 1], [-1, -1, -1],
                         [0.2, -0.4, 0.6]]]], np.float32)
    luma = translation.grayscale(pixels).numpy()
    assert luma.shape == (1, 1, 6, 1) and luma.dtype == np.float32
    expected = [0.299 - 0.587 - 0.114, -0.299 + 0.587 - 0.114, -0.299 - 0.587 + 0.114, 1, -1,
                0.299 * 0.2 - 0.587 * 0.4 + 0.114 * 0.6]
    np.testing.assert_allclose(luma.ravel(), expected, atol=1e-6)

    rgb = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0],
                      [10, 200, 90]]]], np.uint8)
    gray = translation.grayscale_uint8(rgb).numpy()
    assert gray.dtype == np.uint8 and gray.shape == (1, 1, 6, 1)
    # (77 R + 150 G + 29 B + 128) // 256: 77.2, 149.9, 29.4, 255.5, 0.5, 130.9 floored
    assert gray.ravel().tolist() == [77, 149, 29, 255, 0, 130]


def test_grayscale_uint8_is_integer_luma_within_a_level_of_the_float_one():
    rgb = np.random.default_rng(0).integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    gray = translation.grayscale_uint8(rgb).numpy()
    by_hand = (rgb.astype(np.int64) @ np.array(translation.LUMA_WEIGHTS_256) + 128) // 256
    np.testing.assert_array_equal(gray[..., 0], by_hand)
    float_luma = rgb.astype(np.float64) @ np.array(translation.LUMA_WEIGHTS)
    assert np.abs(gray[..., 0] - float_luma).max() <= 1.0


def test_sketch_is_white_on_flat_pictures_and_draws_the_dark_side_of_an_edge():
    for level in (-1.0, -0.3, 0.5, 1.0):
        flat = np.full((2, 16, 16, 3), level, np.float32)
        np.testing.assert_array_equal(translation.sketch(flat).numpy(), 1.0)
    step = np.full((1, 16, 16, 3), -1.0, np.float32)
    step[:, :, 8:] = 1.0  # black left half, white right half
    drawn = translation.sketch(step).numpy()[0, :, :, 0]
    assert drawn.shape == (16, 16)
    assert (drawn == drawn[0]).all(), "every row of a vertical edge is drawn alike"
    assert drawn[0].tolist() == [1.0] * 6 + [-1.0] * 2 + [1.0] * 8, "a 2-pixel black line"
    # The same edge turned by 90 degrees draws the same line turned.
    turned = translation.sketch(np.transpose(step, (0, 2, 1, 3))).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(turned, drawn.T)
    faint = np.full((1, 16, 16, 3), 0.0, np.float32)
    faint[:, :, 8:] = 0.05  # about 6 of 255 levels: texture, not a line
    np.testing.assert_array_equal(translation.sketch(faint).numpy(), 1.0)


def test_sketch_of_faces_is_deterministic_mostly_white_with_lines(test_faces):
    images = to_unit_range(test_faces[:64])
    drawn = translation.sketch(images).numpy()
    np.testing.assert_array_equal(drawn, translation.sketch(images).numpy())
    assert drawn.shape == (64, 64, 64, 1) and drawn.dtype == np.float32
    assert drawn.min() >= -1.0 and drawn.max() <= 1.0
    white = (drawn > 0.9).mean(axis=(1, 2, 3))
    black = (drawn < -0.9).mean(axis=(1, 2, 3))
    assert (white > 0.5).all() and (black > 0.02).all(), (white.min(), black.min())
    np.testing.assert_array_equal(translation.sketch_uint8(test_faces[:64]).numpy(),
                                  to_uint8(drawn).numpy())


def test_served_pictures_become_exactly_the_training_inputs(test_faces):
    colour = test_faces[:16]
    colorize = translation.to_network_input("colorization")
    served = colorize(colour).numpy()
    assert served.shape == (16, 64, 64, 1) and served.dtype == np.float32
    gray = translation.grayscale_uint8(colour).numpy()
    np.testing.assert_array_equal(served, to_unit_range(gray).numpy())
    # A grayscale photo of the face is served the same input as the colour one.
    np.testing.assert_array_equal(colorize(np.repeat(gray, 3, axis=-1)).numpy(), served)
    # A sketch saved as a PNG and served again is the network input it was in training:
    # the drawing is not sketched again.
    drawing = translation.sketch_uint8(colour).numpy()
    reloaded = np.stack([tf.io.decode_png(tf.io.encode_png(d), channels=3).numpy()
                         for d in drawing])
    np.testing.assert_array_equal(translation.to_network_input("sketch")(reloaded).numpy(),
                                  to_unit_range(drawing).numpy())
    with pytest.raises(ConfigError, match="unknown translation 'paint'.*colorization, sketch"):
        translation.to_network_input("paint")


def test_the_picture_functions_convert_to_tflite_builtins(test_faces):
    from ai_edge_litert.interpreter import Interpreter

    class Functions(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([4, 64, 64, 3], tf.uint8)])
        def run(self, images):
            return {"colorization": translation.to_network_input("colorization")(images),
                    "sketch": translation.sketch(to_unit_range(images)),
                    "sketch_uint8": translation.sketch_uint8(images)}

    functions = Functions()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [functions.run.get_concrete_function()], functions)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    runner = Interpreter(model_content=converter.convert()).get_signature_runner()
    images = test_faces[:4]
    lite = runner(images=images)
    reference = functions.run(tf.constant(images))
    np.testing.assert_allclose(lite["sketch"], reference["sketch"].numpy(), atol=1e-4)
    # Integer luma: TFLite computes the very same levels.
    np.testing.assert_array_equal(lite["colorization"], reference["colorization"].numpy())
    assert np.abs(lite["sketch_uint8"].astype(int)
                  - reference["sketch_uint8"].numpy().astype(int)).max() <= 1


# pix2pix pairs.

def test_paired_colorization_train_split():
    pairs = translation.paired_split(config(), "train")
    assert pairs.translation == "colorization" and "train" in pairs.source
    assert pairs.inputs.shape == (4560, 64, 64, 1) and pairs.inputs.dtype == np.uint8
    assert pairs.targets.shape == (4560, 64, 64, 3) and pairs.targets.dtype == np.uint8
    np.testing.assert_array_equal(pairs.targets, faces("train"))
    for start in range(0, 4560, 1024):
        batch = pairs.targets[start:start + 1024]
        np.testing.assert_array_equal(pairs.inputs[start:start + 1024],
                                      translation.grayscale_uint8(batch).numpy())


def test_paired_sketch_heldout_split():
    pairs = translation.paired_split(config(translation="sketch"), "heldout")
    assert len(present((1, 2))) == 1440
    assert pairs.inputs.shape == (1440, 64, 64, 1) and pairs.targets.shape == (1440, 64, 64, 3)
    assert pairs.inputs.dtype == pairs.targets.dtype == np.uint8
    assert pairs.translation == "sketch"
    np.testing.assert_array_equal(pairs.inputs, translation.sketch_uint8(pairs.targets).numpy())
    assert np.median(pairs.inputs) == 255, "a drawing is mostly white paper"


def test_128_is_the_same_crop_at_twice_the_size(test_faces, kgan_cache):
    pairs = translation.paired_split(config(resolution=128), "test")
    assert pairs.targets.shape == (660, 128, 128, 3) and pairs.inputs.shape == (660, 128, 128, 1)
    np.testing.assert_array_equal(pairs.inputs, translation.grayscale_uint8(pairs.targets).numpy())
    halved = tf.image.resize(pairs.targets.astype(np.float32), (64, 64), antialias=True).numpy()
    difference = np.abs(halved - test_faces)
    assert difference.mean() < 3 and 0 < difference.max(), difference.mean()
    manifests = [json.load(open(path))
                 for path in glob.glob(f"{kgan_cache}/celeba/test-*/manifest.json")]
    shapes = {tuple(m["image_shape"]) for m in manifests
              if m["folder"] == str(FULL) and m["crop_fraction"] == 0.9}
    assert shapes == {(64, 64, 3), (128, 128, 3)}, "one cache per size"


def test_sizes_other_than_64_and_128_are_refused():
    with pytest.raises(ConfigError, match="data.resolution 32 is too small.*64 or 128"):
        translation.paired_split(config(resolution=32), "train")
    with pytest.raises(ConfigError, match="data.resolution 32"):
        translation.domain_split(config(resolution=32), "train")
    for size in (96, 64.0):
        with pytest.raises(ConfigError, match=f"CelebA image_size {size} is not supported"):
            celeba.load(config(), "test", image_size=size)


# CycleGAN domains.

def test_parse_domain():
    names = ("Male", "Eyeglasses", "Smiling")
    assert translation.parse_domain("Male", names) == ("Male", True)
    assert translation.parse_domain("-Male", names) == ("Male", False)
    assert translation.parse_domain("-Eyeglasses", names) == ("Eyeglasses", False)
    for bad in ("male", "Beard", "--Male", "-", "+Male"):
        with pytest.raises(ConfigError) as error:
            translation.parse_domain(bad, names)
        assert str(error.value) == (f"domain {bad!r} names no CelebA attribute; write NAME or "
                                    "-NAME with one of: Male, Eyeglasses, Smiling")


def test_women_and_men_split_by_the_male_column(test_faces):
    domains = translation.domain_split(config(), "test")
    header, table = attribute_table()
    names = present((2,))
    assert domains.attribute_names == tuple(header) and len(header) == 40
    male = np.array([table[n][header.index("Male")] == 1 for n in names])
    assert len(domains.a) == (~male).sum() and len(domains.b) == male.sum()
    assert len(domains.a) + len(domains.b) == len(names) == 660
    assert 0 < len(domains.b) < 660
    np.testing.assert_array_equal(domains.a, test_faces[~male])
    np.testing.assert_array_equal(domains.b, test_faces[male])
    rows = np.array([[value == 1 for value in table[n]] for n in names], np.float32)
    assert domains.a_attributes.dtype == np.float32
    np.testing.assert_array_equal(domains.a_attributes, rows[~male])
    np.testing.assert_array_equal(domains.b_attributes, rows[male])
    assert (domains.domain_a, domains.domain_b) == ("-Male", "Male")
    assert f"{(~male).sum()} match domain_a '-Male', {male.sum()} domain_b 'Male'" \
        in domains.source


def test_a_face_matching_both_domains_belongs_to_neither():
    domains = translation.domain_split(config(domain_a="Eyeglasses", domain_b="Male"), "train")
    header, table = attribute_table()
    rows = np.array([table[n] for n in present((0,))]) == 1
    glasses, male = rows[:, header.index("Eyeglasses")], rows[:, header.index("Male")]
    both = glasses & male
    assert both.sum() > 0, "the shared train split has men with glasses"
    assert len(domains.a) == (glasses & ~male).sum() and len(domains.b) == (male & ~glasses).sum()
    assert domains.a_attributes[:, header.index("Male")].max() == 0
    assert domains.b_attributes[:, header.index("Eyeglasses")].max() == 0
    neither = (~glasses & ~male).sum()
    assert len(domains.a) + len(domains.b) + both.sum() + neither == 4560
    assert f"{both.sum()} both and {neither} neither (left out)" in domains.source
    assert domains.a.shape[1:] == domains.b.shape[1:] == (64, 64, 3)


def test_an_empty_domain_is_refused_naming_it(tmp_path):
    header, table = attribute_table()
    women = [n for n in present((2,)) if table[n][header.index("Male")] == -1][:3]
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    for path in (ATTRIBUTES, PARTITION):
        (root / path.name).symlink_to(path)
    for name in women:
        (root / "img_align_celeba" / name).symlink_to(FULL / name)
    small = DataConfig(dataset="celeba", data_dir=str(root))
    with pytest.raises(DataError, match=r"^domain_b 'Male' has no face in the CelebA test split "
                                        r".*of its 3 faces 3 match domain_a '-Male', 0 domain_b"):
        translation.domain_split(small, "test")


# A user's own pictures.

def test_user_pictures_are_prepared_like_celeba_faces(tmp_path, test_faces):
    name = present((2,))[0]
    user, names = translation.load_user_images([str(FULL / name)], 64, 0.9)
    assert names == [str(FULL / name)]
    np.testing.assert_array_equal(user, test_faces[:1])

    folder = tmp_path / "mine"
    (folder / "inner").mkdir(parents=True)
    gray = tf.image.rgb_to_grayscale(tf.io.decode_jpeg((FULL / name).read_bytes()))
    (folder / "b_gray.jpg").write_bytes(tf.io.encode_jpeg(gray).numpy())
    # Landscape: 270 px (0.9 of the width) do not fit in its height, so the largest
    # centered square (the white middle) is taken.
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = 255
    (folder / "inner" / "a_wide.png").write_bytes(tf.io.encode_png(wide).numpy())
    (folder / "notes.txt").write_text("not read: not an image name")
    images, names = translation.load_user_images([str(folder)], 64, 0.9)
    assert names == [str(folder / "b_gray.jpg"), str(folder / "inner" / "a_wide.png")]
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8
    assert (images[0, ..., 0] == images[0, ..., 1]).all() and \
        (images[0, ..., 1] == images[0, ..., 2]).all(), "grayscale becomes gray RGB"
    assert images[0].std() > 20
    assert (images[1] == 255).all()


def test_unusable_user_pictures_are_refused_naming_them(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is text, not a JPEG")
    with pytest.raises(DataError, match=f"^{re.escape(str(fake))} is not a JPEG or PNG image"):
        translation.load_user_images([str(fake)], 64, 0.9)
    cut = tmp_path / "cut.jpg"
    whole = (FULL / present((2,))[0]).read_bytes()
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(DataError, match=f"^{re.escape(str(cut))} is not a readable JPEG or PNG"):
        translation.load_user_images([str(cut)], 64, 0.9)
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(tf.io.encode_png(np.zeros((10, 10, 3), np.uint8)).numpy())
    with pytest.raises(DataError, match=f"^{re.escape(str(tiny))} is 10x10 pixels: its 9-pixel square crop is "
                                        "under a quarter of the 64-pixel output$"):
        translation.load_user_images([str(tiny)], 64, 0.9)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=f"^no images in {re.escape(str(empty))}: "):
        translation.load_user_images([str(empty)], 64, 0.9)
    gone = re.escape(str(tmp_path / "gone.png"))
    with pytest.raises(DataError, match=f"^no such image file or folder: {gone}$"):
        translation.load_user_images([str(tmp_path / "gone.png")], 64, 0.9)
    with pytest.raises(DataError, match="^no image files given$"):
        translation.load_user_images([], 64, 0.9)
