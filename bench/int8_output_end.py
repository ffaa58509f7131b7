"""Where a full_int8 image generator's int8 graph should end: grey levels and PSNR.

Converts one export's generator to full-int8 TFLite (uint8 output on the
tanh's fixed 1/128 grid) with several graph ends, through the export's own
converter (`kgan.export.tflite.convert`), and compares each with the
SavedModel's images on the same latents: the plain tanh end, and tanh of
the pre-tanh activation clipped to [-c, c] for clips c, which gives the int8
tanh input a finer step at the cost of saturating beyond c. Reported per
end: grey levels used, PSNR, mean absolute difference, and the share of
black (0) pixels against the SavedModel's.

    python bench/int8_output_end.py --export=exports/mnist/1 --clips=3,3.5,4
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_string("export", None, "A published export version folder (holds export.json).")
flags.DEFINE_list("clips", ["3", "3.5", "4"], "Clip values c of the pre-tanh activation.")
flags.DEFINE_integer("samples", 256, "Latents compared.")
flags.DEFINE_integer("calibration_samples", 500, "Calibration latents.")
flags.mark_flag_as_required("export")
FLAGS = flags.FLAGS


def main(argv):
    import tempfile

    import tensorflow as tf

    from kgan.config import Config
    from kgan.export import fresh_network, tflite
    from kgan.export.verify import image_fidelity
    from kgan.latent import Purpose, standard_normal
    from kgan.tasks import task_of

    with open(os.path.join(FLAGS.export, "export.json")) as f:
        published = json.load(f)
    config = Config.from_dict(published["source"]["config"])
    spec = task_of(config).build(config).serving_spec()
    z = standard_normal(0, Purpose.EVALUATION, FLAGS.samples, spec.latent_dim)
    serve = tf.saved_model.load(FLAGS.export).signatures["serving_default"]
    reference = serve(z=tf.constant(z))["images"].numpy()
    print(f"{FLAGS.export}: {FLAGS.samples} latents; SavedModel images use "
          f"{np.unique(reference).size} levels, {np.mean(reference == 0):.1%} black")
    ends = [("tanh end", None)] + [(f"tanh(clip(a, -{c}, {c}))", float(c)) for c in FLAGS.clips]
    with tempfile.TemporaryDirectory() as scratch:
        for name, clip in ends:
            path = os.path.join(scratch, "model.tflite")
            with open(path, "wb") as f:
                f.write(tflite.convert(FLAGS.export, "full_int8", fresh_network(config, spec),
                                       spec, FLAGS.calibration_samples, 0, batch_size=1,
                                       int8_tanh_clip=clip))
            images = tflite.generate(path, z)
            fidelity = image_fidelity(images, reference)
            diff = np.mean(np.abs(images.astype(float) - reference))
            print(f"{name:26s} levels {fidelity['levels']:3d}, PSNR {fidelity['psnr_db']:5.1f} dB, "
                  f"mean |diff| {diff:.2f} levels, black {np.mean(images == 0):.1%}", flush=True)


if __name__ == "__main__":
    app.run(main)
