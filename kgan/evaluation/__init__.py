"""Quality metrics for generators.

`evaluate(EvalConfig)` samples a saved generator (a training run or an
exported SavedModel) and reports:

* FID and KID on the TTUR Inception network's pool_3 features, against cached
  features of a real split;
* on MNIST, from kgan's own classifier: mode coverage (class histogram,
  classes covered, KL divergence from uniform), mean confidence, and a
  Frechet distance on its penultimate features (fast on a CPU);
* on CelebA, from kgan's attribute classifier: how often samples show each
  attribute, beside the held-out faces' rate;
* on Stacked MNIST, from the digit classifier read on each channel: modes
  covered of 1,000 and the KL divergence of the mode histogram from uniform
  (PacGAN's protocol: 26,000 samples).

An image-to-image run (pix2pix, CycleGAN) is judged by translating its
held-out inputs instead (`kgan.evaluation.translation`).

A class-conditional generator is sampled with balanced classes, and the
report adds per class: the classifier's agreement with the requested label
(does class 3 give 3s?), FID and the classifier Frechet distance against the
real images of that class. An attribute-conditional generator is sampled
with the attribute vectors of the reference images, so its samples follow the
same attribute distribution as the images they are compared with, and the
attribute classifier's agreement with those vectors is reported per attribute
beside its accuracy on the real faces (the most a generator can score).
"""

import dataclasses
import json
import os
import time

import numpy as np
import tensorflow as tf

from kgan import checkpoints, data, tasks
from kgan.config import MIN_FID_SAMPLES, DataConfig, EvalConfig, ModelConfig
from kgan.core.files import write_json_atomically
from kgan.data import points as point_data
from kgan.data.stacked_mnist import mode_of
from kgan.evaluation import (classification, mnist_classifier, reference, sampling,
                             stacked_mnist, translation)
from kgan.evaluation import points as point_metrics
from kgan.evaluation.distances import frechet_distance, gaussian_stats, kernel_distance
from kgan.evaluation.inception import InceptionFeatures
from kgan.evaluation.modes import mode_coverage
from kgan.errors import ConfigError
from kgan.features import attribute_classifier


def _timed(extract, images, label):
    began = time.perf_counter()
    features = extract(images, label=label)
    return features, len(images) / max(time.perf_counter() - began, 1e-9)


def reference_frechet_metric(metric: str, data_config, reference_split: str,
                             reference_samples: int, inception_path: str | None = None,
                             log=print):
    """A function uint8 images -> Frechet distance to a fixed set of real images.

    The real features are computed (or read from the cache) once, here.

    Args:
        metric: `fid` (TTUR Inception features) or `classifier_fd` (MNIST
            classifier features).
        data_config: The real dataset.
        reference_split, reference_samples: Which real images.
        inception_path: The TTUR graph, for `fid`.
        log: Progress output.
    """
    if metric == "fid":
        extractor = InceptionFeatures(inception_path)
    elif metric == "classifier_fd":
        if data_config.dataset != "mnist":
            raise ConfigError(f"classifier_fd needs MNIST, not {data_config.dataset!r}")
        extractor = mnist_classifier.load_classifier(data_config, log=log)
    else:
        raise ConfigError(f"unknown Frechet metric {metric!r}; choose fid or classifier_fd")
    real = gaussian_stats(reference.reference_features(data_config, reference_split,
                                                       reference_samples, extractor))
    return lambda images: frechet_distance(
        gaussian_stats(extractor(images, label=f"{metric} features")), real)


def sample_labels(model: ModelConfig, data_config: DataConfig, split: str,
                  count: int) -> np.ndarray | None:
    """The labels a conditional generator is sampled under for evaluation.

    Classes are balanced (sample i gets class i mod num_classes); attribute
    vectors are those of the split's real images, in order, repeated as
    needed. None for an unconditional generator.
    """
    if not model.num_labels:
        return None
    if model.label_kind == "class":
        return np.arange(count, dtype=np.int64) % model.num_labels
    _, real_labels = data.split_arrays(data_config, split)
    return np.resize(real_labels, (count, model.num_labels)).astype(np.float32)


def _per_class(values_by_class, label_names):
    return {name: values_by_class[i] for i, name in enumerate(label_names)}


def _class_frechet(fake_features, fake_labels, real_features, real_labels, num_classes):
    """Frechet distance per class, between the features of that class's images."""
    distances = []
    for c in range(num_classes):
        fake, real = fake_features[fake_labels == c], real_features[real_labels == c]
        distances.append(frechet_distance(gaussian_stats(fake), gaussian_stats(real))
                         if len(fake) >= 2 and len(real) >= 2 else None)
    return distances


def evaluate_images(images, data_config: DataConfig, config: EvalConfig, labels=None,
                    model: ModelConfig | None = None, log=print) -> dict:
    """Every requested metric of `images` (uint8) against the configured real split.

    Args:
        images: Generated uint8 images.
        data_config: The real dataset.
        config: What to compute, against which split.
        labels: The labels `images` were generated under (class ids or
            attribute vectors), or None.
        model: The generator's config; needed with `labels`.
        log: Progress output.
    """
    split = config.reference_split or data.get_dataset_spec(data_config.dataset).evaluation_split
    report, warnings = {}, []
    reference_count = _reference_count(config, data_config, split)
    per_class = labels is not None and model is not None and model.label_kind == "class"
    if per_class:
        _, real_labels = data.split_arrays(data_config, split, reference_count)
    if {"fid", "kid"} & set(config.metrics):
        inception = InceptionFeatures(config.inception_path)
        real = reference.reference_features(data_config, split, reference_count, inception)
        fake, rate = _timed(inception, images, "Inception features of generated images")
        report["inception_images_per_second"] = rate
        if "fid" in config.metrics:
            report["fid"] = frechet_distance(gaussian_stats(fake), gaussian_stats(real))
            if reference_count < MIN_FID_SAMPLES:
                warnings.append(
                    f"FID against {reference_count} < {MIN_FID_SAMPLES} real images: their "
                    "covariance is rank deficient, which biases FID upward; compare only FIDs "
                    "computed against the same reference set")
            if per_class:
                report["fid_per_class"] = _per_class(_class_frechet(
                    fake, labels, real, real_labels, model.num_labels), model.label_names)
                warnings.append("per-class FID uses the images of one class (fewer than 2048 "
                                "each): biased upward; compare like with like")
        if "kid" in config.metrics:
            kid = kernel_distance(fake, real, seed=config.seed)
            report["kid"] = dataclasses.asdict(kid)
    if "classifier" in config.metrics and data_config.dataset == "celeba":
        data_dirs = config.classifier_data_dirs or (data_config.data_dir,)
        if not all(data_dirs):
            raise ConfigError("the attribute classifier needs CelebA folders: give "
                              "--classifier_data_dirs (the run names no data_dir)")
        classifier = attribute_classifier.load_classifier(
            data_dirs, config.classifier_heldout_dir, log=log)
        _, real_labels = data.split_arrays(data_config, split, reference_count)
        report["attribute_classifier"] = attribute_report(
            classifier, images, real_labels, data_config.attributes,
            labels if model is not None and model.label_kind == "multi_hot" else None,
            model.label_names if model is not None else None)
    elif "classifier" in config.metrics and data_config.dataset == "stacked_mnist":
        classifier = mnist_classifier.load_classifier(
            dataclasses.replace(data_config, dataset="mnist"), log=log)
        probabilities = stacked_mnist.digit_probabilities(classifier, images)
        report["stacked_mnist"] = {**stacked_mnist.stacked_modes(probabilities),
                                   "classifier_test_accuracy": classifier.test_accuracy}
        if labels is not None:
            report["stacked_mnist"]["label_agreement"] = float(np.mean(
                mode_of(probabilities.argmax(axis=-1)) == labels))
        if len(images) != stacked_mnist.PROTOCOL_SAMPLES:
            warnings.append(f"Stacked MNIST modes from {len(images)} samples, not the "
                            f"protocol's {stacked_mnist.PROTOCOL_SAMPLES}: modes covered grow "
                            "with the sample count; compare like with like")
    elif "classifier" in config.metrics:
        if data_config.dataset != "mnist":
            raise ConfigError(f"the classifier metrics need MNIST, Stacked MNIST or CelebA, not "
                              f"{data_config.dataset!r}")
        classifier = mnist_classifier.load_classifier(data_config, log=log)
        real = reference.reference_features(data_config, split, reference_count, classifier)
        probabilities = classifier.probabilities(images)
        fake = classifier(images)
        report["classifier"] = {
            **mode_coverage(probabilities),
            "frechet_distance": frechet_distance(gaussian_stats(fake), gaussian_stats(real)),
            "classifier_test_accuracy": classifier.test_accuracy,
        }
        if per_class:
            predicted = probabilities.argmax(axis=1)
            agreement = [float(np.mean(predicted[labels == c] == c)) if np.any(labels == c)
                         else None for c in range(model.num_labels)]
            report["classifier"]["label_agreement"] = float(np.mean(predicted == labels))
            report["classifier"]["label_agreement_per_class"] = _per_class(agreement,
                                                                           model.label_names)
            report["classifier"]["frechet_distance_per_class"] = _per_class(_class_frechet(
                fake, labels, real, real_labels, model.num_labels), model.label_names)
    if warnings:
        report["warnings"] = warnings
        for warning in warnings:
            log(f"Warning: {warning}")
    return report


def attribute_report(classifier, images, real_labels, real_label_names, labels=None,
                     label_names=None) -> dict:
    """What kgan's CelebA attribute classifier sees in generated faces.

    Args:
        classifier: An `attribute_classifier.AttributeClassifier`.
        images: Generated uint8 faces.
        real_labels: {0, 1} attribute vectors of the reference faces.
        real_label_names: Their attributes, in vector order.
        labels: The attribute vectors `images` were generated under (an
            attribute-conditional generator), or None.
        label_names: Their attributes, in vector order.

    Returns:
        `sample_rate` (share of samples the classifier gives each of the
        reference attributes) beside `reference_rate` (the reference faces'
        true share); with `labels`, per requested attribute the `agreement`
        of the classifier's answer with the request, the classifier's own
        `heldout_accuracy` on real faces (a generator's ceiling) and the
        `majority_accuracy` (a generator that ignores the request scores
        about that), and their means.
    """
    present = classifier.probabilities(images) > 0.5
    report = {"classifier": classifier.identity, "heldout_images": classifier.heldout_images,
              "sample_rate": {name: float(present[:, classifier.index(name)].mean())
                              for name in real_label_names},
              "reference_rate": {name: float(np.mean(real_labels[:, i] > 0.5))
                                 for i, name in enumerate(real_label_names)}}
    if labels is not None:
        agreement = {name: float(np.mean(present[:, classifier.index(name)]
                                          == (labels[:, i] > 0.5)))
                     for i, name in enumerate(label_names)}
        report.update(
            agreement=agreement,
            heldout_accuracy={name: classifier.heldout_accuracy[name] for name in label_names},
            majority_accuracy={name: classifier.majority_accuracy[name] for name in label_names},
            mean_agreement=float(np.mean(list(agreement.values()))),
            mean_heldout_accuracy=float(np.mean([classifier.heldout_accuracy[name]
                                                 for name in label_names])),
            mean_majority_accuracy=float(np.mean([classifier.majority_accuracy[name]
                                                  for name in label_names])))
    return report


def _reference_count(config: EvalConfig, data_config: DataConfig, split: str) -> int:
    if config.reference_samples is not None:
        return config.reference_samples
    return min(10_000, data.load(data_config, split).num_examples)


def _translator(config: EvalConfig):
    """The run or export as a `translation.Translator` if its task translates
    images (pix2pix, CycleGAN), else None."""
    if config.workdir is not None:
        run_config = checkpoints.read_config(config.workdir)
        if run_config is None or tasks.task_of(run_config).SERVING != "translation":
            return None
        return translation.from_workdir(config.workdir, config.checkpoint)
    task = translation.export_task(config.saved_model)
    if task is None or tasks.get_task(task).SERVING != "translation":
        return None
    return translation.from_saved_model(config.saved_model)


def evaluate(config: EvalConfig, log=print) -> dict:
    """Evaluates a saved generator and writes the JSON report. Returns the report."""
    translator = _translator(config)
    if translator is not None:
        return _finish(translation.evaluate_translation(translator, config, log), config,
                       translator, log)
    if config.workdir is not None:
        source = sampling.from_workdir(config.workdir, config.checkpoint, config.raw_weights)
    else:
        source = sampling.from_saved_model(config.saved_model)
    if source.spec.kind == "points":
        return _finish(evaluate_points(source, config, log), config, source, log)
    data_config = source.run_config.data
    if config.data_dir is not None:
        data_config = dataclasses.replace(data_config, data_dir=config.data_dir)
    split = config.reference_split or data.get_dataset_spec(data_config.dataset).evaluation_split
    config = dataclasses.replace(config, reference_split=split, reference_samples=_reference_count(
        config, data_config, split))
    model = source.run_config.model
    log(f"Evaluating {source.description}, step {source.step}: {config.num_samples} samples vs "
        f"{config.reference_samples} {data_config.dataset} {split} images")
    labels = sample_labels(model, data_config, split, config.num_samples)
    images = sampling.sample(source, config.num_samples, config.seed, labels)
    report = {
        "source": source.description,
        "step": source.step,
        "num_samples": config.num_samples,
        "conditional": bool(model.num_labels),
        "reference": {"dataset": data_config.dataset, "split": split,
                      "samples": config.reference_samples},
        "seed": config.seed,
        **evaluate_images(images, data_config, config, labels, model, log),
    }
    classify = _classifier(config, source.run_config)
    if classify is not None:
        report["classification"] = classification.test_error(
            classify, data_config, split, log, batch_size=min(1000, source.max_batch_size))
    return _finish(report, config, source, log)


def _classifier(config: EvalConfig, run_config):
    """uint8 images -> class probabilities, for a run whose task trains a
    classifier (the semi-supervised GAN's discriminator) or an export that
    serves one (`classify`); else None."""
    if config.workdir is None:
        signature = tasks.ClassifierServing.SIGNATURE
        model = tf.saved_model.load(config.saved_model)
        if signature not in model.signatures:
            return None
        classify = model.signatures[signature]
        return lambda images: classify(images=tf.constant(images))[
            tasks.ClassifierServing.OUTPUT].numpy()
    if not hasattr(tasks.task_of(run_config), "classify"):
        return None
    loaded = checkpoints.load_task(config.workdir, config.checkpoint)
    return lambda images: loaded.task.classify(data.to_unit_range(images)).numpy()


def evaluate_points(source, config: EvalConfig, log=print) -> dict:
    """The mode metrics of a `points` generator (PacGAN's protocol, Lin et al.
    2018, Sec. 5: modes recovered, high-quality share, reverse KL of the mode
    histogram; `kgan.evaluation.points`) on `config.num_samples` samples.
    Image metrics (FID, KID, the digit classifier) do not apply and are not
    computed."""
    mixture = point_data.get_mixture(source.run_config.data.dataset)
    log(f"Evaluating {source.description}, step {source.step}: {config.num_samples} samples "
        f"against the {mixture.name} mixture's {mixture.num_modes} modes")
    samples = sampling.sample(source, config.num_samples, config.seed)
    return {"source": source.description, "step": source.step, "task": "points",
            "num_samples": config.num_samples, "seed": config.seed,
            "mixture": mixture.name, "modes": point_metrics.mode_metrics(samples, mixture)}


def _finish(report: dict, config: EvalConfig, source, log) -> dict:
    """Writes the report with the settings that made it. A report already at
    the path made with other settings is kept: this one goes beside it
    (`step_00005000.2.json`, ...), and `log` says so. One made with the same
    settings is replaced (the evaluation is seeded: it holds the same figures)."""
    settings = report_settings(config)
    report = {**report, "settings": settings}
    wanted = config.output or _default_output(config, source)
    output = _report_path(wanted, settings)
    if output != wanted:
        log(f"Note: kept {wanted}, a report made with other settings "
            f"({_changed_settings(wanted, settings)}); this one is {output}")
    write_json_atomically(output, report, indent=2)
    report["output"] = output
    return report


def report_settings(config: EvalConfig) -> dict:
    """Everything of `config` that the figures depend on (not the output path),
    as JSON values."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "output"}
    return json.loads(json.dumps(settings))


def _changed_settings(path: str, settings: dict) -> str | None:
    """None if `path` is free or holds a report made with `settings`; else
    what differs, in a few words."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            previous = json.load(f).get("settings")
    except (OSError, ValueError, AttributeError):
        return "unreadable as a kgan report"
    if not isinstance(previous, dict):
        return "settings not recorded"
    if previous == settings:
        return None
    changed = sorted(k for k in settings.keys() | previous.keys()
                     if previous.get(k) != settings.get(k))
    return ", ".join(f"{k} {previous.get(k)!r} -> {settings.get(k)!r}" for k in changed[:4]) + (
        ", ..." if len(changed) > 4 else "")


# More reports of one step than anyone keeps by hand: past it, clean up.
_MAX_REPORT_VARIANTS = 1000


def _report_path(path: str, settings: dict) -> str:
    """`path`, or the first of `<stem>.2.json`, `<stem>.3.json`, ... that is
    free or holds a report made with `settings`."""
    stem, extension = os.path.splitext(path)
    for number in range(1, _MAX_REPORT_VARIANTS + 1):
        candidate = path if number == 1 else f"{stem}.{number}{extension}"
        if _changed_settings(candidate, settings) is None:
            return candidate
    raise ConfigError(f"{_MAX_REPORT_VARIANTS} reports beside {path} already; remove old ones or "
                      "pass --output")


def _default_output(config: EvalConfig, source) -> str:
    if config.workdir is not None:
        return os.path.join(config.workdir, "eval", f"step_{source.step:08d}.json")
    version_dir = os.path.normpath(config.saved_model)
    model, version = os.path.basename(os.path.dirname(version_dir)), os.path.basename(version_dir)
    return os.path.join("eval", f"{model}_v{version}.json")


__all__ = ["evaluate", "evaluate_images", "evaluate_points", "reference_frechet_metric", "sample_labels"]
