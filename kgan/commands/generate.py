"""Pictures from a trained generator: `python generate.py --mode=grid --workdir=runs/mnist`.

Modes (each writes PNG/GIF files, and prints where):
  grid         samples, optionally truncated (`--truncation=1.0`)
  interpolate  paths through latents (`--interpolation=slerp|linear`): a strip and a GIF
  arithmetic   a concept vector (`--attribute=Smiling --measure_on=-Male --apply_to=Male`:
               smiling woman - neutral woman + neutral man) from classifier-judged samples,
               added to fresh ones; prints how often the result has the attribute, against
               a random direction of the same length
  project      real images (`--images=a.png,b.jpg` or `--project_split=heldout`) -> latents
               and reconstructions; with `--attribute`, also edited by the concept vector
  progress     a GIF of a training run's sample grids

`--saved_model` (an export version or model folder) works wherever `--workdir` does, except
for progress.
"""

import dataclasses
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.config import GenerateConfig
from kgan.config import flags as config_flags
from kgan.errors import ConfigError

flags.DEFINE_string("workdir", None, "A training run (its newest checkpoint, or --checkpoint).")
flags.DEFINE_string("saved_model", None, "An export version folder, or an export model folder "
                    "(its newest version), instead of --workdir.")
flags.DEFINE_bool("dry_run", False, "Print the resolved options as JSON and exit.")
# Every GenerateConfig field is a flag but `source` (from --workdir or --saved_model); the
# projection section's are --project_steps, --project_learning_rate, --feature_weight,
# --latent_weight and --candidates (see kgan.config.flags).
config_flags.define_flags(GenerateConfig)
FLAGS = flags.FLAGS


def config_from_flags() -> GenerateConfig:
    if (FLAGS.workdir is None) == (FLAGS.saved_model is None):
        raise ConfigError(f"give exactly one of --workdir and --saved_model (got "
                          f"workdir={FLAGS.workdir!r}, saved_model={FLAGS.saved_model!r})")
    if FLAGS.mode == "progress" and FLAGS.saved_model:
        raise ConfigError("progress animates a training run's sample grids: give --workdir")
    return config_flags.config_from_flags(
        GenerateConfig, FLAGS, base={"source": FLAGS.workdir or FLAGS.saved_model})


def generate_from_flags():
    config = config_from_flags()
    if FLAGS.dry_run:
        print(json.dumps(dataclasses.asdict(config), indent=2))
        return
    from kgan.latent import commands  # imports TensorFlow: after the flags are known to be valid

    result = commands.run(config)
    for line in result.lines:
        print(line)
    for path in result.files:
        print(f"Wrote {path}")


def main(argv):
    return cli.run(cli.program_name("generate.py"), generate_from_flags, argv)


def run():
    """The console script's entry point (`kgan-generate`); the repository's
    `generate.py` calls it too."""
    cli.adopt_key_flags(__name__)
    app.run(main)
