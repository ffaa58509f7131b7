"""Throughput of the TTUR Inception feature extractor on real MNIST, per batch size.

    python bench/inception_throughput.py --data_dir=../shared/data/tensorflow_datasets \
        --inception_path=../shared/data/inception/inception-2015-12-05-pool3.pb
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

from kgan.config import DataConfig
from kgan.evaluation import reference
from kgan.evaluation.inception import InceptionFeatures

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST.")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph (default $KGAN_INCEPTION_PATH).")
flags.DEFINE_list("batch_sizes", ["25", "50", "100"], "Batch sizes to time.")
flags.DEFINE_integer("images", 200, "Images per timing.")
FLAGS = flags.FLAGS


def main(argv):
    logging.set_verbosity(logging.WARNING)
    images = reference.real_images(DataConfig(data_dir=FLAGS.data_dir), "test", FLAGS.images)
    inception = InceptionFeatures(FLAGS.inception_path)
    for batch_size in map(int, FLAGS.batch_sizes):
        inception.batch_size = batch_size
        inception(images[:batch_size])  # warm up this shape
        began = time.perf_counter()
        inception(images)
        print(f"batch {batch_size:4d}: {len(images) / (time.perf_counter() - began):6.1f} images/s "
              f"({len(images)} MNIST test images, resized to 299x299 in the graph)")


if __name__ == "__main__":
    app.run(main)
