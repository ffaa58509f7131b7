"""Features of real images, computed once per dataset split and cached on disk.

The cache key holds everything the features depend on: dataset, split, image
shape, number of images and the feature extractor's identity (for Inception,
the sha256 of the graph file), so a changed graph or split never reuses stale
features. Files live in `<kgan cache>/reference_features/` (`$KGAN_CACHE_DIR`,
default `~/.cache/kgan`).
"""

import os
import zipfile

import numpy as np

from kgan import data
from kgan.config import DataConfig, cache_dir
from kgan.core.files import write_atomically
from kgan.core.messages import one_line
from kgan.errors import DataError


def cache_path(data_config: DataConfig, split: str, count: int, identity: str,
               cache_root: str | None = None) -> str:
    spec = data.get_dataset_spec(data_config.dataset)
    height, width, channels = spec.shape(data_config)
    key = (f"{data_config.dataset}_{split}_{height}x{width}x{channels}_{count}_"
           f"{identity.replace(':', '-')}")
    if spec.fingerprint:
        key += f"_{spec.fingerprint(data_config)}"
    return os.path.join(cache_root or cache_dir(), "reference_features", key + ".npz")


def real_images(data_config: DataConfig, split: str, count: int) -> np.ndarray:
    """The first `count` images of a split (its fixed order), uint8 `[count, h, w, c]`."""
    return data.split_arrays(data_config, split, count)[0]


def reference_features(data_config: DataConfig, split: str, count: int, extractor,
                       cache_root: str | None = None) -> np.ndarray:
    """Features of the first `count` real images of `split`, from the cache when present.

    Args:
        data_config: Which dataset (and where it is).
        split: The split, e.g. "test".
        count: Number of images.
        extractor: Callable images -> features, with an `identity` string.
        cache_root: Cache folder; default the kgan cache.
    """
    path = cache_path(data_config, split, count, extractor.identity, cache_root)
    if os.path.exists(path):
        # allow_pickle=False: the cache holds one float array, and unpickling could run code.
        try:
            with np.load(path, allow_pickle=False) as cached:
                features = cached["features"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(f"the cached reference features {path} are damaged "
                            f"({type(e).__name__}: {one_line(e)}); delete the file to compute "
                            "them again") from None
        if features.ndim != 2 or len(features) != count or features.dtype.kind != "f":
            raise DataError(f"the cached reference features {path} hold an array of shape "
                            f"{features.shape} ({features.dtype}), not {count} feature rows; "
                            "delete the file to compute them again")
        return features
    features = extractor(real_images(data_config, split, count),
                         label=f"{data_config.dataset} {split} reference features")
    write_atomically(path, lambda partial: np.savez(partial, features=features),
                     suffix=".partial.npz")
    return features
