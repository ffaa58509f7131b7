"""Atomic file writes: a kill, a full disk or a file-size limit leaves the old file or the new one.

Every writer here writes `<path><suffix>` (default `.partial`) beside the
target, flushes it to disk and renames it over `path` in one step. A failed
write removes the partial file, keeps the previous `path` as it was, and
raises `RunError("cannot write <path>: <reason>")`, the operating system's
reason in a few words. The target's folder is created if it is missing.
"""

import contextlib
import json
import os
import sys
from typing import Callable

from kgan.core.messages import failure_reason
from kgan.errors import RunError

PARTIAL_SUFFIX = ".partial"


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a failed write raises: `OSError`, and TensorFlow's `OpError` once
    TensorFlow is loaded (its file writers report a full disk as `OutOfRangeError`)."""
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    return (OSError, errors.OpError) if errors is not None else (OSError,)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str, write: Callable[[str], None],
                     suffix: str = PARTIAL_SUFFIX) -> None:
    """Replaces `path` with what `write(partial_path)` writes, in one rename.

    Args:
        path: The file to (re)place.
        write: Writes the complete new file to the path it is given (e.g.
            `lambda p: np.savez(p, ...)`).
        suffix: Appended to `path` for the partial file; writers that insist
            on an extension need it to end with one (`.partial.npz`).

    Raises:
        RunError: if it cannot be written (the old file, if any, is kept).
    """
    partial = path + suffix
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        write(partial)
        _fsync(partial)
        os.replace(partial, path)
    except _write_errors() as e:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise RunError(f"cannot write {path}: {failure_reason(e)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Replaces `path` with `data` (see `write_atomically`)."""

    def write(partial):
        with open(partial, "wb") as f:
            f.write(data)

    write_atomically(path, write)


def write_text_atomically(path: str, text: str) -> None:
    """Replaces `path` with `text` (see `write_atomically`)."""
    write_bytes_atomically(path, text.encode())


def write_json_atomically(path: str, obj, **json_kwargs) -> None:
    """Replaces `path` with `obj` as JSON (`json.dumps(obj, **json_kwargs)`) and a final newline.

    The object is serialized before anything is written: an object JSON
    cannot hold raises `TypeError`/`ValueError` and leaves `path` untouched.
    """
    write_text_atomically(path, json.dumps(obj, **json_kwargs) + "\n")


def append_line(path: str, line: str) -> None:
    """Appends `line` to a small log by rewriting it atomically: a full disk
    or a kill never leaves a truncated last line.

    Raises:
        RunError: if the file cannot be read or written (it is then unchanged).
    """
    previous = ""
    try:
        with open(path) as f:
            previous = f.read()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise RunError(f"cannot read {path}: {failure_reason(e)}") from None
    write_text_atomically(path, previous + line + "\n")


def current_umask() -> int:
    """The process's umask, read from /proc where Linux offers it (setting
    and restoring it, the portable way, races with other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_shareable(folder: str) -> None:
    """Gives a folder that `tempfile.mkdtemp` made private (0700) the mode
    `mkdir` would have given it (0777 less the umask: 0755 usually), for
    folders published to other users: exports a model server reads, caches
    another user's runs reuse."""
    os.chmod(folder, 0o777 & ~current_umask())
