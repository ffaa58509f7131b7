"""Memory and latency of an exported generator's SavedModel signatures under large requests.

Each memory measurement runs in a fresh process: load the SavedModel, warm up
with one image, read the resident memory, send one request of `n` images and
read the peak resident memory (`ru_maxrss`). It prints the outcome (the
images' shape, or the error's first line), the time, the memory before and
the peak. Latency is the median of `--calls` calls per export, all exports
loaded in one process and called in turn (before/after comparisons share
the machine's load alike).

    # published exports (made by export.py, any kgan version), compared
    python bench/serving_limits.py --export=exports/mnist/1 --export=exports/mnist/2
    # a run's generator, exported here with other request limits
    python bench/serving_limits.py --workdir=runs/mnist --max_batch_size=100000

`--limit_gb` caps each child's address space, so a request that would take
the machine's memory fails in its own process instead.
"""

import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

flags.DEFINE_multi_string("export", [], "Published export version folders to measure.")
flags.DEFINE_string("workdir", None, "A training run whose generator is exported (to a "
                    "temporary folder) with --max_batch_size and --chunk_size and measured.")
flags.DEFINE_integer("max_batch_size", None, "Request cap of the --workdir export "
                     "(default: kgan's).")
flags.DEFINE_integer("chunk_size", None, "Chunk size of the --workdir export (default: kgan's).")
flags.DEFINE_list("signatures", ["serving_default", "generate_from_seed"], "Signatures to call.")
flags.DEFINE_list("batches", ["1", "256", "10000", "100000"], "Request sizes for the memory "
                  "measurement, each in a fresh process.")
flags.DEFINE_list("latency_batches", ["1", "256"], "Request sizes for the latency measurement.")
flags.DEFINE_integer("calls", 30, "Timed calls per latency figure (after 3 warm-up calls).")
flags.DEFINE_float("limit_gb", None, "Address-space limit of each child process, in GB.")
FLAGS = flags.FLAGS

# Latency: every export in one process, their calls interleaved, so that
# other load on the machine falls on all of them alike.
_LATENCY = r"""
import json, statistics, sys, time
import numpy as np
import tensorflow as tf

signature, batch, calls, paths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
fns = [tf.saved_model.load(path).signatures[signature] for path in paths]

def inputs(fn, n):
    specs = fn.structured_input_signature[1]
    rng = np.random.default_rng(0)
    values = {}
    if "z" in specs:
        values["z"] = tf.constant(rng.standard_normal((n, specs["z"].shape[1])).astype(np.float32))
    else:
        values["seed"] = tf.range(n, dtype=tf.int64)
    if "labels" in specs:
        spec = specs["labels"]
        values["labels"] = (tf.range(n, dtype=tf.int32) % 10 if spec.shape.rank == 1
                            else tf.zeros([n, spec.shape[1]]))
    return values

requests = [inputs(fn, batch) for fn in fns]
for fn, request in zip(fns, requests):
    for _ in range(3):
        fn(**request)
times = [[] for _ in fns]
for _ in range(calls):
    for fn, request, spent in zip(fns, requests, times):
        began = time.perf_counter()
        next(iter(fn(**request).values())).numpy()  # the one output: images, points
        spent.append(time.perf_counter() - began)
print(json.dumps([statistics.median(t) * 1e3 for t in times]))
"""

# Memory: one request in a fresh process.
_MEMORY = r"""
import json, resource, sys, time
import numpy as np
import tensorflow as tf

path, signature, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
fn = tf.saved_model.load(path).signatures[signature]
specs = fn.structured_input_signature[1]

def inputs(n):
    rng = np.random.default_rng(0)
    values = {}
    if "z" in specs:
        values["z"] = tf.constant(rng.standard_normal((n, specs["z"].shape[1])).astype(np.float32))
    else:
        values["seed"] = tf.range(n, dtype=tf.int64)
    if "labels" in specs:
        spec = specs["labels"]
        values["labels"] = (tf.range(n, dtype=tf.int32) % 10 if spec.shape.rank == 1
                            else tf.zeros([n, spec.shape[1]]))
    return values

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

fn(**inputs(1))
request = inputs(batch)
before = rss_mb()
began = time.perf_counter()
try:
    key, output = next(iter(fn(**request).items()))  # the one output: images, points
    outcome = key + " " + "x".join(str(d) for d in output.shape)
except tf.errors.OpError as e:
    lines = [l for l in str(e).splitlines() if l.strip() and "stack trace" not in l
             and not l.startswith(("Graph execution", "Detected at"))]
    outcome = type(e).__name__ + ": " + (lines[0] if lines else "")
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"outcome": outcome[:110], "seconds": seconds, "before_mb": before,
                  "peak_mb": peak}))
"""


def child(script, *args):
    def limit():
        if FLAGS.limit_gb:
            import resource
            size = int(FLAGS.limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    result = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True,
                            text=True, preexec_fn=limit)
    if result.returncode != 0:
        lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
        return {"outcome": f"process died (exit {result.returncode}): "
                           f"{lines[-1][:80] if lines else ''}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def export_workdir(workdir, folder) -> str:
    import keras

    from kgan import checkpoints
    from kgan.export import signatures

    loaded = checkpoints.load_task(workdir)
    limits = {}
    if FLAGS.max_batch_size:
        limits["max_batch_size"] = FLAGS.max_batch_size
    if FLAGS.chunk_size:
        limits["chunk_size"] = FLAGS.chunk_size
    archive = keras.export.ExportArchive()
    archive.track(loaded.generator)
    for name, endpoint in signatures.endpoints(loaded.generator, loaded.spec,
                                               **limits).items():
        archive.add_endpoint(name, endpoint.fn, input_signature=endpoint.input_signature)
    path = os.path.join(folder, "1")
    archive.write_out(path, verbose=False)
    return path


def main(argv):
    logging.set_verbosity(logging.WARNING)  # SavedModel writing logs each renamed input
    with tempfile.TemporaryDirectory(prefix="kgan-serving-limits-") as scratch:
        targets = [(path, path) for path in FLAGS.export]
        if FLAGS.workdir:
            label = (f"{FLAGS.workdir} (cap {FLAGS.max_batch_size or 'default'}, chunk "
                     f"{FLAGS.chunk_size or 'default'})")
            targets.append((label, export_workdir(FLAGS.workdir, scratch)))
        print(f"{os.cpu_count()} CPU cores; address-space limit per child: "
              f"{FLAGS.limit_gb or 'none'} GB")
        for signature in FLAGS.signatures:
            print(f"\n{signature}: median ms per call over {FLAGS.calls} interleaved calls")
            for batch in FLAGS.latency_batches:
                medians = child(_LATENCY, signature, batch, FLAGS.calls, *(p for _, p in targets))
                for (label, _), median in zip(targets, medians):
                    print(f"  batch {int(batch):6d}  {median:8.2f} ms  {label}")
        for label, path in targets:
            for signature in FLAGS.signatures:
                print(f"\n{label} {signature}: one request per fresh process")
                print(f"  {'batch':>8s} {'seconds':>8s} {'RSS before MB':>14s} {'peak RSS MB':>12s}"
                      f"  outcome")
                for batch in FLAGS.batches:
                    r = child(_MEMORY, path, signature, batch)
                    if "seconds" in r:
                        print(f"  {int(batch):8d} {r['seconds']:8.2f} {r['before_mb']:14.0f} "
                              f"{r['peak_mb']:12.0f}  {r['outcome']}")
                    else:
                        print(f"  {int(batch):8d} {'':8s} {'':14s} {'':12s}  {r['outcome']}")


if __name__ == "__main__":
    app.run(main)
