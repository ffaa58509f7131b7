"""Distribution strategies and precision policies for training.

`make_strategy` maps `train.strategy` onto TensorFlow's own engine:

* `default`: one device (`tf.distribute.get_strategy()`).
* `mirrored`: `tf.distribute.MirroredStrategy` over this host's GPUs (or its
  CPU when it has none; tests give the CPU several logical devices).
* `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`, configured by
  the `TF_CONFIG` environment variable as TensorFlow documents: the same
  command runs on every host, each with its own `task`. Before creating it,
  each task waits until every other one is up, with progress lines, Ctrl-C
  and SIGTERM honoured and `train.peer_timeout` (see `_wait_for_peers`).

The chief (task `chief`, or worker 0 when there is none) owns the workdir:
it writes config.json, samples, TensorBoard logs and the real checkpoints.
Other workers take part in every checkpoint save (a save may run collective
ops) but write into a private scratch folder that is deleted afterwards.
"""

import contextlib
import json
import os
import socket
import time
from typing import Callable

import keras
import tensorflow as tf

from kgan.core import waits
from kgan.core.messages import failure_reason
from kgan.errors import ConfigError

_PEER_POLL_SECONDS = 0.5
_PEER_QUIET_SECONDS = 2.0
_PEER_REPORT_SECONDS = 30.0


def make_strategy(name: str, peer_timeout: float = 600.0,
                  log: Callable[[str], None] | None = print) -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` for `train.strategy` = `name`.

    Args:
        name: `default`, `mirrored` or `multi_worker`.
        peer_timeout: Seconds `multi_worker` waits for every worker in
            `TF_CONFIG` to join.
        log: Where that wait reports progress.

    Raises:
        ConfigError: for `multi_worker` without a usable `TF_CONFIG`.
        WaitTimeout: when a worker has not started within `peer_timeout`.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        tf_config = _check_tf_config()
        _wait_for_peers(tf_config, peer_timeout, log)
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy {name!r}")


def _check_tf_config() -> dict:
    """`TF_CONFIG`, parsed, with a cluster that names this task."""
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
        for job in ("chief", "worker"):
            for address in roles.get(job, ()):
                _host_and_port(address)
        return tf_config
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"TF_CONFIG is not a usable cluster description: {e}") from None


def _host_and_port(address: str) -> tuple[str, int]:
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]"), int(port)


def _wait_for_peers(tf_config: dict, timeout: float, log) -> None:
    """Returns once every other chief and worker of the cluster accepts a
    TCP connection at its address.

    `MultiWorkerMirroredStrategy()` waits for the other workers inside
    native code that holds the GIL: no signal handler, progress line or
    timeout can run there. Meeting first, in Python, keeps that native wait
    short. This task listens on its own address meanwhile (closed before
    TensorFlow binds it) so that peers doing the same find it; connections
    are never accepted, so the port is free again at once.
    """
    cluster, task = tf_config["cluster"], tf_config["task"]
    own = cluster[task["type"]][int(task["index"])]
    peers = {f"{job} {index} ({address})": _host_and_port(address)
             for job in ("chief", "worker") for index, address in enumerate(cluster.get(job, ()))
             if address != own}
    if not peers:
        return
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            listener.bind(("", _host_and_port(own)[1]))
            listener.listen(len(peers))
        except OSError as e:
            raise ConfigError(f"cannot listen on {own}, this task's address in TF_CONFIG: "
                              f"{failure_reason(e)}") from None
        began = time.monotonic()
        next_report = _PEER_QUIET_SECONDS
        while peers:
            peers = {name: address for name, address in peers.items() if not _accepts(address)}
            waited = time.monotonic() - began
            if peers and waited >= timeout:
                raise waits.WaitTimeout(
                    f"gave up after {timeout:g} s waiting for {', '.join(peers)} of TF_CONFIG "
                    "to start; run the same command there, or raise --peer_timeout")
            if peers and waited >= next_report:
                log(f"Waiting for {', '.join(peers)} of TF_CONFIG to start: {waited:.0f} s "
                    f"of at most {timeout:g} s")
                next_report += _PEER_REPORT_SECONDS
            if peers:
                time.sleep(_PEER_POLL_SECONDS)
    finally:
        listener.close()


def _accepts(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=_PEER_POLL_SECONDS).close()
        return True
    except OSError:
        return False


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
