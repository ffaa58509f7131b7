"""Evaluation of the image-to-image tasks (`pix2pix`, `cyclegan`), as their papers judge them.

A trained translator (a run's checkpoint or an export's signatures: the
same uint8 -> uint8 function) translates every held-out input of each
direction (`Task.examples`), and the report gives per direction:

* paired data (pix2pix): PSNR and SSIM against the true targets (`tf.image`,
  RGB, 0..255, no border crop), the colourfulness of outputs beside that of
  the real faces (Hasler and Suesstrunk 2003; a colorization that plays safe
  with greyish browns scores low), and FID/KID of the outputs against the
  held-out real faces (Isola et al. 2017 judge realism with perceptual
  studies and an FCN score; FID is the automatic stand-in);
* unpaired attribute domains (CycleGAN): translation success, kgan's CelebA
  attribute classifier finding the target domain's attribute after the
  translation where it found the source's before; identity preservation,
  the share of the other 39 attributes whose presence the classifier judges
  unchanged; the cycle reconstruction error ||F(G(x)) - x|| in pixel levels;
  and FID/KID of the translations against the held-out real faces of the
  target domain;
* unpaired labelled inputs (SimGAN's rendered digits): the mean change per
  pixel, and kgan's MNIST classifier judging the refined digits and, beside
  them, the inputs: whether each keeps its rendered class, and the Frechet
  distance of their classifier features to MNIST's real test digits (the
  realism the refiner exists for; FID/KID against the same digits on request).

FID of fewer than 2,048 images (CelebA's 1,440 held-out faces, fewer per
domain) is biased upward by a rank-deficient covariance: the report says so,
and comparisons are only made against the same reference set. KID is
unbiased at any size.
"""

import dataclasses
import hashlib
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan.config import MIN_FID_SAMPLES, Config, EvalConfig, cache_dir
from kgan.core.files import write_atomically
from kgan.core.messages import one_line
from kgan.data import translation as translation_data
from kgan.errors import ConfigError, RunError
from kgan.evaluation import mnist_classifier, sampling, similarity, super_resolution
from kgan.evaluation.sampling import EXPORT_FILE
from kgan.evaluation.distances import frechet_distance, gaussian_stats, kernel_distance
from kgan.evaluation.inception import InceptionFeatures
from kgan.features import attribute_classifier

_BATCH = 64


@dataclasses.dataclass(frozen=True)
class Translator:
    """A trained translator, whatever form it was saved in.

    Attributes:
        translate: `fn(signature, uint8 [n, h, w, 3]) -> uint8 [n, h, w, 3]`.
        spec: The task's serving spec (`TranslationServing`).
        run_config: The training run's config.
        step: Training step of the weights.
        description: What was loaded, for reports.
    """

    translate: Callable[[str, np.ndarray], np.ndarray]
    spec: tasks.TranslationServing
    run_config: Config
    step: int
    description: str


def _in_batches(fn, inputs: np.ndarray) -> np.ndarray:
    outputs = [np.asarray(fn(inputs[start:start + _BATCH]))
               for start in range(0, len(inputs), _BATCH)]
    return np.concatenate(outputs) if outputs else np.zeros_like(inputs)


def from_workdir(workdir: str, checkpoint: str | None = None) -> Translator:
    loaded = checkpoints.load_task(workdir, checkpoint)
    if not isinstance(loaded.spec, tasks.TranslationServing):
        raise RunError(f"{workdir} holds a {loaded.config.task} run, which does not translate "
                       "images")
    return Translator(loaded.task.translate, loaded.spec, loaded.config, loaded.step,
                      f"{workdir} (step {loaded.step})")


def export_task(path: str) -> str | None:
    """The task an export version folder says it serves (None when it has no
    readable `export.json`: the latent loader reports that)."""
    try:
        with open(os.path.join(path, EXPORT_FILE)) as f:
            task = json.load(f).get("task", "gan")
    except (OSError, ValueError, AttributeError):
        return None
    return task if isinstance(task, str) else None


def is_translator(source: str) -> bool:
    """Whether `source` (a run, an export version or model folder) translates images."""
    return generate_mode(source) is not None


def generate_mode(source: str) -> str | None:
    """`generate.py`'s mode for a user's pictures on `source` (`translate`,
    `upscale`), or None when it does not translate images."""
    kind, path = sampling.locate(source)
    task = (checkpoints.read_config(path).task if kind == "run" else export_task(path))
    if task is None or tasks.get_task(task).SERVING != "translation":
        return None
    return tasks.get_task(task).GENERATE_MODE


def from_saved_model(path: str) -> Translator:
    """An export version folder's signatures, with its run config from `export.json`."""
    metadata_path = os.path.join(path, EXPORT_FILE)
    try:
        with open(metadata_path) as f:
            metadata = json.load(f)
        run_config = Config.from_dict(metadata["source"]["config"])
        step = metadata["source"]["step"]
    except OSError as e:
        raise RunError(f"{path!r} is not a kgan export version folder ({metadata_path}: "
                       f"{e.strerror or e})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise RunError(f"{metadata_path} is not a usable kgan export description: "
                       f"{type(e).__name__}: {one_line(e)}") from None
    task = tasks.task_of(run_config).build(run_config)
    spec = task.serving_spec()
    if not isinstance(spec, tasks.TranslationServing):
        raise RunError(f"{path} exports a {run_config.task} run, which does not translate images")
    try:
        saved_model = tf.saved_model.load(path)
    except (OSError, ValueError, tf.errors.OpError) as e:
        raise RunError(f"cannot load the SavedModel in {path!r}: {one_line(e)}") from None

    def translate(signature, inputs):
        serve = saved_model.signatures[signature]
        return _in_batches(lambda chunk: serve(images=tf.constant(chunk, tf.uint8))["images"],
                           inputs)

    return Translator(translate, spec, run_config, step,
                      f"{metadata.get('model_name')} version {metadata.get('version')} ({path})")


# ----- metrics -----

def psnr(outputs, targets) -> float:
    """Mean PSNR in dB of uint8 images against their targets (`tf.image.psnr`,
    peak 255, over all channels; identical images give inf, left out of the mean)."""
    values = tf.image.psnr(tf.convert_to_tensor(outputs), tf.convert_to_tensor(targets),
                           max_val=255).numpy()
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("inf")


def ssim(outputs, targets) -> float:
    """Mean SSIM of uint8 images against their targets (`tf.image.ssim`'s
    definition: 11x11 Gaussian window of sigma 1.5, peak 255, averaged over
    channels; `kgan.evaluation.similarity`)."""
    return float(similarity.ssim(outputs, targets, max_val=255.0).mean())


def colourfulness(images) -> np.ndarray:
    """Hasler and Suesstrunk's colourfulness of each uint8 RGB image.

    "Measuring colourfulness in natural images", SPIE 2003, Eq. 3:
    `M = sigma_rgyb + 0.3 mu_rgyb` with rg = R - G and yb = (R + G)/2 - B,
    sigma_rgyb = sqrt(var(rg) + var(yb)) and mu_rgyb = sqrt(mean(rg)^2 +
    mean(yb)^2), over the pixels of the image: 0 for a grey image, about 33
    "moderately colourful", 59 "highly colourful" on the paper's scale.

    Returns:
        float64 `[n]`.
    """
    rgb = np.asarray(images, np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    axes = (1, 2)
    spread = np.sqrt(rg.var(axis=axes) + yb.var(axis=axes))
    mean = np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2)
    return spread + 0.3 * mean


def in_domain(probabilities, column: int, present: bool, threshold: float = 0.5) -> np.ndarray:
    """Whether the classifier puts each face in the domain "attribute `column`
    present" (or absent)."""
    judged = np.asarray(probabilities)[:, column] > threshold
    return judged if present else ~judged


def attribute_agreement(before, after, skip: int, threshold: float = 0.5) -> np.ndarray:
    """Per attribute other than column `skip`: the share of faces whose
    judged presence is the same before and after translation (`[n, k]`
    probabilities -> `[k - 1]` shares)."""
    same = (np.asarray(before) > threshold) == (np.asarray(after) > threshold)
    return np.delete(same, skip, axis=1).mean(axis=0)


def mean_absolute_levels(a, b) -> float:
    """Mean absolute difference of uint8 images, in pixel levels (0..255)."""
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


class _CachedInception:
    """Inception features of fixed image sets, cached on disk by content: the
    held-out faces, and a deterministic baseline's outputs (bicubic
    upscaling), are the same for every contender of a comparison."""

    def __init__(self, inception_path):
        self.extract = InceptionFeatures(inception_path)

    def cached(self, images: np.ndarray, label: str) -> np.ndarray:
        digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:24]
        path = os.path.join(cache_dir(), "reference_features",
                            f"translation_{digest}_{self.extract.identity.replace(':', '-')}.npz")
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as cached:
                return cached["features"]
        features = self.extract(images, label=label)
        write_atomically(path, lambda partial: np.savez(partial, features=features),
                         suffix=".partial.npz")
        return features


def _realism(outputs, real, inception: _CachedInception, seed: int, real_label: str,
             warnings: list, fixed_outputs: bool = False) -> dict:
    """FID and KID of `outputs` against `real`; `fixed_outputs`: the outputs
    are a baseline's, the same in every evaluation, so their features are cached."""
    label = "Inception features of translations"
    fake = (inception.cached(outputs, label) if fixed_outputs
            else inception.extract(outputs, label=label))
    real_features = inception.cached(real, real_label)
    kid = kernel_distance(fake, real_features, seed=seed)
    if min(len(fake), len(real_features)) < MIN_FID_SAMPLES:
        warnings.append(f"FID of {len(fake)} translations against {len(real_features)} real "
                        f"images (< {MIN_FID_SAMPLES}): biased upward; compare only FIDs "
                        "against the same images")
    return {"fid": frechet_distance(gaussian_stats(fake), gaussian_stats(real_features)),
            "kid": dataclasses.asdict(kid), "real_images": len(real_features)}


def _classifier(config: EvalConfig, run_config: Config, log):
    data_dirs = config.classifier_data_dirs or (config.data_dir or run_config.data.data_dir,)
    if not all(data_dirs):
        raise ConfigError("the attribute classifier needs CelebA folders: give "
                          "--classifier_data_dirs (the run names no data_dir)")
    return attribute_classifier.load_classifier(data_dirs, config.classifier_heldout_dir, log=log)


def _digit_classifier(run_config: Config, log):
    if run_config.data.dataset != "mnist":
        raise ConfigError(f"labelled translations are judged by the MNIST classifier: the run's "
                          f"data.dataset must be 'mnist', got {run_config.data.dataset!r}")
    return mnist_classifier.load_classifier(run_config.data, log=log)


def evaluate_translation(translator: Translator, config: EvalConfig, log=print) -> dict:
    """Every metric of the task's directions on its held-out examples (see the module docstring)."""
    run_config = translator.run_config
    if config.data_dir is not None:
        run_config = dataclasses.replace(run_config, data=dataclasses.replace(
            run_config.data, data_dir=config.data_dir))
    task_class = tasks.task_of(run_config)
    split = config.reference_split or task_class.evaluation_split(run_config)
    examples = task_class.examples(run_config, split)
    spec = translator.spec
    inception = (_CachedInception(config.inception_path)
                 if {"fid", "kid"} & set(config.metrics) else None)
    classifier = digit_classifier = None
    report = {"source": translator.description, "step": translator.step,
              "task": run_config.task, "split": split, "directions": {}}
    warnings = []
    for direction in spec.directions:
        chosen = examples[direction.signature]
        count = min(config.num_samples, len(chosen.inputs))
        inputs = chosen.inputs[:count]
        log(f"Translating {count} {split} inputs {direction.source} -> {direction.target}")
        outputs = translator.translate(direction.signature, inputs)
        entry = {"source": direction.source, "target": direction.target, "inputs": count}
        if chosen.targets is not None:
            targets = chosen.targets[:count]
            entry.update(psnr_db=psnr(outputs, targets), ssim=ssim(outputs, targets),
                         colourfulness={"outputs": float(colourfulness(outputs).mean()),
                                        "real": float(colourfulness(targets).mean()),
                                        "inputs": float(colourfulness(inputs).mean())})
            if inception is not None:
                entry.update(_realism(outputs, targets, inception, config.seed,
                                      f"{split} target faces", warnings))
            if spec.scale > 1:
                entry.update(_super_resolution_entry(
                    translator, direction, inputs, outputs, targets, inception, config,
                    run_config, split, warnings, log))
        if chosen.attributes is not None:
            back = _inverse(spec, direction)
            cycled = translator.translate(back.signature, outputs)
            entry["cycle_error_levels"] = mean_absolute_levels(cycled, inputs)
            entry["cycle_psnr_db"] = psnr(cycled, inputs)
            if "classifier" in config.metrics:
                classifier = classifier or _classifier(config, run_config, log)
                entry.update(_attribute_report(classifier, inputs, outputs, direction,
                                               chosen.attribute_names))
            if inception is not None:
                real_target = examples[back.signature].inputs
                entry.update(_realism(outputs, real_target, inception, config.seed,
                                      f"{split} faces of {direction.target}", warnings))
        if chosen.real is not None:
            entry["change_levels"] = mean_absolute_levels(outputs, inputs)
            if chosen.labels is not None and "classifier" in config.metrics:
                digit_classifier = digit_classifier or _digit_classifier(run_config, log)
                entry["digit_classifier"] = digit_report(digit_classifier, inputs, outputs,
                                                         chosen.labels[:count], chosen.real)
            if inception is not None:
                real_label = f"real {direction.target}"
                entry.update(_realism(outputs, chosen.real, inception, config.seed, real_label,
                                      warnings))
                entry["inputs_realism"] = _realism(inputs, chosen.real, inception, config.seed,
                                                   real_label, warnings, fixed_outputs=True)
        report["directions"][direction.signature] = entry
    if warnings:
        report["warnings"] = sorted(set(warnings))
        for warning in report["warnings"]:
            log(f"Warning: {warning}")
    return report


def _super_resolution_entry(translator, direction, inputs, outputs, targets, inception,
                            config: EvalConfig, run_config: Config, split: str, warnings: list,
                            log) -> dict:
    """The perception-distortion figures of a super-resolution model and of
    bicubic upscaling on the same faces (`kgan.evaluation.super_resolution`)."""
    scale = translator.spec.scale
    log(f"Upscaling the same {len(inputs)} faces bicubically (the baseline)")
    baseline = super_resolution.bicubic(inputs, scale)
    entry = {"model": super_resolution.distortion(outputs, targets, scale),
             "bicubic": super_resolution.distortion(baseline, targets, scale)}
    if inception is not None:
        entry["bicubic"].update(_realism(baseline, targets, inception, config.seed,
                                         f"{split} target faces", warnings, fixed_outputs=True))
    entry["external_2x"] = super_resolution.external_report(
        lambda chunk: translator.translate(direction.signature, chunk), run_config.data, scale,
        log)
    return entry


def digit_report(classifier, inputs, outputs, labels, real) -> dict:
    """The MNIST classifier's view of translated digits, the inputs' beside:
    `accuracy`, the share still classified as their input's class, and
    `frechet_distance`, of classifier features to the `real` digits'.

    Images are uint8 RGB `[n, 28, 28, 3]` of grey digits (what SimGAN takes
    and serves); the classifier reads each pixel as its channels' mean.
    """
    def grey(rgb):
        return np.asarray(rgb, np.float32).mean(axis=-1, keepdims=True)

    real_stats = gaussian_stats(classifier(grey(real), label="MNIST classifier features of "
                                                           "real digits"))
    report = {"real_digits": len(real), "classifier_test_accuracy": classifier.test_accuracy}
    for name, digits in (("outputs", outputs), ("inputs", inputs)):
        probabilities = classifier.probabilities(grey(digits))
        features = classifier(grey(digits), label=f"MNIST classifier features of {name}")
        report[name] = {"accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
                        "frechet_distance": frechet_distance(gaussian_stats(features),
                                                             real_stats)}
    return report


def _inverse(spec, direction):
    for other in spec.directions:
        if other.source == direction.target and other.target == direction.source:
            return other
    raise ConfigError(f"the task serves no inverse of {direction.source} -> {direction.target}")


def _attribute_report(classifier, inputs, outputs, direction, attribute_names) -> dict:
    names = tuple(attribute_names or attribute_classifier.ATTRIBUTES)
    source_name, source_present = translation_data.parse_domain(direction.source, names)
    target_name, target_present = translation_data.parse_domain(direction.target, names)
    before = classifier.probabilities(inputs)
    after = classifier.probabilities(outputs)
    source_column = classifier.index(source_name)
    target_column = classifier.index(target_name)
    was_source = in_domain(before, source_column, source_present)
    now_target = in_domain(after, target_column, target_present)
    agreement = attribute_agreement(before, after, target_column)
    others = [name for name in attribute_classifier.ATTRIBUTES if name != target_name]
    return {
        "translation_success": float(np.mean(now_target)),
        "translation_success_of_judged_source": (float(np.mean(now_target[was_source]))
                                                 if was_source.any() else None),
        "inputs_judged_source": float(np.mean(was_source)),
        "attribute_agreement": float(agreement.mean()),
        "attribute_agreement_per_attribute": dict(zip(others, map(float, agreement))),
    }
