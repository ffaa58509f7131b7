"""Throughput of the CelebA data pipeline on this machine, one figure per line.

1. Cold load: decode a split's JPEGs (crop, resize to 64x64) into a fresh,
   temporary kgan cache; images/s over the whole `load` call, including
   reading the list files and hashing the file stats for the cache key.
2. Cached load: the same `load` again, now a cache hit.
3. `kgan.data.training_batches` over the cached split: shuffled float32
   batches in [-1, 1], as training reads them (after the first batch, which
   materializes the split).

    python bench/celeba_pipeline.py --data_dir=../shared/data/celeba
    python bench/celeba_pipeline.py --data_dir=../shared/data/celeba/img_align_celeba_89x109
"""

import glob
import json
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf
from absl import app, flags, logging

from kgan import data
from kgan.config import DataConfig

flags.DEFINE_string("data_dir", None, "CelebA image folder, or the folder holding "
                    "img_align_celeba/ (default $KGAN_DATA_DIR).")
flags.DEFINE_string("split", "train", "Split to load.")
flags.DEFINE_integer("batch_size", 64, "Batch size of the training stream.")
flags.DEFINE_integer("steps", 500, "Training-stream batches timed.")
FLAGS = flags.FLAGS


def timed_load(config):
    began = time.perf_counter()
    dataset = data.load(config, FLAGS.split)
    return dataset, time.perf_counter() - began


def main(argv):
    logging.set_verbosity(logging.WARNING)
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    config = DataConfig(dataset="celeba", data_dir=FLAGS.data_dir)
    # A fresh cache, so the first load really decodes; removed afterwards (it can be GBs).
    cache = tempfile.mkdtemp(prefix="kgan-bench-celeba-")
    previous = os.environ.get("KGAN_CACHE_DIR")
    os.environ["KGAN_CACHE_DIR"] = cache
    try:
        dataset, cold = timed_load(config)
        count = dataset.num_examples
        (manifest_path,) = glob.glob(os.path.join(cache, "celeba", "*", "manifest.json"))
        with open(manifest_path) as f:
            decode_only = json.load(f)["images_per_second"]
        _, warm = timed_load(config)

        stream = iter(data.training_batches(dataset, FLAGS.batch_size, seed=0))
        next(stream)
        began = time.perf_counter()
        for _ in range(FLAGS.steps):
            next(stream)
        stream_seconds = time.perf_counter() - began
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if previous is None:
            os.environ.pop("KGAN_CACHE_DIR", None)
        else:
            os.environ["KGAN_CACHE_DIR"] = previous

    print(f"cold decode:       {count / cold:9.0f} images/s ({count} {FLAGS.split} images "
          f"from {dataset.source} in {cold:.2f} s; JPEG decoding alone {decode_only:.0f}/s)")
    print(f"cached load:       {count / warm:9.0f} images/s ({warm:.3f} s)")
    print(f"training_batches:  {FLAGS.steps * FLAGS.batch_size / stream_seconds:9.0f} images/s "
          f"({FLAGS.steps} batches of {FLAGS.batch_size})")


if __name__ == "__main__":
    app.run(main)
