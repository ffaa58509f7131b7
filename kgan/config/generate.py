"""Settings of `generate.py` and the latent tools (`kgan.latent`)."""

import dataclasses
from dataclasses import field
from typing import Optional

from kgan.config.base import (LEARNING_RATES, LOSS_WEIGHTS, MAX_PICTURE_IMAGES, MAX_SAMPLES, SEEDS,
                              _require, check_ranges)

# The latent tools (generate.py, kgan.latent).
GENERATE_MODES = ("grid", "interpolate", "arithmetic", "project", "progress", "translate",
                  "upscale")
INTERPOLATIONS = ("slerp", "linear")


@dataclasses.dataclass(frozen=True)
class ProjectionConfig:
    """How an image is projected into the latent space (the z that reproduces it).

    Attributes:
        steps: Adam steps on z.
        learning_rate: Adam's initial learning rate (cosine-decayed to 0).
        feature_weight: Weight of the feature loss (the dataset classifier's
            convolution features, each layer's squared error relative to the
            target's feature energy) beside the pixel loss (mean squared error
            in [-1, 1]); 0 for pixels alone.
        latent_weight: Weight of `(|z|^2 / latent_dim - 1)^2`, which keeps z
            near the sphere where standard-normal latents lie.
        candidates: Random latents tried first; each target starts from the
            one closest to it.
    """

    steps: int = field(default=500, metadata={
        "range": (1, 1_000_000), "flag": "project_steps", "help": "Projection: Adam steps."})
    learning_rate: float = field(default=0.1, metadata={
        "range": LEARNING_RATES,
        "flag": "project_learning_rate", "help": "Projection: initial learning rate."})
    feature_weight: float = field(default=1.0, metadata={
        "range": LOSS_WEIGHTS,
        "help": "Projection: weight of the classifier-feature loss (0: pixels only)."})
    latent_weight: float = field(default=0.01, metadata={
        "range": LOSS_WEIGHTS,
        "help": "Projection: weight of the penalty keeping |z| near sqrt(latent_dim)."})
    # All of them are generated in one batch.
    candidates: int = field(default=64, metadata={
        "range": (1, 4096), "help": "Projection: random starting latents tried."})

    def __post_init__(self):
        check_ranges(self, "projection")


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """What `generate.py` makes from a trained generator.

    Attributes:
        mode: `grid` (samples), `interpolate` (paths between latents: a
            strip PNG and a GIF), `arithmetic` (a concept vector added to
            fresh samples, judged by the dataset classifier against random
            directions), `project` (real images -> latents, reconstructions,
            and edits with a concept vector if `attribute` is set) or
            `progress` (a GIF of a run's sample grids); for an image-to-image
            run (pix2pix, CycleGAN), `translate` (`images` -> translations
            and a before/after figure); for a super-resolution run (srgan),
            `upscale` (`images`, at their own size -> enlarged images, each
            beside its bicubic enlargement).
        source: A training run, an export version folder, or an export
            model folder (its newest version). `progress` needs a run.
        checkpoint: A checkpoint of a training run; default its newest.
        raw_weights: The generator's trained weights instead of their
            moving average (for runs that keep one).
        output_dir: Where the files go; default `<run>/generated/`, or
            `generated/<model>_v<version>/` for an export (an export's
            folder is never written to).
        seed: Seed of every latent drawn.
        num_samples: Images in a grid; columns of the arithmetic figure.
        truncation: Redraw latent components beyond this absolute value
            (the truncation trick); None for plain standard-normal latents.
        labels: For a conditional generator: a class name (`7`), or the
            attributes present (`Smiling,Male`; the others absent). Default:
            a grid gets a row per class or attribute combination, other
            modes cycle through those rows.
        interpolation: `slerp` or `linear`.
        keyframes: Latents each interpolation path passes through.
        frames_per_keyframe: Frames from one keyframe to the next.
        paths: Independent interpolation paths (rows of the strip and GIF).
        frame_ms: GIF frame time in milliseconds.
        scale: Nearest-neighbour enlargement of the pictures (1: as generated).
        attribute: The concept (`Smiling`; for digits, a class such as `7`).
        measure_on: The group the concept vector is measured within
            (`-Male`: smiling women - neutral women); default everyone. For
            digits: the class it starts from (`1` for 7 - 1).
        apply_to: The group it is added to (`Male`: neutral men, aiming at
            smiling men); default everyone without the attribute. For
            digits, default `measure_on`.
        strength: Multiple of the concept vector added.
        concept_samples: Generated samples the concept vector is measured on.
        transfer_samples: Fresh samples it is tested on.
        classifier_data_dirs: CelebA folders the attribute classifier learns
            from (once; cached); default the run's data_dir.
        classifier_heldout_dir: CelebA folder whose held-out faces measure
            it; default the first of `classifier_data_dirs`.
        images: Image files (PNG or JPEG), or folders of them, to project or
            translate; CelebA photos get the dataset's crop, every image is
            resized to the generator's size.
        direction: The translation direction, by its signature
            (`serving_default`; CycleGAN also `b_to_a`).
        project_split: Or project the first `project_count` images of this
            split of the run's dataset (e.g. `heldout`, `test`).
        project_count: Images taken from `project_split`.
        projection: How projection optimizes.
    """

    mode: str = field(metadata={"choices": GENERATE_MODES, "help": "What to make."})
    # generate.py sets it from --workdir or --saved_model.
    source: str = field(metadata={"flag": None})
    checkpoint: Optional[str] = field(default=None, metadata={
        "help": "A specific checkpoint of --workdir."})
    raw_weights: bool = field(default=False, metadata={"help": (
        "Use the generator's trained weights, not their moving average (runs with "
        "--ema_half_life keep one; it is the default).")})
    output_dir: Optional[str] = field(default=None, metadata={"help": (
        "Where files go; default <workdir>/generated, or generated/<model>_v<version> for an "
        "export.")})
    seed: int = field(default=0, metadata={"range": SEEDS, "help": "Seed of every latent drawn."})
    num_samples: int = field(default=64, metadata={
        "range": (1, MAX_PICTURE_IMAGES),
        "help": "Images in a grid; most columns of the arithmetic figure."})
    # Redraws land inside 0.01 once in 125 tries; beyond about 6 nothing is redrawn.
    truncation: Optional[float] = field(default=None, metadata={"range": (0.01, 100.0), "help": (
        "Redraw latent components beyond this absolute value (truncation trick; e.g. 1.0). "
        "Default: none.")})
    labels: Optional[str] = field(default=None, metadata={"help": (
        "Conditional generators: a class name (7) or the attributes present (Smiling,Male). "
        "Default: every class / attribute combination.")})
    interpolation: str = field(default="slerp", metadata={
        "choices": INTERPOLATIONS, "help": "Interpolation path."})
    # An animation is held in memory: (keyframes - 1) x frames_per_keyframe frames of
    # `paths` pictures each.
    keyframes: int = field(default=4, metadata={
        "range": (2, 100), "help": "Latents each interpolation passes through."})
    frames_per_keyframe: int = field(default=12, metadata={
        "range": (1, 100), "help": "GIF frames from one keyframe to the next."})
    paths: int = field(default=4, metadata={
        "range": (1, 32), "help": "Interpolation paths side by side."})
    # GIF frame times are in hundredths of a second.
    frame_ms: int = field(default=80, metadata={
        "range": (10, 60_000), "help": "GIF frame time (ms)."})
    # A 128-pixel side enlarged 32 times is 4096 pixels.
    scale: int = field(default=1, metadata={
        "range": (1, 32), "help": "Enlarge pictures this many times (e.g. 3 for MNIST)."})
    attribute: Optional[str] = field(default=None, metadata={"help": (
        "Arithmetic/projection edits: the concept (a CelebA attribute such as Smiling, or a "
        "digit).")})
    measure_on: str = field(default="", metadata={"help": (
        "Group the concept is measured within (-Male: women); digits: the class it starts "
        "from. Default: everyone.")})
    apply_to: str = field(default="", metadata={"help": (
        "Group it is added to (Male: men without the attribute). Default: every sample "
        "without it.")})
    strength: float = field(default=1.0, metadata={
        "range": (-1e3, 1e3), "help": "Multiple of the concept vector added."})
    concept_samples: int = field(default=2000, metadata={
        "range": (100, MAX_SAMPLES), "help": "Samples the concept vector is measured on."})
    transfer_samples: int = field(default=2000, metadata={
        "range": (100, MAX_SAMPLES), "help": "Fresh samples it is tested on."})
    classifier_data_dirs: tuple[str, ...] = field(default=(), metadata={"help": (
        "CelebA folders the attribute classifier learns from (once, cached). Default: the "
        "run's data_dir.")})
    classifier_heldout_dir: Optional[str] = field(default=None, metadata={"help": (
        "CelebA folder whose held-out faces measure the classifier. Default: the first of "
        "--classifier_data_dirs.")})
    images: tuple[str, ...] = field(default=(), metadata={
        "help": "Image files (PNG/JPEG) or folders of them, to project or translate."})
    direction: str = field(default="serving_default", metadata={"help": (
        "translate: the direction, by its signature name (serving_default; CycleGAN: b_to_a for "
        "domain B -> A).")})
    project_split: Optional[str] = field(default=None, metadata={"help": (
        "Or project images of this split of the run's dataset (heldout, test, ...).")})
    project_count: int = field(default=8, metadata={
        "range": (1, 10_000), "help": "Images from --project_split."})
    projection: ProjectionConfig = ProjectionConfig()

    def __post_init__(self):
        check_ranges(self, "generate")
        _require(self.mode in GENERATE_MODES, "generate.mode", self.mode,
                 f"must be one of {', '.join(GENERATE_MODES)}")
        _require(bool(self.source), "generate.source", self.source,
                 "must name a training run or an export")
        _require(self.interpolation in INTERPOLATIONS, "generate.interpolation",
                 self.interpolation, f"must be one of {', '.join(INTERPOLATIONS)}")
        if self.mode == "arithmetic":
            _require(bool(self.attribute), "generate.attribute", self.attribute,
                     "must name the concept for arithmetic (e.g. Smiling, or a digit)")
        if self.mode in ("translate", "upscale"):
            _require(bool(self.images), "generate.images", self.images,
                     f"must name the pictures to {self.mode} (files or folders)")
        if self.mode == "project":
            _require(bool(self.images) != (self.project_split is not None), "generate.images",
                     self.images, "or generate.project_split: give exactly one for project")
