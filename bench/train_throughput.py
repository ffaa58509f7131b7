"""Training throughput of the default recipes on this machine, on real data.

Prints images/s (real images per second through the whole train step: k
discriminator updates and one generator update) for each architecture, and for
the data pipeline alone; each figure is the median of several timed windows,
all measured side by side in one run.

    python bench/train_throughput.py --data_dir=../shared/data/tensorflow_datasets
    python bench/train_throughput.py --dataset=celeba --models=dcgan --conditional \
        --data_dir=../shared/data/celeba/img_align_celeba --steps=30 --warmup=5
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from absl import app, flags, logging

from kgan import data
from kgan.config import Config, DataConfig, ModelConfig
from kgan.training import build_task, resolve

flags.DEFINE_string("dataset", "mnist", "Dataset: mnist or celeba.")
flags.DEFINE_string("data_dir", None, "The dataset's folder (default $KGAN_DATA_DIR).")
flags.DEFINE_bool("conditional", False, "Also measure each model's conditional variant.")
flags.DEFINE_integer("steps", 150, "Train steps per timed window.")
flags.DEFINE_integer("warmup", 20, "Untimed steps first (tracing, buffers).")
flags.DEFINE_integer("repeats", 5, "Timed windows per configuration (median reported).")
flags.DEFINE_list("models", ["dcgan", "mlp"], "Architectures to measure.")
FLAGS = flags.FLAGS


class WindowTimer(keras.callbacks.Callback):
    """Records the wall time of consecutive windows of `window` steps after `warmup` steps.

    Windows are timed inside one `fit`: separate `fit` calls each build an
    iterator whose later teardown can take seconds at an unpredictable moment,
    which would land inside the timed windows.
    """

    def __init__(self, warmup, window):
        super().__init__()
        self.warmup, self.window = warmup, window
        self.seconds, self.started = [], None

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1 - self.warmup
        if done == 0:
            self.started = time.perf_counter()
        elif done > 0 and done % self.window == 0:
            now = time.perf_counter()
            self.seconds.append(now - self.started)
            self.started = now


def describe(windows, unit_count, what):
    rates = [unit_count / seconds for seconds in windows]
    return (f"{statistics.median(rates):9.0f} images/s (median of {len(rates)} windows of {what}; "
            f"min {min(rates):.0f}, max {max(rates):.0f})")


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TFDS logs every dataset open at INFO
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores, "
          f"devices: {[d.device_type for d in tf.config.list_physical_devices()]}")
    base = Config(data=DataConfig(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir))
    dataset = data.load(base.data, "train")
    batch = base.train.batch_size

    stream = iter(data.training_batches(dataset, batch, seed=0))
    pipeline_batches = FLAGS.steps * 5
    next(stream)
    windows = []
    for _ in range(FLAGS.repeats):
        began = time.perf_counter()
        for _ in range(pipeline_batches):
            next(stream)
        windows.append(time.perf_counter() - began)
    print("data pipeline alone: " + describe(windows, pipeline_batches * batch,
                                             f"{pipeline_batches} batches of {batch}"))

    variants = [(architecture, conditional) for architecture in FLAGS.models
                for conditional in ([False, True] if FLAGS.conditional else [False])]
    for architecture, conditional in variants:
        config = resolve(Config(data=base.data, model=ModelConfig(architecture=architecture,
                                                                  conditional=conditional)))
        keras.utils.set_random_seed(0)
        gan = build_task(config)
        timer = WindowTimer(FLAGS.warmup, FLAGS.steps)
        gan.fit(data.training_batches(dataset, batch, seed=0, with_labels=conditional), epochs=1,
                steps_per_epoch=FLAGS.warmup + FLAGS.repeats * FLAGS.steps, callbacks=[timer],
                verbose=0, shuffle=False)
        params = gan.generator.count_params() + gan.discriminator.count_params()
        name = ("c" if conditional else "") + architecture
        print(f"{name:7s} train step: " + describe(
            timer.seconds, FLAGS.steps * batch,
            f"{FLAGS.steps} steps, batch {batch}, {params:,} parameters"))


if __name__ == "__main__":
    app.run(main)
