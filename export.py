"""Export a trained generator: `python export.py --workdir=runs/mnist --export_dir=exports`.

Writes `<export_dir>/<model_name>/<version>/`: a SavedModel for TF Serving
(signatures `serving_default`: z -> uint8 images, `generate_from_seed`:
int64 seeds -> uint8 images), TFLite files for on-device generation, and
`export.json`. Each export is a new integer version, verified before it is
published; existing versions are never overwritten.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.config import TFLITE_VARIANTS, ExportConfig

_DEFAULT = ExportConfig(workdir="")

flags.DEFINE_string("workdir", None, "Training run directory to export (holds config.json and "
                    "checkpoints/).")
flags.DEFINE_string("export_dir", _DEFAULT.export_dir, "Root folder of the exports.")
flags.DEFINE_string("model_name", None, "Model name (folder under --export_dir, TF Serving's "
                    "--model_name). Default: the workdir's base name.")
flags.DEFINE_integer("version", None, "Version number to write. Default: one above the highest "
                     "existing version. An existing version is an error, never overwritten.")
flags.DEFINE_string("checkpoint", None, "Checkpoint to export (a path like "
                    "runs/mnist/checkpoints/ckpt-5000). Default: the newest.")
flags.DEFINE_list("tflite", list(TFLITE_VARIANTS), "TFLite variants to write, comma-separated, "
                  f"from: {', '.join(TFLITE_VARIANTS)}. Empty for none.")
flags.DEFINE_integer("tflite_batch_size", _DEFAULT.tflite_batch_size,
                     "Fixed batch size of the TFLite models (1: one image per call, the fastest "
                     "on-device; see BUILD_NOTES.md), or 0 for a dynamic batch.")
flags.DEFINE_integer("calibration_samples", _DEFAULT.calibration_samples,
                     "Latent samples that calibrate full_int8 quantization (>= 100).")
flags.DEFINE_integer("max_batch_size", _DEFAULT.max_batch_size, "The most images one serving "
                     "request may ask for; larger requests get InvalidArgument.")
flags.DEFINE_integer("seed", _DEFAULT.seed, "Seed of the calibration and verification latents.")
flags.DEFINE_bool("verify", _DEFAULT.verify, "Verify the artifacts before publishing them: fresh-"
                  "process SavedModel load, saved_model_cli, LiteRT parity.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def export_from_flags():
    config = ExportConfig(
        workdir=FLAGS.workdir, export_dir=FLAGS.export_dir, model_name=FLAGS.model_name,
        version=FLAGS.version, checkpoint=FLAGS.checkpoint,
        tflite_variants=tuple(v for v in FLAGS.tflite if v),
        tflite_batch_size=FLAGS.tflite_batch_size,
        calibration_samples=FLAGS.calibration_samples, seed=FLAGS.seed, verify=FLAGS.verify,
        max_batch_size=FLAGS.max_batch_size)
    from kgan import export  # imports TensorFlow: after the flags are known to be valid

    summarize(export.export(config))


def main(argv):
    return cli.run("export.py", export_from_flags, argv,
                   interrupted="interrupted; nothing was published")


def summarize(result):
    metadata = result.metadata
    print(f"\n{result.path}")
    verification = metadata["verification"] or {}
    saved = verification.get("saved_model")
    if saved:
        print(f"  SavedModel: max difference to the Keras generator "
              f"{saved['serving_default']['max_abs_diff']} levels (z), "
              f"{saved['generate_from_seed']['max_abs_diff']} (seeds); "
              f"seeds repeat exactly: {saved['seed_repeats_exactly']}")
    for variant, entry in metadata["tflite"].items():
        check = verification.get("tflite", {}).get(variant)
        diff = (f"max {check['max_abs_diff']}, mean {check['mean_abs_diff']:.3f} levels vs "
                f"SavedModel") if check else "not verified"
        print(f"  {entry['file']:40s} {entry['bytes'] / 1e6:6.2f} MB  {diff}")
    serving = metadata["serving"]
    print(f"\nServe:   {serving['model_server_command']}\nRequest: {serving['request_command']}")


if __name__ == "__main__":
    app.run(main)
