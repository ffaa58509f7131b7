"""The real-data floor of FID and KID: real images of one split against another.

A generator's FID means little without the FID real images get against the
same reference set (small or rank-deficient reference sets inflate both).

    python bench/fid_floor.py --dataset=celeba --data_dir=../shared/data/celeba/img_align_celeba \
        --split=train --reference_split=heldout \
        --inception_path=../shared/data/inception/inception-2015-12-05-pool3.pb
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

from kgan.config import DataConfig, EvalConfig
from kgan import data
from kgan.evaluation import evaluate_images

flags.DEFINE_string("dataset", "mnist", "Dataset.")
flags.DEFINE_string("data_dir", None, "The dataset's folder.")
flags.DEFINE_string("split", "train", "The real images scored like generated ones.")
flags.DEFINE_integer("count", None, "How many of them (default all, at most 10,000).")
flags.DEFINE_string("reference_split", None, "Reference split (default the held-out one).")
flags.DEFINE_string("inception_path", None, "The TTUR graph.")
FLAGS = flags.FLAGS


def main(argv):
    logging.set_verbosity(logging.WARNING)
    data_config = DataConfig(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir)
    images, _ = data.split_arrays(data_config, FLAGS.split, FLAGS.count)
    images = images[:10_000]
    config = EvalConfig(workdir="-", num_samples=max(len(images), 2048), metrics=("fid", "kid"),
                        reference_split=FLAGS.reference_split,
                        inception_path=FLAGS.inception_path)
    report = evaluate_images(images, data_config, config)
    print(json.dumps({"dataset": FLAGS.dataset, "scored": f"{len(images)} {FLAGS.split}",
                      **report}, indent=2))


if __name__ == "__main__":
    app.run(main)
