"""The one adapter between frozen config dataclasses and absl flags.

A script calls `define_flags(SomeConfig)` once; every field of the record
becomes a flag, and `config_from_flags(SomeConfig)` builds the record back.
A new setting is one edit: a field with a default and its help text,

    batch_size: int = field(default=64, metadata={"help": "Images per update."})

Conventions, read from the dataclass itself:

- A field whose type is itself a dataclass is a *section* (`Config.data`,
  `Config.train`, `GenerateConfig.projection`): its fields become flags
  too. Flag names stay flat (`--batch_size`, not `--train.batch_size`), so a
  name used in two sections is refused when the flags are defined.
- `metadata["help"]`: the flag's help. `metadata["flag"]`: another flag name
  (`ModelConfig.architecture` is `--model`), or None for no flag (values that
  resolution fills in, such as `model.image_shape`). `metadata["choices"]`:
  an enum flag. `metadata["range"]`: the inclusive (low, high) of a number
  or of every item of a tuple of numbers, which the record checks
  (`kgan.config.base.check_ranges`); the help ends with it
  (`Range: 1..1_000_000_000_000.`).
- Types: bool, int, float, str, `Optional[...]` of those, and tuples of
  str, int or float (`tuple[str, ...]` or fixed length): comma-separated
  list flags, whose items are checked here (`--hidden_units must be
  integers, got '256,big'`).
- A field without a default is a required flag.
- `--helpfull` groups the flags by section (`train.py: data`, `train.py:
  model`, ...); `--help` lists them all as the script's own.

Only flags given on the command line (`FLAGS[name].present`) override the
values underneath them (the dataclass defaults, or a preset/config file):
see `explicit_values` and `config_from_flags`.
"""

import dataclasses
import os
import sys
import typing
from typing import Any, Optional

from absl import flags

from kgan.config.base import from_dict, merge, range_text
from kgan.errors import ConfigError

_PLURALS = {int: "integers", float: "numbers", str: "strings"}


@dataclasses.dataclass(frozen=True)
class FlagField:
    """One flag and the config field it sets.

    Attributes:
        name: The flag's name (without `--`).
        path: The field's keys from the top of the record, e.g. ("train", "steps").
        field: The dataclass field (its default and metadata).
        hint: The field's type.
    """

    name: str
    path: tuple[str, ...]
    field: dataclasses.Field
    hint: Any

    @property
    def key(self) -> str:
        return ".".join(self.path)


def flag_fields(config_cls) -> list[FlagField]:
    """The flags of `config_cls` (sections walked in field order).

    Raises:
        ValueError: if two fields would get the same flag name.
        TypeError: for a field type the adapter cannot express as a flag.
    """
    found: dict[str, FlagField] = {}
    _walk(config_cls, (), found)
    return list(found.values())


def _walk(cls, section: tuple[str, ...], found: dict[str, FlagField]) -> None:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint, path = hints[field.name], section + (field.name,)
        if dataclasses.is_dataclass(hint):
            _walk(hint, path, found)
            continue
        name = field.metadata.get("flag", field.name)
        if name is None:
            continue
        _parts(hint, ".".join(path))  # an unsupported type fails here, at definition time
        if name in found:
            raise ValueError(f"flag --{name} would set both {found[name].key} and "
                             f"{'.'.join(path)}; rename one with metadata={{'flag': ...}}")
        found[name] = FlagField(name, path, field, hint)


def _parts(hint: Any, key: str) -> tuple[Any, tuple, bool]:
    """(base type, tuple item types, nullable) of a supported field type."""
    nullable = False
    if typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"config field {key}: no flag type for {hint!r}")
        hint, nullable = args[0], True
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        items = args[:1] if args[-1] is Ellipsis else args
        if not items or any(t not in _PLURALS for t in items):
            raise TypeError(f"config field {key}: no flag type for {hint!r} (tuples of str, "
                            "int or float only)")
        return tuple, args, nullable
    if hint in (bool, int, float, str):
        return hint, (), nullable
    raise TypeError(f"config field {key}: no flag type for {hint!r}")


def section_name(config_cls, path: tuple[str, ...]) -> str:
    """`train` for ("train", "steps"); a top-level field gets the record's own
    name (`ExportConfig` -> `export`, `Config` -> `config`)."""
    if len(path) > 1:
        return ".".join(path[:-1])
    return config_cls.__name__.removesuffix("Config").lower() or "config"


def define_flags(config_cls, flag_values: flags.FlagValues = flags.FLAGS, *,
                 group: Optional[str] = None) -> list[FlagField]:
    """Defines a flag for every field of `config_cls` (see the module docstring).

    Args:
        config_cls: A frozen config dataclass.
        flag_values: Where to define them.
        group: Prefix of the `--helpfull` groups; default the calling
            script's file name (`train.py` -> groups `train.py: data`, ...).

    Returns:
        The flags defined.

    Raises:
        ValueError: for a flag name used twice, in the record or already in
            `flag_values` (a script's own flags, such as `--workdir`).
        TypeError: for a field type with no flag equivalent.
    """
    caller = sys._getframe(1).f_globals
    module = caller.get("__name__", "")
    if module == "__main__":
        module = sys.argv[0]  # absl's name for the main script's flags
    group = group or os.path.basename(caller.get("__file__") or module)
    fields = flag_fields(config_cls)
    for flag in fields:
        if flag.name in flag_values:
            raise ValueError(f"flag --{flag.name} for {flag.key} is already defined")
    for flag in fields:
        _define(flag, flag_values, f"{group}: {section_name(config_cls, flag.path)}")
        flag_values.register_key_flag_for_module(module, flag_values[flag.name])
    return fields


def _define(flag: FlagField, flag_values: flags.FlagValues, module_name: str) -> None:
    field = flag.field
    required = (field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING)
    if field.default is not dataclasses.MISSING:
        default = field.default
    elif field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    else:
        default = None
    base, _, _ = _parts(flag.hint, flag.key)
    help_text = field.metadata.get("help") or f"Sets {flag.key}."
    if "range" in field.metadata:
        each = " of each item" if base is tuple else ""
        help_text += f" Range{each}: {range_text(field.metadata['range'])}."
    common = dict(flag_values=flag_values, module_name=module_name, required=required)
    if "choices" in field.metadata:
        flags.DEFINE_enum(flag.name, default, list(field.metadata["choices"]), help_text,
                          **common)
    elif base is tuple:
        flags.DEFINE_list(flag.name, None if default is None else [str(v) for v in default],
                          help_text, **common)
    else:
        define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                  float: flags.DEFINE_float, str: flags.DEFINE_string}[base]
        define(flag.name, default, help_text, **common)


def explicit_values(config_cls, flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """The flags given on the command line, as a nested dict in the shape of
    the record's `to_dict()` (lists for tuples).

    Raises:
        ConfigError: for list items of the wrong type, naming the flag.
    """
    values: dict = {}
    for flag in flag_fields(config_cls):
        if not flag_values[flag.name].present:
            continue
        target = values
        for key in flag.path[:-1]:
            target = target.setdefault(key, {})
        target[flag.path[-1]] = _from_flag(flag, flag_values[flag.name].value)
    return values


def _from_flag(flag: FlagField, value: Any) -> Any:
    base, args, _ = _parts(flag.hint, flag.key)
    if value is None or base is not tuple:
        return value
    items = [v for v in value if v != ""]  # `--images=a.png,` has no second image
    types = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
    shown = ",".join(value)
    if len(types) != len(items):
        raise ConfigError(f"--{flag.name} must have {len(types)} comma-separated items, "
                          f"got {shown!r}")
    converted = []
    for item_type, item in zip(types, items):
        try:
            converted.append(item_type(item))
        except ValueError:
            raise ConfigError(f"--{flag.name} must be {_PLURALS[item_type]}, got {shown!r}") \
                from None
    return converted


def config_values(config_cls, flag_values: flags.FlagValues = flags.FLAGS,
                  base: Optional[dict] = None) -> dict:
    """`base` (a partial nested dict, e.g. a preset) with the explicit flags laid over it."""
    return merge(base or {}, explicit_values(config_cls, flag_values))


def config_from_flags(config_cls, flag_values: flags.FlagValues = flags.FLAGS,
                      base: Optional[dict] = None, where: Optional[str] = None):
    """The record: dataclass defaults < `base` < flags given on the command line.

    Args:
        config_cls: The record's class (as passed to `define_flags`).
        flag_values: Parsed flags.
        base: A partial nested dict in the shape of the record's fields
            (a preset, a saved config, or values the script fills in).
        where: Names the record in errors; default its section name.

    Raises:
        ConfigError: for unknown keys or wrong types in `base` (naming the
            key), bad list items, or values the record refuses.
    """
    values = config_values(config_cls, flag_values, base)
    return from_dict(config_cls, values, where or section_name(config_cls, ()))
