"""Saved generators for the latent tools' tests, made without training."""

import keras

from kgan import checkpoints, models
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig


def make_run(workdir, model: ModelConfig, step: int = 7, seed: int = 0,
             data: DataConfig = DataConfig(), gain: float = 1.0) -> Config:
    """A run directory holding `config.json` and one checkpoint of a freshly
    initialized (seeded) generator, as training would have left them.

    `gain` multiplies the output layer's kernel: a fresh DCGAN's images are
    nearly uniform grey (about 0.5 levels of spread), too flat to project.
    """
    keras.utils.set_random_seed(seed)
    config = Config(data=data, model=model, train=TrainConfig(steps=step))
    checkpoints.write_config(str(workdir), config)
    generator = models.build_generator(model)
    last_kernel = [v for v in generator.trainable_variables if v.path.endswith("kernel")][-1]
    last_kernel.assign(last_kernel * gain)
    manager = checkpoints.checkpoint_manager(checkpoints.make_checkpoint({"generator": generator}), str(workdir),
                                             max_to_keep=1)
    checkpoints.save(manager, step)
    return config


MNIST_DCGAN = ModelConfig(latent_dim=8, base_filters=4, image_shape=(28, 28, 1))
MNIST_CONDITIONAL = ModelConfig(latent_dim=8, base_filters=4, image_shape=(28, 28, 1),
                                conditional=True, label_kind="class",
                                label_names=tuple("0123456789"))
