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
from kgan.config import ExportConfig
from kgan.config import flags as config_flags

# Every ExportConfig field is a flag (tflite_variants is --tflite; see kgan.config.flags).
config_flags.define_flags(ExportConfig)
FLAGS = flags.FLAGS


def export_from_flags():
    config = config_flags.config_from_flags(ExportConfig, FLAGS)
    from kgan import export  # imports TensorFlow: after the flags are known to be valid

    summarize(export.export(config))


def main(argv):
    return cli.run(cli.program_name("export.py"), export_from_flags, argv,
                   interrupted="interrupted; nothing was published")


def _tflite_line(entry: dict, check: dict | None) -> str:
    diff = (f"max {check['max_abs_diff']}, mean {check['mean_abs_diff']:.3f} levels vs "
            f"SavedModel") if check else "not verified"
    fidelity = (check or {}).get("fidelity")
    if fidelity and fidelity["psnr_db"] is not None:
        diff += (f"; PSNR {fidelity['psnr_db']:.1f} dB, {fidelity['levels']} of "
                 f"{fidelity['reference_levels']} levels")
    return f"  {entry['file']:40s} {entry['bytes'] / 1e6:6.2f} MB  {diff}"


def summarize_translation(metadata: dict) -> None:
    """The summary of an image-to-image export: per direction, its signature,
    the SavedModel's and the Keras file's differences, and each TFLite model."""
    verification = metadata["verification"] or {}
    for direction in metadata["generator"]["directions"]:
        signature = direction["signature"]
        print(f"  {signature}: {direction['source']} -> {direction['target']}")
        saved = verification.get("saved_model", {}).get(signature)
        if saved:
            print(f"    SavedModel: max difference to the Keras network {saved['max_abs_diff']} "
                  f"levels; wrong sizes and channels refused: "
                  f"{saved['refuses_wrong_size'] and saved['refuses_wrong_channels']}")
        keras_file = metadata.get("keras_files", {}).get(signature)
        if keras_file:
            checked = verification.get("keras_files", {}).get(signature)
            print(f"  {keras_file['file']:40s} {keras_file['bytes'] / 1e6:6.2f} MB  "
                  + (f"loads in safe mode; max difference {checked['max_abs_diff']} levels"
                     if checked else "not verified"))
        for variant, entry in metadata["tflite"].get(signature, {}).items():
            print(_tflite_line(entry, verification.get("tflite", {}).get(signature, {})
                               .get(variant)))


def summarize(result):
    metadata = result.metadata
    print(f"\n{result.path}")
    if metadata["generator"].get("directions"):
        summarize_translation(metadata)
        serving = metadata["serving"]
        print(f"\nServe:   {serving['model_server_command']}\n"
              f"Request: {serving['request_command']}")
        return
    verification = metadata["verification"] or {}
    saved = verification.get("saved_model")
    if saved:
        print(f"  SavedModel: max difference to the Keras generator "
              f"{saved['serving_default']['max_abs_diff']} levels (z), "
              f"{saved['generate_from_seed']['max_abs_diff']} (seeds); "
              f"seeds repeat exactly: {saved['seed_repeats_exactly']}")
    classify = verification.get("classify")
    if classify:
        print(f"  classify: max difference to the Keras classifier {classify['max_abs_diff']:.1g} "
              f"in probability over {classify['images_checked']} images; refuses wrong sizes "
              f"and oversized batches: "
              f"{classify['refuses_wrong_image_size'] and classify['refuses_too_many_images']}")
    for variant, entry in metadata["tflite"].items():
        print(_tflite_line(entry, verification.get("tflite", {}).get(variant)))
    keras_file = metadata.get("keras_file")
    if keras_file:
        print(f"  {keras_file['file']:40s} {keras_file['bytes'] / 1e6:6.2f} MB  "
              + ("loads in safe mode; within 1 level of the SavedModel"
                 if verification.get("keras_file") else "not verified"))
    serving = metadata["serving"]
    print(f"\nServe:   {serving['model_server_command']}\nRequest: {serving['request_command']}")


def run():
    """The console script's entry point (`kgan-export`); the repository's
    `export.py` calls it too."""
    cli.adopt_key_flags(__name__)
    app.run(main)
