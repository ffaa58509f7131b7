"""kgan's train step against the TensorFlow DCGAN tutorial's, side by side in one run.

The tutorial (tensorflow.org/tutorials/generative/dcgan) is reimplemented
faithfully here: its generator (Dense 7x7x256, BatchNorm, LeakyReLU; then
Conv2DTranspose 128 (stride 1), 64 and 1 (stride 2), 5x5, no bias, tanh
output), its discriminator (Conv2D 64 and 128, 5x5, stride 2, LeakyReLU,
Dropout 0.3; Dense 1), two Adam(1e-4), batch 256, and one `@tf.function`
step that updates both players from one generator pass, fed by
`from_tensor_slices(images).shuffle(60000).batch(256)`.

kgan trains exactly those two networks (the same Keras models) through
`kgan.tasks.gan.ImageGAN.fit` with its own data stream and train step: its default
options, or the variants `--kgan_variants` names. Printed: images/s of each
(median of several windows, interleaved so all contenders see the same
machine load), the ratio to the tutorial, the data pipeline alone, this
machine's float32 and bfloat16 matmul GFLOP/s, and each step's achieved
GFLOP/s (from the layers' multiply-adds) as a fraction of the peak of its
precision.

    python bench/tutorial_comparison.py --data_dir=../shared/data/tensorflow_datasets \
        --kgan_variants=default,noreuse,reuse+bf16
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from kgan import data
from kgan.config import DataConfig, TrainConfig
from kgan.tasks.gan import ImageGAN
from kgan.training import distribute
from machine import matmul_gflops
from tutorial_networks import LATENT_DIM, tutorial_discriminator, tutorial_generator

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST (default $KGAN_DATA_DIR).")
flags.DEFINE_integer("steps", 10, "Train steps per timed window.")
flags.DEFINE_integer("warmup", 3, "Untimed steps before each window (tracing, buffers).")
flags.DEFINE_integer("repeats", 5, "Timed windows per contender (median reported).")
flags.DEFINE_integer("batch_size", 256, "The tutorial's batch size.")
flags.DEFINE_list("kgan_variants", ["default"],
                  "kgan contenders: 'default' (kgan's default options) or '+'-joined options "
                  "from reuse, noreuse, jit, spe<N>, bf16 (mixed_bfloat16).")
FLAGS = flags.FLAGS


class Tutorial:
    """The tutorial's training loop, as published."""

    def __init__(self, train_images, batch_size):
        self.generator, self.discriminator = tutorial_generator(), tutorial_discriminator()
        self.g_optimizer, self.d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.batch_size = batch_size
        self.bfloat16 = False
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

    def window(self, warmup, steps):
        """Seconds for `steps` steps after `warmup` untimed ones."""
        for _ in range(warmup):
            self.train_step(next(self.iterator))
        self.generator.trainable_variables[0].numpy()  # steps are asynchronous: wait
        began = time.perf_counter()
        for _ in range(steps):
            self.train_step(next(self.iterator))
        self.generator.trainable_variables[0].numpy()
        return time.perf_counter() - began


class _Stopwatch(keras.callbacks.Callback):
    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.began, self.ended = warmup, None, None

    def on_train_batch_end(self, batch, logs=None):
        for value in (logs or {}).values():  # wait for the step to finish
            np.asarray(value)
        if batch + 1 == self.warmup:
            self.began = time.perf_counter()
        self.ended = time.perf_counter()


class Kgan:
    """The same networks trained by kgan's GAN.fit and data stream, with kgan's
    default train-step options unless `options` change them."""

    def __init__(self, dataset, batch_size, options):
        defaults = TrainConfig()
        spe = [int(o[3:]) for o in options if o.startswith("spe")]
        reuse = defaults.reuse_fakes
        reuse = True if "reuse" in options else False if "noreuse" in options else reuse
        self.bfloat16 = "bf16" in options
        with distribute.precision_policy("mixed_bfloat16" if self.bfloat16 else
                                         defaults.mixed_precision):
            self.gan = ImageGAN(tutorial_generator(), tutorial_discriminator(), LATENT_DIM,
                                seed=0, loss="non_saturating", reuse_fakes=reuse)
        self.gan.compile(optimizers={"g": keras.optimizers.Adam(1e-4),
                                     "d": keras.optimizers.Adam(1e-4)},
                         jit_compile="jit" in options or defaults.jit_compile,
                         steps_per_execution=spe[0] if spe else defaults.steps_per_execution)
        self.stream = data.training_batches(dataset, batch_size, seed=0)

    def window(self, warmup, steps):
        """Seconds for `steps` steps after `warmup` untimed ones, inside one `fit`
        (as in real training, where one `fit` runs the whole run)."""
        spe = self.gan.steps_per_execution or 1
        warmup = max(spe, warmup - warmup % spe)
        steps = max(spe, steps - steps % spe)
        stopwatch = _Stopwatch(warmup)
        self.gan.fit(self.stream, epochs=1, steps_per_epoch=warmup + steps, verbose=0,
                     shuffle=False, callbacks=[stopwatch])
        return stopwatch.ended - stopwatch.began


def forward_flops(model):
    """Multiply-add FLOPs (2 per MAC) of one image through `model`'s Dense and
    convolution layers; normalization and activations are not counted."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            height, width = layer.input.shape[1:3]  # each input pixel scatters a kernel
            flops += 2 * height * width * np.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            flops += 2 * height * width * np.prod(layer.kernel.shape)
    return int(flops)


def step_flops_per_image(generator_flops, discriminator_flops, kgan_step, reuse_fakes):
    """FLOPs per real image of one train step, counting a backward pass as twice
    its forward pass.

    Tutorial: G forward+backward, D forward+backward on the real and the fake
    batch (3G + 6D). kgan: the discriminator update (G forward, then D on real
    and fake: G + 6D), then the generator update (D forward+backward into G
    forward+backward: 3G + 3D), minus one G forward when the fakes are reused.
    """
    if not kgan_step:
        return 3 * generator_flops + 6 * discriminator_flops
    return (3 if reuse_fakes else 4) * generator_flops + 9 * discriminator_flops


def main(argv):
    logging.set_verbosity(logging.WARNING)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores")
    dataset = data.load(DataConfig(data_dir=FLAGS.data_dir), "train")
    train_images = next(iter(dataset.examples.batch(dataset.num_examples)))[0].numpy()
    batch = FLAGS.batch_size

    keras.utils.set_random_seed(0)
    contenders = {"tutorial": Tutorial(train_images, batch)}
    for variant in FLAGS.kgan_variants:
        options = () if variant == "default" else tuple(variant.split("+"))
        contenders[f"kgan {variant}"] = Kgan(dataset, batch, options)
    windows = {name: [] for name in contenders}
    for _ in range(FLAGS.repeats):  # interleaved, so all contenders see the same load
        for name, contender in contenders.items():
            windows[name].append(contender.window(FLAGS.warmup, FLAGS.steps))
    rates = {name: [FLAGS.steps * batch / s for s in seconds] for name, seconds in windows.items()}
    medians = {name: statistics.median(r) for name, r in rates.items()}

    stream = iter(data.training_batches(dataset, batch, seed=0))
    next(stream)
    began = time.perf_counter()
    for _ in range(200):
        next(stream)
    pipeline = 200 * batch / (time.perf_counter() - began)

    peaks = {False: matmul_gflops(tf.float32), True: matmul_gflops(tf.bfloat16)}
    tutorial = contenders["tutorial"]
    g_flops, d_flops = forward_flops(tutorial.generator), forward_flops(tutorial.discriminator)
    print(f"batch {batch}; {FLAGS.repeats} interleaved windows of {FLAGS.steps} steps "
          f"(after {FLAGS.warmup} warm-up steps each); medians, min-max in brackets")
    print(f"{'contender':22s} {'images/s':>9s} {'vs tutorial':>11s} {'MFLOP/img':>9s} "
          f"{'GFLOP/s':>8s} {'of peak':>7s}")
    for name, contender in contenders.items():
        kgan_step = name != "tutorial"
        flops = step_flops_per_image(g_flops, d_flops, kgan_step,
                                     kgan_step and contender.gan.reuse_fakes)
        achieved = medians[name] * flops / 1e9
        peak = peaks[contender.bfloat16]
        print(f"{name:22s} {medians[name]:9.1f} {medians[name] / medians['tutorial']:10.2f}x "
              f"{flops / 1e6:9.0f} {achieved:8.1f} {achieved / peak:7.0%}   "
              f"[{min(rates[name]):.0f}-{max(rates[name]):.0f}]")
    print(f"kgan data pipeline alone: {pipeline:,.0f} images/s")
    print(f"matmul 2048x2048 peak: float32 {peaks[False]:.1f} GFLOP/s, bfloat16 "
          f"{peaks[True]:.1f} GFLOP/s (bf16 contenders are compared with the latter); "
          f"forward FLOPs per image: generator {g_flops / 1e6:.1f} M, discriminator "
          f"{d_flops / 1e6:.1f} M")


if __name__ == "__main__":
    app.run(main)
