"""`kgan-metrics`: FID, KID and precision/recall between two image sets.

    kgan-metrics --input1=runs/mnist --input2=mnist:test --data_dir=DATA
    python -m kgan.metrics --input1=DIR_A --input2=DIR_B --metrics=fid,kid

Each input is an image folder, a `.npz` of images or of features saved with
`--save_stats1/2`, a kgan run or export (10,000 samples by default), or
`<dataset>:<split>` (`mnist:test`, `celeba:heldout`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

from kgan import cli
from kgan.config import flags as config_flags
from kgan.config.metrics import MetricsConfig

config_flags.define_flags(MetricsConfig)
FLAGS = flags.FLAGS


def report_lines(report: dict) -> list[str]:
    lines = [f"input1: {report['input1']}", f"input2: {report['input2']}"]
    if "fid" in report:
        lines.append(f"  FID        {report['fid']:.4f}")
    if "kid" in report:
        lines.append(f"  KID        {report['kid']['mean']:.6f} +- {report['kid']['std']:.6f}")
    if "precision_recall" in report:
        pr = report["precision_recall"]
        lines.append(f"  precision  {pr['precision']:.4f}  (input1 inside input2's manifold, "
                     f"k={pr['k']})")
        lines.append(f"  recall     {pr['recall']:.4f}  (input2 inside input1's manifold)")
    return lines


def _compare_from_flags():
    config = config_flags.config_from_flags(MetricsConfig, FLAGS)
    from kgan.evaluation import compare  # imports TensorFlow: after the flags are valid

    print("\n".join(report_lines(compare.run(config))))


def main(argv):
    return cli.run(cli.program_name("kgan-metrics"), _compare_from_flags, argv)


def run():
    """The console script's entry point."""
    cli.adopt_key_flags(__name__)
    app.run(main)
