"""Quality metrics for generators.

`evaluate(EvalConfig)` samples a saved generator (a training run or an
exported SavedModel) and reports:

* FID and KID on the TTUR Inception network's pool_3 features, against cached
  features of a real split;
* on MNIST, from kgan's own classifier: mode coverage (class histogram,
  classes covered, KL divergence from uniform), mean confidence, and a
  Frechet distance on its penultimate features (fast on a CPU).
"""

import dataclasses
import json
import os
import time

from kgan.config import EvalConfig
from kgan.evaluation import mnist_classifier, reference, sampling
from kgan.evaluation.distances import frechet_distance, gaussian_stats, kernel_distance
from kgan.evaluation.inception import InceptionFeatures
from kgan.evaluation.modes import mode_coverage
from kgan.errors import ConfigError


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


def evaluate_images(images, data_config, config: EvalConfig, log=print) -> dict:
    """Every requested metric of `images` (uint8) against the configured real split."""
    report = {}
    if {"fid", "kid"} & set(config.metrics):
        inception = InceptionFeatures(config.inception_path)
        real = reference.reference_features(data_config, config.reference_split,
                                            config.reference_samples, inception)
        fake, rate = _timed(inception, images, "Inception features of generated images")
        report["inception_images_per_second"] = rate
        if "fid" in config.metrics:
            report["fid"] = frechet_distance(gaussian_stats(fake), gaussian_stats(real))
        if "kid" in config.metrics:
            kid = kernel_distance(fake, real, seed=config.seed)
            report["kid"] = dataclasses.asdict(kid)
    if "classifier" in config.metrics:
        if data_config.dataset != "mnist":
            raise ConfigError(f"the classifier metrics need MNIST, not {data_config.dataset!r}")
        classifier = mnist_classifier.load_classifier(data_config, log=log)
        real = reference.reference_features(data_config, config.reference_split,
                                            config.reference_samples, classifier)
        report["classifier"] = {
            **mode_coverage(classifier.probabilities(images)),
            "frechet_distance": frechet_distance(gaussian_stats(classifier(images)),
                                                 gaussian_stats(real)),
            "classifier_test_accuracy": classifier.test_accuracy,
        }
    return report


def evaluate(config: EvalConfig, log=print) -> dict:
    """Evaluates a saved generator and writes the JSON report. Returns the report."""
    if config.workdir is not None:
        source = sampling.from_workdir(config.workdir, config.checkpoint)
    else:
        source = sampling.from_saved_model(config.saved_model)
    data_config = source.run_config.data
    if config.data_dir is not None:
        data_config = dataclasses.replace(data_config, data_dir=config.data_dir)
    log(f"Evaluating {source.description}, step {source.step}: {config.num_samples} samples vs "
        f"{config.reference_samples} {data_config.dataset} {config.reference_split} images")
    images = sampling.sample(source, config.num_samples, config.seed)
    report = {
        "source": source.description,
        "step": source.step,
        "num_samples": config.num_samples,
        "reference": {"dataset": data_config.dataset, "split": config.reference_split,
                      "samples": config.reference_samples},
        "seed": config.seed,
        **evaluate_images(images, data_config, config, log),
    }
    output = config.output or _default_output(config, source)
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(output + ".partial", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(output + ".partial", output)
    report["output"] = output
    return report


def _default_output(config: EvalConfig, source) -> str:
    if config.workdir is not None:
        return os.path.join(config.workdir, "eval", f"step_{source.step:08d}.json")
    version_dir = os.path.normpath(config.saved_model)
    model, version = os.path.basename(os.path.dirname(version_dir)), os.path.basename(version_dir)
    return os.path.join("eval", f"{model}_v{version}.json")


__all__ = ["evaluate", "evaluate_images", "reference_frechet_metric"]
