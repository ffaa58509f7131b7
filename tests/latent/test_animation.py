"""GIF files and training-progress animations, decoded back with TensorFlow."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import images
from kgan.errors import RunError
from kgan.latent import animation


def decode_gif(path):
    return tf.io.decode_gif(tf.io.read_file(str(path))).numpy()


def test_grayscale_gif_decodes_to_the_exact_frames(tmp_path):
    frames = np.stack([np.full((12, 10, 1), 20 * i, np.uint8) for i in range(7)])
    frames[:, 3:5, 2:8] = 255  # a bar on each frame, so frames differ only partly
    path = tmp_path / "out" / "digits.gif"
    animation.write_gif(str(path), frames, frame_ms=50)
    decoded = decode_gif(path)
    assert decoded.shape == (7, 12, 10, 3)
    np.testing.assert_array_equal(decoded, np.repeat(frames, 3, axis=-1))
    assert os.listdir(path.parent) == ["digits.gif"], "no partial file may remain"


def test_rgb_gif_keeps_the_frame_count_and_the_picture(tmp_path):
    rng = np.random.default_rng(0)
    smooth = tf.image.resize(rng.uniform(0, 255, (9, 8, 8, 3)), (32, 32)).numpy()
    frames = np.clip(smooth, 0, 255).astype(np.uint8)
    path = tmp_path / "faces.gif"
    animation.write_gif(str(path), frames)
    decoded = decode_gif(path).astype(np.int32)
    assert decoded.shape == (9, 32, 32, 3)
    # 256 adaptive colours per frame for ~1,000 distinct colours: a few levels off on average.
    assert np.abs(decoded - frames).mean() < 8
    assert np.corrcoef(decoded.ravel(), frames.ravel())[0, 1] > 0.98


def test_upscale_and_caption():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    big = animation.upscale(image, 2)
    assert big.shape == (4, 6, 1) and big[1, 1, 0] == image[0, 0, 0] and big[3, 5, 0] == 5
    captioned = animation.caption(np.zeros((20, 60, 3), np.uint8), "step 10")
    assert captioned.shape == (34, 60, 3) and captioned[:14].max() == 255


def write_grid(workdir, step, value, size=(8, 8, 1)):
    images.write_png(os.path.join(workdir, "samples", f"step_{step:08d}.png"),
                     np.full(size, value, np.uint8))


def test_progress_frames_in_step_order_skipping_unusable_files(tmp_path):
    workdir = str(tmp_path)
    for step, value in [(1000, 10), (500, 5), (1500, 15)]:
        write_grid(workdir, step, value)
    with open(os.path.join(workdir, "samples", "step_00002000.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n cut short")
    write_grid(workdir, 2500, 25, size=(9, 9, 1))
    with open(os.path.join(workdir, "samples", "rows.txt"), "w") as f:
        f.write("0\n")
    messages = []
    grids = animation.sample_grids(workdir, log=messages.append)
    assert [step for step, _ in grids] == [500, 1000, 1500]
    assert [int(grid[0, 0, 0]) for _, grid in grids] == [5, 10, 15]
    assert len(messages) == 1 and "2 unusable" in messages[0]
    assert "step_00002000.png" in messages[0] and "step_00002500.png" in messages[0]
    frames = animation.progress_frames(workdir, log=lambda m: None)
    assert frames.shape == (3, 8 + 14, 8, 1)
    path = tmp_path / "progress.gif"
    animation.write_gif(str(path), frames)
    assert decode_gif(path).shape[0] == 3


def test_a_run_without_sample_grids_is_a_one_line_error(tmp_path):
    with pytest.raises(RunError, match="no sample grids"):
        animation.sample_grids(str(tmp_path))
