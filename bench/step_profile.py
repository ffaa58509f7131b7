"""Where a train step's time goes, and what each optimization buys (timing breakdown).

For the TensorFlow DCGAN tutorial's networks at batch 256 (see
bench/tutorial_comparison.py) or kgan's default DCGAN at batch 64, prints the
median time of: the generator's forward pass, one discriminator update, one
generator update (each as its own `tf.function`), and whole `fit` steps under
each training option (XLA, steps_per_execution, reusing the fakes, mixed
precision), all measured side by side in one run.

    python bench/step_profile.py --data_dir=../shared/data/tensorflow_datasets --networks=tutorial
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from absl import app, flags, logging

from kgan import data, models
from kgan.config import Config, DataConfig, ModelConfig
from kgan.tasks.gan import ImageGAN
from kgan.training import distribute

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST (default $KGAN_DATA_DIR).")
flags.DEFINE_enum("networks", "tutorial", ["tutorial", "kgan"], "Which networks to profile.")
flags.DEFINE_integer("steps", 8, "Steps per timed window.")
flags.DEFINE_integer("repeats", 3, "Timed windows (median reported).")
flags.DEFINE_list("variants", ["base", "reuse", "jit", "reuse+jit", "spe4", "reuse+spe4",
                               "bf16", "reuse+bf16"],
                  "fit variants: '+'-joined options from reuse, jit, spe<N>, bf16, fp16.")
FLAGS = flags.FLAGS


def build_networks():
    if FLAGS.networks == "tutorial":
        import tutorial_networks  # beside this script

        return tutorial_networks.tutorial_generator(), tutorial_networks.tutorial_discriminator(), 256
    config = data.resolve(Config()).model
    return models.build_generator(config), models.build_discriminator(config), 64


def make_gan(options):
    policy = ("mixed_bfloat16" if "bf16" in options else
              "mixed_float16" if "fp16" in options else "float32")
    with distribute.precision_policy(policy):
        generator, discriminator, batch = build_networks()
        gan = ImageGAN(generator, discriminator, 100, seed=0, loss="non_saturating",
                       reuse_fakes="reuse" in options)
        g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
        if policy == "mixed_float16":
            g_opt = keras.optimizers.LossScaleOptimizer(g_opt)
            d_opt = keras.optimizers.LossScaleOptimizer(d_opt)
        spe = [int(o[3:]) for o in options if o.startswith("spe")]
        gan.compile(optimizers={"g": g_opt, "d": d_opt}, jit_compile="jit" in options,
                    steps_per_execution=spe[0] if spe else 1)
    return gan, batch


def timed(run, steps, repeats):
    run(max(2, steps // 4))  # tracing and warm-up
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        run(steps)
        seconds.append((time.perf_counter() - began) / steps)
    return statistics.median(seconds)


def main(argv):
    logging.set_verbosity(logging.WARNING)
    dataset = data.load(DataConfig(data_dir=FLAGS.data_dir), "train")
    gan, batch = make_gan(())
    real = next(iter(data.training_batches(dataset, batch, seed=0)))["image"]
    z = tf.random.normal([batch, 100])
    parts = {
        "generator forward": tf.function(lambda: gan.generator(z, training=True)),
        "discriminator update": tf.function(lambda: gan.discriminator_step(real)[0]),
        "generator update": tf.function(lambda: gan.generator_step(batch)),
    }
    print(f"{FLAGS.networks} networks, batch {batch}; seconds per call (median of "
          f"{FLAGS.repeats} windows of {FLAGS.steps})")
    for name, fn in parts.items():
        def run(n, fn=fn):
            for _ in range(n):
                result = fn()
            tf.nest.map_structure(lambda t: t.numpy(), result)
        print(f"  {name:28s} {timed(run, FLAGS.steps, FLAGS.repeats) * 1000:8.1f} ms")

    stream = data.training_batches(dataset, batch, seed=0)
    for variant in FLAGS.variants:
        options = () if variant == "base" else tuple(variant.split("+"))
        gan, _ = make_gan(options)

        def run(n, gan=gan):
            gan.fit(stream, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)
        seconds = timed(run, FLAGS.steps, FLAGS.repeats)
        print(f"  fit step, {variant:21s} {seconds * 1000:8.1f} ms = {batch / seconds:7.1f} "
              f"images/s")


if __name__ == "__main__":
    app.run(main)
