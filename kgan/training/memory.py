"""The memory a run's variables need, checked before they are made.

A model too large for the machine used to be found by allocating it: at
best TensorFlow raised `ResourceExhaustedError` from deep inside Keras, at
worst the kernel's OOM killer ended the process. `check_fits` counts the
task's parameters without allocating them (its networks built inside a
`tf.Graph`, where a variable is an op, not memory) and refuses a model
whose weights, gradients and Adam moments exceed the memory available.
Activations are not counted (they scale with the batch and are found at
the first step), so the check refuses only what can never fit.
"""

import math
import os

import tensorflow as tf

from kgan import tasks
from kgan.config import Config
from kgan.errors import RunError

# float32 weights, their gradients and Adam's two moments.
BYTES_PER_PARAMETER = 4 * 4
_GIB = 2.0**30


def parameter_count(config: Config) -> int:
    """The parameters of every network of the task `config` (resolved) describes."""
    with tf.Graph().as_default():
        task = tasks.task_of(config).build(config, False)
        return sum(math.prod(variable.shape) for variable in task.weights)


def available_bytes() -> int | None:
    """Memory this process can still use: the kernel's MemAvailable, lowered
    by a cgroup (container) limit; None where neither can be read."""
    candidates = []
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as limit_file, \
                open("/sys/fs/cgroup/memory.current", encoding="ascii") as current_file:
            limit = limit_file.read().strip()
            if limit != "max":
                candidates.append(int(limit) - int(current_file.read().strip()))
    except (OSError, ValueError):
        pass
    return min(candidates) if candidates else None


def check_fits(config: Config, available: int | None = None) -> int:
    """Refuses a task whose variables cannot fit in host memory.

    On GPUs the variables live in device memory, which TensorFlow reports
    only after it has claimed it; there the check is left to TensorFlow.

    Args:
        config: The resolved run config.
        available: Bytes available (default: `available_bytes()`).

    Returns:
        The parameter count.

    Raises:
        RunError: if weights, gradients and Adam moments need more than `available`.
    """
    count = parameter_count(config)
    if tf.config.list_physical_devices("GPU"):
        return count
    available = available_bytes() if available is None else available
    needed = count * BYTES_PER_PARAMETER
    if available is not None and needed > available:
        raise RunError(
            f"the {config.task} model has {count:,} parameters: their weights, gradients and "
            f"Adam moments need {needed / _GIB:.1f} GiB, more than the {available / _GIB:.1f} "
            f"GiB of memory available on {os.uname().nodename}; make it smaller "
            "(--base_filters, --latent_dim, --hidden_units, the image size)")
    return count
