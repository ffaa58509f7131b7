"""Frozen configuration records for a kgan run.

A run is fully described by a `Config`: the data it reads, the networks it
builds and how it trains them. Library functions take a `Config` (never
command-line flags); tests derive variants with `dataclasses.replace`. Every
run writes its resolved config to `<workdir>/config.json`, and
`Config.from_dict` reads it back strictly: unknown keys and wrong types are
refused, so a saved config either reproduces the run or fails loudly.
"""

import dataclasses
import json
import math
import os
import typing
from typing import Any, Optional

from kgan.errors import ConfigError


def cache_dir() -> str:
    """Where kgan keeps derived files (prepared datasets, evaluation features and
    classifier): `$KGAN_CACHE_DIR`, default `~/.cache/kgan`."""
    return os.environ.get("KGAN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "kgan")


def _require(condition: bool, name: str, value: Any, rule: str) -> None:
    if not condition:
        raise ConfigError(f"{name} {rule}, got {value!r}")


# How a dataset's labels are encoded: one class id per image, or a {0, 1}
# vector of attributes per image.
LABEL_KINDS = ("class", "multi_hot")

CELEBA_DEFAULT_ATTRIBUTES = ("Male", "Smiling", "Eyeglasses", "Blond_Hair")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the training images come from.

    Attributes:
        dataset: Registered dataset name (see `kgan.data.DATASETS`).
        data_dir: Folder holding the data. MNIST: a TFDS `data_dir`, or a
            folder with the original IDX `.gz` files; None means
            `$KGAN_DATA_DIR`, else TFDS's default folder. CelebA: the folder
            of `NNNNNN.jpg` files (or the folder holding `img_align_celeba/`),
            with `list_attr_celeba.txt` and `list_eval_partition.txt` in it
            or in its parent.
        download: Let TFDS download a dataset that is not prepared locally.
        attributes: CelebA attributes that label each image (a {0, 1} vector
            in this order), as named in `list_attr_celeba.txt`.
        crop_fraction: CelebA's square center crop, as a fraction of the image
            width, taken before resizing (0.9: 160 of 178 pixels, as Lucic et
            al. 2018 crop).
    """

    dataset: str = "mnist"
    data_dir: Optional[str] = None
    download: bool = False
    attributes: tuple[str, ...] = CELEBA_DEFAULT_ATTRIBUTES
    crop_fraction: float = 0.9

    def __post_init__(self):
        _require(len(self.attributes) >= 1 and len(set(self.attributes)) == len(self.attributes),
                 "data.attributes", ",".join(self.attributes),
                 "must name one or more distinct attributes")
        _require(math.isfinite(self.crop_fraction) and 0.0 < self.crop_fraction <= 1.0,
                 "data.crop_fraction", self.crop_fraction, "must be in (0, 1]")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The generator and discriminator architecture.

    Attributes:
        architecture: Registered architecture (see `kgan.models.ARCHITECTURES`).
        latent_dim: Size of the latent vector z.
        image_shape: (height, width, channels) of generated images. Left as
            None, it is filled in from the dataset by `kgan.data.resolve`.
        hidden_units: Widths of the MLP generator's hidden layers; the MLP
            discriminator uses them in reverse order.
        base_filters: DCGAN filters at the highest resolution; each halving
            of the resolution doubles them.
        kernel_size: DCGAN convolution kernel size.
        conditional: Condition both networks on the dataset's labels (class
            ids or attribute vectors): the generator models p(x|y).
        label_kind: `class` or `multi_hot`; filled in from the dataset for a
            conditional model, None otherwise.
        label_names: The labels' names (classes, or attributes in vector
            order); filled in from the dataset for a conditional model.
        label_embedding_dim: Width of the generator's learned label embedding,
            concatenated to z.
    """

    architecture: str = "dcgan"
    latent_dim: int = 100
    image_shape: Optional[tuple[int, int, int]] = None
    hidden_units: tuple[int, ...] = (256, 512)
    base_filters: int = 64
    kernel_size: int = 4
    conditional: bool = False
    label_kind: Optional[str] = None
    label_names: Optional[tuple[str, ...]] = None
    label_embedding_dim: int = 50

    @property
    def num_labels(self) -> int:
        """Size of the label vector the networks take (0: unconditional)."""
        return len(self.label_names) if self.conditional and self.label_names else 0

    def __post_init__(self):
        _require(self.latent_dim >= 1, "model.latent_dim", self.latent_dim, "must be >= 1")
        if self.image_shape is not None:
            _require(len(self.image_shape) == 3 and all(d >= 1 for d in self.image_shape),
                     "model.image_shape", self.image_shape,
                     "must be three positive sizes (height, width, channels)")
        _require(len(self.hidden_units) >= 1 and all(u >= 1 for u in self.hidden_units),
                 "model.hidden_units", self.hidden_units,
                 "must be one or more positive layer widths")
        _require(self.base_filters >= 1, "model.base_filters", self.base_filters, "must be >= 1")
        _require(self.kernel_size >= 1, "model.kernel_size", self.kernel_size, "must be >= 1")
        _require(self.label_embedding_dim >= 1, "model.label_embedding_dim",
                 self.label_embedding_dim, "must be >= 1")
        if self.label_kind is not None:
            _require(self.label_kind in LABEL_KINDS, "model.label_kind", self.label_kind,
                     f"must be one of {', '.join(LABEL_KINDS)}")
        if self.label_names is not None:
            _require(len(self.label_names) >= 1, "model.label_names", self.label_names,
                     "must name one or more labels")
        if not self.conditional:
            _require(self.label_kind is None and self.label_names is None, "model.label_kind",
                     self.label_kind, "is only set for a conditional model")


STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
EVAL_METRICS = ("fid", "kid", "classifier")
TRAINING_EVAL_METRICS = ("fid", "classifier_fd")
ON_NAN_ACTIONS = ("stop", "rollback")
MIN_FID_SAMPLES = 2048


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How the two networks are trained.

    Attributes:
        loss: Registered loss family (see `kgan.losses.LOSS_FAMILIES`).
        label_smoothing: One-sided label smoothing: the discriminator's target
            for real images is `1 - label_smoothing`; fakes keep target 0.
        d_steps: Discriminator updates per generator update (k in Goodfellow
            et al.'s Algorithm 1). Each uses its own real minibatch.
        batch_size: Images per discriminator update.
        steps: Generator updates to train for. Exactly one of `steps` and
            `epochs` is set.
        epochs: Passes over the training split (converted to steps).
        g_learning_rate, d_learning_rate: Adam learning rates per player.
        g_beta1, g_beta2, d_beta1, d_beta2: Adam betas per player.
        seed: Seeds weight init, latent noise and data order.
        deterministic: Enable TensorFlow op determinism (bitwise-reproducible
            runs at some speed cost).
        reuse_fakes: The generator update re-scores the first discriminator
            update's fakes with the updated discriminator instead of drawing
            new latents (one generator forward pass less per step; the
            PyTorch DCGAN example's recipe).
        jit_compile: Compile the train step with XLA.
        steps_per_execution: Train steps run per call into the compiled
            step (fewer host round trips); log, sample, checkpoint and
            evaluation intervals are honoured at the first execution
            boundary at or after each multiple.
        strategy: `default` (one device), `mirrored` (all GPUs of this
            host, synchronous), or `multi_worker` (several hosts, from
            `TF_CONFIG`). `batch_size` is the global batch, split across
            replicas.
        sync_batch_norm: Under a strategy, compute BatchNorm statistics over
            the global batch instead of per replica.
        mixed_precision: `float32`, `mixed_bfloat16` or `mixed_float16`
            (Keras dtype policy: float32 variables, lower-precision compute;
            float16 adds dynamic loss scaling).
        log_every: Steps between metric logs (TensorBoard, console).
        sample_every: Steps between sample grids.
        checkpoint_every: Steps between checkpoints.
        keep_checkpoints: Newest checkpoints kept on disk.
        num_samples: Images in each sample grid (from one fixed latent batch).
        eval_every: Steps between in-training evaluations (0: none).
        eval_samples: Generated (and real) images per in-training evaluation.
        eval_metric: `fid` (TTUR Inception; needs >= 2048 samples) or
            `classifier_fd` (Frechet distance on the MNIST classifier's
            features: seconds instead of minutes). The checkpoint with the
            lowest value is kept in `<workdir>/best/`.
        inception_path: The TTUR graph for `fid`; default `$KGAN_INCEPTION_PATH`.
        on_nan: What a non-finite loss or weight does: `stop` (end the run
            with an error naming the step; nothing of that state is saved) or
            `rollback` (restore the newest checkpoint, multiply both learning
            rates by `rollback_lr_factor`, and continue).
        rollback_lr_factor: Learning-rate multiplier per rollback, in (0, 1).
        max_rollbacks: Rollbacks allowed in a run before it stops as with
            `stop`.
    """

    loss: str = "non_saturating"
    label_smoothing: float = 0.0
    d_steps: int = 1
    batch_size: int = 64
    steps: Optional[int] = 5000
    epochs: Optional[float] = None
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    g_beta1: float = 0.5
    g_beta2: float = 0.999
    d_beta1: float = 0.5
    d_beta2: float = 0.999
    seed: int = 0
    deterministic: bool = False
    reuse_fakes: bool = False
    jit_compile: bool = False
    steps_per_execution: int = 1
    strategy: str = "default"
    sync_batch_norm: bool = False
    mixed_precision: str = "float32"
    log_every: int = 100
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_samples: int = 64
    eval_every: int = 0
    eval_samples: int = MIN_FID_SAMPLES
    eval_metric: str = "fid"
    inception_path: Optional[str] = None
    on_nan: str = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3

    def __post_init__(self):
        _require(0.0 <= self.label_smoothing < 1.0, "train.label_smoothing",
                 self.label_smoothing, "must be in [0, 1)")
        _require(self.strategy in STRATEGIES, "train.strategy", self.strategy,
                 f"must be one of {', '.join(STRATEGIES)}")
        _require(self.mixed_precision in PRECISIONS, "train.mixed_precision",
                 self.mixed_precision, f"must be one of {', '.join(PRECISIONS)}")
        for name in ("d_steps", "batch_size", "steps_per_execution", "log_every",
                     "sample_every", "checkpoint_every", "keep_checkpoints", "num_samples"):
            _require(getattr(self, name) >= 1, f"train.{name}", getattr(self, name), "must be >= 1")
        if (self.steps is None) == (self.epochs is None):
            raise ConfigError(
                f"set exactly one of train.steps and train.epochs (got steps={self.steps!r}, "
                f"epochs={self.epochs!r})")
        if self.steps is not None:
            _require(self.steps >= 1, "train.steps", self.steps, "must be >= 1")
        if self.epochs is not None:
            _require(math.isfinite(self.epochs) and self.epochs > 0, "train.epochs",
                     self.epochs, "must be > 0")
        for name in ("g_learning_rate", "d_learning_rate"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value > 0, f"train.{name}", value, "must be > 0")
        for name in ("g_beta1", "g_beta2", "d_beta1", "d_beta2"):
            _require(0.0 <= getattr(self, name) < 1.0, f"train.{name}", getattr(self, name),
                     "must be in [0, 1)")
        _require(0 <= self.seed < 2**31, "train.seed", self.seed, "must be in [0, 2**31)")
        _require(self.eval_every >= 0, "train.eval_every", self.eval_every,
                 "must be >= 0 (0 turns in-training evaluation off)")
        _require(self.eval_metric in TRAINING_EVAL_METRICS, "train.eval_metric",
                 self.eval_metric, f"must be one of {', '.join(TRAINING_EVAL_METRICS)}")
        _require(self.on_nan in ON_NAN_ACTIONS, "train.on_nan", self.on_nan,
                 f"must be one of {', '.join(ON_NAN_ACTIONS)}")
        _require(0.0 < self.rollback_lr_factor < 1.0, "train.rollback_lr_factor",
                 self.rollback_lr_factor, "must be in (0, 1)")
        _require(self.max_rollbacks >= 1, "train.max_rollbacks", self.max_rollbacks,
                 "must be >= 1")
        minimum = MIN_FID_SAMPLES if self.eval_metric == "fid" else 2
        _require(self.eval_samples >= minimum, "train.eval_samples", self.eval_samples,
                 f"must be >= {minimum} for {self.eval_metric}")


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole run: data, model and training settings."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: Any) -> "Config":
        """Builds a Config from nested dicts, refusing unknown keys and wrong types."""
        return _from_dict(cls, values, "config")

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "config") -> "Config":
        """Parses strict JSON (no NaN or Infinity, no repeated keys) into a Config.

        Args:
            text: The JSON, as text or as UTF-8 bytes (a file read in binary
                mode, so that a file that is not text is reported here too).
            source: Names the JSON in error messages, e.g. its path.

        Raises:
            ConfigError: for bytes that are not UTF-8, text that is not
                strict JSON, or values that `from_dict` refuses.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")  # an editor may add a byte-order mark
            except UnicodeDecodeError as e:
                raise ConfigError(f"{source} is not UTF-8 text (byte {e.start} is "
                                  f"0x{text[e.start]:02x})") from None
        return _from_dict(cls, _strict_json(text, source), source)


def _strict_json(text: str, source: str) -> Any:
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


TFLITE_VARIANTS = ("float32", "float16", "dynamic_int8", "full_int8")


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

    workdir: str
    export_dir: str = "exports"
    model_name: Optional[str] = None
    version: Optional[int] = None
    checkpoint: Optional[str] = None
    tflite_variants: tuple[str, ...] = TFLITE_VARIANTS
    tflite_batch_size: int = 1
    calibration_samples: int = 500
    seed: int = 0
    verify: bool = True
    max_batch_size: int = 10_000

    def __post_init__(self):
        _require(self.max_batch_size >= 1, "export.max_batch_size", self.max_batch_size,
                 "must be >= 1")
        if self.model_name is not None:
            _require(bool(self.model_name) and "/" not in self.model_name
                     and not self.model_name.startswith("."), "export.model_name",
                     self.model_name, "must be a plain folder name")
        if self.version is not None:
            _require(self.version >= 1, "export.version", self.version, "must be >= 1")
        unknown = [v for v in self.tflite_variants if v not in TFLITE_VARIANTS]
        _require(not unknown, "export.tflite_variants", ",".join(unknown),
                 f"has unknown variant(s); choose from {', '.join(TFLITE_VARIANTS)}")
        _require(self.tflite_batch_size >= 0, "export.tflite_batch_size", self.tflite_batch_size,
                 "must be >= 0 (0 for a dynamic batch)")
        # Fewer samples left TRANSPOSE_CONV calibration producing NaN (shared/KNOWN_PITFALLS.md).
        _require(self.calibration_samples >= 100, "export.calibration_samples",
                 self.calibration_samples, "must be >= 100")
        _require(0 <= self.seed < 2**31, "export.seed", self.seed, "must be in [0, 2**31)")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how.

    Attributes:
        workdir: A training run (its newest checkpoint, or `checkpoint`).
        saved_model: An exported version folder (with `export.json`) instead.
        checkpoint: A checkpoint of `workdir` to evaluate.
        num_samples: Generated images; at least 2048 when FID is computed
            (FID's 2048x2048 covariance is rank deficient with fewer).
        reference_split: Real split the samples are compared with; default
            the dataset's held-out split (MNIST `test`, CelebA `heldout`).
        reference_samples: Real images from that split (its first ones);
            default all of it, at most 10,000. FID against fewer than 2048 is
            reported with a warning (a rank-deficient covariance biases it).
        metrics: Any of `EVAL_METRICS`: `fid` and `kid` on Inception
            features; `classifier` (MNIST only): mode coverage, confidence
            and a Frechet distance on the kgan classifier's features.
        data_dir: Where the reference data is; default the run's data_dir.
        inception_path: The TTUR graph; default `$KGAN_INCEPTION_PATH`.
        seed: Seed of the generated samples' latents.
        output: JSON report path; default `<workdir>/eval/step_<step>.json`,
            or `eval/<model>_v<version>.json` for a SavedModel.
    """

    workdir: Optional[str] = None
    saved_model: Optional[str] = None
    checkpoint: Optional[str] = None
    num_samples: int = 10_000
    reference_split: Optional[str] = None
    reference_samples: Optional[int] = None
    metrics: tuple[str, ...] = EVAL_METRICS
    data_dir: Optional[str] = None
    inception_path: Optional[str] = None
    seed: int = 0
    output: Optional[str] = None

    def __post_init__(self):
        if (self.workdir is None) == (self.saved_model is None):
            raise ConfigError(f"evaluate exactly one of a workdir and a saved_model (got "
                              f"workdir={self.workdir!r}, saved_model={self.saved_model!r})")
        unknown = [m for m in self.metrics if m not in EVAL_METRICS]
        _require(bool(self.metrics) and not unknown, "eval.metrics", ",".join(self.metrics),
                 f"must name one or more of {', '.join(EVAL_METRICS)}")
        minimum = MIN_FID_SAMPLES if "fid" in self.metrics else 2
        _require(self.num_samples >= minimum, "eval.num_samples", self.num_samples,
                 f"must be >= {minimum}" + (" for FID (the covariance of 2048-d features is "
                                             "rank deficient with fewer)" if minimum > 2 else ""))
        if self.reference_samples is not None:
            _require(self.reference_samples >= 2, "eval.reference_samples",
                     self.reference_samples, "must be >= 2")
        _require(0 <= self.seed < 2**31, "eval.seed", self.seed, "must be in [0, 2**31)")


def _from_dict(cls, values: Any, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {', '.join(unknown)}; "
                          f"known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}")
    return cls(**kwargs)


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


# The latent tools (generate.py, kgan.latent).
GENERATE_MODES = ("grid", "interpolate", "arithmetic", "project", "progress")
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

    steps: int = 500
    learning_rate: float = 0.1
    feature_weight: float = 1.0
    latent_weight: float = 0.01
    candidates: int = 64

    def __post_init__(self):
        _require(self.steps >= 1, "projection.steps", self.steps, "must be >= 1")
        _require(math.isfinite(self.learning_rate) and self.learning_rate > 0,
                 "projection.learning_rate", self.learning_rate, "must be > 0")
        for name in ("feature_weight", "latent_weight"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 0, f"projection.{name}", value,
                     "must be >= 0")
        _require(self.candidates >= 1, "projection.candidates", self.candidates, "must be >= 1")


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """What `generate.py` makes from a trained generator.

    Attributes:
        mode: `grid` (samples), `interpolate` (paths between latents: a
            strip PNG and a GIF), `arithmetic` (a concept vector added to
            fresh samples, judged by the dataset classifier against random
            directions), `project` (real images -> latents, reconstructions,
            and edits with a concept vector if `attribute` is set) or
            `progress` (a GIF of a run's sample grids).
        source: A training run, an export version folder, or an export
            model folder (its newest version). `progress` needs a run.
        checkpoint: A checkpoint of a training run; default its newest.
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
        images: Image files (PNG or JPEG) to project; CelebA photos get the
            dataset's crop, every image is resized to the generator's size.
        project_split: Or project the first `project_count` images of this
            split of the run's dataset (e.g. `heldout`, `test`).
        project_count: Images taken from `project_split`.
        projection: How projection optimizes.
    """

    mode: str
    source: str
    checkpoint: Optional[str] = None
    output_dir: Optional[str] = None
    seed: int = 0
    num_samples: int = 64
    truncation: Optional[float] = None
    labels: Optional[str] = None
    interpolation: str = "slerp"
    keyframes: int = 4
    frames_per_keyframe: int = 12
    paths: int = 4
    frame_ms: int = 80
    scale: int = 1
    attribute: Optional[str] = None
    measure_on: str = ""
    apply_to: str = ""
    strength: float = 1.0
    concept_samples: int = 2000
    transfer_samples: int = 2000
    classifier_data_dirs: tuple[str, ...] = ()
    classifier_heldout_dir: Optional[str] = None
    images: tuple[str, ...] = ()
    project_split: Optional[str] = None
    project_count: int = 8
    projection: ProjectionConfig = ProjectionConfig()

    def __post_init__(self):
        _require(self.mode in GENERATE_MODES, "generate.mode", self.mode,
                 f"must be one of {', '.join(GENERATE_MODES)}")
        _require(bool(self.source), "generate.source", self.source,
                 "must name a training run or an export")
        _require(0 <= self.seed < 2**31, "generate.seed", self.seed, "must be in [0, 2**31)")
        for name in ("num_samples", "frames_per_keyframe", "paths", "scale", "project_count"):
            _require(getattr(self, name) >= 1, f"generate.{name}", getattr(self, name),
                     "must be >= 1")
        _require(self.keyframes >= 2, "generate.keyframes", self.keyframes, "must be >= 2")
        _require(10 <= self.frame_ms <= 60_000, "generate.frame_ms", self.frame_ms,
                 "must be in [10, 60000] (GIF frame times are in hundredths of a second)")
        if self.truncation is not None:
            _require(math.isfinite(self.truncation) and self.truncation > 0,
                     "generate.truncation", self.truncation, "must be > 0")
        _require(self.interpolation in INTERPOLATIONS, "generate.interpolation",
                 self.interpolation, f"must be one of {', '.join(INTERPOLATIONS)}")
        _require(math.isfinite(self.strength), "generate.strength", self.strength,
                 "must be finite")
        for name in ("concept_samples", "transfer_samples"):
            _require(getattr(self, name) >= 100, f"generate.{name}", getattr(self, name),
                     "must be >= 100")
        if self.mode == "arithmetic":
            _require(bool(self.attribute), "generate.attribute", self.attribute,
                     "must name the concept for arithmetic (e.g. Smiling, or a digit)")
        if self.mode == "project":
            _require(bool(self.images) != (self.project_split is not None), "generate.images",
                     self.images, "or generate.project_split: give exactly one for project")
