"""The noise-to-image GAN meets the task contract (tiny MLP on the real MNIST)."""

from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from tests.tasks.harness import TaskContract


class TestImageGANTaskContract(TaskContract):
    def config(self, request):
        data_dir = request.getfixturevalue("mnist_tfds_dir")
        return Config(data=DataConfig(data_dir=data_dir),
                      model=ModelConfig(architecture="mlp", latent_dim=8, hidden_units=(32,)),
                      train=TrainConfig(batch_size=16, num_samples=16))
