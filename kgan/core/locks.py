"""One writer per folder: an advisory lock file that names its holder.

`FolderLock` holds an exclusive `flock` on `<folder>/run.lock` and writes
into the file who holds it (host, pid, start time, command). The operating
system drops the `flock` when its process ends, however it ends, so:

- a second writer while the first runs finds the lock taken and is refused
  with one line naming the holder;
- a lock file left by a killed process on this host has no `flock` on it,
  and is taken over with a notice naming the process that left it;
- a lock file naming another host cannot be judged from here (a `flock` on
  a network filesystem may be local to each host), so it is refused, with
  the file to delete should that run be known to have ended.

A clean release deletes the file (and the folder, if the lock created it
and nothing else was written there). The file is never deleted without its
`flock` held, and a writer that locked a file which was deleted meanwhile
starts over, so two writers never both believe they hold it.
"""

import contextlib
import datetime
import fcntl
import json
import os
import socket
import sys

from kgan.core.messages import failure_reason
from kgan.errors import RunError

LOCK_FILE = "run.lock"


def _this_holder() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "command": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:300]}


def describe_holder(holder: dict | None) -> str:
    """`pid 123 on host h (since 2026-12-05T07:00:00+00:00: train.py ...)`."""
    if not holder:
        return "another process (it has not written its name yet)"
    since = f"since {holder.get('started', '?')}"
    command = holder.get("command")
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} ({since}"
            + (f": {command}" if command else "") + ")")


def _read_holder(fd: int) -> dict | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 1 << 16).decode("utf-8", "replace")
        holder = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def read_holder(folder: str) -> dict | None:
    """Who the lock file of `folder` names (held or left behind), or None."""
    try:
        fd = os.open(os.path.join(folder, LOCK_FILE), os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


class FolderLock:
    """An exclusive lock on `folder` for the life of a `with` block.

    Args:
        folder: The folder to lock (created if missing).
        what: How messages call the folder ("workdir").
        log: Told when a lock left by a dead process is taken over.

    Raises (on entering):
        RunError: if another process holds the lock, a lock file names a
            process on another host, or the lock cannot be written (e.g. a
            read-only folder).
    """

    def __init__(self, folder: str, what: str = "folder", log=None):
        self.folder = folder
        self.what = what
        self.log = log
        self.path = os.path.join(folder, LOCK_FILE)
        self.holder = None
        self._fd = None
        self._created_folder = False

    def __enter__(self):
        try:
            if not os.path.isdir(self.folder):
                os.makedirs(self.folder)
                self._created_folder = True
            self._acquire()
        except OSError as e:
            self._remove_created_folder()
            raise RunError(f"cannot lock {self.what} {self.folder!r}: {failure_reason(e)}") \
                from None
        except BaseException:
            self._remove_created_folder()
            raise
        return self

    def _acquire(self):
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunError(f"{self.what} {self.folder!r} is in use by "
                               f"{describe_holder(holder)}; wait for that run to end or stop "
                               "it, or use another --workdir") from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same_file = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same_file = False
            if same_file:
                break
            os.close(fd)  # its holder deleted it while releasing: lock the new one
        try:
            self._take(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.remove(self.path)  # what a full disk let through: no holder to name
            os.close(fd)
            raise
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _take(self, fd):
        left = _read_holder(fd)
        me = _this_holder()
        if left and left.get("host") != me["host"]:
            raise RunError(f"{self.what} {self.folder!r} is locked by {describe_holder(left)}, "
                           f"which cannot be checked from host {me['host']}; if that run has "
                           f"ended, delete {self.path}")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(me, sort_keys=True) + "\n").encode())
        os.fsync(fd)
        self.holder = me
        if left and self.log:
            self.log(f"Note: took over the lock of {self.what} {self.folder!r} left by "
                     f"{describe_holder(left)}, which is no longer running")

    def __exit__(self, *exc):
        self.release()

    def release(self):
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.remove(self.path)
        os.close(self._fd)  # drops the flock
        self._fd = None
        self._remove_created_folder()

    def _remove_created_folder(self):
        if self._created_folder:
            with contextlib.suppress(OSError):
                os.rmdir(self.folder)  # only if nothing else was written there
