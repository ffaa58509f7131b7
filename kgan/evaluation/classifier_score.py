"""What a GAN's images are worth to a classifier: train one on them, test it on real data.

Ravuri & Vinyals ("Classification Accuracy Score for Conditional Generative
Models", NeurIPS 2019, https://arxiv.org/abs/1905.10887) train a classifier
on generated images and test it on real held-out ones. kgan measures two of
the lectures' uses of GANs for supervised learning this way: conditional
samples added to a small labelled set (`bench/augmentation.py`) and SimGAN's
refined synthetic digits against the raw ones (`bench/simgan.py`).

The classifier is the CNN of kgan's MNIST evaluation classifier
(`kgan.evaluation.mnist_classifier`), trained from scratch with Adam for a
fixed number of steps on batches drawn equally from each source, so a small
real set is not drowned by many generated images. Everything is drawn from
the seed given.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from kgan.config import DataConfig
from kgan.errors import DataError
from kgan.evaluation import classification
from kgan.evaluation.mnist_classifier import build_classifier

LEARNING_RATE = 1e-3
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class LabelledImages:
    """uint8 images `[n, H, W, C]` with int class ids `[n]`, named for logs."""

    name: str
    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if len(self.images) == 0 or len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: {len(self.images)} images with "
                            f"{len(self.labels)} labels; need as many, and at least one")


def train_classifier(sources: list, steps: int, seed: int,
                     batch_size: int = 128, log=print) -> keras.Model:
    """A digit classifier (`[n, 28, 28, 1]` uint8 images, 10 classes)
    trained on `sources` (`LabelledImages`), each batch drawing
    `batch_size / len(sources)` examples from each.

    Raises:
        DataError: for no source, or a label outside `range(num_classes)`.
    """
    if not sources:
        raise DataError("train_classifier needs at least one source of labelled images")
    for source in sources:
        if source.images.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{source.name}: images of shape {source.images.shape[1:]}; the "
                            f"digit classifier takes {IMAGE_SHAPE}")
        if source.labels.min() < 0 or source.labels.max() >= NUM_CLASSES:
            raise DataError(f"{source.name}: labels must lie in 0..{NUM_CLASSES - 1}, got "
                            f"{source.labels.min()}..{source.labels.max()}")
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng([seed, 0xC1A55])
    model = build_classifier()
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    share = max(1, batch_size // len(sources))

    # No Python control flow inside: AutoGraph has nothing to convert.
    @tf.function(autograph=False, reduce_retracing=True)
    def step(images, labels):
        with tf.GradientTape() as tape:
            logits = model(tf.cast(images, tf.float32), training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        return loss

    log(f"Training the scoring classifier for {steps} steps on "
        f"{' + '.join(source.name for source in sources)}")
    for index in range(steps):
        picks = [rng.integers(0, len(source.images), share) for source in sources]
        images = np.concatenate([s.images[p] for s, p in zip(sources, picks)])
        labels = np.concatenate([s.labels[p] for s, p in zip(sources, picks)]).astype(np.int64)
        loss = step(tf.constant(images), tf.constant(labels))
        if (index + 1) % max(1, steps // 4) == 0:
            log(f"  step {index + 1}/{steps}: loss {float(loss):.4f}")
    return model


def score(sources: list, steps: int, seed: int, data_config: DataConfig, log=print) -> dict:
    """Trains the classifier on `sources` (`train_classifier`) and returns
    its error on the held-out split of `data_config`'s digits
    (`classification.test_error`)."""
    model = train_classifier(sources, steps, seed, log=log)
    return classification.test_error(probabilities(model), data_config, log=log)


def probabilities(model: keras.Model):
    """uint8 images -> class probabilities, as `classification.test_error` takes."""
    return lambda images: tf.nn.softmax(
        model(tf.cast(images, tf.float32), training=False)).numpy()
