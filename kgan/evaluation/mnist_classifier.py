"""A small MNIST classifier that kgan trains once and caches, for fast CPU metrics.

It labels generated digits (mode coverage, confidence) and provides 128-d
penultimate features for a Frechet distance that costs milliseconds instead of
Inception's minutes. Training is seeded, on the MNIST train split; the weights
are cached with their test accuracy in `<kgan cache>/mnist_classifier/`, and a
model below `MIN_TEST_ACCURACY` is refused rather than cached.
"""

import os

import keras
import numpy as np

from kgan import data
from kgan.config import DataConfig, cache_dir
from kgan.core.progress import batched
from kgan.errors import DataError
from kgan.features import weights_cache

VERSION = 1  # bump when the architecture or training recipe changes: a new cache entry
MIN_TEST_ACCURACY = 0.99
EPOCHS = 8
SEED = 0


def build_classifier() -> keras.Model:
    """The CNN: uint8-range images `[n, 28, 28, 1]` -> 10 logits."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(128, activation="relu", name="penultimate"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, name="logits"),
    ], name="mnist_classifier")


class MnistClassifier:
    """A trained classifier. Calling it gives penultimate features (for Frechet distances).

    Attributes:
        model: The Keras model (logits).
        test_accuracy: Accuracy on the MNIST test split.
        identity: `mnist-classifier:v<VERSION>:<sha256 of the weights>`, for cache keys.
    """

    def __init__(self, model: keras.Model, test_accuracy: float, weights_sha256: str):
        self.model = model
        self.test_accuracy = test_accuracy
        self.identity = f"mnist-classifier:v{VERSION}:{weights_sha256}"
        self._features = keras.Model(model.inputs[0], model.get_layer("penultimate").output)

    def probabilities(self, images, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities `[n, 10]` for uint8-range images."""
        logits = batched(lambda b: self.model(np.asarray(b, np.float32), training=False),
                         images, batch_size, "MNIST classifier")
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def __call__(self, images, label: str = "MNIST classifier features",
                 batch_size: int = 1000) -> np.ndarray:
        return batched(lambda b: self._features(np.asarray(b, np.float32), training=False),
                       images, batch_size, label).astype(np.float32)


def train_classifier(data_config: DataConfig, log=print, epochs: int = EPOCHS,
                     callbacks=()) -> tuple[keras.Model, float]:
    """Trains the classifier (seeded) and returns it with its test accuracy.

    `epochs` and Keras `callbacks` are for measuring the recipe
    (`bench/mnist_classifier_epochs.py`); the cached classifier uses `EPOCHS`.
    """
    keras.utils.set_random_seed(SEED)
    train_images, train_labels = data.split_arrays(data_config, "train")
    test_images, test_labels = data.split_arrays(data_config, "test")
    model = build_classifier()
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    log(f"Training the MNIST evaluation classifier ({epochs} epochs, once; cached afterwards)")
    model.fit(train_images.astype(np.float32), train_labels, batch_size=128, epochs=epochs,
              verbose=0, shuffle=True, callbacks=list(callbacks))
    _, accuracy = model.evaluate(test_images.astype(np.float32), test_labels, batch_size=1000,
                                 verbose=0)
    return model, float(accuracy)


def _record_problem(record: dict) -> str | None:
    accuracy = record["test_accuracy"]
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) \
            or not MIN_TEST_ACCURACY <= accuracy <= 1:
        return f"test accuracy {accuracy!r}"
    return None


def load_classifier(data_config: DataConfig, cache_root: str | None = None,
                    log=print) -> MnistClassifier:
    """The cached classifier, training and caching it first if needed.

    Raises:
        DataError: if training does not reach `MIN_TEST_ACCURACY`, or the
            cached weights or their record are damaged.
    """
    folder = os.path.join(cache_root or cache_dir(), "mnist_classifier")
    weights = os.path.join(folder, f"v{VERSION}-seed{SEED}.weights.h5")
    info_path = weights.replace(".weights.h5", ".json")
    if not (os.path.exists(weights) and os.path.exists(info_path)):
        model, accuracy = train_classifier(data_config, log)
        if accuracy < MIN_TEST_ACCURACY:
            raise DataError(f"the MNIST classifier reached only {accuracy:.4f} test accuracy "
                            f"(needs {MIN_TEST_ACCURACY})")
        weights_cache.store(model, weights, info_path, {"test_accuracy": accuracy,
                                                        "version": VERSION, "epochs": EPOCHS,
                                                        "seed": SEED})
        log(f"MNIST classifier: {accuracy:.4f} test accuracy, cached in {folder}")
    model = build_classifier()
    record, sha = weights_cache.restore(model, weights, info_path, "MNIST classifier",
                                        _record_problem)
    return MnistClassifier(model, float(record["test_accuracy"]), sha)
