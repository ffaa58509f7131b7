"""The training stream: scaling, shuffling, partial batches, resumption."""

import dataclasses

import numpy as np
import pytest

from kgan import data
from kgan.config import Config, DataConfig, ModelConfig
from kgan.errors import ConfigError, DataError
from tests.conftest import tiny_dataset


def ids(batch):
    """Recovers the example ids of a tiny_dataset batch (image i holds value i)."""
    return [int(round((image[0, 0, 0] + 1.0) * 127.5)) for image in np.asarray(batch)]


def take(stream, count):
    return [np.asarray(b["image"]) for b in stream.take(count)]


def test_values_are_scaled_to_unit_range():
    images = data.to_unit_range(np.array([0, 127, 255], np.uint8)).numpy()
    np.testing.assert_allclose(images, [-1.0, 127 / 127.5 - 1.0, 1.0])


def test_each_epoch_is_a_permutation_with_a_final_partial_batch():
    stream = data.training_batches(tiny_dataset(10), batch_size=4, seed=1)
    batches = take(stream, 6)
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    first, second = sum(map(ids, batches[:3]), []), sum(map(ids, batches[3:]), [])
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second, "epochs should be reshuffled"
    assert all(b.dtype == np.float32 and b.min() >= -1 and b.max() <= 1 for b in batches)


def test_same_seed_same_order_other_seed_other_order():
    dataset = tiny_dataset(50)
    a = [ids(b) for b in take(data.training_batches(dataset, 8, seed=3), 10)]
    b = [ids(b) for b in take(data.training_batches(dataset, 8, seed=3), 10)]
    c = [ids(b) for b in take(data.training_batches(dataset, 8, seed=4), 10)]
    assert a == b and a != c


@pytest.mark.parametrize("start_step", [1, 2, 3, 7])
def test_resumed_stream_equals_the_full_stream_from_that_step(start_step):
    dataset = tiny_dataset(10)
    full = [ids(b) for b in take(data.training_batches(dataset, 4, seed=5), 12)]
    resumed = [ids(b) for b in take(data.training_batches(dataset, 4, seed=5, start_step=start_step), 4)]
    assert resumed == full[start_step:start_step + 4]


def test_partial_batches_smaller_than_min_batch_size_are_dropped():
    stream = data.training_batches(tiny_dataset(10), batch_size=4, seed=0, min_batch_size=3)
    assert [len(b) for b in take(stream, 4)] == [4, 4, 4, 4]
    assert data.steps_per_epoch(10, 4, 3) == 2
    assert data.steps_per_epoch(10, 4) == 3
    with pytest.raises(ConfigError, match="batch size 16 leaves no batch"):
        data.training_batches(tiny_dataset(10), batch_size=16, seed=0, min_batch_size=11)


def test_labels_follow_their_images():
    dataset = tiny_dataset(10)
    labels = np.array([int(l) for _, l in dataset.examples])
    batch = next(iter(data.training_batches(dataset, 10, seed=0, with_labels=True)))
    images, batch_labels = batch["image"], batch["label"]
    assert set(batch) == {"image", "label"}
    # Class ids arrive as the one-hot vectors conditional networks take.
    np.testing.assert_array_equal(batch_labels.numpy(), np.eye(10)[labels[ids(images)]])


def test_resolve_fills_labels_of_a_conditional_model():
    conditional = Config(model=ModelConfig(conditional=True))
    mnist = data.resolve(conditional).model
    assert mnist.label_kind == "class" and mnist.label_names == tuple("0123456789")
    assert mnist.num_labels == 10
    celeba = data.resolve(dataclasses.replace(
        conditional, data=DataConfig(dataset="celeba", attributes=("Smiling", "Male")))).model
    assert celeba.label_kind == "multi_hot" and celeba.label_names == ("Smiling", "Male")
    assert celeba.image_shape == (64, 64, 3)
    assert data.resolve(Config()).model.num_labels == 0
    with pytest.raises(ConfigError, match="model.label_names .* does not match dataset"):
        data.resolve(Config(model=ModelConfig(conditional=True, label_names=("a", "b"))))


def test_resolve_fills_and_checks_the_image_shape():
    assert data.resolve(Config()).model.image_shape == (28, 28, 1)
    wrong = dataclasses.replace(Config(), model=ModelConfig(image_shape=(64, 64, 3)))
    with pytest.raises(ConfigError, match="does not match dataset 'mnist'"):
        data.resolve(wrong)
    with pytest.raises(ConfigError, match="unknown dataset 'cifar10'; choose one of: celeba, folder, mnist"):
        data.get_dataset_spec("cifar10")


def test_any_element_spec_streams_seeded_and_resumable():
    arrays = {"points": np.arange(20, dtype=np.float32).reshape(10, 2),
              "weight": np.arange(10, dtype=np.int64)}
    full = [b for b in data.seeded_batches(arrays, 10, 4, seed=2, min_batch_size=2).take(9)]
    resumed = [b for b in data.seeded_batches(arrays, 10, 4, seed=2, start_step=5,
                                              min_batch_size=2).take(4)]
    for a, b in zip(full[5:], resumed):
        np.testing.assert_array_equal(a["points"], b["points"])
    for batch in full:  # rows stay together across named arrays
        np.testing.assert_array_equal(batch["points"][:, 0], 2 * batch["weight"])
    epoch = np.concatenate([b["weight"] for b in full[:3]])
    assert sorted(epoch.tolist()) == list(range(10))
    doubled = next(iter(data.seeded_batches(arrays, 10, 4, seed=2,
                                            transform=lambda rows: {"x": rows["weight"] * 2})))
    assert set(doubled) == {"x"}


def test_a_labelled_subset_is_drawn_per_class_by_the_seed():
    labels = np.repeat(np.arange(3), [5, 4, 6])
    chosen = data.per_class_indices(labels, 2, seed=0)
    assert sorted(labels[chosen].tolist()) == [0, 0, 1, 1, 2, 2]
    assert len(set(chosen.tolist())) == 6
    np.testing.assert_array_equal(chosen, data.per_class_indices(labels, 2, seed=0))
    assert any(not np.array_equal(chosen, data.per_class_indices(labels, 2, seed=s))
               for s in range(1, 5))
    with pytest.raises(DataError, match="5 images per class were asked for, but class 1 has only 4"):
        data.per_class_indices(labels, 5, seed=0)


def test_a_small_set_is_tiled_so_each_item_comes_equally_often():
    order = data.tiled_order(100, 60_000, seed=3)
    assert order.shape == (60_000,)
    np.testing.assert_array_equal(np.bincount(order, minlength=100), np.full(100, 600))
    # Each block of 100 is one shuffled copy, not the identity.
    assert sorted(order[:100].tolist()) == list(range(100))
    assert order[:100].tolist() != list(range(100))


def test_split_arrays_reads_the_first_examples_in_order_and_refuses_more_than_there_are(
        mnist_tfds_dir):
    config = DataConfig(dataset="mnist", data_dir=mnist_tfds_dir)
    images, labels = data.split_arrays(config, "test", 7)
    assert images.dtype == np.uint8 and images.shape == (7, 28, 28, 1) and labels.shape == (7,)
    first_ten, first_ten_labels = data.split_arrays(config, "test", 10)
    np.testing.assert_array_equal(first_ten[:7], images)
    np.testing.assert_array_equal(first_ten_labels[:7], labels)
    for count in (0, 10_001):
        with pytest.raises(ConfigError, match=f"asked for {count} images of mnist test, "
                                              "which has 10000"):
            data.split_arrays(config, "test", count)
