"""Evaluate a generator: `python evaluate.py --workdir=runs/mnist` (or `--saved_model=exports/mnist/1`).

Prints FID and KID (TTUR Inception features) and, on MNIST, mode coverage,
confidence and a classifier Frechet distance; writes them as JSON (default
`<workdir>/eval/step_<step>.json`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.config import EVAL_METRICS, EvalConfig

_DEFAULT = EvalConfig(workdir="")

flags.DEFINE_string("workdir", None, "Training run to evaluate (its newest checkpoint).")
flags.DEFINE_string("saved_model", None, "An export version folder to evaluate instead.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint of --workdir.")
flags.DEFINE_integer("num_samples", _DEFAULT.num_samples,
                     "Generated images (>= 2048 with FID).")
flags.DEFINE_string("reference_split", None, "Real split to compare with; default the "
                    "dataset's held-out split (MNIST test, CelebA heldout).")
flags.DEFINE_integer("reference_samples", None,
                     "Real images from that split; default all of it, at most 10,000 (features "
                     "cached after the first run).")
flags.DEFINE_list("metrics", list(EVAL_METRICS), f"Metrics, from: {', '.join(EVAL_METRICS)}.")
flags.DEFINE_string("data_dir", None, "Reference data folder; default the run's data_dir.")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph inception-2015-12-05-pool3.pb; "
                    "default $KGAN_INCEPTION_PATH.")
flags.DEFINE_integer("seed", _DEFAULT.seed, "Seed of the generated samples.")
flags.DEFINE_string("output", None, "JSON report path.")
FLAGS = flags.FLAGS


def evaluate_from_flags():
    config = EvalConfig(
        workdir=FLAGS.workdir, saved_model=FLAGS.saved_model, checkpoint=FLAGS.checkpoint,
        num_samples=FLAGS.num_samples, reference_split=FLAGS.reference_split,
        reference_samples=FLAGS.reference_samples, metrics=tuple(FLAGS.metrics),
        data_dir=FLAGS.data_dir, inception_path=FLAGS.inception_path, seed=FLAGS.seed,
        output=FLAGS.output)
    from kgan import evaluation  # imports TensorFlow: after the flags are known to be valid

    print_report(evaluation.evaluate(config))


def main(argv):
    return cli.run("evaluate.py", evaluate_from_flags, argv)


def per_class_text(values: dict, decimals: int) -> str:
    """`0:0.97 1:0.99 ...`; `-` for a class too rare in the samples to measure."""
    return " ".join(f"{name}:{'-' if value is None else format(value, f'.{decimals}f')}"
                    for name, value in values.items())


def print_report(report):
    lines = [f"\n{report['source']}, step {report['step']}: {report['num_samples']} samples"]
    if "fid" in report:
        lines.append(f"  FID  {report['fid']:.3f}")
    if "kid" in report:
        lines.append(f"  KID  {report['kid']['mean']:.5f} +- {report['kid']['std']:.5f}")
    if "inception_images_per_second" in report:
        lines.append(f"  Inception features: {report['inception_images_per_second']:.1f} images/s")
    if "classifier" in report:
        c = report["classifier"]
        lines.append(f"  classes covered {c['classes_covered']}/{c['num_classes']}, "
                     f"KL from uniform {c['kl_from_uniform']:.4f}, "
                     f"mean confidence {c['mean_confidence']:.3f}, "
                     f"classifier Frechet distance {c['frechet_distance']:.3f}")
        lines.append(f"  class histogram {c['histogram']}")
        if "label_agreement" in c:
            lines.append(f"  classifier agrees with the requested label: "
                         f"{c['label_agreement']:.3f} "
                         f"({per_class_text(c['label_agreement_per_class'], 2)})")
    if "fid_per_class" in report:
        lines.append("  FID per class " + per_class_text(report["fid_per_class"], 1))
    for warning in report.get("warnings", []):
        lines.append(f"  warning: {warning}")
    lines.append(f"Report: {report['output']}")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
