"""SSIM of held-out CelebA faces: `tf.image.ssim` against kgan's separable
NumPy version (`kgan.evaluation.similarity`), side by side in one process.

The super-resolution evaluation scores Y channels of 216x176 faces; this
times both on the same faces (each pair: a face and its bicubic 4x
reconstruction) and prints their largest disagreement.

    python bench/ssim_speed.py --faces=128
"""

import os
import sys
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_integer("faces", 128, "Held-out faces to score.")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data", "celeba"),
                    "CelebA folder (holding img_align_celeba/).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from kgan.config import DataConfig
    from kgan.data import super_resolution
    from kgan.evaluation import similarity
    from kgan.evaluation.super_resolution import luma

    faces = super_resolution.faces(DataConfig(dataset="celeba", data_dir=FLAGS.data_dir),
                                   "heldout")[:FLAGS.faces]
    rebuilt = super_resolution.bicubic_upscale(super_resolution.downscale(faces, 4), 4).numpy()
    a, b = luma(faces)[..., None], luma(rebuilt)[..., None]
    timings = {}
    start = time.perf_counter()
    reference = np.concatenate([
        tf.image.ssim(tf.constant(a[i:i + 64], tf.float32), tf.constant(b[i:i + 64], tf.float32),
                      max_val=255.0).numpy() for i in range(0, len(a), 64)])
    timings["tf.image.ssim"] = time.perf_counter() - start
    start = time.perf_counter()
    separable = similarity.ssim(a, b, max_val=255.0)
    timings["similarity.ssim"] = time.perf_counter() - start
    print(f"{len(faces)} faces of {faces.shape[1]}x{faces.shape[2]}, Y channel, bicubic 4x "
          f"against the original (mean SSIM {separable.mean():.4f})")
    for name, seconds in timings.items():
        print(f"  {name:16s} {seconds:7.2f} s  ({len(faces) / seconds:6.1f} faces/s)")
    print(f"  speed-up {timings['tf.image.ssim'] / timings['similarity.ssim']:.1f}x; largest "
          f"difference {np.abs(separable - reference).max():.2e}")


if __name__ == "__main__":
    app.run(main)
