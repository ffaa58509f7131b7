"""Latency, throughput, size and fidelity of an exported generator's artifacts.

Uses only the published files (as a deployment would): the SavedModel through
`tf.saved_model.load` and each `.tflite` through the LiteRT interpreter, with 1
and 2 threads. Prints, per artifact: file size, batch-1 latency (median ms per
call), batch-64 throughput (samples/s, median over calls) and the max/mean
difference to the float SavedModel on the same latents, in the export's unit
(uint8 levels for images, coordinate units for points).

    python bench/export_latency.py --export=exports/mnist/1
"""

import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from absl import app, flags
from ai_edge_litert.interpreter import Interpreter

flags.DEFINE_string("export", None, "A published export version folder (holds export.json).")
flags.DEFINE_integer("calls", 50, "Timed calls per measurement (after warm-up).")
flags.DEFINE_integer("fidelity_samples", 256, "Latents compared with the float SavedModel.")
flags.mark_flag_as_required("export")
FLAGS = flags.FLAGS


def median_seconds(fn, calls):
    fn()
    fn()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def tflite_runner(path, threads, key):
    """Calls a `.tflite` serving signature on any batch (fixed-batch models in chunks)."""
    runner = Interpreter(model_path=path, num_threads=threads).get_signature_runner(
        "serving_default")
    fixed = int(runner.get_input_details()["z"]["shape_signature"][0])
    if fixed == -1:
        return lambda z: runner(z=z)[key]
    return lambda z: np.concatenate([runner(z=z[i:i + fixed])[key]
                                     for i in range(0, len(z), fixed)])


def row(name, size_bytes, latency, throughput, difference):
    diff = f"{difference.max():9.4g} {difference.mean():9.4g}" if difference is not None else \
        "   reference"
    return (f"{name:34s} {size_bytes / 1e6:7.2f} {latency * 1e3:9.3f} {throughput:12.0f}   {diff}")


def main(argv):
    metadata = json.load(open(os.path.join(FLAGS.export, "export.json")))
    generator = metadata["generator"]
    latent_dim = generator["latent_dim"]
    # Exports written before tasks describe no output: theirs are uint8 images.
    key = generator.get("output", {}).get("key", "images")
    unit = generator.get("unit", "uint8 pixel levels (0..255)")
    shape = generator.get("image_shape") or generator["output"]["shape"][1:]
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, latent_dim)).astype(np.float32)
    batch = rng.standard_normal((64, latent_dim)).astype(np.float32)
    fidelity = rng.standard_normal((FLAGS.fidelity_samples, latent_dim)).astype(np.float32)
    print(f"{FLAGS.export}: {metadata['model_name']} v{metadata['version']}, "
          f"task {metadata.get('task', 'gan')}, {generator['architecture']}, latent "
          f"{latent_dim}, {key} {shape}; TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPU cores")
    print(f"{'artifact':34s} {'MB':>7s} {'b1 ms':>9s} {'b64 /s':>12s}   max/mean diff ({unit})")

    model = tf.saved_model.load(FLAGS.export)
    serve = model.signatures["serving_default"]
    seeded = model.signatures["generate_from_seed"]
    saved_bytes = sum(os.path.getsize(os.path.join(root, f))
                      for root, _, files in os.walk(FLAGS.export) if "tflite" not in root
                      for f in files if f.endswith(("saved_model.pb", ".index")) or
                      "variables.data" in f)
    # int64 for uint8 levels, float64 for float outputs: differences without wrap-around.
    difference_type = np.int64 if generator.get("dtype", "uint8") == "uint8" else np.float64
    reference = serve(z=tf.constant(fidelity))[key].numpy().astype(difference_type)
    one_t, batch_t = tf.constant(one), tf.constant(batch)
    print(row("SavedModel serving_default", saved_bytes,
              median_seconds(lambda: serve(z=one_t)[key].numpy(), FLAGS.calls),
              64 / median_seconds(lambda: serve(z=batch_t)[key].numpy(), FLAGS.calls),
              None))
    seeds_one, seeds_batch = tf.constant([1], tf.int64), tf.range(64, dtype=tf.int64)
    print(row("SavedModel generate_from_seed", saved_bytes,
              median_seconds(lambda: seeded(seed=seeds_one)[key].numpy(), FLAGS.calls),
              64 / median_seconds(lambda: seeded(seed=seeds_batch)[key].numpy(),
                                  FLAGS.calls), None))

    for variant, entry in metadata["tflite"].items():
        path = os.path.join(FLAGS.export, entry["file"])
        batch_note = f", batch {entry['batch_size']}" if entry.get("batch_size") else ""
        for threads in (1, 2):
            # One interpreter per input shape, so timed calls never resize tensors.
            single, multi, checker = (tflite_runner(path, threads, key) for _ in range(3))
            difference = np.abs(checker(fidelity).astype(difference_type) - reference)
            print(row(f"TFLite {variant} ({threads}T{batch_note})", entry["bytes"],
                      median_seconds(lambda: single(one), FLAGS.calls),
                      64 / median_seconds(lambda: multi(batch), FLAGS.calls), difference))


if __name__ == "__main__":
    app.run(main)
