"""Datasets as tf.data pipelines of images scaled to [-1, 1].

`load` returns one split as an `ImageDataset`; `training_batches` turns it
into the endless, seeded, resumable stream of batches that training reads.
"""

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from kgan.config import Config, DataConfig
from kgan.conditioning import label_vectors
from kgan.core.messages import one_line
from kgan.data import celeba, folder, mnist, stacked_mnist
from kgan.data.record import ImageDataset
from kgan.errors import ConfigError, DataError, lookup


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What kgan knows about a dataset before reading it.

    Attributes:
        image_shape: (height, width, channels) of the images it yields, or
            a function of the `DataConfig` giving them (`folder`: its
            resolution); read it through `shape`.
        label_kind: `class` or `multi_hot` (see `kgan.config.LABEL_KINDS`).
        label_names: The label names a `DataConfig` selects.
        load: Reads one split: `load(data_config, split) -> ImageDataset`.
        splits: The split names `load` accepts.
        evaluation_split: The held-out split generated images are compared
            with by default.
        fingerprint: Identifies the data a config reads, where the name and
            split do not (a user's folder); None for a fixed dataset.
    """

    image_shape: tuple[int, int, int] | Callable[[DataConfig], tuple[int, int, int]]
    label_kind: str
    label_names: Callable[[DataConfig], tuple[str, ...]]
    load: Callable[[DataConfig, str], ImageDataset]
    splits: tuple[str, ...]
    evaluation_split: str
    fingerprint: Callable[[DataConfig], str] | None = None

    def shape(self, data_config: DataConfig) -> tuple[int, int, int]:
        if callable(self.image_shape):
            return tuple(self.image_shape(data_config))
        return tuple(self.image_shape)


DATASETS = {
    "mnist": DatasetSpec(mnist.IMAGE_SHAPE, "class", lambda _: mnist.CLASS_NAMES,
                         lambda c, split: mnist.load(resolve_data_dir(c.data_dir), split,
                                                     c.download),
                         mnist.SPLITS, "test"),
    "celeba": DatasetSpec(celeba.IMAGE_SHAPE, "multi_hot", celeba.label_names, celeba.load,
                          celeba.SPLITS, "heldout"),
    # 1,000 modes (digit triples); the data_dir is MNIST's.
    "stacked_mnist": DatasetSpec(
        stacked_mnist.IMAGE_SHAPE, "class", lambda _: stacked_mnist.MODE_NAMES,
        lambda c, split: stacked_mnist.load(resolve_data_dir(c.data_dir), split, c.download),
        stacked_mnist.SPLITS, "test"),
    # Any folder of JPEG/PNG files; classes from its subfolders.
    "folder": DatasetSpec(folder.image_shape, "class", folder.label_names, folder.load,
                          folder.SPLITS, "train", folder.fingerprint),
}


def get_dataset_spec(name: str) -> DatasetSpec:
    return lookup(DATASETS, name, "dataset")


def resolve_data_dir(data_dir: str | None) -> str | None:
    """`data_dir` if given, else `$KGAN_DATA_DIR`, else None (TFDS's default)."""
    return data_dir or os.environ.get("KGAN_DATA_DIR") or None


def resolve(config: Config) -> Config:
    """Fills in what the dataset determines: the image shape and, for a
    conditional model, the label kind and names.

    Raises:
        ConfigError: for an unknown dataset, or an image shape or labels that
            do not match the dataset's.
    """
    spec = get_dataset_spec(config.data.dataset)
    model = config.model
    shape = spec.shape(config.data)
    if model.image_shape is None:
        model = dataclasses.replace(model, image_shape=shape)
    elif tuple(model.image_shape) != shape:
        raise ConfigError(f"model.image_shape {tuple(model.image_shape)} does not match "
                          f"dataset {config.data.dataset!r} ({shape})")
    if model.conditional:
        expected = {"label_kind": spec.label_kind,
                    "label_names": tuple(spec.label_names(config.data))}
        for name, value in expected.items():
            given = getattr(model, name)
            if given is not None and given != value:
                raise ConfigError(f"model.{name} {given!r} does not match dataset "
                                  f"{config.data.dataset!r} ({value!r})")
        model = dataclasses.replace(model, **expected)
    return dataclasses.replace(config, model=model)


def load(config: DataConfig, split: str = "train") -> ImageDataset:
    """Loads one split of the configured dataset.

    Raises:
        ConfigError: for a split the dataset does not have.
        DataError: if the data is missing or unusable.
    """
    spec = get_dataset_spec(config.dataset)
    if split not in spec.splits:
        raise ConfigError(f"dataset {config.dataset!r} has no split {split!r}; "
                          f"choose from {', '.join(spec.splits)}")
    return spec.load(config, split)


def per_class_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """`per_class` indices of each class of `labels` (int class ids),
    drawn by `seed`, sorted by class then index: a small labelled set.

    Raises:
        DataError: if a class has fewer than `per_class` examples.
    """
    rng = np.random.default_rng([seed, 0x5E5])
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise DataError(f"{per_class} images per class were asked for, but class {label} "
                            f"has only {len(members)} training examples")
        chosen.append(np.sort(rng.choice(members, per_class, replace=False)))
    return np.concatenate(chosen)


def tiled_order(count: int, length: int, seed: int) -> np.ndarray:
    """`length` indices into `count` items: shuffled copies of `range(count)`,
    one after another (Salimans et al.'s tiling of their labelled set)."""
    rng = np.random.default_rng([seed, 0x711E])
    copies = -(-length // count)
    return np.concatenate([rng.permutation(count) for _ in range(copies)])[:length]


def check_examples_per_class(config: Config, task: str) -> None:
    """Refuses `data.examples_per_class` for a task that trains on all its data."""
    if config.data.examples_per_class:
        raise ConfigError(f"data.examples_per_class={config.data.examples_per_class} picks a "
                          f"labelled subset for task gan; task {task} uses all its data")


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 images in 0..255 -> float32 in [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def steps_per_epoch(num_examples: int, batch_size: int, min_batch_size: int = 1) -> int:
    """Batches per pass over `num_examples`, counting a final partial batch
    only when it holds at least `min_batch_size` examples."""
    full, remainder = divmod(num_examples, batch_size)
    return full + (1 if remainder >= min_batch_size else 0)


def materialize(dataset: ImageDataset, count: int | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Reads the first `count` (default all) examples of a split into one
    uint8 image tensor and one label tensor.

    Raises:
        DataError: naming the split's source, if reading fails inside
            TensorFlow (a file damaged after `load` checked it, or a
            damage that only decoding finds), or yields fewer examples.
    """
    count = dataset.num_examples if count is None else count
    try:
        images, labels = next(iter(dataset.examples.take(count).batch(count)))
    except StopIteration:
        images = labels = tf.zeros([0])
    except tf.errors.OpError as e:
        raise DataError(f"could not read the examples of {dataset.source}: "
                        f"{one_line(e)}") from None
    if images.shape[0] != count:
        # Training would otherwise index past the end of what was read.
        raise DataError(f"{dataset.source} yields {images.shape[0]} examples, not the "
                        f"{count} it declares")
    return images, labels


def split_arrays(data_config: DataConfig, split: str, count: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` (default all) examples of a split, in its fixed order, as NumPy.

    Returns:
        (uint8 images `[count, h, w, c]`, labels `[count, ...]` as the
        dataset encodes them).

    Raises:
        ConfigError: if the split holds fewer than `count` examples.
    """
    dataset = load(data_config, split)
    count = dataset.num_examples if count is None else count
    if not 1 <= count <= dataset.num_examples:
        raise ConfigError(f"asked for {count} images of {data_config.dataset} {split}, which "
                          f"has {dataset.num_examples}")
    images, labels = materialize(dataset, count)
    return images.numpy(), labels.numpy()


def seeded_batches(arrays: dict, num_examples: int, batch_size: int, seed: int,
                   start_step: int = 0, min_batch_size: int = 1,
                   transform: Callable[[dict], dict] | None = None) -> tf.data.Dataset:
    """An endless stream of shuffled batches of named arrays, resumable at any step.

    The arrays (examples along the first axis, all `num_examples` long) are
    held in memory. Epoch `e` visits them in the order of a stateless Philox
    permutation keyed by (`seed`, `e`), cut into batches of `batch_size`; the
    final partial batch is kept unless it holds fewer than `min_batch_size`
    examples. The order depends on nothing but those two numbers (not on
    TensorFlow's global seed, the device or earlier epochs), so the stream
    started at `start_step` is exactly the full stream without its first
    `start_step` batches, and resuming costs no replay. Any element spec
    works: a batch is `transform({name: rows})` (default: the rows).

    Raises:
        ConfigError: if no batch of at least `min_batch_size` fits.
    """
    per_epoch = steps_per_epoch(num_examples, batch_size, min_batch_size)
    if per_epoch == 0:
        raise ConfigError(f"batch size {batch_size} leaves no batch of at least "
                          f"{min_batch_size} examples from {num_examples} examples")
    tensors = {name: tf.convert_to_tensor(value) for name, value in arrays.items()}
    transform = transform or (lambda rows: rows)
    first_epoch, offset = divmod(start_step, per_epoch)

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_examples, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, tf.int64), epoch]), alg="philox")
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).take(per_epoch)

    def lookup(indices):
        return transform({name: tf.gather(value, indices) for name, value in tensors.items()})

    stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_indices).skip(offset)
    return stream.map(lookup, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def training_batches(dataset: ImageDataset, batch_size: int, seed: int, start_step: int = 0,
                     min_batch_size: int = 1, with_labels: bool = False) -> tf.data.Dataset:
    """`seeded_batches` of an image split: dicts with float32 `image` batches in
    [-1, 1] and, if `with_labels`, float32 `label` vectors (see `label_vectors`).

    The split is decoded once into memory (`materialize`).
    """
    images, labels = materialize(dataset)
    arrays = {"image": images, "label": labels} if with_labels else {"image": images}
    return seeded_batches(arrays, dataset.num_examples, batch_size, seed, start_step,
                          min_batch_size, image_batch_transform(dataset, with_labels))


def image_batch_transform(dataset: ImageDataset, with_labels: bool) -> Callable[[dict], dict]:
    """uint8 `image` rows -> float32 in [-1, 1]; raw `label` rows -> float32
    label vectors (kept only `with_labels`)."""

    def transform(rows):
        batch = {"image": to_unit_range(rows["image"])}
        if with_labels:
            batch["label"] = label_vectors(rows["label"], dataset.label_kind, dataset.num_labels)
        return batch

    return transform


__all__ = [
    "DATASETS", "DatasetSpec", "ImageDataset", "get_dataset_spec", "image_batch_transform",
    "label_vectors", "load",
    "materialize", "resolve", "resolve_data_dir", "seeded_batches", "steps_per_epoch", "to_unit_range",
    "training_batches",
]
