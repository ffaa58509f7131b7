"""Settings of `kgan-metrics` (`python -m kgan.metrics`): two image sets, compared."""

import dataclasses
from dataclasses import field
from typing import Optional

from kgan.config.base import MAX_SAMPLES, SEEDS, _require, check_ranges
from kgan.config.evaluation import MIN_FID_SAMPLES

METRIC_NAMES = ("fid", "kid", "prc")


@dataclasses.dataclass(frozen=True)
class MetricsConfig:
    """Which two image sets to compare, with what.

    Attributes:
        input1: The set judged (e.g. generated images); any form
            `kgan.evaluation.compare` names: an image folder, a `.npz` of
            images or of cached features, a kgan run or export,
            `<dataset>:<split>`.
        input2: The reference set (e.g. `mnist:test`), in any of those forms.
        metrics: Any of `fid`, `kid`, `prc` (improved precision and recall:
            precision is the share of input1 inside input2's manifold).
        num_samples: Images per set: samples drawn from a generator (default
            10,000), else the first ones of a folder, file or split (default
            all). FID needs 2048 or more per set.
        seed: Seed of a generator's latents.
        data_dir: Where `<dataset>:<split>` (and a run's dataset) is read from.
        inception_path: The TTUR graph; default `$KGAN_INCEPTION_PATH`.
        save_stats1, save_stats2: Write each set's features and statistics
            to this `.npz`, to pass as an input later.
        prc_k: Neighbours of the precision/recall manifolds (the paper's 3).
        output: Also write the report here as JSON.
    """

    input1: Optional[str] = field(default=None, metadata={
        "help": "The set judged: image folder, .npz, kgan run or export, or dataset:split."})
    input2: Optional[str] = field(default=None, metadata={
        "help": "The reference set, in any of the same forms (e.g. mnist:test)."})
    metrics: tuple[str, ...] = field(default=METRIC_NAMES, metadata={
        "help": f"Metrics, from: {', '.join(METRIC_NAMES)} (prc: precision and recall)."})
    num_samples: Optional[int] = field(default=None, metadata={"range": (2, MAX_SAMPLES), "help": (
        "Images per set: samples of a generator (default 10000), else the first ones of a "
        "folder, file or split (default all).")})
    seed: int = field(default=0, metadata={
        "range": SEEDS, "help": "Seed of a generator's latents."})
    data_dir: Optional[str] = field(default=None, metadata={
        "help": "Data folder of dataset:split inputs (and of a run's dataset)."})
    inception_path: Optional[str] = field(default=None, metadata={"help": (
        "The TTUR FID graph inception-2015-12-05-pool3.pb; default $KGAN_INCEPTION_PATH.")})
    save_stats1: Optional[str] = field(default=None, metadata={
        "help": "Write input1's features and statistics to this .npz."})
    save_stats2: Optional[str] = field(default=None, metadata={
        "help": "Write input2's features and statistics to this .npz."})
    prc_k: int = field(default=3, metadata={
        "range": (1, 100), "help": "Neighbours defining the precision/recall manifolds."})
    output: Optional[str] = field(default=None, metadata={"help": "Also write the report "
                                                          "to this JSON file."})

    def __post_init__(self):
        check_ranges(self, "metrics")
        _require(bool(self.input1), "metrics.input1", self.input1, "is required")
        _require(bool(self.input2), "metrics.input2", self.input2, "is required")
        unknown = [m for m in self.metrics if m not in METRIC_NAMES]
        _require(bool(self.metrics) and not unknown, "metrics.metrics", ",".join(self.metrics),
                 f"must name one or more of {', '.join(METRIC_NAMES)}")
        if self.num_samples is not None:
            minimum = MIN_FID_SAMPLES if "fid" in self.metrics else max(2, self.prc_k + 1)
            _require(self.num_samples >= minimum, "metrics.num_samples", self.num_samples,
                     f"must be >= {minimum}")
        for name in ("save_stats1", "save_stats2"):
            path = getattr(self, name)
            _require(path is None or path.endswith(".npz"), f"metrics.{name}", path,
                     "must end in .npz")
