"""Where an SRResNet/SRGAN training step's CPU time goes (one core).

Side by side in one run, each a `tf.function` of forward and backward
passes, median CPU time of `--repeats` calls after a warm-up:

* the paper's last layer, a 9x9 convolution to 3 channels over the
  high-resolution crops, against the 3x3 convolution to 12 channels that
  kgan's SRResNet puts before its last `depth_to_space`, and one 3x3
  convolution of the low-resolution trunk;
* the whole generator update (pixel MSE, Adam) of the preset SRResNet
  against the same network with the paper's tail (an upsampling stage per
  factor of 2, then the 9x9 convolution at high resolution), in images per
  CPU-second;
* the discriminator's forward and backward pass on a batch of real and
  fake crops (an SRGAN step's extra cost).

Pin it to one core, as the budgets are counted:

    taskset -c 1 python bench/srgan_profile.py
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_integer("scale", 4, "Upscaling factor.")
flags.DEFINE_integer("crop_size", 96, "High-resolution crop side.")
flags.DEFINE_integer("base_filters", 32, "Generator and discriminator width (the preset's).")
flags.DEFINE_integer("blocks", 8, "Residual blocks (the preset's).")
flags.DEFINE_integer("batch_size", 16, "Crops per generator step (the preset's).")
flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (median reported).")
FLAGS = flags.FLAGS


def cpu_seconds(function, *args) -> float:
    function(*args)  # trace and warm up
    times = []
    for _ in range(FLAGS.repeats):
        started = time.process_time()
        result = function(*args)
        for value in (result if isinstance(result, (list, tuple)) else [result]):
            value.numpy()
        times.append(time.process_time() - started)
    return statistics.median(times)


def forward_backward(layer, inputs):
    import tensorflow as tf

    layer(inputs)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(layer(x)))
        return tape.gradient(loss, [x, *layer.trainable_variables])
    return cpu_seconds(step, inputs)


def paper_tail(filters: int, scale: int):
    import keras

    from kgan.models.super_resolution import SubPixelUpsampling
    layers = []
    for _ in range(scale.bit_length() - 1):
        layers += [keras.layers.Conv2D(4 * filters, 3, padding="same"), SubPixelUpsampling(),
                   keras.layers.PReLU(shared_axes=[1, 2])]
    return keras.Sequential([*layers, keras.layers.Conv2D(3, 9, padding="same")],
                            name="paper_tail")


def generator_update(generator, low, high):
    import keras
    import tensorflow as tf

    generator(low)
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(generator.trainable_variables)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(generator(x, training=True) - y))
        optimizer.apply(tape.gradient(loss, generator.trainable_variables),
                        generator.trainable_variables)
        return loss
    return cpu_seconds(step, low, high)


def main(argv):
    del argv
    import keras
    import tensorflow as tf

    from kgan.models.super_resolution import SRDiscriminator, SRResNet

    keras.utils.set_random_seed(0)
    n, side, f = FLAGS.batch_size, FLAGS.crop_size, FLAGS.base_filters
    low_side = side // FLAGS.scale
    low = tf.random.uniform([n, low_side, low_side, 3], -1, 1)
    high = tf.random.uniform([n, side, side, 3], -1, 1)
    print(f"{FLAGS.scale}x, {n} crops of {side}x{side} ({low_side}x{low_side} in), width {f}, "
          f"{FLAGS.blocks} blocks; CPU ms, forward and backward, median of {FLAGS.repeats}",
          flush=True)

    before_last = side // 2
    rows = [
        ("paper's last layer: 9x9 conv to 3 channels at high resolution",
         keras.layers.Conv2D(3, 9, padding="same"), [n, side, side, f]),
        ("a 3x3 conv to 3 channels at high resolution",
         keras.layers.Conv2D(3, 3, padding="same"), [n, side, side, f]),
        (f"kgan's last layer: 3x3 conv to 12 channels at {before_last}x{before_last}",
         keras.layers.Conv2D(12, 3, padding="same"), [n, before_last, before_last, f]),
        ("one 3x3 conv of the low-resolution trunk",
         keras.layers.Conv2D(f, 3, padding="same"), [n, low_side, low_side, f]),
    ]
    for label, layer, shape in rows:
        seconds = forward_backward(layer, tf.random.uniform(shape, -1, 1))
        print(f"  {label}: {1000 * seconds:.0f} ms", flush=True)

    kgan_generator = SRResNet(scale=FLAGS.scale, base_filters=f, blocks=FLAGS.blocks)
    paper_generator = SRResNet(scale=FLAGS.scale, base_filters=f, blocks=FLAGS.blocks)
    paper_generator.tail = paper_tail(f, FLAGS.scale)
    for label, generator in (("kgan's SRResNet", kgan_generator),
                             ("SRResNet with the paper's tail", paper_generator)):
        seconds = generator_update(generator, low, high)
        print(f"  generator update, {label}: {1000 * seconds:.0f} ms, "
              f"{n / seconds:.1f} images per CPU-second", flush=True)

    discriminator = SRDiscriminator(crop_size=side, base_filters=f)
    crops = tf.concat([high, high], axis=0)
    seconds = forward_backward(discriminator, crops)
    print(f"  discriminator on {2 * n} crops (real and fake): {1000 * seconds:.0f} ms", flush=True)


if __name__ == "__main__":
    app.run(main)
