"""GAN tasks: each family is a `kgan.tasks.base.Task` (a `keras.Model` whose
`train_step` plays its game), registered here by name (`--task=<name>`).

A new family is new files (its task, and if needed its networks under
`kgan/models/`, its data under `kgan/data/`, its metrics under
`kgan/evaluation/`) plus one line in `TASKS`.
"""

from kgan.config import Config
from kgan.errors import lookup
from kgan.tasks.base import (ClassifierServing, Direction, LatentServing, Phase, Preview, Task,
                             TaskData, TranslationServing)
from kgan.tasks.cyclegan import CycleGAN
from kgan.tasks.gan import ImageGAN
from kgan.tasks.pix2pix import Pix2Pix
from kgan.tasks.points import PointGAN
from kgan.tasks.semi_supervised import SemiSupervisedGAN
from kgan.tasks.simgan import SimGAN
from kgan.tasks.srgan import SRGAN

TASKS = {
    ImageGAN.NAME: ImageGAN,
    PointGAN.NAME: PointGAN,
    Pix2Pix.NAME: Pix2Pix,
    CycleGAN.NAME: CycleGAN,
    SemiSupervisedGAN.NAME: SemiSupervisedGAN,
    SimGAN.NAME: SimGAN,
    SRGAN.NAME: SRGAN,
}


def get_task(name: str) -> type[Task]:
    """The task class registered under `name` (ConfigError listing the choices otherwise)."""
    return lookup(TASKS, name, "task")


def task_of(config: Config) -> type[Task]:
    return get_task(config.task)


__all__ = ["ClassifierServing", "Direction", "LatentServing", "Phase", "Preview", "TASKS", "Task",
           "TaskData", "get_task", "task_of", "TranslationServing"]
