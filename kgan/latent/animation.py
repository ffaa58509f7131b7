"""Pictures over time: animated GIFs of interpolations and of a run's sample grids.

GIFs are written with Pillow (installed with TensorBoard, which kgan already
requires); TensorFlow decodes GIFs but cannot encode them. A GIF holds at most
256 colours per frame: grayscale frames are exact, RGB frames get an adaptive
palette per frame, which keeps GAN samples visually unchanged. Pillow stores
a frame identical to the one before it by lengthening that frame's display
time instead, so such a GIF decodes to fewer frames than were given.
"""

import glob
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kgan.core.files import write_atomically
from kgan.core.messages import one_line
from kgan.errors import RunError

SAMPLES_DIR = "samples"
_STEP_FILE = re.compile(r"^step_(\d+)\.png$")


def upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of `[..., height, width, channels]` images
    (28x28 digits are too small to look at)."""
    if factor == 1:
        return images
    return np.repeat(np.repeat(images, factor, axis=-3), factor, axis=-2)


def _pil_image(frame: np.ndarray) -> Image.Image:
    frame = np.asarray(frame, np.uint8)
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3):
        raise ValueError(f"a GIF frame must be [height, width, 1 or 3] uint8, got {frame.shape}")
    return Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame,
                           "L" if frame.shape[-1] == 1 else "RGB")


def write_gif(path: str, frames, frame_ms: int = 80, loop: bool = True) -> None:
    """Writes uint8 frames `[n, height, width, 1 or 3]` as an animated GIF, atomically.

    Args:
        path: The `.gif` file; folders are created.
        frames: The frames, all of one shape.
        frame_ms: Display time of each frame in milliseconds (GIF resolution: 10 ms).
        loop: Repeat forever (otherwise play once).

    Raises:
        RunError: if the file cannot be written (e.g. the disk is full); no
            partial file is left, and an earlier file at `path` is kept.
    """
    frames = [_pil_image(f) for f in frames]
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    options = {"loop": 0} if loop else {}
    write_atomically(path, lambda partial: frames[0].save(
        partial, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms,
        **options))


def caption(image: np.ndarray, text: str, height: int = 14) -> np.ndarray:
    """`image` (uint8 `[h, w, c]`) with a black band above it holding `text` in white."""
    band = Image.new("L", (image.shape[1], height))
    ImageDraw.Draw(band).text((2, 1), text, fill=255, font=ImageFont.load_default(size=height - 3))
    band = np.asarray(band)[..., None].repeat(image.shape[-1], axis=-1)
    return np.concatenate([band, image])


def sample_grids(workdir: str, log=print) -> list[tuple[int, np.ndarray]]:
    """The sample grids a training run wrote (`<workdir>/samples/step_<step>.png`), by step.

    Unreadable files (a disk error, a copy cut short) are skipped and named
    in one `log` line; grids of another size than the first are skipped too.

    Returns:
        `[(step, uint8 [h, w, c] grid)]`, ascending by step.

    Raises:
        RunError: if the run has no readable sample grid.
    """
    folder = os.path.join(workdir, SAMPLES_DIR)
    found = []
    for path in glob.glob(os.path.join(glob.escape(folder), "step_*.png")):
        match = _STEP_FILE.match(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise RunError(f"no sample grids (step_<step>.png) in {folder!r}; training writes them "
                       "every --sample_every steps")
    grids, skipped = [], []
    for step, path in sorted(found):
        try:
            with Image.open(path) as image:
                grid = np.asarray(image.convert("L" if image.mode in ("L", "LA", "I;16") else "RGB"))
        except (OSError, ValueError) as e:
            skipped.append(f"{os.path.basename(path)} ({one_line(e)})")
            continue
        grid = grid[..., None] if grid.ndim == 2 else grid
        if grids and grid.shape != grids[0][1].shape:
            skipped.append(f"{os.path.basename(path)} (size {grid.shape} differs from "
                           f"{grids[0][1].shape})")
            continue
        grids.append((step, grid))
    if skipped:
        log(f"Skipped {len(skipped)} unusable sample grid(s): {'; '.join(skipped)}")
    if not grids:
        raise RunError(f"no readable sample grid in {folder!r}")
    return grids


def progress_frames(workdir: str, log=print) -> np.ndarray:
    """The run's sample grids captioned with their steps: uint8 `[n, h + 14, w, c]`."""
    return np.stack([caption(grid, f"step {step}") for step, grid in sample_grids(workdir, log)])
