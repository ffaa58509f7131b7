"""Training: the run loop that drives any task (`kgan.tasks`), and its callbacks."""

from kgan.training.loop import TrainResult, build_task, resolve, total_steps, train

__all__ = ["TrainResult", "build_task", "resolve", "total_steps", "train"]
