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
from kgan.config import GENERATE_MODES, INTERPOLATIONS, GenerateConfig, ProjectionConfig
from kgan.errors import ConfigError

_DEFAULT = GenerateConfig(mode="grid", source="-")
_PROJECTION = ProjectionConfig()

flags.DEFINE_enum("mode", None, GENERATE_MODES, "What to make.")
flags.DEFINE_string("workdir", None, "A training run (its newest checkpoint, or --checkpoint).")
flags.DEFINE_string("saved_model", None, "An export version folder, or an export model folder "
                    "(its newest version), instead of --workdir.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint of --workdir.")
flags.DEFINE_string("output_dir", None, "Where files go; default <workdir>/generated, or "
                    "generated/<model>_v<version> for an export.")
flags.DEFINE_integer("seed", _DEFAULT.seed, "Seed of every latent drawn.")
flags.DEFINE_integer("num_samples", _DEFAULT.num_samples,
                     "Images in a grid; most columns of the arithmetic figure.")
flags.DEFINE_float("truncation", None, "Redraw latent components beyond this absolute value "
                   "(truncation trick; e.g. 1.0). Default: none.")
flags.DEFINE_string("labels", None, "Conditional generators: a class name (7) or the attributes "
                    "present (Smiling,Male). Default: every class / attribute combination.")
flags.DEFINE_enum("interpolation", _DEFAULT.interpolation, INTERPOLATIONS, "Interpolation path.")
flags.DEFINE_integer("keyframes", _DEFAULT.keyframes, "Latents each interpolation passes through.")
flags.DEFINE_integer("frames_per_keyframe", _DEFAULT.frames_per_keyframe,
                     "GIF frames from one keyframe to the next.")
flags.DEFINE_integer("paths", _DEFAULT.paths, "Interpolation paths side by side.")
flags.DEFINE_integer("frame_ms", _DEFAULT.frame_ms, "GIF frame time (ms).")
flags.DEFINE_integer("scale", _DEFAULT.scale, "Enlarge pictures this many times (e.g. 3 for "
                     "MNIST).")
flags.DEFINE_string("attribute", None, "Arithmetic/projection edits: the concept (a CelebA "
                    "attribute such as Smiling, or a digit).")
flags.DEFINE_string("measure_on", _DEFAULT.measure_on, "Group the concept is measured within "
                    "(-Male: women); digits: the class it starts from. Default: everyone.")
flags.DEFINE_string("apply_to", _DEFAULT.apply_to, "Group it is added to (Male: men without "
                    "the attribute). Default: every sample without it.")
flags.DEFINE_float("strength", _DEFAULT.strength, "Multiple of the concept vector added.")
flags.DEFINE_integer("concept_samples", _DEFAULT.concept_samples,
                     "Samples the concept vector is measured on.")
flags.DEFINE_integer("transfer_samples", _DEFAULT.transfer_samples,
                     "Fresh samples it is tested on.")
flags.DEFINE_list("classifier_data_dirs", [], "CelebA folders the attribute classifier learns "
                  "from (once, cached). Default: the run's data_dir.")
flags.DEFINE_string("classifier_heldout_dir", None, "CelebA folder whose held-out faces measure "
                    "the classifier. Default: the first of --classifier_data_dirs.")
flags.DEFINE_list("images", [], "Image files to project (PNG/JPEG).")
flags.DEFINE_string("project_split", None, "Or project images of this split of the run's "
                    "dataset (heldout, test, ...).")
flags.DEFINE_integer("project_count", _DEFAULT.project_count, "Images from --project_split.")
flags.DEFINE_integer("project_steps", _PROJECTION.steps, "Projection: Adam steps.")
flags.DEFINE_float("project_learning_rate", _PROJECTION.learning_rate,
                   "Projection: initial learning rate.")
flags.DEFINE_float("feature_weight", _PROJECTION.feature_weight, "Projection: weight of the "
                   "classifier-feature loss (0: pixels only).")
flags.DEFINE_float("latent_weight", _PROJECTION.latent_weight, "Projection: weight of the "
                   "penalty keeping |z| near sqrt(latent_dim).")
flags.DEFINE_integer("candidates", _PROJECTION.candidates,
                     "Projection: random starting latents tried.")
flags.DEFINE_bool("dry_run", False, "Print the resolved options as JSON and exit.")
flags.mark_flag_as_required("mode")
FLAGS = flags.FLAGS


def config_from_flags() -> GenerateConfig:
    if (FLAGS.workdir is None) == (FLAGS.saved_model is None):
        raise ConfigError(f"give exactly one of --workdir and --saved_model (got "
                          f"workdir={FLAGS.workdir!r}, saved_model={FLAGS.saved_model!r})")
    if FLAGS.mode == "progress" and FLAGS.saved_model:
        raise ConfigError("progress animates a training run's sample grids: give --workdir")
    projection = ProjectionConfig(
        steps=FLAGS.project_steps, learning_rate=FLAGS.project_learning_rate,
        feature_weight=FLAGS.feature_weight, latent_weight=FLAGS.latent_weight,
        candidates=FLAGS.candidates)
    return GenerateConfig(
        mode=FLAGS.mode, source=FLAGS.workdir or FLAGS.saved_model, checkpoint=FLAGS.checkpoint,
        output_dir=FLAGS.output_dir, seed=FLAGS.seed, num_samples=FLAGS.num_samples,
        truncation=FLAGS.truncation, labels=FLAGS.labels, interpolation=FLAGS.interpolation,
        keyframes=FLAGS.keyframes, frames_per_keyframe=FLAGS.frames_per_keyframe,
        paths=FLAGS.paths, frame_ms=FLAGS.frame_ms, scale=FLAGS.scale, attribute=FLAGS.attribute,
        measure_on=FLAGS.measure_on, apply_to=FLAGS.apply_to, strength=FLAGS.strength,
        concept_samples=FLAGS.concept_samples, transfer_samples=FLAGS.transfer_samples,
        classifier_data_dirs=tuple(d for d in FLAGS.classifier_data_dirs if d),
        classifier_heldout_dir=FLAGS.classifier_heldout_dir,
        images=tuple(p for p in FLAGS.images if p), project_split=FLAGS.project_split,
        project_count=FLAGS.project_count, projection=projection)


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
    return cli.run("generate.py", generate_from_flags, argv)


if __name__ == "__main__":
    app.run(main)
