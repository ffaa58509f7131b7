"""The points toy family: the task contract, its game on the ring, and its config checks."""

import dataclasses

import numpy as np
import pytest

from kgan import tasks
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from kgan.tasks.points import PointGAN
from tests.tasks.harness import TaskContract

TINY = Config(task="points", data=DataConfig(dataset="ring8"),
              model=ModelConfig(architecture="mlp", latent_dim=2, hidden_units=(16, 16)),
              train=TrainConfig(batch_size=32, num_samples=16))


class TestPointsTaskContract(TaskContract):
    def config(self, request):
        return TINY


def test_points_is_registered_and_reads_its_own_data():
    assert tasks.get_task("points") is PointGAN
    data = PointGAN.load_data(TINY, "train")
    assert data.arrays["points"].shape == (100_000, 2) and data.arrays["points"].dtype == np.float32
    radii = np.linalg.norm(data.arrays["points"], axis=1)
    assert abs(radii.mean() - 1.0) < 0.01  # the ring of radius 1
    test = PointGAN.load_data(TINY, PointGAN.evaluation_split(TINY))
    assert test.num_examples == 2_500
    assert not np.array_equal(test.arrays["points"], data.arrays["points"][:2_500])


@pytest.mark.parametrize("change, message", [
    ({"data": DataConfig(dataset="mnist")}, "unknown point mixture 'mnist'"),
    ({"model": ModelConfig(architecture="dcgan")}, "model.architecture must be 'mlp'"),
    ({"model": ModelConfig(architecture="mlp", conditional=True)}, "no labels"),
    ({"train": TrainConfig(eval_every=10, eval_metric="classifier_fd")}, "evaluate.py"),
])
def test_configs_the_task_cannot_train_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        PointGAN.resolve(dataclasses.replace(TINY, **change))


def test_an_unknown_task_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown task .stylegan.; choose one of: cyclegan, gan, "
                                          "pix2pix, points"):
        tasks.get_task("stylegan")
