"""Every number a config holds has an inclusive range: declared on its field
(`metadata["range"]`), checked by its record (`kgan.config.base.check_ranges`),
stated in its flag's help, and wide enough for the defaults and the presets."""

import dataclasses
import importlib
import inspect
import math
import pkgutil
import types
import typing

import pytest
from absl import flags

import kgan.config
from kgan.config import (Config, DataConfig, EvalConfig, ExportConfig, GenerateConfig,
                         ModelConfig, ProjectionConfig, TrainConfig, presets)
from kgan.config.base import from_dict, range_text
from kgan.config.flags import config_from_flags, define_flags, flag_fields
from kgan.config.metrics import MetricsConfig
from kgan.errors import ConfigError

# The records the scripts build; every other record is a section of one of them.
TOP_LEVEL = (Config, ExportConfig, EvalConfig, GenerateConfig, MetricsConfig)
# The prefix each record's errors give its fields (`train.steps must be ...`).
SECTIONS = {Config: "config", DataConfig: "data", ModelConfig: "model", TrainConfig: "train",
            ExportConfig: "export", EvalConfig: "eval", GenerateConfig: "generate",
            ProjectionConfig: "projection", MetricsConfig: "metrics"}
# Fields a record cannot be built without.
REQUIRED = {ExportConfig: {"workdir": "runs/x"}, EvalConfig: {"workdir": "runs/x"},
            GenerateConfig: {"mode": "grid", "source": "runs/x"},
            MetricsConfig: {"input1": "a", "input2": "b"}}
# Fields whose whole range is valid only beside other values (rules between fields).
COMPANIONS = {
    (TrainConfig, "epochs"): {"steps": None},  # exactly one of steps and epochs
    (TrainConfig, "eval_samples"): {"eval_metric": "classifier_fd"},  # fid needs >= 2048
    (EvalConfig, "num_samples"): {"metrics": ("classifier",)},  # FID needs >= 2048
    (MetricsConfig, "num_samples"): {"metrics": ("kid",), "prc_k": 1},  # > prc_k, FID 2048
}
# Optional fields that may only be None beside another value.
COMPANIONS_OF_NONE = {(TrainConfig, "steps"): {"epochs": 1.0}}


@dataclasses.dataclass(frozen=True)
class NumericField:
    record: type
    field: dataclasses.Field
    kind: type  # int or float: the value's, or each item's
    length: int | None  # items of a tuple field (None: not a tuple, 0: any number)
    optional: bool

    @property
    def key(self) -> str:
        return f"{SECTIONS[self.record]}.{self.field.name}"

    @property
    def bounds(self) -> tuple:
        return self.field.metadata["range"]

    def value(self, number):
        """`number` as the field's value; in a tuple, its last item after valid ones."""
        if self.length is None:
            return number
        return (self.bounds[0],) * (max(self.length, 2) - 1) + (number,)

    def build(self, value):
        companions = COMPANIONS_OF_NONE if value is None else COMPANIONS
        return self.record(**{**REQUIRED.get(self.record, {}),
                              **companions.get((self.record, self.field.name), {}),
                              self.field.name: value})


def numeric_type(hint) -> tuple[type | None, int | None, bool]:
    """(int or float, tuple length or None, optional) of a field's type; None for others."""
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if optional:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        items = set(args) - {Ellipsis}
        kind = items.pop() if len(items) == 1 else None
        length = 0 if args[-1] is Ellipsis else len(args)
        return (kind if kind in (int, float) else None), length, optional
    return (hint if hint in (int, float) else None), None, optional


def reached_records() -> list[type]:
    """TOP_LEVEL and, recursively, every section of them."""
    found = []

    def walk(record):
        if record not in found:
            found.append(record)
            for hint in typing.get_type_hints(record).values():
                if dataclasses.is_dataclass(hint):
                    walk(hint)

    for record in TOP_LEVEL:
        walk(record)
    return found


def numeric_fields() -> list[NumericField]:
    fields = []
    for record in reached_records():
        hints = typing.get_type_hints(record)
        for field in dataclasses.fields(record):
            kind, length, optional = numeric_type(hints[field.name])
            if kind is not None:
                fields.append(NumericField(record, field, kind, length, optional))
    return fields


NUMERIC_FIELDS = numeric_fields()
RANGED = [f for f in NUMERIC_FIELDS if "range" in f.field.metadata]


def within(value, bounds) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return all(bounds[0] <= item <= bounds[1] for item in items)


def test_the_walk_reaches_every_config_record():
    defined = set()
    for module_info in pkgutil.iter_modules(kgan.config.__path__):
        if module_info.name == "flags":  # the adapter's own FlagField is no config
            continue
        module = importlib.import_module(f"kgan.config.{module_info.name}")
        defined |= {cls for _, cls in inspect.getmembers(module, inspect.isclass)
                    if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__}
    assert set(reached_records()) == defined == set(SECTIONS)


def test_every_numeric_field_has_a_range_around_its_default():
    keys = {f.key for f in NUMERIC_FIELDS}
    assert {"train.steps", "model.hidden_units", "model.image_shape", "train.epochs",
            "export.version", "projection.learning_rate", "metrics.prc_k"} <= keys
    missing = [f.key for f in NUMERIC_FIELDS if "range" not in f.field.metadata]
    assert not missing, f"no metadata['range']: {missing}"
    for numeric in NUMERIC_FIELDS:
        low, high = numeric.bounds
        assert low < high, numeric.key
        if numeric.kind is int:
            assert type(low) is int and type(high) is int, numeric.key
        else:
            assert math.isfinite(low) and math.isfinite(high), numeric.key
        default = numeric.field.default
        if default is not dataclasses.MISSING and default is not None:
            assert within(default, numeric.bounds), (numeric.key, default)


def outside(numeric: NumericField) -> list:
    """Values just and clearly beyond each bound."""
    low, high = numeric.bounds
    if numeric.kind is int:
        return [low - 1, high + 1]
    return [math.nextafter(low, -math.inf), low - abs(low) if low else -1.0,
            math.nextafter(high, math.inf), high + abs(high) if high else 1.0]


@pytest.mark.parametrize("numeric", RANGED, ids=lambda numeric: numeric.key)
def test_a_range_takes_its_bounds_and_refuses_what_lies_beyond(numeric):
    for bound in numeric.bounds:
        value = numeric.value(bound)
        assert getattr(numeric.build(value), numeric.field.name) == value
    if numeric.optional:
        assert getattr(numeric.build(None), numeric.field.name) is None
    for number in outside(numeric):
        with pytest.raises(ConfigError) as error:
            numeric.build(numeric.value(number))
        message = str(error.value)
        assert message.startswith(f"{numeric.key} must "), message
        assert f" in {range_text(numeric.bounds)}, got " in message, message
        assert "\n" not in message


@pytest.mark.parametrize("make, message", [
    (lambda: TrainConfig(steps=0), "train.steps must be in 1..1_000_000_000_000, got 0"),
    (lambda: TrainConfig(batch_size=2**18 + 1), "train.batch_size must be in 1..262_144, "
                                                "got 262145"),
    (lambda: TrainConfig(g_beta2=1.0), "train.g_beta2 must be in 0..0.999999, got 1.0"),
    (lambda: TrainConfig(steps=None, epochs=0.0), "train.epochs must be in 1e-6..1_000_000, "
                                                  "got 0.0"),
    (lambda: DataConfig(read_timeout=math.inf), "data.read_timeout must be in 1..604_800, "
                                                "got inf"),
    (lambda: ModelConfig(hidden_units=(256, 0)),
     "model.hidden_units must have every item in 1..65_536, got (256, 0)"),
    (lambda: ExportConfig(workdir="r", version=2**63),
     "export.version must be in 1..9_223_372_036_854_775_807, got 9223372036854775808"),
    (lambda: ProjectionConfig(learning_rate=math.nan),
     "projection.learning_rate must be in 1e-10..1e30, got nan"),
    (lambda: GenerateConfig(mode="grid", source="r", strength=-1e4),
     "generate.strength must be in -1000..1000, got -10000.0"),
])
def test_range_errors_read_as_one_line(make, message):
    with pytest.raises(ConfigError) as error:
        make()
    assert str(error.value) == message


def test_a_section_read_from_json_names_its_field():
    with pytest.raises(ConfigError, match=r"^projection.candidates must be in 1..4096, got 0$"):
        from_dict(GenerateConfig, {"mode": "grid", "source": "r",
                                   "projection": {"candidates": 0}}, "generate")
    with pytest.raises(ConfigError, match=r"^model.image_shape must have every item in "
                                          r"1..4096, got \(28, 28, 4097\)$"):
        Config.from_dict({"model": {"image_shape": [28, 28, 4097]}})


def test_the_flag_help_states_the_range():
    flag_values = flags.FlagValues()
    define_flags(Config, flag_values, group="train.py")
    assert flag_values["steps"].help == ("Generator updates to train to (ignored with --epochs). "
                                         "Range: 1..1_000_000_000_000.")
    assert flag_values["hidden_units"].help.endswith(" Range of each item: 1..65_536.")
    for record in TOP_LEVEL:
        flag_values = flags.FlagValues()
        define_flags(record, flag_values, group="test.py")
        for flag in flag_fields(record):
            if "range" in flag.field.metadata:
                assert flag_values[flag.name].help.endswith(
                    f": {range_text(flag.field.metadata['range'])}."), flag.key


def test_a_flag_at_its_bound_builds_the_record():
    flag_values = flags.FlagValues()
    define_flags(Config, flag_values, group="train.py")
    flag_values(["train.py", "--steps=1_000_000_000_000", "--batch_size=262_144"])
    config = config_from_flags(Config, flag_values)
    assert (config.train.steps, config.train.batch_size) == (10**12, 2**18)


@pytest.mark.parametrize("name", presets.preset_names())
def test_every_preset_loads_with_its_values_inside_the_ranges(name):
    values = presets.load_preset(name, Config)
    config = presets.layered_config(Config, preset=values)
    sections = {record: section for section, record in typing.get_type_hints(Config).items()
                if dataclasses.is_dataclass(record)}
    checked = 0
    for numeric in RANGED:
        if numeric.record not in sections:
            continue
        section = sections[numeric.record]
        given = values.get(section, {}).get(numeric.field.name)
        value = getattr(getattr(config, section), numeric.field.name)
        assert value is None or within(value, numeric.bounds), (name, numeric.key, value)
        checked += given is not None
    assert checked >= 1, name  # each preset sets numbers of its own


def test_the_longest_run_counts_its_examples_in_int64():
    highest = {f.field.name: f.bounds[1] for f in RANGED if f.record is TrainConfig}
    # The data pipeline's example offsets: step x batch_size, each of d_steps updates.
    assert highest["steps"] * highest["batch_size"] * highest["d_steps"] < 2**63


def test_every_export_version_is_an_int64_folder_name():
    low, high = next(f.bounds for f in RANGED if f.key == "export.version")
    assert low == 1 and high == 2**63 - 1
    assert int(str(high)) == high
