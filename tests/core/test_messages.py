"""Exceptions as one line: TensorFlow's decorations removed, never an empty text."""

import errno
import os

import pytest
import tensorflow as tf

from kgan.core.messages import failure_reason, one_line


def real_tf_error(tmp_path):
    with pytest.raises(tf.errors.NotFoundError) as raised:
        tf.io.read_file(str(tmp_path / "missing.png"))
    return raised.value


def test_a_tensorflow_error_loses_its_function_node_prefix_and_op_suffix(tmp_path):
    error = real_tf_error(tmp_path)
    assert "{{function_node" in str(error) and "[Op:ReadFile]" in str(error)
    assert one_line(error) == f"{tmp_path / 'missing.png'}; No such file or directory"
    assert failure_reason(error) == "No such file or directory"


def test_the_first_non_empty_line_is_kept():
    error = ValueError("\n  \n  first line  \nsecond line\n")
    assert one_line(error) == "first line"
    assert one_line(ValueError("{{function_node __wrapped__X_device_/cpu:0}} bad\nmore "
                               "[Op:X]")) == "bad"
    assert one_line(ValueError("only this [Op:Foo] name: foo")) == "only this"


def test_an_empty_message_gives_the_type_name():
    assert one_line(KeyError()) == "KeyError"
    assert one_line(ValueError("   \n ")) == "ValueError"
    assert one_line(ValueError("[Op:Foo]")) == "ValueError"


def test_failure_reason_of_os_errors_is_the_system_reason():
    assert failure_reason(OSError(errno.EFBIG, os.strerror(errno.EFBIG))) == "File too large"
    assert failure_reason(OSError("no errno here")) == "no errno here"
    assert failure_reason(RuntimeError("path; Disk quota exceeded")) == "Disk quota exceeded"
