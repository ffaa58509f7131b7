"""The dataclass <-> absl flags adapter (kgan.config.flags), on fresh FlagValues."""

import dataclasses
from dataclasses import field
from typing import Optional

import pytest
from absl import flags

from kgan.config import (Config, DataConfig, EvalConfig, ExportConfig, GenerateConfig,
                         ModelConfig, TrainConfig)
from kgan.config import flags as config_flags
from kgan.errors import ConfigError
from tests.conftest import run_script

# Every flag train.py had before the adapter (the docs and tests use these names).
TRAIN_FLAGS = {
    "dataset", "data_dir", "download", "attributes", "crop_fraction",
    "model", "latent_dim", "base_filters", "kernel_size", "hidden_units", "conditional",
    "label_embedding_dim",
    "loss", "label_smoothing", "d_steps", "batch_size", "steps", "epochs", "g_learning_rate",
    "d_learning_rate", "g_beta1", "g_beta2", "d_beta1", "d_beta2", "seed", "deterministic",
    "reuse_fakes", "jit_compile", "steps_per_execution", "strategy", "sync_batch_norm",
    "mixed_precision", "on_nan", "rollback_lr_factor", "max_rollbacks", "log_every",
    "sample_every", "checkpoint_every", "keep_checkpoints", "num_samples", "eval_every",
    "eval_samples", "eval_metric", "inception_path",
}
EXPORT_FLAGS = {"workdir", "export_dir", "model_name", "version", "checkpoint", "tflite",
                "tflite_batch_size", "calibration_samples", "max_batch_size", "seed", "verify"}
EVALUATE_FLAGS = {"workdir", "saved_model", "checkpoint", "num_samples", "reference_split",
                  "reference_samples", "metrics", "data_dir", "inception_path", "seed", "output"}
GENERATE_FLAGS = {  # besides the script's own --workdir, --saved_model and --dry_run
    "mode", "checkpoint", "output_dir", "seed", "num_samples", "truncation", "labels",
    "interpolation", "keyframes", "frames_per_keyframe", "paths", "frame_ms", "scale",
    "attribute", "measure_on", "apply_to", "strength", "concept_samples", "transfer_samples",
    "classifier_data_dirs", "classifier_heldout_dir", "images", "project_split",
    "project_count", "project_steps", "project_learning_rate", "feature_weight",
    "latent_weight", "candidates",
}


def parsed(config_cls, *argv, group="test.py"):
    flag_values = flags.FlagValues()
    config_flags.define_flags(config_cls, flag_values, group=group)
    flag_values(["prog", *argv])
    return flag_values


@pytest.mark.parametrize("config_cls, names", [
    (Config, TRAIN_FLAGS), (ExportConfig, EXPORT_FLAGS), (EvalConfig, EVALUATE_FLAGS),
    (GenerateConfig, GENERATE_FLAGS),
])
def test_every_script_keeps_its_flag_names(config_cls, names):
    flag_values = flags.FlagValues()
    defined = config_flags.define_flags(config_cls, flag_values)
    assert names <= {f.name for f in defined}  # new settings may add flags, none is lost
    assert set(flag_values) == {f.name for f in defined}


def test_flags_map_to_their_fields_and_resolved_fields_are_not_flags():
    paths = {f.name: f.path for f in config_flags.flag_fields(Config)}
    assert paths["model"] == ("model", "architecture")
    assert paths["batch_size"] == ("train", "batch_size")
    assert paths["data_dir"] == ("data", "data_dir")
    assert not {"image_shape", "label_kind", "label_names", "architecture"} & set(paths)
    generate = {f.name: f.path for f in config_flags.flag_fields(GenerateConfig)}
    assert generate["project_steps"] == ("projection", "steps")
    assert generate["project_learning_rate"] == ("projection", "learning_rate")
    assert generate["candidates"] == ("projection", "candidates")
    assert "source" not in generate and "steps" not in generate
    assert {f.name: f.path for f in config_flags.flag_fields(ExportConfig)}["tflite"] == \
        ("tflite_variants",)


def test_every_flag_has_the_help_of_its_field():
    for config_cls in (Config, ExportConfig, EvalConfig, GenerateConfig):
        for flag in config_flags.flag_fields(config_cls):
            assert flag.field.metadata.get("help"), flag.key
    flag_values = parsed(Config)
    assert flag_values["model"].help == "Architecture: dcgan, resnet or mlp."
    assert flag_values["batch_size"].default == 64
    assert flag_values["attributes"].default == list(DataConfig().attributes)


def test_no_flags_give_the_defaults():
    assert config_flags.config_from_flags(Config, parsed(Config)) == Config()
    assert config_flags.config_from_flags(ExportConfig, parsed(ExportConfig, "--workdir=r")) == \
        ExportConfig(workdir="r")


def test_flags_set_their_fields():
    flag_values = parsed(Config, "--model=mlp", "--hidden_units=32,16", "--batch_size=8",
                         "--attributes=Male,Smiling", "--conditional", "--epochs=2.5",
                         "--inception_path=/x.pb", "--crop_fraction=0.5")
    values = config_flags.explicit_values(Config, flag_values)
    assert values == {
        "data": {"attributes": ["Male", "Smiling"], "crop_fraction": 0.5},
        "model": {"architecture": "mlp", "hidden_units": [32, 16], "conditional": True},
        "train": {"batch_size": 8, "epochs": 2.5, "inception_path": "/x.pb"},
    }
    config = config_flags.config_from_flags(
        Config, flag_values, base={"train": {"steps": None}})  # as train.py's --epochs rule
    assert config.model == ModelConfig(architecture="mlp", hidden_units=(32, 16),
                                       conditional=True)
    assert config.data.attributes == ("Male", "Smiling")
    assert config.train.epochs == 2.5 and config.train.steps is None
    assert config.train.inception_path == "/x.pb" and config.data.crop_fraction == 0.5


def test_only_flags_given_on_the_command_line_override_the_base():
    base = {"train": {"batch_size": 8, "seed": 3}, "model": {"latent_dim": 10}}
    config = config_flags.config_from_flags(
        Config, parsed(Config, "--seed=5", "--latent_dim=100"), base=base)
    assert config.train.batch_size == 8  # not given: the base stays
    assert config.train.seed == 5
    # Given, even with the default's value: it overrides the base.
    assert config.model.latent_dim == 100
    assert base == {"train": {"batch_size": 8, "seed": 3}, "model": {"latent_dim": 10}}


def test_a_bool_flag_can_turn_off_a_base_value():
    config = config_flags.config_from_flags(Config, parsed(Config, "--nodownload"),
                                            base={"data": {"download": True}})
    assert config.data.download is False


@pytest.mark.parametrize("argv, message", [
    (["--hidden_units=256,big"], "--hidden_units must be integers, got '256,big'"),
    (["--hidden_units=1.5"], "--hidden_units must be integers, got '1.5'"),
])
def test_bad_list_items_are_one_line_config_errors_naming_the_flag(argv, message):
    with pytest.raises(ConfigError) as error:
        config_flags.config_from_flags(Config, parsed(Config, *argv))
    assert str(error.value) == message


def test_values_the_record_refuses_are_config_errors():
    with pytest.raises(ConfigError, match=r"^train.batch_size must be in 1..262_144, got 0$"):
        config_flags.config_from_flags(Config, parsed(Config, "--batch_size=0"))
    with pytest.raises(ConfigError, match="config.train has unknown key.*bogus"):
        config_flags.config_from_flags(Config, parsed(Config), base={"train": {"bogus": 1}})
    with pytest.raises(ConfigError, match="config.train.seed must be an integer"):
        config_flags.config_from_flags(Config, parsed(Config), base={"train": {"seed": "1"}})


def test_empty_list_items_are_dropped():
    config = config_flags.config_from_flags(ExportConfig,
                                            parsed(ExportConfig, "--workdir=r", "--tflite="))
    assert config.tflite_variants == ()
    generate = config_flags.config_from_flags(
        GenerateConfig, parsed(GenerateConfig, "--mode=project", "--images=a.png,",
                               "--project_steps=7"), base={"source": "run"})
    assert generate.images == ("a.png",) and generate.projection.steps == 7
    assert generate.source == "run"


def test_fields_without_default_are_required_and_choices_are_enums():
    with pytest.raises(flags.IllegalFlagValueError, match="workdir"):
        parsed(ExportConfig)
    with pytest.raises(flags.IllegalFlagValueError, match="mode"):
        parsed(GenerateConfig)
    with pytest.raises(flags.IllegalFlagValueError, match="grid"):
        parsed(GenerateConfig, "--mode=bogus")
    with pytest.raises(flags.IllegalFlagValueError, match="slerp"):
        parsed(GenerateConfig, "--mode=grid", "--interpolation=cubic")


@dataclasses.dataclass(frozen=True)
class PointsConfig:
    num_points: int = field(default=10, metadata={"help": "Points per mixture."})
    radius: float = 2.0  # no help: the adapter names the field
    size: tuple[int, int] = (3, 4)
    weights: Optional[tuple[float, ...]] = None


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    task: str = field(default="gan", metadata={"help": "What to train."})
    data: DataConfig = DataConfig()
    points: PointsConfig = PointsConfig()
    train: TrainConfig = TrainConfig()


def test_a_new_section_and_top_level_field_need_no_adapter_code():
    flag_values = parsed(TaskConfig, "--task=points", "--num_points=5", "--size=6,7",
                         "--weights=0.5,1.5", "--batch_size=4", group="train.py")
    config = config_flags.config_from_flags(TaskConfig, flag_values)
    assert config == TaskConfig(task="points", points=PointsConfig(
        num_points=5, size=(6, 7), weights=(0.5, 1.5)), train=TrainConfig(batch_size=4))
    groups = {module: {f.name for f in found}
              for module, found in flag_values.flags_by_module_dict().items()}
    assert groups["train.py: task"] == {"task"}
    assert groups["train.py: points"] == {"num_points", "radius", "size", "weights"}
    assert "batch_size" in groups["train.py: train"] and "dataset" in groups["train.py: data"]
    assert flag_values["radius"].help == "Sets points.radius."


def test_fixed_length_tuples_check_their_length():
    with pytest.raises(ConfigError, match=r"^--size must have 2 comma-separated items, got '6'$"):
        config_flags.config_from_flags(TaskConfig, parsed(TaskConfig, "--size=6"))
    with pytest.raises(ConfigError, match=r"^--weights must be numbers, got 'a'$"):
        config_flags.config_from_flags(TaskConfig, parsed(TaskConfig, "--weights=a"))


def test_a_flag_name_used_twice_is_refused_when_defined():
    @dataclasses.dataclass(frozen=True)
    class Other:
        seed: int = 0

    @dataclasses.dataclass(frozen=True)
    class Clash:
        train: TrainConfig = TrainConfig()
        other: Other = Other()

    with pytest.raises(ValueError, match="--seed would set both train.seed and other.seed"):
        config_flags.define_flags(Clash, flags.FlagValues())
    flag_values = flags.FlagValues()
    flags.DEFINE_string("workdir", None, "The script's own.", flag_values=flag_values)
    with pytest.raises(ValueError, match="--workdir for workdir is already defined"):
        config_flags.define_flags(EvalConfig, flag_values)
    assert "saved_model" not in flag_values  # nothing was defined


def test_a_field_type_with_no_flag_is_refused_when_defined():
    @dataclasses.dataclass(frozen=True)
    class Odd:
        table: dict = field(default_factory=dict)

    with pytest.raises(TypeError, match="config field table: no flag type"):
        config_flags.define_flags(Odd, flags.FlagValues())


def test_helpfull_groups_the_flags_by_section_and_help_lists_them_all():
    result = run_script("train.py", "--helpfull")  # absl exits with status 1 after help
    assert "Traceback" not in result.stderr, result.stderr
    sections = {}
    current = None
    for line in result.stdout.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
        elif line.startswith("  --") and current:
            sections.setdefault(current, set()).add(line[4:].split(":")[0].removeprefix("[no]"))
    assert {"model", "architecture"} & sections["train.py: model"] == {"model"}
    assert {"dataset", "data_dir", "attributes"} <= sections["train.py: data"]
    assert {"batch_size", "steps", "epochs"} <= sections["train.py: train"]
    script_flags = next(names for module, names in sections.items()
                        if module.endswith(("train.py", "commands.train")))
    assert {"workdir", "dry_run", "preset", "config"} <= script_flags
    assert not any("image_shape" in names for names in sections.values())
    short = run_script("train.py", "--help")
    assert "--batch_size" in short.stdout and "--preset" in short.stdout
