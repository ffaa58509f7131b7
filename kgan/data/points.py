"""2-D Gaussian mixtures, the toy data of the mode-collapse literature.

The two mixtures follow the protocol of PacGAN (Lin et al., 2018, Sec. 5,
Table 1), itself taken from VEEGAN (Srivastava et al., 2017), with the ring of
Metz et al. (2016, Unrolled GANs):

- `ring8`: 8 modes equally spaced on a circle of radius 1, mode i at
  (cos(2 pi i / 8), sin(2 pi i / 8)), each an isotropic Gaussian of standard
  deviation 0.01.
- `grid25`: 25 modes at (i, j) for i, j in {-4, -2, 0, 2, 4}, standard
  deviation 0.05.

Each sample picks its mode uniformly at random. Samples are seeded and
deterministic: the same (mixture, count, seed) always gives the same points
with a given NumPy version (PCG64 through `np.random.Generator`; NEP 19 lets
NumPy change a Generator's streams between versions, so a NumPy upgrade may,
rarely, change the points).

Only NumPy: the points are small enough to be built in memory and handed to
`tf.data.Dataset.from_tensor_slices` by the training task.
"""

import dataclasses
import math
import numbers

import numpy as np

from kgan.errors import ConfigError, lookup


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """An equal-weight mixture of isotropic 2-D Gaussians.

    Attributes:
        name: The name `get_mixture` knows it by.
        centers: `[num_modes, 2]` float32 mode means (read-only).
        std: The standard deviation of every mode, per coordinate.
    """

    name: str
    centers: np.ndarray
    std: float

    def __post_init__(self):
        centers = np.array(self.centers, np.float32)  # a copy: the caller's array stays theirs
        if centers.ndim != 2 or centers.shape[0] < 1 or centers.shape[1] != 2:
            raise ConfigError(f"mixture {self.name!r}: centers must be [num_modes, 2], "
                              f"got shape {centers.shape}")
        if not (math.isfinite(self.std) and self.std > 0):
            raise ConfigError(f"mixture {self.name!r}: std must be positive, got {self.std}")
        centers.setflags(write=False)
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "std", float(self.std))

    @property
    def num_modes(self) -> int:
        return int(self.centers.shape[0])


def _ring(num_modes: int, radius: float) -> np.ndarray:
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid(values) -> np.ndarray:
    return np.array([(x, y) for x in values for y in values], np.float64)


MIXTURES = {
    "ring8": Mixture("ring8", _ring(8, radius=1.0), std=0.01),
    "grid25": Mixture("grid25", _grid((-4.0, -2.0, 0.0, 2.0, 4.0)), std=0.05),
}

# Which stream of a seed each split draws from (see `points_split`).
SPLITS = ("train", "test")
_SPLIT_STREAMS = {"train": None, "test": 1}


def get_mixture(name: str) -> Mixture:
    """The mixture called `name`; a `ConfigError` listing the choices otherwise."""
    return lookup(MIXTURES, name, "point mixture")


def _checked_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _draw(mixture: Mixture, count: int, seed_sequence: np.random.SeedSequence) -> np.ndarray:
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
        raise ConfigError(f"count must be a non-negative integer, got {count!r}")
    rng = np.random.Generator(np.random.PCG64(seed_sequence))
    modes = rng.integers(0, mixture.num_modes, size=int(count))
    noise = rng.standard_normal((int(count), 2))
    points = mixture.centers.astype(np.float64)[modes] + mixture.std * noise
    return points.astype(np.float32)


def sample(mixture: Mixture, count: int, seed: int) -> np.ndarray:
    """`count` points from `mixture`, as float32 `[count, 2]`.

    Each point picks a mode uniformly, then adds N(0, std^2 I) noise. The
    result depends only on (mixture, count, seed): the generator is NumPy's
    PCG64 seeded with `np.random.SeedSequence(seed)`. A larger count with
    the same seed does not extend a smaller one (modes are drawn first).

    Raises:
        ConfigError: for a negative or non-integer count or seed.
    """
    return _draw(mixture, count, np.random.SeedSequence(_checked_seed(seed)))


def points_split(mixture: Mixture, split: str, count: int, seed: int = 0) -> np.ndarray:
    """A fixed train or test set of `count` points from `mixture`.

    `train` is exactly `sample(mixture, count, seed)`. `test` draws from an
    independent stream of the same seed: `SeedSequence(seed, spawn_key=(1,))`,
    i.e. `SeedSequence(seed).spawn(2)[1]`, NumPy's documented way to derive
    non-overlapping streams. Unlike `seed + offset`, this never makes one
    seed's test set another seed's train set (for seeds below 2**128).

    Raises:
        ConfigError: for an unknown split, or a bad count or seed.
    """
    stream = lookup(_SPLIT_STREAMS, split, "points split")
    seed = _checked_seed(seed)
    if stream is None:
        seed_sequence = np.random.SeedSequence(seed)
    else:
        seed_sequence = np.random.SeedSequence(seed, spawn_key=(stream,))
    return _draw(mixture, count, seed_sequence)


__all__ = ["MIXTURES", "Mixture", "SPLITS", "get_mixture", "points_split", "sample"]
