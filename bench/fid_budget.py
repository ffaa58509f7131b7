"""Quality of the default recipe after a fixed wall-clock budget, and the real-data floor.

1. Trains `train.py`'s default recipe on MNIST for `--minutes` (then Ctrl-C,
   which saves a checkpoint), unless the workdir already holds a run.
2. Evaluates it: FID and KID (10,000 samples vs the 10,000 MNIST test images,
   TTUR Inception), mode coverage and the classifier Frechet distance.
3. The floor: the same metrics for 10,000 real MNIST train images vs the test
   split, the best a generator could score.

    python bench/fid_budget.py --data_dir=../shared/data/tensorflow_datasets \
        --inception_path=../shared/data/inception/inception-2015-12-05-pool3.pb
"""

import json
import os
import signal
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

from kgan.config import DataConfig, EvalConfig
from kgan.evaluation import evaluate, evaluate_images, reference

flags.DEFINE_string("data_dir", None, "TFDS data_dir with MNIST.")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph (default $KGAN_INCEPTION_PATH).")
flags.DEFINE_float("minutes", 10.0, "Training budget in wall-clock minutes.")
flags.DEFINE_string("workdir", "runs/bench-fid", "Run directory (reused if it holds a run).")
flags.DEFINE_integer("num_samples", 10_000, "Generated and real images per FID.")
FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_for_budget():
    command = [sys.executable, os.path.join(REPO, "train.py"), f"--workdir={FLAGS.workdir}",
               f"--data_dir={FLAGS.data_dir}", "--steps=100000000", "--log_every=1000"]
    print(f"Training the default recipe for {FLAGS.minutes} minutes: {' '.join(command)}")
    began = time.monotonic()
    process = subprocess.Popen(command)
    try:
        process.wait(timeout=FLAGS.minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    print(f"Trained for {time.monotonic() - began:.0f} s (exit {process.returncode})")


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if not os.path.exists(os.path.join(FLAGS.workdir, "checkpoints", "checkpoint")):
        train_for_budget()
    config = EvalConfig(workdir=FLAGS.workdir, num_samples=FLAGS.num_samples,
                        reference_samples=FLAGS.num_samples, data_dir=FLAGS.data_dir,
                        inception_path=FLAGS.inception_path)
    generated = evaluate(config)
    data_config = DataConfig(data_dir=FLAGS.data_dir)
    train_images = reference.real_images(data_config, "train", FLAGS.num_samples)
    floor = evaluate_images(train_images, data_config, config)
    summary = {"generated": generated, "floor_mnist_train_vs_test": floor}
    print(json.dumps(summary, indent=2))
    print(f"\nAfter {generated['step']} steps: FID {generated['fid']:.2f} "
          f"(floor {floor['fid']:.2f}), KID {generated['kid']['mean']:.4f} "
          f"(floor {floor['kid']['mean']:.4f}), classes covered "
          f"{generated['classifier']['classes_covered']}/10, KL from uniform "
          f"{generated['classifier']['kl_from_uniform']:.4f} (floor "
          f"{floor['classifier']['kl_from_uniform']:.4f}), classifier FD "
          f"{generated['classifier']['frechet_distance']:.2f} (floor "
          f"{floor['classifier']['frechet_distance']:.2f}); Inception "
          f"{generated['inception_images_per_second']:.1f} images/s")


if __name__ == "__main__":
    app.run(main)
