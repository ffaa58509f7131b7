"""How much softer the external 2x set's downscaling is than kgan's.

On the faces present both as originals and as independently downscaled
89x109 copies (`kgan.data.super_resolution.external_pairs`), bicubic
upscaling of the foreign low-resolution copy and of kgan's own downscaling
(antialiased bicubic) of the same original, each against the original:
PSNR over RGB without a border, and the literature's PSNR(Y)/SSIM(Y) with
a border of 2.

    python bench/external_kernel.py
"""

import os
import sys

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data", "celeba"),
                    "CelebA folder (holding img_align_celeba/ and img_align_celeba_89x109/).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import numpy as np

    from kgan.config import DataConfig
    from kgan.data import super_resolution as data
    from kgan.evaluation import super_resolution as metrics

    config = DataConfig(dataset="celeba",
                        data_dir=os.path.join(FLAGS.data_dir, "img_align_celeba"))
    scale = data.EXTERNAL_SCALE
    foreign, high = data.external_pairs(config)
    own = data.downscale(high, scale).numpy()
    print(f"{len(high)} faces, {scale}x, bicubic upscaling against the originals")
    for label, low in (("foreign downscaling (89x109 files)", foreign),
                       ("kgan's downscaling", own)):
        upscaled = metrics.bicubic(low, scale)
        error = np.mean((upscaled.astype(np.float64) - high) ** 2, axis=(1, 2, 3))
        rgb = float(np.mean(10 * np.log10(255.0 ** 2 / error)))
        figures = metrics.distortion(upscaled, high, scale)
        print(f"  {label}: RGB {rgb:.2f} dB (no border); Y {figures['psnr_y_db']:.2f} dB, "
              f"SSIM(Y) {figures['ssim_y']:.3f} (border {scale})")


if __name__ == "__main__":
    app.run(main)
