"""Exceptions as one short line of text, for the one-line errors kgan shows users."""

import re

_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_OP_SUFFIX = re.compile(r"\s*\[Op:[^\]]*\].*$")


def one_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message.

    TensorFlow's `{{function_node ...}}` prefix and ` [Op:...]` suffix are
    removed; an exception without a message gives its type's name.
    """
    text = _FUNCTION_NODE.sub("", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = _OP_SUFFIX.sub("", lines[0]).strip() if lines else ""
    return line or type(error).__name__


def failure_reason(error: BaseException) -> str:
    """The operating system's reason for a failed write or read, as one short phrase.

    `OSError`s give their `strerror` ("File too large", "No space left on
    device"); TensorFlow's file errors read `{{function_node ...}} <path>;
    <reason> [Op:SaveV2]`, of which only `<reason>` is kept (callers name the
    path the user knows, not TensorFlow's temporary file).
    """
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return one_line(error).rsplit("; ", 1)[-1]
