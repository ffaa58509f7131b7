"""Paths between latent points: linear and spherical interpolation.

Why spherical: in high dimensions a standard-normal latent lies near the
sphere of radius sqrt(latent_dim), and the straight line between two such
points dips well inside it (the midpoint of two independent latents has norm
about sqrt(latent_dim / 2)), where the generator saw no training latents.
`slerp` follows the great circle instead (Shoemake 1985; proposed for GAN
latents by White 2016, "Sampling Generative Networks").
"""

import numpy as np

METHODS = ("linear", "slerp")
# Below this sine of the angle between two points, slerp's division is
# ill-conditioned; the points are (anti)parallel and the straight line is used.
_PARALLEL_SINE = 1e-6


def _as_float64(a, b, t):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot interpolate between shapes {a.shape} and {b.shape}")
    return a, b, np.asarray(t, np.float64)


def _broadcast(weights, values):
    """Weights of shape `t.shape + values.shape[:-1]` applied to `values` rows."""
    return weights[..., None] * values


def lerp(a, b, t) -> np.ndarray:
    """`(1 - t) a + t b`.

    Args:
        a, b: Latents `[..., latent_dim]` of one shape.
        t: A fraction, or an array of them (any shape); 0 gives `a`, 1 gives `b`.

    Returns:
        float32 `t.shape + a.shape`.
    """
    a, b, t = _as_float64(a, b, t)
    t = t.reshape(t.shape + (1,) * a.ndim)
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a, b, t) -> np.ndarray:
    """Spherical interpolation: `sin((1-t) w)/sin w * a + sin(t w)/sin w * b`.

    `w` is the angle between `a` and `b` (per row of `[..., latent_dim]`
    inputs). Two latents of one norm give points of that norm all the way;
    the path is the arc of the great circle through them. Rows whose
    latents are parallel or antiparallel (no unique great circle) are
    interpolated linearly.

    Args:
        a, b: Latents `[..., latent_dim]` of one shape.
        t: A fraction, or an array of them (any shape); 0 gives `a`, 1 gives `b`.

    Returns:
        float32 `t.shape + a.shape`.
    """
    a, b, t = _as_float64(a, b, t)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    cosine = np.clip(np.sum(a * b, axis=-1) / np.maximum(norms, 1e-300), -1.0, 1.0)
    omega = np.arccos(cosine)  # a.shape[:-1]
    sine = np.sin(omega)
    t_rows = t.reshape(t.shape + (1,) * (a.ndim - 1))  # t.shape + a.shape[:-1]
    parallel = sine < _PARALLEL_SINE
    safe_sine = np.where(parallel, 1.0, sine)
    weight_a = np.where(parallel, 1.0 - t_rows, np.sin((1.0 - t_rows) * omega) / safe_sine)
    weight_b = np.where(parallel, t_rows, np.sin(t_rows * omega) / safe_sine)
    return (_broadcast(weight_a, a) + _broadcast(weight_b, b)).astype(np.float32)


def interpolate(points, steps: int, method: str = "slerp", closed: bool = False) -> np.ndarray:
    """A path through keyframe latents, `steps` frames per segment.

    Args:
        points: Keyframes `[k, ..., latent_dim]`, k >= 2; a keyframe may be
            one latent or a batch of them (one path per row).
        steps: Frames from one keyframe to the next (>= 1).
        method: `slerp` or `linear`.
        closed: Return to the first keyframe at the end (for a looping GIF):
            `k * steps` frames, the first keyframe not repeated at the end.
            Otherwise `(k - 1) * steps + 1` frames ending on the last keyframe.

    Returns:
        float32 `[frames, ..., latent_dim]`; every keyframe appears exactly.
    """
    points = np.asarray(points, np.float32)
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    if points.ndim < 2 or len(points) < 2:
        raise ValueError(f"interpolation needs at least 2 keyframes, got shape {points.shape}")
    if steps < 1:
        raise ValueError(f"interpolation steps must be >= 1, got {steps}")
    path = slerp if method == "slerp" else lerp
    ends = list(points[1:]) + ([points[0]] if closed else [])
    fractions = np.arange(steps) / steps
    frames = [path(start, end, fractions) for start, end in zip(points, ends)]
    if not closed:
        frames.append(points[-1][None])
    return np.concatenate(frames).astype(np.float32)
