"""Named recipes and saved config files, as partial configs to merge.

A preset is a JSON file `kgan/presets/<name>.json` shipped with the package
(`train.py --preset=celeba`); a config file is any JSON in the same shape,
typically another run's `config.json` (`train.py --config=runs/x/config.json`).
Both are *partial* nested dicts in the shape of `Config.to_dict()`, e.g.
`{"data": {"dataset": "celeba"}, "train": {"steps": 2000}}`: what they leave
out keeps its default. The scripts lay them over each other in the order

    dataclass defaults < --preset < --config < flags given on the command line

and build the record with the strict `from_dict`, so a config written by an
older kgan (missing newer keys) still loads, and unknown keys or wrong types
are refused with the file and key named.
"""

import importlib.resources
from typing import Any, Optional

from kgan.config.base import check_partial, decode_json, merge
from kgan.errors import ConfigError

__all__ = ["layered_config", "load_config_file", "load_preset", "merge", "one_training_length",
           "preset_names", "presets_folder"]


def presets_folder():
    """The folder of the shipped presets (`kgan/presets/`, package data)."""
    return importlib.resources.files("kgan").joinpath("presets")


def preset_names() -> tuple[str, ...]:
    """The shipped presets' names, sorted (`celeba`, `mnist`, ...)."""
    folder = presets_folder()
    if not folder.is_dir():
        return ()
    return tuple(sorted(entry.name.removesuffix(".json") for entry in folder.iterdir()
                        if entry.name.endswith(".json") and entry.is_file()))


def load_preset(name: str, config_cls: Any = None) -> dict:
    """The partial config of preset `name`.

    Args:
        name: A name from `preset_names()`.
        config_cls: If given, the preset's keys and value types are checked
            against this record (`check_partial`).

    Raises:
        ConfigError: for an unknown name (listing the choices), or a preset
            that is not a JSON object of known keys.
    """
    names = preset_names()
    if name not in names:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(names)}")
    source = f"preset {name!r}"
    values = decode_json(presets_folder().joinpath(f"{name}.json").read_bytes(), source)
    return _checked(values, source, config_cls)


def load_config_file(path: str, config_cls: Any = None) -> dict:
    """The (possibly partial) config in the JSON file at `path`.

    Raises:
        ConfigError: one line naming `path`, for a file that cannot be read,
            is not strict JSON, is not a JSON object, or (with `config_cls`)
            has unknown keys or wrong types.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    return _checked(decode_json(data, path), path, config_cls)


def _checked(values: Any, source: str, config_cls: Optional[Any]) -> dict:
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must be a JSON object, got {type(values).__name__}")
    if config_cls is not None:
        check_partial(config_cls, values, source)
    return values


def one_training_length(layer: dict, epochs_wins: bool = False) -> dict:
    """Keeps exactly one of train.steps and train.epochs in a layer of settings.

    A layer (preset, config file, command line) that sets `epochs` but not
    `steps` clears the `steps` underneath it, and the reverse; on the command
    line `--epochs` wins over `--steps` (`epochs_wins`).
    """
    train = layer.get("train")
    if not isinstance(train, dict):
        return layer
    if train.get("epochs") is not None and (epochs_wins or "steps" not in train):
        train["steps"] = None
    elif train.get("steps") is not None and "epochs" not in train:
        train["epochs"] = None
    return layer


def layered_config(config_cls: Any, preset: Optional[dict] = None,
                   config_file: Optional[dict] = None, explicit: Optional[dict] = None):
    """The run config of `train.py`: defaults < `preset` < `config_file` <
    `explicit` (flags given on the command line), built strictly."""
    values = {}
    for layer, epochs_wins in ((preset, False), (config_file, False), (explicit, True)):
        if layer is not None:
            values = merge(values, one_training_length(layer, epochs_wins))
    return config_cls.from_dict(values)
