"""SIGTERM handled like Ctrl-C (kgan.core.signals, kgan.cli.run)."""

import os
import signal
import time

import pytest

from kgan import cli
from kgan.core import signals
from kgan.errors import RunError


def _wait_for_signal():
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the handler runs between these bytecodes
        time.sleep(0.01)
    raise AssertionError("no signal arrived")


def test_sigterm_raises_terminated_inside_and_restores_the_handler_after():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(signals.Terminated):
        with signals.sigterm_raises_terminated():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                _wait_for_signal()
            finally:
                cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("signum, status, suffix", [
    (signal.SIGINT, 130, ""), (signal.SIGTERM, 143, " (SIGTERM)")])
def test_cli_run_cleans_up_and_exits_with_the_signal_status(capsys, signum, status, suffix):
    cleaned = []

    def body():
        try:
            os.kill(os.getpid(), signum)
            _wait_for_signal()
        finally:
            cleaned.append(True)

    assert cli.run("train.py", body, ["train.py"]) == status
    assert cleaned == [True]
    assert capsys.readouterr().err == f"train.py: interrupted{suffix}\n"


def test_cli_run_reports_a_kgan_error_in_one_line(capsys):
    def body():
        raise RunError("workdir 'x' is in use")

    assert cli.run("train.py", body, ["train.py"]) == 1
    assert capsys.readouterr().err == "train.py: error: workdir 'x' is in use\n"


def test_exit_status_and_names():
    assert signals.exit_status(signal.SIGTERM) == 143
    assert signals.signal_name(signal.SIGTERM) == "SIGTERM"
    assert signals.interrupt_signal(signals.Terminated()) == signal.SIGTERM
    assert signals.interrupt_signal(KeyboardInterrupt()) == signal.SIGINT
