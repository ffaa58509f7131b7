"""Settings of `evaluate.py`: what to evaluate and how."""

import dataclasses
from dataclasses import field
from typing import Optional

from kgan.config.base import MAX_SAMPLES, SEEDS, _require, check_ranges
from kgan.errors import ConfigError

EVAL_METRICS = ("fid", "kid", "classifier")
# FID's 2048x2048 feature covariance is rank deficient with fewer samples.
MIN_FID_SAMPLES = 2048


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how.

    Attributes:
        workdir: A training run (its newest checkpoint, or `checkpoint`).
        saved_model: An exported version folder (with `export.json`) instead.
        raw_weights: The generator's trained weights instead of their
            moving average (for runs that keep one).
        checkpoint: A checkpoint of `workdir` to evaluate.
        num_samples: Generated images; at least 2048 when FID is computed
            (FID's 2048x2048 covariance is rank deficient with fewer).
        reference_split: Real split the samples are compared with; default
            the dataset's held-out split (MNIST `test`, CelebA `heldout`).
        reference_samples: Real images from that split (its first ones);
            default all of it, at most 10,000. FID against fewer than 2048 is
            reported with a warning (a rank-deficient covariance biases it).
        metrics: Any of `EVAL_METRICS`: `fid` and `kid` on Inception
            features; `classifier`: on MNIST mode coverage, confidence and a
            Frechet distance on the kgan digit classifier's features; on
            CelebA the kgan attribute classifier's attribute rates and, for an
            attribute-conditional generator, its agreement with the
            requested attributes.
        classifier_data_dirs: CelebA folders the attribute classifier learns
            from (once; cached); default the run's data_dir.
        classifier_heldout_dir: CelebA folder whose held-out faces measure
            it; default the first of `classifier_data_dirs`.
        data_dir: Where the reference data is; default the run's data_dir.
        inception_path: The TTUR graph; default `$KGAN_INCEPTION_PATH`.
        seed: Seed of the generated samples' latents.
        output: JSON report path; default `<workdir>/eval/step_<step>.json`,
            or `eval/<model>_v<version>.json` for a SavedModel.
    """

    workdir: Optional[str] = field(default=None, metadata={
        "help": "Training run to evaluate (its newest checkpoint)."})
    saved_model: Optional[str] = field(default=None, metadata={
        "help": "An export version folder to evaluate instead."})
    checkpoint: Optional[str] = field(default=None, metadata={
        "help": "A specific checkpoint of --workdir."})
    raw_weights: bool = field(default=False, metadata={"help": (
        "Use the generator's trained weights, not their moving average (runs with "
        "--ema_half_life keep one; it is the default).")})
    num_samples: int = field(default=10_000, metadata={
        "range": (2, MAX_SAMPLES), "help": "Generated images (>= 2048 with FID)."})
    reference_split: Optional[str] = field(default=None, metadata={"help": (
        "Real split to compare with; default the dataset's held-out split (MNIST test, CelebA "
        "heldout).")})
    reference_samples: Optional[int] = field(default=None, metadata={
        "range": (2, MAX_SAMPLES), "help": (
        "Real images from that split; default all of it, at most 10,000 (features cached after "
        "the first run).")})
    metrics: tuple[str, ...] = field(default=EVAL_METRICS, metadata={
        "help": f"Metrics, from: {', '.join(EVAL_METRICS)}."})
    classifier_data_dirs: tuple[str, ...] = field(default=(), metadata={"help": (
        "CelebA folders the attribute classifier learns from (once, cached). Default: the "
        "run's data_dir.")})
    classifier_heldout_dir: Optional[str] = field(default=None, metadata={"help": (
        "CelebA folder whose held-out faces measure the attribute classifier. Default: the "
        "first of --classifier_data_dirs.")})
    data_dir: Optional[str] = field(default=None, metadata={
        "help": "Reference data folder; default the run's data_dir."})
    inception_path: Optional[str] = field(default=None, metadata={"help": (
        "The TTUR FID graph inception-2015-12-05-pool3.pb; default $KGAN_INCEPTION_PATH.")})
    seed: int = field(default=0, metadata={
        "range": SEEDS, "help": "Seed of the generated samples."})
    output: Optional[str] = field(default=None, metadata={"help": "JSON report path."})

    def __post_init__(self):
        check_ranges(self, "eval")
        if (self.workdir is None) == (self.saved_model is None):
            raise ConfigError(f"evaluate exactly one of a workdir and a saved_model (got "
                              f"workdir={self.workdir!r}, saved_model={self.saved_model!r})")
        unknown = [m for m in self.metrics if m not in EVAL_METRICS]
        _require(bool(self.metrics) and not unknown, "eval.metrics", ",".join(self.metrics),
                 f"must name one or more of {', '.join(EVAL_METRICS)}")
        if "fid" in self.metrics:
            _require(self.num_samples >= MIN_FID_SAMPLES, "eval.num_samples", self.num_samples,
                     f"must be >= {MIN_FID_SAMPLES} for FID (the covariance of 2048-d features "
                     "is rank deficient with fewer)")
