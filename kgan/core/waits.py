"""Waits that report progress, honour SIGINT/SIGTERM and time out.

Some work blocks inside native code that Python cannot interrupt, such as
reading files from a hung network mount (a `tf.data` batch of an image
decode). A signal handler only runs when the main thread is back in Python,
so Ctrl-C and SIGTERM did nothing there, and nothing said what was being
waited for. (Native code that also holds the GIL, as joining a multi-worker
cluster does, cannot be waited for from another thread at all: that wait
happens in Python before it, `kgan.training.distribute`.)

`wait_for` runs such work in a daemon thread while the caller's thread
waits in short, interruptible slices: it reports how long it has waited,
lets the signal handlers raise (`KeyboardInterrupt`, `Terminated`), and
raises `WaitTimeout` after the timeout. The work cannot be cancelled, so a
given-up wait leaves its thread stuck in native code; `abandoned_work()`
tells the command line to end the process with `os._exit` once its cleanup
is done (a normal interpreter exit could hang on TensorFlow's state).
"""

import threading
import time
from typing import Callable, TypeVar

from kgan.errors import KganError

T = TypeVar("T")

_SLICE_SECONDS = 0.2
_abandoned: list[str] = []


class WaitTimeout(KganError):
    """A wait went past its timeout."""


def abandoned_work() -> tuple[str, ...]:
    """What waits were given up while their work was still running."""
    return tuple(_abandoned)


def wait_for(work: Callable[[], T], *, what: str, timeout: float, hint: str = "",
             log: Callable[[str], None] | None = None, quiet_seconds: float = 2.0,
             report_every: float = 30.0) -> T:
    """`work()`, run in a daemon thread and waited for from this one.

    Args:
        work: The blocking call.
        what: What is awaited, for messages ("every worker in TF_CONFIG to join").
        timeout: Seconds before giving up.
        hint: Appended to the timeout message: what to do, which flag sets it.
        log: Where progress goes; None for no progress lines.
        quiet_seconds: No progress line before this (most waits end at once).
        report_every: Seconds between progress lines.

    Returns:
        What `work` returned; its exception is raised here.

    Raises:
        WaitTimeout: after `timeout` seconds.
        KeyboardInterrupt: (or `Terminated`) when a signal handler raises
            one; the work keeps running in its thread.
    """
    outcome: dict = {}
    # Not `Thread.join`: a signal handler that raises inside it marks the
    # thread as stopped although it still runs (CPython's bpo-45274 cleanup).
    finished = threading.Event()

    def run():
        try:
            outcome["value"] = work()
        except BaseException as e:  # handed to the waiting thread
            outcome["error"] = e
        finally:
            finished.set()

    thread = threading.Thread(target=run, name=f"kgan wait: {what}", daemon=True)
    began = time.monotonic()
    thread.start()
    next_report = quiet_seconds
    try:
        while not finished.is_set():
            waited = time.monotonic() - began
            if waited >= timeout:
                raise WaitTimeout(f"gave up waiting for {what} after {timeout:g} s"
                                  + (f"; {hint}" if hint else ""))
            if log is not None and waited >= next_report:
                log(f"Waiting for {what}: {waited:.0f} s of at most {timeout:g} s")
                next_report += report_every
            # Lock waits with a timeout return to Python between slices, so
            # SIGINT/SIGTERM handlers run here.
            finished.wait(min(_SLICE_SECONDS, max(timeout - waited, 0.0)))
    except BaseException:
        if not finished.is_set():
            _abandoned.append(what)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
