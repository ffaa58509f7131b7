"""One writer per folder (kgan.core.locks)."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from kgan.core.locks import LOCK_FILE, FolderLock, read_holder
from kgan.errors import RunError
from tests.conftest import REPO

HOLD_SCRIPT = """
import sys, time
from kgan.core.locks import FolderLock
with FolderLock(sys.argv[1], "workdir"):
    print("locked", flush=True)
    time.sleep(120)
"""


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_lock_names_its_holder_and_a_clean_release_removes_it(tmp_path):
    folder = tmp_path / "run"
    with FolderLock(str(folder), "workdir"):
        holder = read_holder(str(folder))
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["started"] and holder["command"]
        (folder / "config.json").write_text("{}")
    assert not (folder / LOCK_FILE).exists()
    assert (folder / "config.json").exists()


def test_a_folder_the_lock_created_is_removed_if_nothing_was_written(tmp_path):
    folder = tmp_path / "new"
    with FolderLock(str(folder)):
        assert folder.is_dir()
    assert not folder.exists()


def test_a_second_lock_in_this_process_is_refused_naming_the_holder(tmp_path):
    with FolderLock(str(tmp_path), "workdir"):
        with pytest.raises(RunError, match=rf"workdir '{tmp_path}' is in use by pid "
                                           rf"{os.getpid()} on host "):
            FolderLock(str(tmp_path), "workdir").__enter__()
        assert read_holder(str(tmp_path))["pid"] == os.getpid()  # the refusal changed nothing
    with FolderLock(str(tmp_path), "workdir"):  # free again once released
        pass


def test_a_live_holder_in_another_process_refuses_and_its_kill_frees_the_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(tmp_path)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=rf"in use by pid {holder.pid} on host"):
            FolderLock(str(tmp_path), "workdir").__enter__()
        holder.kill()
        holder.wait()
        notices = []
        with FolderLock(str(tmp_path), "workdir", log=notices.append):
            assert read_holder(str(tmp_path))["pid"] == os.getpid()
    finally:
        holder.kill()
    assert len(notices) == 1
    assert f"took over the lock of workdir '{tmp_path}' left by pid {holder.pid}" in notices[0]
    assert "no longer running" in notices[0]


def test_a_lock_left_on_this_host_is_taken_over_with_a_notice(tmp_path):
    left = {"host": socket.gethostname(), "pid": dead_pid(), "started": "2026-01-01T00:00:00+00:00",
            "command": "train.py --workdir=x"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(left))
    notices = []
    with FolderLock(str(tmp_path), "workdir", log=notices.append):
        pass
    assert notices == [f"Note: took over the lock of workdir '{tmp_path}' left by pid "
                       f"{left['pid']} on host {left['host']} (since 2026-01-01T00:00:00+00:00: "
                       "train.py --workdir=x), which is no longer running"]


def test_a_lock_naming_another_host_is_refused_and_kept(tmp_path):
    left = {"host": "other-node-7", "pid": 4242, "started": "2026-01-01T00:00:00+00:00"}
    text = json.dumps(left)
    (tmp_path / LOCK_FILE).write_text(text)
    with pytest.raises(RunError, match=r"locked by pid 4242 on host other-node-7 .*cannot be "
                                       r"checked from host .*; if that run has ended, delete "):
        FolderLock(str(tmp_path), "workdir").__enter__()
    assert (tmp_path / LOCK_FILE).read_text() == text


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match=rf"cannot lock workdir '{blocker}/run': "):
        FolderLock(str(blocker / "run"), "workdir").__enter__()


def test_two_processes_racing_for_one_lock_get_one_holder(tmp_path):
    script = """
import sys, time
from kgan.core.locks import FolderLock
from kgan.errors import RunError
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    with FolderLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(5)
except RunError:
    print("refused", flush=True)
"""
    start = time.time() + 5
    racers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(start)],
                               cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = sorted(racer.communicate(timeout=60)[0].strip() for racer in racers)
    assert outcomes == ["held", "refused", "refused", "refused"]
