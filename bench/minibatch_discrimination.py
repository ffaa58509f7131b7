"""Cost of minibatch discrimination per call, forward and backward, side by side.

`MinibatchDiscrimination` compares every pair of a batch of N examples on B
kernels of C dimensions: O(N^2 B C) work, independent of the network around
it. This times kgan's layer (one `[N, N, B]` L1 term per kernel dimension)
against the direct formulation (one `[N, N, B, C]` difference tensor), both
under `tf.function`, on the same inputs, and checks they agree. The points
task's MLP discriminator costs far less than the layer at N = 256, so the
layer's time is most of a step there.

    python bench/minibatch_discrimination.py --batch_sizes=64,256
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

flags.DEFINE_list("batch_sizes", ["64", "256"], "Batch sizes N.")
flags.DEFINE_integer("features", 128, "Input features per example.")
flags.DEFINE_integer("num_kernels", 50, "B.")
flags.DEFINE_integer("kernel_dim", 5, "C.")
flags.DEFINE_integer("calls", 20, "Timed calls (after two warm-up calls).")
FLAGS = flags.FLAGS


def main(argv):
    import tensorflow as tf
    from keras import ops

    from kgan.models.layers import MinibatchDiscrimination

    layer = MinibatchDiscrimination(FLAGS.num_kernels, FLAGS.kernel_dim)
    layer.build((None, FLAGS.features))

    def direct(x):
        m = ops.reshape(ops.matmul(x, layer.projection), (-1, layer.num_kernels,
                                                           layer.kernel_dim))
        distances = ops.sum(ops.abs(ops.expand_dims(m, 0) - ops.expand_dims(m, 1)), axis=-1)
        return ops.concatenate([x, ops.sum(ops.exp(-distances), axis=1)], axis=-1)

    def with_gradients(fn):
        @tf.function
        def step(x, weights):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(fn(x) * weights)
            return tape.gradient(total, [x, layer.projection])
        return step

    print(f"B={FLAGS.num_kernels} kernels x C={FLAGS.kernel_dim}, {FLAGS.features} features, "
          f"median ms per forward+backward call, {len(os.sched_getaffinity(0))} core(s)")
    for n in map(int, FLAGS.batch_sizes):
        x = tf.random.stateless_normal([n, FLAGS.features], [0, n])
        weights = tf.random.stateless_normal([n, FLAGS.features + FLAGS.num_kernels], [1, n])
        times, outputs = {}, {}
        for name, fn in (("kgan layer", layer), ("direct", direct)):
            step = with_gradients(fn)
            outputs[name] = step(x, weights)
            step(x, weights)
            samples = []
            for _ in range(FLAGS.calls):
                began = time.perf_counter()
                step(x, weights)
                samples.append(time.perf_counter() - began)
            times[name] = statistics.median(samples) * 1000
        gap = max(float(tf.reduce_max(tf.abs(a - b)) / (tf.reduce_max(tf.abs(b)) + 1e-12))
                  for a, b in zip(outputs["kgan layer"], outputs["direct"]))
        print(f"N={n:4d}: kgan layer {times['kgan layer']:7.1f} ms, direct {times['direct']:7.1f}"
              f" ms, speed-up {times['direct'] / times['kgan layer']:.2f}x, largest relative "
              f"gradient difference {gap:.1e}")


if __name__ == "__main__":
    app.run(main)
