"""Distribution strategies and precision policies for training.

`make_strategy` maps `train.strategy` onto TensorFlow's own engine:

* `default`: one device (`tf.distribute.get_strategy()`).
* `mirrored`: `tf.distribute.MirroredStrategy` over this host's GPUs (or its
  CPU when it has none; tests give the CPU several logical devices).
* `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`, configured by
  the `TF_CONFIG` environment variable as TensorFlow documents: the same
  command runs on every host, each with its own `task`.

The chief (task `chief`, or worker 0 when there is none) owns the workdir:
it writes config.json, samples, TensorBoard logs and the real checkpoints.
Other workers take part in every checkpoint save (a save may run collective
ops) but write into a private scratch folder that is deleted afterwards.
"""

import contextlib
import json
import os

import keras
import tensorflow as tf

from kgan.errors import ConfigError


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` for `train.strategy` = `name`.

    Raises:
        ConfigError: for `multi_worker` without a usable `TF_CONFIG`.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy {name!r}")


def _check_tf_config() -> None:
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ConfigError("--strategy=multi_worker needs TF_CONFIG, e.g. "
                          '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                          '"task": {"type": "worker", "index": 0}}')
    try:
        tf_config = json.loads(text)
        workers = tf_config["cluster"]["worker"]
        task = tf_config["task"]
        roles = tf_config["cluster"]
        if task["type"] not in roles or not 0 <= int(task["index"]) < len(roles[task["type"]]):
            raise ValueError(f"task {task} is not in the cluster")
        if not workers:
            raise ValueError("cluster.worker is empty")
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"TF_CONFIG is not a usable cluster description: {e}") from None


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process owns the run's outputs."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def task_name(strategy: tf.distribute.Strategy) -> str:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"


def native_bfloat16() -> bool:
    """Whether this host computes in bfloat16 natively: a GPU of compute
    capability 8.0 or newer, or a CPU with AVX512_BF16 or AMX (where oneDNN
    runs bfloat16 matmuls and convolutions at about twice the float32 rate).
    Elsewhere bfloat16 is emulated and slower than float32."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability")
                        for gpu in gpus]
        return all(c is not None and tuple(c) >= (8, 0) for c in capabilities)
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                          if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str) -> str:
    """`train.mixed_precision` with `auto` replaced by this host's choice."""
    if name != "auto":
        return name
    return "mixed_bfloat16" if native_bfloat16() else "float32"


@contextlib.contextmanager
def precision_policy(name: str):
    """Keras's global dtype policy set to `name` while networks are built,
    restored afterwards (layers keep the policy they were built with)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
