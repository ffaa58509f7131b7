"""Settings of `export.py`: how a trained generator is exported for serving."""

import dataclasses
from dataclasses import field
from typing import Optional

from kgan.config.base import MAX_SAMPLES, SEEDS, _require, check_ranges

TFLITE_VARIANTS = ("float32", "float16", "dynamic_int8", "full_int8")
# TF Serving reads a version folder's name as an int64.
SERVABLE_VERSIONS = (1, 2**63 - 1)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """How a trained generator is exported for serving.

    Attributes:
        workdir: The training run to export.
        export_dir: Root of the exports; the SavedModel goes to
            `<export_dir>/<model_name>/<version>/` (TF Serving's layout).
        model_name: Name under `export_dir`; default the workdir's base name.
        version: Integer version to write; default one above the highest
            existing version. An existing version is never overwritten.
        checkpoint: Checkpoint path to export; default the run's newest.
        raw_weights: The generator's trained weights instead of their
            moving average (for runs that keep one).
        tflite_variants: TFLite files to write, any of `TFLITE_VARIANTS`.
        tflite_batch_size: Fixed batch size of the TFLite models, or 0 for a
            dynamic batch. A fixed batch (default 1, for on-device generation)
            gives TRANSPOSE_CONV constant shapes, so LiteRT's XNNPACK delegate
            runs it: every variant is faster here, `dynamic_int8` over 500x
            (BUILD_NOTES.md); the model then takes exactly that many latents
            per call.
        calibration_samples: Latent samples calibrating full-int8 quantization.
        seed: Seed of the calibration and verification latents.
        verify: Check the artifacts before publishing them (fresh-process
            SavedModel load, saved_model_cli, LiteRT parity).
        max_batch_size: The most images one serving request may ask for;
            larger requests are refused with InvalidArgument (requests are
            generated in fixed-size chunks, so memory does not grow with it,
            but time and the response do).
    """

    workdir: str = field(metadata={
        "help": "Training run directory to export (holds config.json and checkpoints/)."})
    export_dir: str = field(default="exports", metadata={"help": "Root folder of the exports."})
    model_name: Optional[str] = field(default=None, metadata={"help": (
        "Model name (folder under --export_dir, TF Serving's --model_name). Default: the "
        "workdir's base name.")})
    version: Optional[int] = field(default=None, metadata={"range": SERVABLE_VERSIONS, "help": (
        "Version number to write. Default: one above the highest existing version. An existing "
        "version is an error, never overwritten.")})
    checkpoint: Optional[str] = field(default=None, metadata={"help": (
        "Checkpoint to export (a path like runs/mnist/checkpoints/ckpt-5000). Default: the "
        "newest.")})
    raw_weights: bool = field(default=False, metadata={"help": (
        "Use the generator's trained weights, not their moving average (runs with "
        "--ema_half_life keep one; it is the default).")})
    tflite_variants: tuple[str, ...] = field(default=TFLITE_VARIANTS, metadata={
        "flag": "tflite", "help": (
            f"TFLite variants to write, comma-separated, from: {', '.join(TFLITE_VARIANTS)}. "
            "Empty for none.")})
    # The TFLite interpreter allocates its tensors for the whole fixed batch.
    tflite_batch_size: int = field(default=1, metadata={"range": (0, 4096), "help": (
        "Fixed batch size of the TFLite models (1: one image per call, the fastest on-device; "
        "see BUILD_NOTES.md), or 0 for a dynamic batch.")})
    # Fewer samples left TRANSPOSE_CONV calibration producing NaN (shared/KNOWN_PITFALLS.md).
    calibration_samples: int = field(default=500, metadata={
        "range": (100, MAX_SAMPLES),
        "help": "Latent samples that calibrate full_int8 quantization (>= 100)."})
    seed: int = field(default=0, metadata={
        "range": SEEDS, "help": "Seed of the calibration and verification latents."})
    verify: bool = field(default=True, metadata={"help": (
        "Verify the artifacts before publishing them: fresh-process SavedModel load, "
        "saved_model_cli, LiteRT parity.")})
    # A response grows with it (a million 64x64 RGB images is 49 GB of float32), and
    # the serving graph compares it with an int32 row count.
    max_batch_size: int = field(default=10_000, metadata={"range": (1, 1_000_000), "help": (
        "The most images one serving request may ask for; larger requests get "
        "InvalidArgument.")})

    def __post_init__(self):
        check_ranges(self, "export")
        if self.model_name is not None:
            _require(bool(self.model_name) and "/" not in self.model_name
                     and not self.model_name.startswith("."), "export.model_name",
                     self.model_name, "must be a plain folder name")
        unknown = [v for v in self.tflite_variants if v not in TFLITE_VARIANTS]
        _require(not unknown, "export.tflite_variants", ",".join(unknown),
                 f"has unknown variant(s); choose from {', '.join(TFLITE_VARIANTS)}")

