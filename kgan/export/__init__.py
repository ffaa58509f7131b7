"""Export a trained generator for TF Serving (SavedModel) and devices (TFLite).

Everything follows the task's serving spec. A `kgan.tasks.LatentServing`
gives the latent size, the served output (`images` uint8 for the image GAN,
`points` float32 for the points task), its unit and tolerance; its version
is described below. A `kgan.tasks.TranslationServing` (image-to-image
tasks: uint8 images in, uint8 images out, a signature per direction) gets
the artifacts of `kgan.export.translation`. Both are published the same way.

`export(ExportConfig(workdir=...))` writes one new version,
`<export_dir>/<model_name>/<version>/`, holding:

* the SavedModel (`saved_model.pb`, `variables/`) with the signatures of
  `kgan.export.signatures`, ready for
  `tensorflow_model_server --model_base_path=<export_dir>/<model_name>`;
* `tflite/<model_name>_<variant>.tflite` for each requested variant;
* `generator.keras`, the generator as a Keras file: `import kgan`, then
  `keras.models.load_model(path)` (safe mode on) gives the network itself,
  float output in [-1, 1], taking `[z, label vectors]` when conditional;
* `export.json` (what the export is, where it came from, how it was verified)
  and `serving_request.json`, an example TF Serving REST request body.

The version is assembled in a hidden staging folder beside it (TF Serving only
looks at folders named by integers), verified, and only then renamed into
place, so a crash or a failed check never leaves a half-written version, and
an existing version is never overwritten. The staging folder's name holds the
host and process id of its export; one left by an export that was killed
(its process is gone) is removed by the next export on that host.
"""

import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

import kgan
from kgan import checkpoints, conditioning, latent, tasks
from kgan.config import ExportConfig
from kgan.config.export import SERVABLE_VERSIONS
from kgan.core import scratch
from kgan.core.files import make_shareable
from kgan.core.messages import failure_reason
from kgan.errors import ExportError
from kgan.export import signatures, tflite, translation
from kgan.export.verify import tflite_tolerance, verify, verify_classifier
from kgan.tasks import LatentServing, TranslationServing

EXPORT_FILE = "export.json"
KERAS_FILE = "generator.keras"
REQUEST_FILE = "serving_request.json"
_STAGING_PREFIX = ".partial-"
# TF Serving parses a version folder name as an int64.
MAX_VERSION = SERVABLE_VERSIONS[1]
_VERIFY_LATENTS = 16
_VERIFY_SEEDS = (0, 1, 2, 12345)


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """A published export version.

    Attributes:
        path: The version folder.
        model_name: Folder name under the export root.
        version: The integer version.
        metadata: The contents of its `export.json`.
    """

    path: str
    model_name: str
    version: int
    metadata: dict


def existing_versions(model_dir: str) -> list[int]:
    """Integer versions already published under `model_dir`, ascending: the
    folders TF Serving reads as versions (ASCII digits, an int64)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir)
                  if name.isascii() and name.isdigit() and int(name) <= MAX_VERSION
                  and os.path.isdir(os.path.join(model_dir, name)))


def write_saved_model(network, spec: LatentServing, path: str,
                      max_batch_size: int = signatures.MAX_BATCH_SIZE,
                      chunk_size: int = signatures.CHUNK_SIZE, classifier=None) -> None:
    """Writes `network`'s serving signatures (as `spec` says) as a SavedModel at `path`.

    Args:
        network: The Keras network the spec serves (the generator).
        spec: The task's serving spec.
        path: The SavedModel folder to write.
        max_batch_size: The most samples one request may ask for.
        chunk_size: The most samples generated at once within a request.
        classifier: The network `spec.classifier` names, served as `classify`.
    """
    archive = keras.export.ExportArchive()
    archive.track(network)
    endpoints = signatures.endpoints(network, spec, max_batch_size, chunk_size)
    if spec.classifier is not None:
        archive.track(classifier)
        endpoints[signatures.CLASSIFY_SIGNATURE] = signatures.classify_endpoint(
            classifier, spec.classifier, max_batch_size)
    for name, endpoint in endpoints.items():
        archive.add_endpoint(name, endpoint.fn, input_signature=endpoint.input_signature)
    archive.write_out(path, verbose=False)


def _signature_table(network, spec: LatentServing) -> dict:
    output = {spec.output_key: signatures.describe(signatures.output_spec(spec))}
    table = {name: {"inputs": {s.name: signatures.describe(s) for s in endpoint.input_signature},
                    "outputs": output}
             for name, endpoint in signatures.endpoints(network, spec).items()}
    if spec.classifier is not None:
        images = signatures.classify_endpoint(None, spec.classifier).input_signature[0]
        table[signatures.CLASSIFY_SIGNATURE] = {
            "inputs": {images.name: signatures.describe(images)},
            "outputs": {signatures.CLASSIFY_OUTPUT: signatures.describe(
                signatures.classify_output_spec(spec.classifier))},
            "classes": list(spec.classifier.class_names)}
    return table


def verification_labels(spec: LatentServing, count: int) -> np.ndarray | None:
    """Labels checked with the verification latents: every class in turn, or
    every sample-grid attribute combination in turn (None if unconditional)."""
    if not spec.num_labels:
        return None
    if spec.label_kind == "class":
        return np.arange(count, dtype=np.int32) % spec.num_labels
    rows, _ = conditioning.grid_rows(spec.label_kind, spec.label_names)
    return np.resize(rows, (count, spec.num_labels)).astype(np.float32)


def fresh_network(config, spec: LatentServing):
    """The serving network of a freshly built task of `config` (initial weights)."""
    return getattr(tasks.task_of(config).build(config), spec.network)


def remove_abandoned_staging(model_dir: str) -> list[str]:
    """Removes the staging folders in `model_dir` of exports killed on this host.

    A staging folder is abandoned when the process named in it no longer
    runs (a SIGKILL or power cut leaves no chance to remove it); folders of
    running exports and of other hosts are left alone.

    Returns:
        The folders removed.
    """
    # .partial-<version>-<host>-<pid>-<random>; mkdtemp's random part holds no "-".
    staging = re.compile(rf"^{re.escape(_STAGING_PREFIX)}\d+-(.+)-[^-]*$")
    removed = []
    for name in os.listdir(model_dir) if os.path.isdir(model_dir) else []:
        match = staging.match(name)
        path = os.path.join(model_dir, name)
        if match and os.path.isdir(path) and scratch.abandoned(match.group(1)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _make_model_dir(model_dir: str) -> None:
    try:
        os.makedirs(model_dir, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=model_dir, prefix=_STAGING_PREFIX)
        probe.close()
    except OSError as e:
        raise ExportError(f"cannot write to export directory {model_dir!r}: "
                          f"{failure_reason(e)}") from None


def export(config: ExportConfig, log=print) -> ExportResult:
    """Exports the generator of `config.workdir` as a new, verified version.

    Raises:
        RunError: if the workdir holds no usable checkpoint.
        ExportError: if the version exists, the export folder is not
            writable, or the artifacts fail verification. Nothing is
            published then, and existing versions are untouched.
    """
    loaded = checkpoints.load_task(config.workdir, config.checkpoint, log=log,
                                   raw_weights=config.raw_weights)
    spec = loaded.spec
    if isinstance(spec, TranslationServing):
        write_version = translation.write_version
    elif isinstance(spec, LatentServing):
        write_version = _write_latent_version
    else:
        raise ExportError(f"task {getattr(loaded.config, 'task', 'gan')} is served by a "
                          f"{type(spec).__name__}; export supports LatentServing and "
                          "TranslationServing tasks")
    model_name = config.model_name or os.path.basename(os.path.normpath(config.workdir))
    model_dir = os.path.join(config.export_dir, model_name)
    _make_model_dir(model_dir)
    for path in remove_abandoned_staging(model_dir):
        log(f"Removed {path}, left by an export that was killed")
    published = existing_versions(model_dir)
    version = config.version or (published[-1] + 1 if published else 1)
    if version > MAX_VERSION:
        raise ExportError(f"{model_dir!r} holds version {published[-1]}, the largest TF Serving "
                          "reads: pass --version, or use another --model_name")
    final_dir = os.path.join(model_dir, str(version))
    if os.path.exists(final_dir):
        raise ExportError(f"version {version} already exists at {final_dir!r}; exports are never "
                          "overwritten (omit --version to write the next one)")

    try:
        staging = tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{version}-{scratch.owner()}-",
                                   dir=model_dir)
    except OSError as e:
        raise ExportError(f"cannot write to export directory {model_dir!r}: "
                          f"{failure_reason(e)}") from None
    try:
        make_shareable(staging)  # a model server may run as another user
        log(f"Exporting {config.workdir} (step {loaded.step}) as {model_name} version {version}")
        sections, request_body = write_version(config, loaded, staging, model_name, log)
        metadata = _metadata(config, loaded, model_name, version, model_dir, sections)
        with open(os.path.join(staging, EXPORT_FILE), "w") as f:
            json.dump(metadata, f, indent=2)
        with open(os.path.join(staging, REQUEST_FILE), "w") as f:
            json.dump(request_body, f)
        # Publishing is one rename; a version created meanwhile makes it fail, never overwritten.
        try:
            os.rename(staging, final_dir)
        except OSError as e:
            raise ExportError(f"cannot publish version {version} at {final_dir!r}: "
                              f"{failure_reason(e)}") from None
    except (OSError, tf.errors.OpError) as e:
        # A full disk or a file-size limit: Python raises OSError, TensorFlow's
        # writers (SavedModel, its variables) an OpError.
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportError(f"writing the export failed: {failure_reason(e)} "
                          f"(version {version} at {final_dir!r}); nothing was published and "
                          "the existing versions are untouched") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"Published {final_dir}")
    return ExportResult(final_dir, model_name, version, metadata)


def _write_latent_version(config: ExportConfig, loaded, staging: str, model_name: str,
                          log) -> tuple[dict, dict]:
    """Writes and verifies a latent task's artifacts in `staging`; returns
    `export.json`'s task-specific sections and the request body of
    `serving_request.json` (as `translation.write_version`)."""
    generator, spec = loaded.generator, loaded.spec
    classifier = getattr(loaded.task, spec.classifier.network) if spec.classifier else None
    log("  writing the SavedModel")
    write_saved_model(generator, spec, staging, config.max_batch_size, classifier=classifier)
    log(f"  writing {KERAS_FILE}")
    generator.save(os.path.join(staging, KERAS_FILE))
    tflite_files = {}
    if config.tflite_variants:
        os.makedirs(os.path.join(staging, "tflite"))
    for variant in config.tflite_variants:
        log(f"  converting to TFLite {variant}")
        path = os.path.join(staging, "tflite", f"{model_name}_{variant}.tflite")
        converted = tflite.convert(staging, variant, fresh_network(loaded.config, spec), spec,
                                   config.calibration_samples, config.seed,
                                   config.tflite_batch_size)
        with open(path, "wb") as f:
            f.write(converted)
        tflite_files[variant] = path

    report = None
    if config.verify:
        log("Verifying")
        z = latent.standard_normal(config.seed, latent.Purpose.EXPORT_VERIFICATION,
                                   _VERIFY_LATENTS, spec.latent_dim)
        seeds = np.array(_VERIFY_SEEDS, np.int64)
        labels = verification_labels(spec, len(z))
        seed_labels = None if labels is None else labels[:len(seeds)]
        served = signatures.output_function(generator, spec)

        def keras_output(latents, batch_labels):
            args = () if batch_labels is None else (batch_labels,)
            return np.asarray(served(tf.constant(latents, tf.float32), *args))

        report = verify(staging, spec, tflite_files, keras_output(z, labels),
                        keras_output(signatures.latents_from_seeds(seeds, spec.latent_dim),
                                     seed_labels),
                        z, seeds, labels, seed_labels,
                        keras_file=os.path.join(staging, KERAS_FILE), log=log)
        if classifier is not None:
            report["classify"] = verify_classifier(staging, spec.classifier, classifier,
                                                   config.seed, config.max_batch_size, log)
    request_body = _request_body(spec)
    return _latent_sections(config, loaded, generator, tflite_files, staging, report,
                            request_body), request_body


def _labels_metadata(spec: LatentServing) -> dict | None:
    if not spec.num_labels:
        return None
    if spec.label_kind == "class":
        return {"kind": "class", "names": list(spec.label_names), "input": "int32 class ids "
                f"[batch], 0..{spec.num_labels - 1}, in the order of names"}
    return {"kind": "multi_hot", "names": list(spec.label_names),
            "input": f"float32 [batch, {spec.num_labels}]: 1 = attribute present, 0 = absent, "
                     "in the order of names"}


def _request_body(spec: LatentServing) -> dict:
    seeds = [0, 1, 2, 3]
    if not spec.num_labels:
        return {"signature_name": signatures.SEED_SIGNATURE, "instances": seeds}
    labels = verification_labels(spec, len(seeds)).tolist()
    return {"signature_name": signatures.SEED_SIGNATURE,
            "inputs": {"seed": seeds, "labels": labels}}


def _generator_metadata(loaded, spec: LatentServing) -> dict:
    """What the served network is: the same keys for every task, plus the
    image fields (shape, pixel mapping, value range) for an image task."""
    output = signatures.describe(signatures.output_spec(spec))
    generator = {
        "architecture": loaded.config.model.architecture,
        "latent_dim": spec.latent_dim,
        "latent_distribution": "standard normal",
        "kind": spec.kind,
        "output": {"key": spec.output_key, **output},
        "labels": _labels_metadata(spec),
        "dtype": spec.output_dtype,
        "unit": spec.unit,
    }
    if spec.kind == "image":
        generator.update({
            "image_shape": list(spec.output_shape),
            "value_range": [0, 255],
            "pixel_mapping": "round((x + 1) * 127.5), clipped to 0..255, for generator "
                             "output x in [-1, 1]",
        })
    return generator


def _latent_sections(config, loaded, generator, tflite_files, staging, report,
                     request_body) -> dict:
    spec = loaded.spec
    return {
        "generator": _generator_metadata(loaded, spec),
        "signatures": _signature_table(generator, spec),
        "keras_file": {
            "file": KERAS_FILE,
            "bytes": os.path.getsize(os.path.join(staging, KERAS_FILE)),
            "load": "import kgan; keras.models.load_model(path)",
            "output": "the network's float output" + (
                ", in [-1, 1] (pixel_mapping gives the served images)"
                if spec.kind == "image" else ""),
            "inputs": "z" if not spec.num_labels else (
                f"[z, {'one-hot class' if spec.label_kind == 'class' else 'attribute'} "
                f"vectors [batch, {spec.num_labels}]]"),
        },
        "tflite": {
            variant: {
                "file": os.path.relpath(path, staging),
                "bytes": os.path.getsize(path),
                "signature": signatures.SERVING_SIGNATURE,
                "batch_size": config.tflite_batch_size or None,
                "tolerance": tflite_tolerance(spec, variant),
                **({"pixel_mapping": tflite.FULL_INT8_PIXEL_MAPPING}
                   if variant == "full_int8" and spec.kind == "image" else {}),
            } for variant, path in tflite_files.items()},
        "verification": report,
        "serving": {"chunk_size": signatures.CHUNK_SIZE, "request_body": request_body},
    }


def _metadata(config, loaded, model_name, version, model_dir, sections: dict) -> dict:
    """`export.json`: what every export says (name, version, source, versions,
    how to serve it) around the task-specific `sections` of its writer."""
    sections = dict(sections)
    report, serving = sections.pop("verification"), sections.pop("serving")
    version_dir = os.path.abspath(os.path.join(model_dir, str(version)))
    return {
        "format": "kgan-export/1",
        "model_name": model_name,
        "version": version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "task": getattr(loaded.config, "task", "gan"),
        **sections,
        "source": {
            "workdir": os.path.abspath(config.workdir),
            "checkpoint": os.path.abspath(loaded.checkpoint),
            "step": loaded.step,
            "config": loaded.config.to_dict(),
        },
        "versions": {"kgan": kgan.__version__, "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "verification": report,
        "serving": {
            "model_base_path": os.path.abspath(model_dir),
            "model_server_command": (f"tensorflow_model_server --rest_api_port=8501 "
                                     f"--model_name={model_name} "
                                     f"--model_base_path={os.path.abspath(model_dir)}"),
            "max_batch_size": config.max_batch_size,
            **serving,
            "request_file": REQUEST_FILE,
            "request_command": (f"curl -s -X POST -d @{os.path.join(version_dir, REQUEST_FILE)} "
                                f"http://localhost:8501/v1/models/{model_name}/versions/"
                                f"{version}:predict"),
        },
    }


__all__ = ["EXPORT_FILE", "REQUEST_FILE", "ExportResult", "existing_versions", "export",
           "fresh_network", "remove_abandoned_staging", "write_saved_model"]
