"""Test error of a classifier that a GAN trained (the semi-supervised task).

The classifier is given as a function of uint8 images to class
probabilities, the form the export's `classify` signature serves, so a
training run and its export are measured by the same code.
"""

from typing import Callable

import numpy as np

from kgan import data
from kgan.config import DataConfig
from kgan.errors import DataError

_BATCH = 1000


def test_error(classify: Callable[[np.ndarray], np.ndarray], data_config: DataConfig,
               split: str = "test", log=print, batch_size: int = _BATCH) -> dict:
    """The share of `split`'s images whose most probable class is wrong.

    Args:
        classify: uint8 images `[n, H, W, C]` -> probabilities `[n, K]`.
        data_config: The data the classifier learned (its labels' order).
        split: The held-out split (MNIST: `test`, 10,000 images).
        batch_size: Images per call (an export's request limit may be lower).

    Returns:
        `{"split", "count", "errors", "error", "per_class_error"}`.
    """
    dataset = data.load(data_config, split)
    images, labels = (np.asarray(array) for array in data.materialize(dataset))
    predicted = np.empty(len(labels), np.int64)
    for start in range(0, len(labels), batch_size):
        probabilities = np.asarray(classify(images[start:start + batch_size]))
        if probabilities.shape != (min(batch_size, len(labels) - start),
                                   len(dataset.label_names)):
            raise DataError(f"the classifier gave probabilities of shape {probabilities.shape} "
                            f"for {split} images of {len(dataset.label_names)} classes")
        predicted[start:start + batch_size] = probabilities.argmax(axis=1)
    wrong = predicted != labels
    per_class = {name: float(wrong[labels == index].mean())
                 for index, name in enumerate(dataset.label_names) if (labels == index).any()}
    result = {"split": split, "count": int(len(labels)), "errors": int(wrong.sum()),
              "error": float(wrong.mean()), "per_class_error": per_class}
    log(f"{data_config.dataset} {split}: {result['errors']} of {result['count']} misclassified "
        f"({100 * result['error']:.2f}% test error)")
    return result
