"""What every kgan script does around its one library call (imports no TensorFlow)."""

import os
import signal
import sys
from typing import Callable

from absl import app, flags, logging

from kgan.core import signals, waits
from kgan.errors import KganError


def program_name(script: str) -> str:
    """How the running command is called in messages: `kgan-train` when run
    as the installed console script, else `script` (`train.py`)."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv else ""
    return invoked if invoked.startswith("kgan-") else script


def adopt_key_flags(module_name: str) -> None:
    """Makes the flags of the command module `module_name` the running
    program's own, so `--help` lists them whether the program is a
    repository script or an installed console script."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run(name: str, body: Callable[[], int | None], argv: list[str],
        interrupted: str = "interrupted") -> int:
    """Runs a script's body with kgan's command-line conventions.

    Extra positional arguments are a usage error; absl logging is kept at
    WARNING (TFDS logs every dataset open at INFO); a `KganError` becomes one
    line `<name>: error: <message>` and exit status 1; Ctrl-C that the body
    did not handle becomes `<name>: <interrupted>` and status 130, SIGTERM
    `<name>: <interrupted> (SIGTERM)` and status 143, after the same cleanup
    (`kgan.core.signals`). A wait given up (timeout or signal) while its
    work is stuck in native code ends the process with `os._exit` after
    that cleanup (`kgan.core.waits`).
    """
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    status = _run_body(name, body, interrupted)
    if waits.abandoned_work():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _run_body(name: str, body: Callable[[], int | None], interrupted: str) -> int:
    try:
        with signals.sigterm_raises_terminated():
            return body() or 0
    except KganError as e:
        sys.stderr.write(f"{name}: error: {e}\n")
        return 1
    except KeyboardInterrupt as e:
        signum = signals.interrupt_signal(e)
        by = f" ({signals.signal_name(signum)})" if signum != signal.SIGINT else ""
        sys.stderr.write(f"{name}: {interrupted}{by}\n")
        return signals.exit_status(signum)
