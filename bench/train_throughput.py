"""Training throughput of the default recipes on this machine, on the real MNIST.

Prints images/s (real images per second through the full train step: k
discriminator updates and one generator update) for each architecture, and
the data pipeline alone, each the median of several timed windows measured
side by side in one run.

    python bench/train_throughput.py --data_dir=../shared/data/tensorflow_datasets
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST (default $KGAN_DATA_DIR).")
flags.DEFINE_integer("steps", 150, "Steps per timed window.")
flags.DEFINE_integer("repeats", 5, "Timed windows per configuration (median reported).")
flags.DEFINE_list("models", ["dcgan", "mlp"], "Architectures to measure.")
FLAGS = flags.FLAGS


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TFDS logs every dataset open at INFO
    import keras
    import tensorflow as tf

    from kgan import data
    from kgan.config import Config, DataConfig, ModelConfig
    from kgan.training import build_gan, resolve

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"{os.cpu_count()} CPU cores, devices: "
          f"{[d.device_type for d in tf.config.list_physical_devices()]}")
    base = Config(data=DataConfig(data_dir=FLAGS.data_dir))
    dataset = data.load(base.data, "train")
    batch = base.train.batch_size

    stream = iter(data.training_batches(dataset, batch, seed=0))
    next(stream)
    windows = []
    for _ in range(FLAGS.repeats):
        began = time.perf_counter()
        for _ in range(FLAGS.steps * 5):
            next(stream)
        windows.append(FLAGS.steps * 5 * batch / (time.perf_counter() - began))
    print(f"data pipeline alone: {statistics.median(windows):9.0f} images/s "
          f"(median of {FLAGS.repeats} windows of {FLAGS.steps * 5} batches of {batch})")

    for architecture in FLAGS.models:
        config = resolve(Config(data=base.data, model=ModelConfig(architecture=architecture)))
        keras.utils.set_random_seed(0)
        gan = build_gan(config)
        batches = data.training_batches(dataset, batch, seed=0)
        gan.fit(batches, epochs=1, steps_per_epoch=20, verbose=0, shuffle=False)  # trace, warm up
        windows = []
        for _ in range(FLAGS.repeats):
            began = time.perf_counter()
            gan.fit(batches, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0, shuffle=False)
            windows.append(FLAGS.steps * batch / (time.perf_counter() - began))
        params = gan.generator.count_params() + gan.discriminator.count_params()
        print(f"{architecture:6s} train step:  {statistics.median(windows):9.0f} images/s "
              f"(median of {FLAGS.repeats} windows of {FLAGS.steps} steps, batch {batch}, "
              f"{params:,} parameters; min {min(windows):.0f}, max {max(windows):.0f})")


if __name__ == "__main__":
    app.run(main)
