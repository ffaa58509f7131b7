"""Errors that kgan raises for bad input, with messages meant for users."""


class KganError(Exception):
    """Base class: a problem with the user's input, data or run directory.

    The command-line scripts print the message of a `KganError` as one line
    and exit non-zero; any other exception is a bug and keeps its traceback.
    """


class ConfigError(KganError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DataError(KganError):
    """A dataset cannot be found, prepared or read."""


class RunError(KganError):
    """A run directory cannot be used (incompatible config, unreadable state)."""


class ExportError(KganError):
    """An export cannot be written, or its artifacts fail verification."""


def lookup(table: dict, name: str, kind: str):
    """`table[name]`, or a `ConfigError` listing the choices for an unknown name."""
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; choose one of: "
                          f"{', '.join(sorted(table))}") from None
