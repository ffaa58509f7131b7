"""The record every dataset loader returns."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """One split of an image dataset.

    Attributes:
        examples: Unbatched `(image, label)` pairs; images are uint8
            `[height, width, channels]` in 0..255.
        num_examples: Number of pairs in `examples`.
        image_shape: (height, width, channels).
        num_classes: Number of label classes.
        source: Where the examples are read from, for logs.
    """

    examples: tf.data.Dataset
    num_examples: int
    image_shape: tuple[int, int, int]
    num_classes: int
    source: str
