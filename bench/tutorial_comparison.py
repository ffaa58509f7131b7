"""kgan's train step against the TensorFlow DCGAN tutorial's, side by side in one run.

The tutorial (tensorflow.org/tutorials/generative/dcgan) is reimplemented
faithfully here: its generator (Dense 7x7x256, BatchNorm, LeakyReLU; then
Conv2DTranspose 128 (stride 1), 64 and 1 (stride 2), 5x5, no bias, tanh
output), its discriminator (Conv2D 64 and 128, 5x5, stride 2, LeakyReLU,
Dropout 0.3; Dense 1), two Adam(1e-4), batch 256, and one `@tf.function`
step that updates both players from one generator pass, fed by
`from_tensor_slices(images).shuffle(60000).batch(256)`.

kgan trains exactly those two networks (the same Keras models, so the same
FLOPs per image) through `kgan.training.GAN.fit` with its own data stream and
its default train step, so the comparison isolates the training machinery.
Printed: images/s of each (median of several windows, interleaved so both see
the same machine load), the ratio, the data pipeline alone, this machine's
float32 matmul GFLOP/s, and each step's achieved GFLOP/s as a fraction of it.

    python bench/tutorial_comparison.py --data_dir=../shared/data/tensorflow_datasets
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from kgan import data, losses
from kgan.config import DataConfig
from kgan.training import GAN

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST (default $KGAN_DATA_DIR).")
flags.DEFINE_integer("steps", 10, "Train steps per timed window.")
flags.DEFINE_integer("warmup", 3, "Untimed steps before each window (tracing, buffers).")
flags.DEFINE_integer("repeats", 5, "Timed windows per contender (median reported).")
flags.DEFINE_integer("batch_size", 256, "The tutorial's batch size.")
flags.DEFINE_bool("jit_compile", None, "Override kgan's jit_compile (default: kgan's default).")
flags.DEFINE_integer("steps_per_execution", None,
                     "Override kgan's steps_per_execution (default: kgan's default).")
FLAGS = flags.FLAGS

LATENT_DIM = 100


def tutorial_generator():
    return keras.Sequential([
        keras.Input((LATENT_DIM,)),
        keras.layers.Dense(7 * 7 * 256, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Reshape((7, 7, 256)),
        keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                     activation="tanh"),
    ])


def tutorial_discriminator():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(64, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Conv2D(128, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])


class Tutorial:
    """The tutorial's training loop, as published."""

    def __init__(self, train_images, batch_size):
        self.generator, self.discriminator = tutorial_generator(), tutorial_discriminator()
        self.g_optimizer, self.d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.batch_size = batch_size
        images = (train_images.astype(np.float32) - 127.5) / 127.5
        self.dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(60000).batch(
            batch_size).repeat()
        self.iterator = iter(self.dataset)

    @tf.function
    def train_step(self, images):
        noise = tf.random.normal([self.batch_size, LATENT_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated_images, training=True)
            gen_loss = self.cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (self.cross_entropy(tf.ones_like(real_output), real_output)
                         + self.cross_entropy(tf.zeros_like(fake_output), fake_output))
        gen_gradients = gen_tape.gradient(gen_loss, self.generator.trainable_variables)
        disc_gradients = disc_tape.gradient(disc_loss, self.discriminator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(gen_gradients, self.generator.trainable_variables))
        self.d_optimizer.apply_gradients(zip(disc_gradients,
                                             self.discriminator.trainable_variables))

    def run(self, steps):
        for _ in range(steps):
            self.train_step(next(self.iterator))
        # Steps are asynchronous; reading a weight waits for the last one.
        self.generator.trainable_variables[0].numpy()


class Kgan:
    """The same networks trained by kgan's GAN.fit and data stream."""

    def __init__(self, dataset, batch_size, compile_overrides):
        self.gan = GAN(tutorial_generator(), tutorial_discriminator(), LATENT_DIM, seed=0)
        family = losses.get_loss_family("non_saturating")
        self.gan.compile(g_optimizer=keras.optimizers.Adam(1e-4),
                         d_optimizer=keras.optimizers.Adam(1e-4),
                         generator_loss_fn=family.generator_loss,
                         discriminator_loss_fn=family.discriminator_loss,
                         **compile_overrides)
        self.stream = data.training_batches(dataset, batch_size, seed=0)

    def run(self, steps):
        self.gan.fit(self.stream, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)


def train_step_flops(generator, discriminator, batch_size):
    """FLOPs of one tutorial-style step (G forward, D forward on real and fake, and
    the backward passes), from TensorFlow's graph profiler."""
    @tf.function
    def step(noise, images):
        with tf.GradientTape(persistent=True) as tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = tf.reduce_mean(real_logits) - tf.reduce_mean(fake_logits)
            g_loss = tf.reduce_mean(fake_logits)
        return (tape.gradient(d_loss, discriminator.trainable_variables),
                tape.gradient(g_loss, generator.trainable_variables))

    concrete = step.get_concrete_function(tf.TensorSpec([batch_size, LATENT_DIM]),
                                          tf.TensorSpec([batch_size, 28, 28, 1]))
    from tensorflow.python.framework import convert_to_constants
    frozen = convert_to_constants.convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return profile.total_float_ops


def matmul_gflops(size=2048, repeats=10):
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    tf.linalg.matmul(a, b).numpy()
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        rates.append(2 * size ** 3 / (time.perf_counter() - began) / 1e9)
    return statistics.median(rates)


def main(argv):
    logging.set_verbosity(logging.WARNING)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores")
    dataset = data.load(DataConfig(data_dir=FLAGS.data_dir), "train")
    train_images = next(iter(dataset.examples.batch(dataset.num_examples)))[0].numpy()
    batch = FLAGS.batch_size

    overrides = {}
    if FLAGS.jit_compile is not None:
        overrides["jit_compile"] = FLAGS.jit_compile
    if FLAGS.steps_per_execution is not None:
        overrides["steps_per_execution"] = FLAGS.steps_per_execution
    keras.utils.set_random_seed(0)
    contenders = {"tutorial": Tutorial(train_images, batch),
                  "kgan": Kgan(dataset, batch, overrides)}
    windows = {name: [] for name in contenders}
    for repeat in range(FLAGS.repeats):
        for name, contender in contenders.items():
            contender.run(FLAGS.warmup)
            began = time.perf_counter()
            contender.run(FLAGS.steps)
            windows[name].append(time.perf_counter() - began)
    rates = {name: [FLAGS.steps * batch / s for s in seconds] for name, seconds in windows.items()}
    medians = {name: statistics.median(r) for name, r in rates.items()}

    stream = iter(data.training_batches(dataset, batch, seed=0))
    next(stream)
    began = time.perf_counter()
    for _ in range(200):
        next(stream)
    pipeline = 200 * batch / (time.perf_counter() - began)

    peak = matmul_gflops()
    tutorial = contenders["tutorial"]
    flops_per_image = train_step_flops(tutorial.generator, tutorial.discriminator, batch) / batch
    print(f"batch {batch}; {FLAGS.repeats} interleaved windows of {FLAGS.steps} steps "
          f"(after {FLAGS.warmup} warm-up steps each)")
    for name in contenders:
        achieved = medians[name] * flops_per_image / 1e9
        print(f"{name:9s} {medians[name]:8.1f} images/s (min {min(rates[name]):.1f}, max "
              f"{max(rates[name]):.1f}); {achieved:6.1f} GFLOP/s = {achieved / peak:.0%} of "
              f"matmul peak")
    print(f"ratio kgan / tutorial: {medians['kgan'] / medians['tutorial']:.2f}")
    print(f"kgan data pipeline alone: {pipeline:,.0f} images/s")
    print(f"float32 matmul 2048x2048: {peak:.1f} GFLOP/s; tutorial-step FLOPs per image "
          f"{flops_per_image / 1e6:.0f} M (both contenders' networks; kgan's step may do more "
          "work per image, counted at the tutorial's cost)")


if __name__ == "__main__":
    app.run(main)
