"""kgan.core.waits: blocking work waited for with progress, signals and a timeout."""

import os
import signal
import threading

import pytest

from kgan.core import signals, waits


@pytest.fixture(autouse=True)
def own_abandoned_list(monkeypatch):
    # A command-line run in this process would end it if a test left work abandoned.
    monkeypatch.setattr(waits, "_abandoned", [])


def test_the_work_s_value_and_exception_come_back_to_the_waiter():
    assert waits.wait_for(lambda: 42, what="an answer", timeout=5) == 42
    with pytest.raises(ZeroDivisionError):
        waits.wait_for(lambda: 1 / 0, what="a quotient", timeout=5)
    assert waits.abandoned_work() == ()


def test_a_hung_work_times_out_with_progress_and_is_recorded_as_abandoned():
    release = threading.Event()
    lines = []
    try:
        with pytest.raises(waits.WaitTimeout) as raised:
            waits.wait_for(release.wait, what="a peer", timeout=1.0, hint="raise --timeout",
                           log=lines.append, quiet_seconds=0.3, report_every=0.4)
    finally:
        release.set()
    assert str(raised.value) == "gave up waiting for a peer after 1 s; raise --timeout"
    assert lines and all(line.startswith("Waiting for a peer: ") and
                         line.endswith("s of at most 1 s") for line in lines)
    assert len(lines) == 2  # at 0.3 s and 0.7 s
    assert waits.abandoned_work() == ("a peer",)


def test_a_sigterm_ends_the_wait_although_the_work_blocks():
    release = threading.Event()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        with signals.sigterm_raises_terminated(), pytest.raises(signals.Terminated):
            timer.start()
            waits.wait_for(release.wait, what="a decode", timeout=60)
    finally:
        timer.cancel()
        release.set()
    assert waits.abandoned_work() == ("a decode",)
