"""FID, KID and improved precision and recall between any two sets of images.

What `kgan-metrics` (`python -m kgan.metrics`) computes, torch-fidelity's
`fidelity --input1 --input2` for kgan's world. A set is named by one string
(`image_set`):

* `mnist:test`, `celeba:heldout`, ...: the real images of a dataset split
  (`<dataset>:<split>`, read from `data_dir`);
* a folder of JPEG/PNG images, searched recursively, all of one size;
* a `.npz` file holding `images` (uint8 `[n, h, w, c]`), or the cache this
  module writes (`features`, and the Gaussian statistics FID needs);
* a kgan training run or export: `count` samples of its generator, drawn from
  `seed` (a conditional generator under balanced classes, or the split's real
  attribute vectors, as `evaluate.py` samples it).

Features are the TTUR Inception network's pool_3 (2,048 values), the same
`kgan.evaluation` uses, so the figures equal `evaluate.py`'s on the same
images. A cache holding only statistics serves FID alone.
"""

import dataclasses
import os

import numpy as np

from kgan.config.evaluation import MIN_FID_SAMPLES
from kgan.core.messages import one_line
from kgan.errors import ConfigError, DataError
from kgan.evaluation import distances

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
METRICS = ("fid", "kid", "prc")


@dataclasses.dataclass(frozen=True)
class FeatureSet:
    """One image set, reduced to what the metrics need.

    Attributes:
        description: What it is, for reports.
        count: Images it summarizes.
        stats: Mean and covariance of its features (FID).
        features: `[count, 2048]`, or None when only statistics were cached.
        identity: The feature extractor's identity (`inception:<sha256>`).
    """

    description: str
    count: int
    stats: distances.GaussianStats
    features: np.ndarray | None
    identity: str


def _dataset_split(name: str):
    """(dataset, split) for `<dataset>:<split>` naming a kgan image dataset, else None."""
    from kgan import data

    if os.path.exists(name) or name.count(":") != 1:
        return None
    dataset, split = name.split(":")
    if dataset not in data.DATASETS:
        return None
    return dataset, split


def folder_images(folder: str, count: int | None = None) -> np.ndarray:
    """The JPEG/PNG images under `folder` (recursively, in sorted path order;
    the first `count` if given) as uint8 `[n, h, w, c]`.

    Raises:
        DataError: for a folder without images, an unreadable image (named),
            or images of different sizes (the first that differs named).
    """
    from PIL import Image, UnidentifiedImageError

    paths = sorted(os.path.join(root, name) for root, _, names in os.walk(folder)
                   for name in names if name.lower().endswith(IMAGE_SUFFIXES))
    if not paths:
        raise DataError(f"{folder!r} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    paths = paths[:count] if count else paths
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                pixels = np.asarray(image.convert("L" if image.mode in ("1", "L") else "RGB"))
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as e:
            raise DataError(f"cannot read the image {path!r}: {one_line(e)}") from None
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if images and pixels.shape[:2] != images[0].shape[:2]:
            raise DataError(f"{path!r} is {pixels.shape[1]}x{pixels.shape[0]}, but "
                            f"{paths[0]!r} is {images[0].shape[1]}x{images[0].shape[0]}: "
                            "the images of a set must have one size")
        images.append(pixels)
    if len({image.shape[-1] for image in images}) > 1:  # grayscale among colour: as colour
        images = [np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
                  for image in images]
    return np.stack(images)


def _npz_contents(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {path!r} as .npz: {one_line(e)}") from None


def _checked_images(images: np.ndarray, what: str) -> np.ndarray:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{what} must hold uint8 images [n, height, width, 1 or 3], got "
                        f"{images.dtype} {images.shape}")
    if len(images) < 2:
        raise DataError(f"{what} holds {len(images)} image(s); the metrics need at least 2")
    return images


def _from_cache(path: str, contents: dict, identity: str, count: int | None) -> FeatureSet:
    cached_identity = str(contents.get("identity", ""))
    if cached_identity != identity:
        raise DataError(f"{path!r} holds features of {cached_identity or 'an unnamed network'}"
                        f", not of {identity}; compute them again with this Inception graph")
    features = contents.get("features")
    if features is not None:
        features = features[:count] if count else features
        return FeatureSet(f"{path} ({len(features)} cached features)", len(features),
                          distances.gaussian_stats(features), features, identity)
    if count:
        raise ConfigError(f"{path!r} holds statistics only; a sample count cannot apply to it")
    stats = distances.GaussianStats(contents["mean"], contents["covariance"],
                                    int(contents["count"]))
    return FeatureSet(f"{path} (statistics of {stats.count} images)", stats.count, stats,
                      None, identity)


def _generator_images(path: str, count: int, seed: int, data_dir: str | None,
                      log) -> tuple[np.ndarray, str]:
    from kgan.evaluation import sample_labels, sampling

    source = sampling.load(path)
    if source.spec is not None and source.spec.kind != "image":
        raise ConfigError(f"{path!r} generates {source.spec.kind}, not images")
    run_data = source.run_config.data
    if data_dir:
        run_data = dataclasses.replace(run_data, data_dir=data_dir)
    from kgan import tasks

    split = tasks.task_of(source.run_config).evaluation_split(source.run_config)
    labels = sample_labels(source.run_config.model, run_data, split, count)
    log(f"sampling {count} images from {source.description}")
    return sampling.sample(source, count, seed, labels), (
        f"{source.description}, step {source.step}: {count} samples, seed {seed}")


def image_set(name: str, extractor, count: int | None = None, seed: int = 0,
              data_dir: str | None = None, log=print) -> FeatureSet:
    """The features of the image set `name` (see the module docstring).

    Args:
        name: The set.
        extractor: Images -> features, with an `identity` (`InceptionFeatures`).
        count: Images to use: the first `count` of a folder, file or split;
            the samples drawn from a generator (default 10,000); None for all.
        seed: The generator's latents.
        data_dir: Where a dataset split (or a run's dataset) is read from.
        log: Progress output.

    Raises:
        DataError, ConfigError, RunError: one line, naming `name`.
    """
    from kgan.config import DataConfig
    from kgan.evaluation import reference

    if count is not None and count < 2:
        raise ConfigError(f"the metrics need at least 2 images per set, got count {count}")
    dataset_split = _dataset_split(name)
    if dataset_split:
        dataset, split = dataset_split
        data_config = DataConfig(dataset=dataset, data_dir=data_dir)
        features = reference.reference_features(
            data_config, split, count or _split_size(data_config, split), extractor)
        return FeatureSet(f"{dataset} {split} ({len(features)} real images)", len(features),
                          distances.gaussian_stats(features), features, extractor.identity)
    if name.endswith(".npz") and os.path.isfile(name):
        contents = _npz_contents(name)
        if "images" not in contents:
            if "features" not in contents and "mean" not in contents:
                raise DataError(f"{name!r} holds {sorted(contents) or 'nothing'}: neither "
                                "`images` nor kgan-metrics features or statistics")
            return _from_cache(name, contents, extractor.identity, count)
        images = _checked_images(contents["images"][:count] if count else contents["images"],
                                 name)
        description = f"{name} ({len(images)} images)"
    elif os.path.isdir(name) and _is_generator(name):
        images, description = _generator_images(name, count or 10_000, seed, data_dir, log)
    elif os.path.isdir(name):
        images = _checked_images(folder_images(name, count), name)
        description = f"{name} ({len(images)} images)"
    else:
        raise DataError(f"{name!r} is not an image folder, a .npz file, a kgan run or export, "
                        "or <dataset>:<split> (e.g. mnist:test, celeba:heldout)")
    features = extractor(images, label=f"Inception features of {name}")
    return FeatureSet(description, len(features), distances.gaussian_stats(features), features,
                      extractor.identity)


def _split_size(data_config, split: str) -> int:
    from kgan import data

    return data.load(data_config, split).num_examples


def _is_generator(path: str) -> bool:
    from kgan import checkpoints
    from kgan.evaluation.sampling import EXPORT_FILE

    if os.path.exists(checkpoints.config_path(path)) or os.path.exists(
            os.path.join(path, EXPORT_FILE)):
        return True
    return any(name.isdigit() and os.path.exists(os.path.join(path, name, EXPORT_FILE))
               for name in os.listdir(path))


def save(feature_set: FeatureSet, path: str) -> None:
    """Writes the set's features (if any) and statistics to `path` (.npz),
    atomically; `image_set(path)` reads them back."""
    from kgan.core.files import write_atomically

    arrays = {"mean": feature_set.stats.mean, "covariance": feature_set.stats.covariance,
              "count": np.array(feature_set.stats.count), "identity": np.array(
                  feature_set.identity)}
    if feature_set.features is not None:
        arrays["features"] = feature_set.features
    write_atomically(path, lambda partial: np.savez(partial, **arrays), suffix=".partial.npz")


def compare(judged: FeatureSet, reference_set: FeatureSet, metrics=METRICS,
            kid_subsets: int = 100, kid_subset_size: int = 1000, k: int = 3) -> dict:
    """The requested `metrics` (`fid`, `kid`, `prc`) of `judged` against
    `reference_set`, as a JSON-safe dict.

    Raises:
        ConfigError: for an unknown metric, or KID/precision-recall asked of
            a set cached as statistics only.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    if judged.identity != reference_set.identity:
        raise ConfigError(f"the sets' features come from different networks: "
                          f"{judged.identity} and {reference_set.identity}")
    report = {"input1": judged.description, "input2": reference_set.description}
    if "fid" in metrics:
        report["fid"] = distances.frechet_distance(judged.stats, reference_set.stats)
    needs_features = [m for m in metrics if m in ("kid", "prc")]
    if needs_features:
        for feature_set in (judged, reference_set):
            if feature_set.features is None:
                raise ConfigError(f"{feature_set.description} holds statistics only: "
                                  f"{', '.join(needs_features)} need features")
    if "kid" in metrics:
        kid = distances.kernel_distance(judged.features, reference_set.features,
                                        kid_subsets, kid_subset_size)
        report["kid"] = dataclasses.asdict(kid)
    if "prc" in metrics:
        report["precision_recall"] = dataclasses.asdict(
            distances.precision_recall(judged.features, reference_set.features, k))
    return report


def run(config, log=print) -> dict:
    """Compares `config.input1` with `config.input2` (a
    `kgan.config.metrics.MetricsConfig`): both sets' features, the requested
    metrics, the optional statistics files and JSON report. Returns the report."""
    from kgan.core.files import write_json_atomically
    from kgan.evaluation.inception import InceptionFeatures

    extractor = InceptionFeatures(config.inception_path)
    sets = []
    for name, stats_path in ((config.input1, config.save_stats1),
                             (config.input2, config.save_stats2)):
        feature_set = image_set(name, extractor, config.num_samples, config.seed,
                                config.data_dir, log)
        if stats_path:
            save(feature_set, stats_path)
            log(f"wrote the features and statistics of {name} to {stats_path}")
        sets.append(feature_set)
    if "fid" in config.metrics:
        small = [s for s in sets if s.count < MIN_FID_SAMPLES]
        if small:
            log(f"warning: FID of {small[0].description} is biased: fewer than "
                f"{MIN_FID_SAMPLES} images leave the 2048-d covariance rank deficient")
    report = compare(*sets, metrics=config.metrics, k=config.prc_k)
    report["identity"] = extractor.identity
    if config.output:
        write_json_atomically(config.output, report, indent=2)
    return report

__all__ = ["FeatureSet", "METRICS", "compare", "folder_images", "image_set", "run", "save"]
