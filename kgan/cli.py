"""What every kgan script does around its one library call (imports no TensorFlow)."""

import sys
from typing import Callable

from absl import app, logging

from kgan.errors import KganError


def run(name: str, body: Callable[[], int | None], argv: list[str],
        interrupted: str = "interrupted") -> int:
    """Runs a script's body with kgan's command-line conventions.

    Extra positional arguments are a usage error; absl logging is kept at
    WARNING (TFDS logs every dataset open at INFO); a `KganError` becomes one
    line `<name>: error: <message>` and exit status 1; Ctrl-C that the body
    did not handle becomes `<name>: <interrupted>` and status 130.
    """
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    try:
        return body() or 0
    except KganError as e:
        sys.stderr.write(f"{name}: error: {e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{name}: {interrupted}\n")
        return 130
