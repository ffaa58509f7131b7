"""Evaluate a generator: `python evaluate.py --workdir=runs/mnist` (or `--saved_model=exports/mnist/1`).

Prints FID and KID (TTUR Inception features) and, on MNIST, mode coverage,
confidence and a classifier Frechet distance; on Stacked MNIST the modes
covered of 1,000 and the mode histogram's KL from uniform (PacGAN's protocol:
`--num_samples=26000 --metrics=classifier`); on CelebA the attribute
classifier's attribute rates and, for an attribute-conditional run, its
agreement with the requested attributes. Writes them as JSON (default
`<workdir>/eval/step_<step>.json`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.config import EvalConfig
from kgan.config import flags as config_flags

# Every EvalConfig field is a flag (see kgan.config.flags).
config_flags.define_flags(EvalConfig)
FLAGS = flags.FLAGS


def evaluate_from_flags():
    config = config_flags.config_from_flags(EvalConfig, FLAGS)
    from kgan import evaluation  # imports TensorFlow: after the flags are known to be valid

    print_report(evaluation.evaluate(config))


def main(argv):
    return cli.run(cli.program_name("evaluate.py"), evaluate_from_flags, argv)


def per_class_text(values: dict, decimals: int) -> str:
    """`0:0.97 1:0.99 ...`; `-` for a class too rare in the samples to measure."""
    return " ".join(f"{name}:{'-' if value is None else format(value, f'.{decimals}f')}"
                    for name, value in values.items())


def translation_lines(report) -> list:
    lines = [f"\n{report['source']}, step {report['step']}: {report['split']} inputs"]
    for signature, d in report["directions"].items():
        lines.append(f"  {signature}: {d['source']} -> {d['target']} ({d['inputs']} inputs)")
        if "psnr_db" in d:
            c = d["colourfulness"]
            lines.append(f"    PSNR {d['psnr_db']:.2f} dB, SSIM {d['ssim']:.4f}, colourfulness "
                         f"{c['outputs']:.1f} (real faces {c['real']:.1f})")
        if "translation_success" in d:
            lines.append(f"    translation success {d['translation_success']:.3f} (inputs "
                         f"judged {d['source']}: {d['inputs_judged_source']:.3f}), other "
                         f"attributes kept {d['attribute_agreement']:.3f}")
        if "cycle_error_levels" in d:
            lines.append(f"    cycle error {d['cycle_error_levels']:.2f} levels "
                         f"({d['cycle_psnr_db']:.2f} dB)")
        if "change_levels" in d:
            lines.append(f"    mean change {d['change_levels']:.2f} levels per pixel")
        if "digit_classifier" in d:
            c = d["digit_classifier"]
            lines.append(f"    MNIST classifier: class kept {c['outputs']['accuracy']:.3f} "
                         f"(inputs {c['inputs']['accuracy']:.3f}), Frechet distance to "
                         f"{c['real_digits']} real digits {c['outputs']['frechet_distance']:.2f} "
                         f"(inputs {c['inputs']['frechet_distance']:.2f})")
        if "fid" in d:
            lines.append(f"    FID {d['fid']:.3f}, KID {d['kid']['mean']:.5f} +- "
                         f"{d['kid']['std']:.5f} against {d['real_images']} real images")
        if "inputs_realism" in d:
            r = d["inputs_realism"]
            lines.append(f"    inputs: FID {r['fid']:.3f}, KID {r['kid']['mean']:.5f}")
    return lines


def print_report(report):
    if "directions" in report:
        lines = translation_lines(report)
        lines += [f"  warning: {warning}" for warning in report.get("warnings", [])]
        lines.append(f"Report: {report['output']}")
        print("\n".join(lines))
        return
    lines = [f"\n{report['source']}, step {report['step']}: {report['num_samples']} samples"]
    if "modes" in report:
        m = report["modes"]
        kl = "undefined (no high-quality sample)" if m["reverse_kl"] is None else \
            f"{m['reverse_kl']:.4f}"
        lines.append(f"  {report['mixture']}: {m['modes_recovered']}/{m['num_modes']} modes "
                     f"recovered (>= {m['recovery_threshold']:g} high-quality samples each), "
                     f"high-quality share {m['high_quality_share']:.3f}, reverse KL {kl}")
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
    if "stacked_mnist" in report:
        m = report["stacked_mnist"]
        lines.append(f"  Stacked MNIST: {m['modes_covered']}/{m['num_modes']} modes covered "
                     f"(>= 1 sample; {m['modes_at_tenth_uniform']} with >= a tenth of the "
                     f"uniform share), KL from uniform {m['kl_from_uniform']:.4f}, "
                     f"all three digits confident {m['confident_share']:.3f}")
        if "label_agreement" in m:
            lines.append(f"  the digit triple read is the requested mode: "
                         f"{m['label_agreement']:.3f}")
    if "attribute_classifier" in report:
        a = report["attribute_classifier"]
        lines.append("  attribute rate, samples (reference faces): " + " ".join(
            f"{name}:{rate:.2f}({a['reference_rate'][name]:.2f})"
            for name, rate in a["sample_rate"].items()))
        if "agreement" in a:
            lines.append(
                f"  attribute classifier agrees with the requested attributes: "
                f"{a['mean_agreement']:.3f} ({per_class_text(a['agreement'], 2)}); on real "
                f"faces it is right {a['mean_heldout_accuracy']:.3f}, the majority answer "
                f"{a['mean_majority_accuracy']:.3f}")
    if "fid_per_class" in report:
        lines.append("  FID per class " + per_class_text(report["fid_per_class"], 1))
    if "classification" in report:
        c = report["classification"]
        lines.append(f"  the trained classifier (discriminator): {100 * c['error']:.2f}% "
                     f"{c['split']} error ({c['errors']} of {c['count']}; per class "
                     f"{per_class_text(c['per_class_error'], 3)})")
    for warning in report.get("warnings", []):
        lines.append(f"  warning: {warning}")
    lines.append(f"Report: {report['output']}")
    print("\n".join(lines))


def run():
    """The console script's entry point (`kgan-evaluate`); the repository's
    `evaluate.py` calls it too."""
    cli.adopt_key_flags(__name__)
    app.run(main)
