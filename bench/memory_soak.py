"""Memory and retracing over a long run: RSS must stay flat after warm-up.

Runs the real `kgan.training.train` on real MNIST for `--steps` steps (logs,
sample grids and checkpoints at their usual rhythm, so their costs are in
the figures), records the process's resident set size at every log line, and
prints the RSS curve, its growth after warm-up, the least-squares slope over
the last part of the run, and how often the train step was traced.

    python bench/memory_soak.py --data_dir=../shared/data/tensorflow_datasets
"""

import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import app, flags, logging

from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.training import train

flags.DEFINE_string("data_dir", None, "MNIST TFDS data_dir (default $KGAN_DATA_DIR).")
flags.DEFINE_string("model", "dcgan", "Architecture.")
flags.DEFINE_integer("base_filters", 16, "DCGAN filters (small config).")
flags.DEFINE_integer("batch_size", 32, "Images per discriminator update.")
flags.DEFINE_integer("steps", 3000, "Steps to run.")
flags.DEFINE_integer("log_every", 100, "Steps between log lines (RSS samples).")
flags.DEFINE_integer("warmup", 500, "Steps before growth is measured.")
flags.DEFINE_float("bound_mb", 50.0, "Allowed RSS growth after warm-up, MB.")
FLAGS = flags.FLAGS

_STEP = re.compile(r"step (\d+)/")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class RssAtLogLines:
    """A progress stream that samples RSS whenever training logs a step."""

    def __init__(self):
        self.samples = []  # (step, MB)

    def write(self, text):
        for match in _STEP.finditer(text):
            self.samples.append((int(match.group(1)), rss_mb()))

    def flush(self):
        pass

    def isatty(self):
        return False


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    config = Config(
        data=DataConfig(data_dir=FLAGS.data_dir),
        model=ModelConfig(architecture=FLAGS.model, base_filters=FLAGS.base_filters),
        train=TrainConfig(batch_size=FLAGS.batch_size, steps=FLAGS.steps,
                          log_every=FLAGS.log_every, sample_every=500, checkpoint_every=500))
    stream = RssAtLogLines()
    start = rss_mb()
    with tempfile.TemporaryDirectory() as workdir:
        result = train(config, workdir, stream=stream)
    steps = np.array([s for s, _ in stream.samples], float)
    rss = np.array([m for _, m in stream.samples])
    print(f"{FLAGS.model} (base_filters {FLAGS.base_filters}), batch {FLAGS.batch_size}, "
          f"{result.step} steps; RSS before training {start:.0f} MB")
    print("step   RSS MB")
    for step, mb in stream.samples:
        print(f"{step:5d}  {mb:7.1f}")
    after = steps >= FLAGS.warmup
    if after.sum() < 2:
        sys.exit(f"too few samples after warm-up step {FLAGS.warmup}")
    growth = rss[after][-1] - rss[after][0]
    peak_growth = rss[after].max() - rss[after][0]
    last_half = steps >= (steps[after][0] + steps[-1]) / 2
    slope = np.polyfit(steps[last_half], rss[last_half], 1)[0] * 1000
    print(f"growth from step {int(steps[after][0])} to {int(steps[-1])}: {growth:+.1f} MB "
          f"(peak {peak_growth:+.1f} MB); slope over the second half {slope:+.2f} MB per "
          f"1000 steps; train step traced {result.train_step_traces} time(s)")
    verdict = peak_growth <= FLAGS.bound_mb and result.train_step_traces == 1
    print(f"{'PASS' if verdict else 'FAIL'}: bound {FLAGS.bound_mb:g} MB after warm-up, one trace")
    return 0 if verdict else 1


if __name__ == "__main__":
    app.run(main)
