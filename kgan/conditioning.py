"""Labels of conditional GANs: how users give them, and the vectors networks take.

Users give labels in a dataset's own terms: class ids (`label_kind`
`class`, e.g. MNIST digits) or {0, 1} attribute vectors (`multi_hot`, e.g.
CelebA's Male, Smiling, ...). Conditional networks always take float32
vectors `[batch, num_labels]`: class ids one-hot, attribute vectors as they
are (fractional values allowed, e.g. half an attribute).
"""

import itertools

import numpy as np
import tensorflow as tf

MAX_GRID_ROWS = 16


def label_vectors(labels, label_kind: str, num_labels: int) -> tf.Tensor:
    """Labels as float32 `[batch, num_labels]` vectors (class ids one-hot)."""
    if label_kind == "class":
        return tf.one_hot(tf.cast(labels, tf.int32), num_labels, dtype=tf.float32)
    return tf.cast(labels, tf.float32)


def grid_rows(label_kind: str, label_names: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The labels of a conditional sample grid's rows, and each row's name.

    Classes: one row per class. Attributes: one row per combination when
    there are at most `MAX_GRID_ROWS` (4 attributes: 16 rows, from none to
    all); with more attributes, a row with none and one row per attribute.

    Returns:
        (float32 label vectors `[rows, num_labels]`, row names).
    """
    count = len(label_names)
    if label_kind == "class":
        return np.eye(count, dtype=np.float32), list(label_names)
    if 2 ** count <= MAX_GRID_ROWS:
        combinations = [c for size in range(count + 1)
                        for c in itertools.combinations(range(count), size)]
    else:
        combinations = [()] + [(i,) for i in range(count)]
    vectors = np.zeros((len(combinations), count), np.float32)
    names = []
    for row, combination in enumerate(combinations):
        vectors[row, list(combination)] = 1.0
        names.append("+".join(label_names[i] for i in combination) or "none")
    return vectors, names
