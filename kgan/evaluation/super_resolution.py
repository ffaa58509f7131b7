"""Evaluation of super-resolution (`srgan`) as the literature reports it.

Distortion: PSNR and SSIM on the luma (Y) channel of ITU-R BT.601 YCbCr
(MATLAB's `rgb2ycbcr`: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for
R, G, B in 0..255, not rounded), with a border of `scale` pixels cropped
from every side, peak 255: the convention of Ledig et al. 2017 and the
super-resolution papers since (their Set5 / Set14 figures are measured
so). SSIM uses the 11x11 Gaussian window of sigma 1.5 (`tf.image.ssim`'s
definition; `kgan.evaluation.similarity`).

Perception: FID and KID of the reconstructions against the real held-out
high-resolution faces (the TTUR Inception graph; the training losses never
see it).

Every figure is reported for the model and, on the same faces, for bicubic
upscaling (`kgan.data.super_resolution.bicubic_upscale`), the baseline of
every super-resolution table. For a 2x model, the external set (faces
downscaled by other software, `super_resolution.external_pairs`) is
reported separately, as robustness to a foreign kernel.
"""

import numpy as np

from kgan.data import super_resolution
from kgan.errors import KganError
from kgan.evaluation import similarity

# ITU-R BT.601 luma on 0..255 RGB, offset to 16..235 (MATLAB rgb2ycbcr).
Y_WEIGHTS = (65.481 / 255, 128.553 / 255, 24.966 / 255)
Y_OFFSET = 16.0
_BATCH = 64
SSIM_WINDOW = similarity.WINDOW


def luma(images) -> np.ndarray:
    """uint8 RGB `[n, h, w, 3]` -> float64 Y `[n, h, w]` in 16..235."""
    rgb = np.asarray(images, np.float64)
    return Y_OFFSET + rgb @ np.asarray(Y_WEIGHTS)


def _cropped(y, border: int) -> np.ndarray:
    return y[:, border:y.shape[1] - border, border:y.shape[2] - border] if border else y


def psnr_y(outputs, targets, border: int) -> np.ndarray:
    """PSNR in dB of each image's Y channel, `border` pixels cropped from
    every side, peak 255 (identical images: inf). Returns `[n]`."""
    difference = _cropped(luma(outputs), border) - _cropped(luma(targets), border)
    mse = np.mean(difference ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0 ** 2 / mse)


def ssim_y(outputs, targets, border: int) -> np.ndarray:
    """SSIM of each image's Y channel (`border` cropped, peak 255). Returns `[n]`.

    Raises:
        ValueError: for images smaller than SSIM's window once cropped.
    """
    height, width = np.shape(outputs)[1] - 2 * border, np.shape(outputs)[2] - 2 * border
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels; "
                         f"these are {height}x{width} after a border of {border} (SSIM's window "
                         f"is {SSIM_WINDOW})")
    values = []
    for start in range(0, len(outputs), _BATCH):
        a = _cropped(luma(outputs[start:start + _BATCH]), border)[..., None]
        b = _cropped(luma(targets[start:start + _BATCH]), border)[..., None]
        values.append(similarity.ssim(a, b, max_val=255.0))
    return np.concatenate(values) if values else np.zeros([0])


def distortion(outputs, targets, scale: int) -> dict:
    """Mean PSNR(Y) and SSIM(Y) with a border of `scale` (module docstring)."""
    psnrs = psnr_y(outputs, targets, scale)
    finite = psnrs[np.isfinite(psnrs)]
    return {"psnr_y_db": float(finite.mean()) if len(finite) else float("inf"),
            "ssim_y": float(ssim_y(outputs, targets, scale).mean()),
            "border": scale}


def upscale_in_chunks(upscale, low: np.ndarray, scale: int) -> np.ndarray:
    """`upscale(uint8 chunk) -> uint8 chunk` over `low` in chunks of 64."""
    chunks = [np.asarray(upscale(low[start:start + _BATCH]))
              for start in range(0, len(low), _BATCH)]
    if chunks:
        return np.concatenate(chunks)
    return np.zeros((0, low.shape[1] * scale, low.shape[2] * scale, 3), np.uint8)


def bicubic(low: np.ndarray, scale: int) -> np.ndarray:
    return upscale_in_chunks(lambda chunk: super_resolution.bicubic_upscale(chunk, scale),
                             low, scale)


def external_report(translate, data_config, scale: int, log=print) -> dict:
    """The 2x external set's distortion for the model and for bicubic, or
    `{"skipped": reason}` (another scale, or the folder is missing)."""
    if scale != super_resolution.EXTERNAL_SCALE:
        return {"skipped": f"the external set is {super_resolution.EXTERNAL_SCALE}x; this model "
                           f"upscales {scale}x"}
    try:
        low, high = super_resolution.external_pairs(data_config)
    except KganError as e:
        return {"skipped": str(e)}
    log(f"Upscaling the {len(low)} externally downscaled faces "
        f"({super_resolution.HALF_SIZE_FOLDER}, training faces: robustness, not generalization)")
    outputs = upscale_in_chunks(translate, low, scale)
    return {"faces": len(low),
            "note": "training faces downscaled by other software: robustness to a foreign "
                    "kernel, not generalization",
            "model": distortion(outputs, high, scale),
            "bicubic": distortion(bicubic(low, scale), high, scale)}
