"""The record every dataset loader returns."""

import dataclasses
from typing import Mapping

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """One split of an image dataset.

    Attributes:
        examples: Unbatched `(image, label)` pairs; images are uint8
            `[height, width, channels]` in 0..255.
        num_examples: Number of pairs in `examples`.
        image_shape: (height, width, channels).
        label_kind: How labels are encoded: `class` (an int64 class id per
            image) or `multi_hot` (a float32 {0, 1} vector per image).
        label_names: Class names, or attribute names in vector order.
        source: Where the examples are read from, for logs.
        skipped: How many listed examples were left out, by reason (e.g.
            CelebA's `absent`, `corrupt`, `wrong_size`); empty when the
            source holds nothing unusable.
    """

    examples: tf.data.Dataset
    num_examples: int
    image_shape: tuple[int, int, int]
    label_kind: str
    label_names: tuple[str, ...]
    source: str
    skipped: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

