"""Training: the GAN model, its callbacks and the run loop."""

from kgan.training.gan import GAN
from kgan.training.loop import TrainResult, build_gan, resolve, total_steps, train

__all__ = ["GAN", "TrainResult", "build_gan", "resolve", "total_steps", "train"]
