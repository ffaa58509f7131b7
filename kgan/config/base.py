"""What every kgan config record shares: strict reading from dicts and JSON.

Each stage's settings are a frozen dataclass (`kgan.config.run`,
`.export`, `.evaluation`, `.generate`). `from_dict` builds any of them from
nested dicts, refusing unknown keys and wrong types with a `ConfigError`
naming the key; `strict_json` parses standard JSON only; `check_partial`
checks a partial dict (a preset, a saved config) without building it.

Every int and float field declares its inclusive bounds as `metadata["range"]
= (low, high)`; each record's `__post_init__` starts with `check_ranges`, and
the flags' help states them (`kgan.config.flags`).
"""

import copy
import dataclasses
import json
import math
import os
import re
import typing
from typing import Any

from kgan.errors import ConfigError


def cache_dir() -> str:
    """Where kgan keeps derived files (prepared datasets, evaluation features and
    classifier): `$KGAN_CACHE_DIR`, default `~/.cache/kgan`."""
    return os.environ.get("KGAN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "kgan")


# Bounds shared by several records.
SEEDS = (0, 2**31 - 1)
# Adam moves a weight by about the learning rate: below 1e-10 float32 rounding
# loses that step on any weight of 0.01 or more. Above, float32 holds any rate up
# to 1e30; one that makes training diverge is caught by the non-finite guard
# (which is how that guard is tested).
LEARNING_RATES = (1e-10, 1e30)
LOSS_WEIGHTS = (0.0, 1e6)
# Step counters are int64, and the examples of a run (steps x batch x updates per
# step, see `kgan.config.run`) must be countable there too.
MAX_STEPS = 10**12
# Generated or real images held in memory at once (a million 64x64 RGB images is
# 12 GB as uint8).
MAX_SAMPLES = 10**6
# Images laid out in one picture (a 100 x 100 grid).
MAX_PICTURE_IMAGES = 10_000


def _require(condition: bool, name: str, value: Any, rule: str) -> None:
    if not condition:
        raise ConfigError(f"{name} {rule}, got {value!r}")


def range_text(bounds: tuple) -> str:
    """`low..high` as the flags' help and the errors show it: whole numbers of
    five digits or more with underscores (`1..1_000_000_000_000`, as Python and
    the flags read them), fractions as Python writes them (`1e-10..0.999999`)."""
    return "..".join(_bound_text(bound) for bound in bounds)


def _bound_text(bound: float) -> str:
    if isinstance(bound, float) and not (bound.is_integer() and abs(bound) < 1e16):
        return re.sub(r"e\+?(-?)0*(?=\d)", r"e\1", repr(bound))  # 1e-6 and 1e30, not 1e-06, 1e+30
    number = int(bound)
    return f"{number:_}" if abs(number) >= 10_000 else str(number)


def _within(item: Any, low: float, high: float) -> bool:
    # NaN compares false both ways, so it is refused with every other non-number.
    return (isinstance(item, (int, float)) and not isinstance(item, bool)
            and low <= item <= high)


def check_ranges(record, where: str) -> None:
    """Checks each field of `record` with a `metadata["range"]` of (low, high),
    inclusive: the value, or every item of a tuple; None (an unset Optional
    field) passes.

    Raises:
        ConfigError: one line naming the field as `<where>.<name>` with its
            range, e.g. `train.steps must be in 1..1_000_000_000_000, got 0`.
    """
    for field in dataclasses.fields(record):
        bounds = field.metadata.get("range")
        value = getattr(record, field.name)
        if bounds is None or value is None:
            continue
        items = value if isinstance(value, tuple) else (value,)
        if not all(_within(item, *bounds) for item in items):
            rule = "must have every item in" if isinstance(value, tuple) else "must be in"
            raise ConfigError(f"{where}.{field.name} {rule} {range_text(bounds)}, "
                              f"got {_shown(value)}")


def from_dict(cls, values: Any, where: str):
    """Builds the frozen dataclass `cls` from nested dicts; missing keys take defaults.

    Raises:
        ConfigError: for a value that is not a dict, unknown keys, wrong
            types (named `<where>.<key>`), or values the dataclass refuses.
    """
    return _from_dict(cls, values, where)


def _from_dict(cls, values: Any, where: str):
    kwargs = {name: _coerce(hint, value, f"{where}.{name}")
              for name, (hint, value) in _known_items(cls, values, where).items()}
    return cls(**kwargs)


def check_partial(cls, values: Any, where: str) -> None:
    """Checks a partial nested dict against `cls` without building it.

    Unknown keys and wrong types are refused as `from_dict` refuses them;
    rules between fields (and missing keys) are left to `from_dict`, which
    sees the merged whole.
    """
    for name, (hint, value) in _known_items(cls, values, where).items():
        if dataclasses.is_dataclass(hint):
            check_partial(hint, value, f"{where}.{name}")
        else:
            _coerce(hint, value, f"{where}.{name}")


def _known_items(cls, values: Any, where: str) -> dict[str, tuple[Any, Any]]:
    """`{key: (type hint, value)}`, refusing a non-dict and unknown keys."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {', '.join(map(str, unknown))}; "
                          f"known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    return {name: (hints[name], value) for name, value in values.items()}


def _shown(value: Any, limit: int = 40) -> str:
    """`repr(value)`, shortened so that one line of error stays readable."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Checks `value` against a field's type hint, converting JSON lists to tuples."""
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise ConfigError(f"{where} must have {len(item_types)} items, got {value!r}")
        return tuple(_coerce(t, v, where) for t, v in zip(item_types, value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        # Counts and seeds end up in int64 tensors; a larger value would overflow there.
        if not -2**63 <= value < 2**63:
            raise ConfigError(f"{where} must fit in 64 bits, got {_shown(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            number = math.inf
        # JSON numbers such as 1e999 parse as infinity; no config value means that.
        if not math.isfinite(number):
            raise ConfigError(f"{where} must be a finite number, got {_shown(value)}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {hint!r} at {where}")


def decode_json(text: str | bytes, source: str) -> Any:
    """Strict JSON (see `strict_json`) from text or UTF-8 bytes (a byte-order mark is allowed).

    Raises:
        ConfigError: for bytes that are not UTF-8, or text that is not strict JSON.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")  # an editor may add a byte-order mark
        except UnicodeDecodeError as e:
            raise ConfigError(f"{source} is not UTF-8 text (byte {e.start} is "
                              f"0x{text[e.start]:02x})") from None
    return strict_json(text, source)


def strict_json(text: str, source: str) -> Any:
    """`json.loads` restricted to standard JSON, with errors as one-line `ConfigError`s.

    Python's parser accepts `NaN`, `Infinity` and `-Infinity` (not JSON: no
    config value means them) and keeps the last of repeated keys (so an edit
    above a stale copy of a key is silently ignored); both are refused here.
    """

    def no_constants(name):
        raise ConfigError(f"{source} is not valid JSON: {name} is not a JSON number")

    def no_repeats(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ConfigError(f"{source} is not valid JSON for kgan: key {key!r} is "
                                  "repeated in one object")
            seen.add(key)
        return dict(pairs)

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_repeats)
    except ConfigError:
        raise
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source} is not valid JSON: {e}") from None
    except (ValueError, RecursionError) as e:
        # Python's own limits: integers of over 4300 digits, nesting deeper than the stack.
        reason = str(e).splitlines()[0].split(";")[0] if str(e) else type(e).__name__
        raise ConfigError(f"{source} is not usable JSON: {reason}") from None


_strict_json = strict_json  # the name kgan.config used before it was a package


def merge(base: dict, override: dict) -> dict:
    """`base` with `override` laid over it: nested dicts merge key by key, any
    other value (lists included) is replaced. Neither input is changed."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
