"""Temporary folders named after their writer, so a killed writer's leftovers can be removed.

A folder being assembled (an export version, a decoded dataset cache) carries
`<host>-<pid>` of the process writing it. A later process removes such a
folder only when it names this host and a process that no longer runs: a
folder of another host, on storage several hosts share, is never judged.
"""

import os
import socket


def owner() -> str:
    """`<host>-<pid>` of this process."""
    return f"{socket.gethostname()}-{os.getpid()}"


def running(pid: int) -> bool:
    """Whether process `pid` of this host exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def abandoned(folder_owner: str) -> bool:
    """Whether `<host>-<pid>` names a process of this host that is gone."""
    host, _, pid = folder_owner.rpartition("-")
    return host == socket.gethostname() and pid.isdigit() and not running(int(pid))
