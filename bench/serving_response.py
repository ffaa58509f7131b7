"""Bytes per image of a TF Serving REST response: uint8 `images` against PNG.

Runs an export's `generate_from_seed` and `generate_png_from_seed` signatures
(loaded with `tf.saved_model.load`, as a model server runs them) for
requests of several sizes, and encodes each response body the way TF
Serving's REST API does for the row format: `{"predictions": [...]}`, a
uint8 tensor as nested JSON integers, a `*_bytes` string output as
`{"b64": "..."}` per image. Both are written compactly (no spaces); TF
Serving's own output adds indentation whitespace, so the integer responses
it sends are larger still. No model server runs here: this machine has none.

    python bench/serving_response.py --export=exports/mnist/1 --batches=4,64
"""

import base64
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

flags.DEFINE_string("export", None, "A published export version folder.")
flags.DEFINE_list("batches", ["1", "4", "64"], "Request sizes (images).")
flags.mark_flag_as_required("export")
FLAGS = flags.FLAGS


def response_bytes(predictions) -> int:
    return len(json.dumps({"predictions": predictions}, separators=(",", ":")).encode())


def main(argv):
    import tensorflow as tf

    model = tf.saved_model.load(FLAGS.export)
    if "generate_png_from_seed" not in model.signatures:
        raise app.UsageError(f"{FLAGS.export} has no PNG signatures (exported before them, "
                             "or not uint8 images of 1 or 3 channels)")
    with open(os.path.join(FLAGS.export, "export.json")) as f:
        published = json.load(f)
    extra = {}
    if published["generator"]["labels"]:
        kind = published["generator"]["labels"]["kind"]
        count = len(published["generator"]["labels"]["names"])
    print(f"{FLAGS.export}: image shape {published['generator']['image_shape']}")
    print(f"{'images':>6} {'uint8 JSON':>12} {'per image':>10} {'PNG JSON':>10} "
          f"{'per image':>10} {'ratio':>6}")
    for batch in map(int, FLAGS.batches):
        seeds = tf.range(batch, dtype=tf.int64)
        if published["generator"]["labels"]:
            extra = {"labels": tf.zeros([batch], tf.int32) if kind == "class"
                     else tf.zeros([batch, count], tf.float32)}
        images = model.signatures["generate_from_seed"](seed=seeds, **extra)["images"].numpy()
        pngs = model.signatures["generate_png_from_seed"](seed=seeds, **extra)["png_bytes"]
        as_integers = response_bytes(images.tolist())
        as_png = response_bytes([{"b64": base64.b64encode(png).decode()}
                                 for png in pngs.numpy()])
        print(f"{batch:>6} {as_integers:>12,} {as_integers / batch:>10,.0f} {as_png:>10,} "
              f"{as_png / batch:>10,.0f} {as_integers / as_png:>6.1f}")


if __name__ == "__main__":
    app.run(main)
