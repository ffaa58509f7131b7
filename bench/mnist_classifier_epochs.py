"""MNIST test accuracy of kgan's evaluation classifier after each epoch.

`mnist_classifier.train_classifier` (the recipe that is cached and judges
every MNIST run) is trained for `--epochs`, and after each epoch its
accuracy on the 10,000 test digits and the epoch's wall time are printed:
how few epochs keep it above `MIN_TEST_ACCURACY`. The figure after the last
epoch is the recipe's own (the callback only reads the model).

    python bench/mnist_classifier_epochs.py --epochs=8
"""

import os
import sys
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_integer("epochs", 8, "Epochs to train.")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data", "tensorflow_datasets"),
                    "The MNIST TFDS data_dir.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import keras
    import numpy as np

    from kgan import data
    from kgan.config import DataConfig
    from kgan.evaluation import mnist_classifier

    config = DataConfig(dataset="mnist", data_dir=FLAGS.data_dir)
    test_images, test_labels = data.split_arrays(config, "test")
    test_images = test_images.astype(np.float32)

    class EpochReport(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            logits = self.model.predict(test_images, batch_size=1000, verbose=0)
            accuracy = float(np.mean(logits.argmax(axis=1) == test_labels))
            print(f"  epoch {epoch + 1}: test accuracy {accuracy:.4f} "
                  f"(floor {mnist_classifier.MIN_TEST_ACCURACY}), {seconds:.0f} s", flush=True)

    print(f"MNIST evaluation classifier v{mnist_classifier.VERSION}: {FLAGS.epochs} epochs "
          f"(the cached recipe uses {mnist_classifier.EPOCHS})", flush=True)
    _, accuracy = mnist_classifier.train_classifier(config, log=lambda message: None,
                                                    epochs=FLAGS.epochs,
                                                    callbacks=[EpochReport()])
    print(f"recipe's test accuracy after {FLAGS.epochs} epochs: {accuracy:.4f}")


if __name__ == "__main__":
    app.run(main)
