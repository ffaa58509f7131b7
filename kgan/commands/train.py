"""Train a GAN: `python train.py --workdir=runs/mnist --data_dir=../shared/data/tensorflow_datasets`.

Flags build a `kgan.config.Config` (every field is a flag; `--helpfull` lists
them by section), over an optional named recipe (`--preset=celeba`) and a
config file (`--config=runs/x/config.json`); `kgan.training.train` does the
rest.
Running the same command again resumes from the newest checkpoint in the
workdir; Ctrl-C saves a checkpoint first. `--dry_run` prints the resolved
config and exits.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.core import signals
from kgan.config import Config, presets
from kgan.config import flags as config_flags
from kgan.errors import ConfigError

flags.DEFINE_string("workdir", None, "Run directory: config.json, checkpoints/, samples/, "
                    "tensorboard/. Default runs/<task>_<dataset> for pix2pix/cyclegan, else "
                    "runs/<dataset>_<model>[_conditional].")
flags.DEFINE_bool("dry_run", False, "Print the resolved config as JSON and exit.")
flags.DEFINE_string("preset", None, "A named recipe (kgan/presets/<name>.json): "
                    f"{', '.join(presets.preset_names())}; 'none' for the plain defaults. "
                    "Default: the preset named like --task (pix2pix, cyclegan), else like "
                    "--dataset (the measured best recipe for it), "
                    "unless --config is given. --config and explicit flags override it.")
flags.DEFINE_string("config", None, "A config JSON file, whole or partial (e.g. another run's "
                    "config.json): overrides --preset and the defaults; explicit flags override "
                    "it.")
# Every Config field is a flag, grouped by section in --helpfull (see kgan.config.flags).
config_flags.define_flags(Config)

FLAGS = flags.FLAGS


def preset_name(explicit: dict):
    """--preset, else (without --config) the preset named like the task (a
    family other than the noise-to-image GAN: pix2pix, cyclegan), else the
    one named like the dataset."""
    if FLAGS.preset is not None:
        return None if FLAGS.preset == "none" else FLAGS.preset
    if FLAGS.config is not None:
        return None
    task = explicit.get("task", Config().task)
    if task != Config().task and task in presets.preset_names():
        return task
    dataset = explicit.get("data", {}).get("dataset", Config().data.dataset)
    return dataset if dataset in presets.preset_names() else None


def default_workdir(config: Config) -> str:
    """runs/<task>_<dataset> for a family with its own preset, else
    runs/<dataset>_<architecture>[_conditional]."""
    if config.task != Config().task and config.task in presets.preset_names():
        return os.path.join("runs", f"{config.task}_{config.data.dataset}")
    return os.path.join("runs", "_".join(
        [config.data.dataset, config.model.architecture]
        + (["conditional"] if config.model.conditional else [])))


def config_from_flags() -> Config:
    """Dataclass defaults < --preset < --config < flags given on the command line.

    Resuming a run without --preset or --config starts from the run's own
    config.json instead of the preset, so a recipe changed since the run
    began does not change the run; flags given still override it.
    """
    explicit = config_flags.explicit_values(Config, FLAGS)
    preset = preset_name(explicit)
    config = presets.layered_config(
        Config,
        preset=presets.load_preset(preset, Config) if preset is not None else None,
        config_file=(presets.load_config_file(FLAGS.config, Config)
                     if FLAGS.config is not None else None),
        explicit=explicit)
    saved = os.path.join(FLAGS.workdir or default_workdir(config), "config.json")
    if FLAGS.preset is None and FLAGS.config is None and os.path.isfile(saved):
        try:
            saved_values = presets.load_config_file(saved, Config)
        except ConfigError as e:
            raise ConfigError(f"{saved} is not a usable kgan config: {e}") from None
        config = presets.layered_config(Config, preset=None, config_file=saved_values,
                                        explicit=explicit)
    return config


def train_from_flags():
    config = config_from_flags()  # value errors surface here, before TensorFlow loads
    from kgan import training

    config = training.resolve(config)
    if FLAGS.dry_run:
        sys.stdout.write(config.to_json())
        return 0
    workdir = FLAGS.workdir or default_workdir(config)
    result = training.train(config, workdir)
    if result.interrupted:
        return signals.exit_status(result.stop_signal)
    print(f"Done: step {result.step} in {result.workdir}; newest checkpoint {result.checkpoint}; "
          f"weights sha256 {result.weights_digest[:16]}")
    return 0


def main(argv):
    # Ctrl-C or SIGTERM during training is handled by train() (checkpoint saved); before it,
    # nothing to save.
    return cli.run(cli.program_name("train.py"), train_from_flags, argv)


def run():
    """The console script's entry point (`kgan-train`); the repository's
    `train.py` calls it too."""
    cli.adopt_key_flags(__name__)
    app.run(main)
