"""Held-out accuracy of the CelebA attribute classifier after each epoch.

The tests' quick recipe (the 10,000 half-size train faces, judged on the
1,440 held-out faces) is trained epoch by epoch, seeded as
`attribute_classifier.train_classifier` does, and Male, Smiling and the mean
of the 40 attributes are printed after each: how many epochs it takes for
the figures to stop swinging. `--threads=1` reruns it on one thread (the
numerics, and the early figures, change with the thread count).

    python bench/attribute_classifier_epochs.py --epochs=4
"""

import os
import sys

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_integer("epochs", 4, "Epochs to train.")
flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0: TensorFlow's default).")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data", "celeba"),
                    "The folder holding img_align_celeba/ and img_align_celeba_89x109/.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import keras
    import numpy as np
    import tensorflow as tf

    from kgan import data
    from kgan.features import attribute_classifier as ac

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    keras.utils.set_random_seed(ac.SEED)
    heldout = data.split_arrays(ac._celeba(os.path.join(FLAGS.data_dir, "img_align_celeba")),
                           "heldout")
    images, labels = ac._train_arrays([os.path.join(FLAGS.data_dir, "img_align_celeba_89x109")],
                                      None)
    model = ac.build_classifier()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    male, smiling = ac.ATTRIBUTES.index("Male"), ac.ATTRIBUTES.index("Smiling")
    print(f"{len(images)} train faces, {len(heldout[0])} held-out faces, threads "
          f"{FLAGS.threads or 'default'}")
    for epoch in range(1, FLAGS.epochs + 1):
        model.fit(images.astype(np.float32), labels, batch_size=ac.BATCH_SIZE, epochs=1,
                  verbose=0, shuffle=True)
        accuracy, majority = ac.heldout_accuracy(model, *heldout)
        print(f"  epoch {epoch}: Male {accuracy[male]:.3f} (majority {majority[male]:.3f}), "
              f"Smiling {accuracy[smiling]:.3f} ({majority[smiling]:.3f}), mean "
              f"{accuracy.mean():.3f} ({majority.mean():.3f})", flush=True)


if __name__ == "__main__":
    app.run(main)
