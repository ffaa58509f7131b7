"""Work over many images in batches, with progress a person can follow."""

import sys
import time

import numpy as np

_LOG_SECONDS = 30.0


def batched(extract, images, batch_size: int, label: str, stream=None) -> np.ndarray:
    """Applies `extract` to `images` in batches, showing progress: a live line
    on a terminal, else a line every 30 seconds (logs stay readable)."""
    stream = stream or sys.stderr
    live = stream.isatty()
    outputs, began = [], time.monotonic()
    last_line = began
    for start in range(0, len(images), batch_size):
        outputs.append(np.asarray(extract(images[start:start + batch_size])))
        done = min(start + batch_size, len(images))
        now = time.monotonic()
        rate = done / max(now - began, 1e-9)
        progress = f"{label}: {done}/{len(images)} images, {rate:.1f} images/s"
        if live:
            stream.write(f"\r\033[K{progress}")
            stream.flush()
        elif now - last_line >= _LOG_SECONDS and done < len(images):
            stream.write(progress + "\n")
            stream.flush()
            last_line = now
    if live:
        stream.write("\n")
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)
