"""SIGTERM handled like Ctrl-C.

SLURM, Kubernetes, systemd and `timeout` send SIGTERM before they kill a
process. Python's default for it ends the process at once, skipping every
`finally` (partial files stay behind) and every checkpoint. kgan raises
`Terminated`, a `KeyboardInterrupt`, instead, so one cleanup path serves both
signals, and training turns either into a graceful stop (see
`kgan.training.loop.StopRequest`).
"""

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where Ctrl-C raises KeyboardInterrupt."""


def signal_name(signum: int) -> str:
    """`SIGTERM` for 15, `SIGINT` for 2."""
    return signal.Signals(signum).name


def exit_status(signum: int) -> int:
    """The shell's status for a process a signal stopped: 128 + its number
    (130 for SIGINT, 143 for SIGTERM), which schedulers read as "stopped"."""
    return 128 + int(signum)


def interrupt_signal(error: KeyboardInterrupt) -> int:
    """The signal behind a `KeyboardInterrupt`: SIGTERM for `Terminated`, else SIGINT."""
    return signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT


@contextlib.contextmanager
def sigterm_raises_terminated():
    """While active (main thread only; elsewhere a no-op), SIGTERM raises `Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
