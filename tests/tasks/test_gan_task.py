"""The noise-to-image GAN meets the task contract (tiny MLP on the real MNIST)."""

import numpy as np
import pytest

from kgan import tasks
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from kgan.tasks.gan import ImageGAN
from tests.tasks.harness import TaskContract


class TestImageGANTaskContract(TaskContract):
    def config(self, request):
        data_dir = request.getfixturevalue("mnist_tfds_dir")
        return Config(data=DataConfig(data_dir=data_dir),
                      model=ModelConfig(architecture="mlp", latent_dim=8, hidden_units=(32,)),
                      train=TrainConfig(batch_size=16, num_samples=16))


def test_examples_per_class_trains_on_a_seeded_labelled_subset(mnist_tfds_dir):
    def subset(seed):
        config = Config(data=DataConfig(data_dir=mnist_tfds_dir, examples_per_class=3),
                        model=ModelConfig(architecture="mlp", conditional=True),
                        train=TrainConfig(seed=seed))
        split = ImageGAN.load_data(ImageGAN.resolve(config), "train")
        return split, np.asarray(split.arrays["label"]), np.asarray(split.arrays["image"])

    split, labels, images = subset(seed=0)
    assert split.num_examples == 30 and images.shape == (30, 28, 28, 1)
    assert "3 per class" in split.source
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 3))
    np.testing.assert_array_equal(subset(seed=0)[2], images)
    assert not np.array_equal(subset(seed=1)[2], images)


@pytest.mark.parametrize("task, dataset, message", [
    ("gan", "celeba", "needs a dataset of classes"),
    ("points", "ring8", "task points uses all its data"),
    ("pix2pix", "celeba", "task pix2pix uses all its data"),
    ("cyclegan", "celeba", "task cyclegan uses all its data"),
])
def test_examples_per_class_is_refused_where_it_does_not_apply(task, dataset, message):
    config = Config(task=task, data=DataConfig(dataset=dataset, examples_per_class=5))
    with pytest.raises(ConfigError, match=message):
        tasks.task_of(config).resolve(config)
