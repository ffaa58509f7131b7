"""This machine's speed now, recorded beside every wall-clock figure: the
shared machine's matmul rate drifts by up to 2x between runs."""

import statistics
import time


def matmul_gflops(dtype="float32", size=2048, repeats=7) -> float:
    """Median rate of `repeats` square `size` matmuls in `dtype`, in GFLOP/s."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    tf.linalg.matmul(a, b).numpy()
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        rates.append(2 * size ** 3 / (time.perf_counter() - began) / 1e9)
    return statistics.median(rates)
