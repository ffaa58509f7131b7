"""Atomic writes: the new content in one rename, or the old file and no partial one."""

import json
import os
import stat
import tempfile

import numpy as np
import pytest

from kgan.core import files
from kgan.errors import RunError
from tests.conftest import file_size_limit


def test_each_writer_replaces_the_content_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "a" / "b.txt"  # missing folders are created
    files.write_text_atomically(str(path), "old")
    files.write_text_atomically(str(path), "new\n")
    assert path.read_text() == "new\n"
    files.write_bytes_atomically(str(path), b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    files.write_json_atomically(str(path), {"b": 1, "a": [2]}, indent=2, sort_keys=True)
    assert json.loads(path.read_text()) == {"a": [2], "b": 1}
    assert path.read_text().endswith("}\n")
    assert os.listdir(path.parent) == ["b.txt"]


def test_append_line_creates_then_extends_the_file(tmp_path):
    path = tmp_path / "log.jsonl"
    files.append_line(str(path), "one")
    files.append_line(str(path), "two")
    assert path.read_text() == "one\ntwo\n"
    assert os.listdir(tmp_path) == ["log.jsonl"]


def test_write_atomically_takes_any_writer_and_partial_suffix(tmp_path):
    path = tmp_path / "arrays.npz"
    files.write_atomically(str(path), lambda p: np.savez(p, x=np.arange(3)), suffix=".partial.npz")
    with np.load(path) as arrays:
        np.testing.assert_array_equal(arrays["x"], np.arange(3))
    assert os.listdir(tmp_path) == ["arrays.npz"]


def test_a_write_over_the_file_size_limit_keeps_the_old_file(tmp_path):
    path = tmp_path / "state.txt"
    files.write_text_atomically(str(path), "old")
    with file_size_limit(100), pytest.raises(RunError) as raised:
        files.write_text_atomically(str(path), "x" * 1000)
    assert str(raised.value) == f"cannot write {path}: File too large"
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["state.txt"]
    with file_size_limit(100), pytest.raises(RunError, match="File too large"):
        files.append_line(str(path), "x" * 1000)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["state.txt"]


def test_a_path_that_cannot_be_a_file_is_a_run_error(tmp_path):
    folder = tmp_path / "folder"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(RunError, match=rf"^cannot write {folder}: Is a directory$"):
        files.write_text_atomically(str(folder), "text")
    assert os.listdir(folder) == ["inside"]
    assert os.listdir(tmp_path) == ["folder"]
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match=rf"^cannot write {blocker}/x.json: "):
        files.write_json_atomically(str(blocker / "x.json"), {})
    assert blocker.read_text() == "not a folder"


def test_a_failing_writer_leaves_no_partial_file_and_its_error_passes(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def half_then_fail(partial):
        with open(partial, "wb") as f:
            f.write(b"half")
        raise ValueError("not writable data")

    with pytest.raises(ValueError, match="not writable data"):
        files.write_atomically(str(path), half_then_fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_an_object_json_cannot_hold_writes_nothing(tmp_path):
    path = tmp_path / "report.json"
    with pytest.raises(TypeError):
        files.write_json_atomically(str(path), {"x": object()})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_make_shareable_gives_a_private_temp_folder_the_mode_mkdir_would(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        assert files.current_umask() == umask
        folder = tempfile.mkdtemp(dir=tmp_path)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        files.make_shareable(folder)
        assert stat.S_IMODE(os.stat(folder).st_mode) == mode
    finally:
        os.umask(previous)
