"""Writer-named scratch folders: only a gone process of this host has abandoned one."""

import os
import socket
import subprocess
import sys

from kgan.core import scratch


def test_owner_names_this_host_and_process():
    assert scratch.owner() == f"{socket.gethostname()}-{os.getpid()}"
    assert not scratch.abandoned(scratch.owner())


def test_a_finished_process_of_this_host_abandoned_its_folder():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    pid = int(finished.stdout)
    assert not scratch.running(pid)
    assert scratch.abandoned(f"{socket.gethostname()}-{pid}")
    assert not scratch.abandoned(f"another-host-{pid}")
    assert not scratch.abandoned(f"{socket.gethostname()}-notapid")
