"""The contract every task meets, as one test class a family's tests subclass.

In the spirit of keras-hub's shared model tests: a family's test module
declares `class TestMyTask(TaskContract)` with a tiny `config()` and gets a
build test, a few real training steps, bitwise resume, a checkpoint round
trip, an export reloaded in a fresh process without kgan, TFLite parity and
hostile serving requests. One tiny run and one export per family are shared
by its tests (class-scoped fixtures).
"""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan import export as kgan_export
from kgan.config import Config, ExportConfig
from kgan.errors import ConfigError
from kgan.training import memory, train

# Loads an export with TensorFlow alone and runs serving_default on saved latents.
_FRESH_PROCESS = """
import sys, numpy as np, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
inputs = np.load(sys.argv[2])
outputs = model.signatures["serving_default"](**{k: tf.constant(inputs[k]) for k in inputs.files})
assert not [m for m in sys.modules if m == "kgan" or m.startswith("kgan.")], "kgan was imported"
(key,) = outputs
np.save(sys.argv[3], outputs[key].numpy())
print(key)
"""


def _quiet(message):
    pass


def _image_shape(spec) -> tuple:
    """The image shape requests use: the served one, or for a spec of any
    size the TFLite models' (what export verifies with)."""
    return tuple(spec.tflite_image_shape if spec.any_size else spec.image_shape)


def _output_shape(spec) -> tuple:
    """The output shape of requests made by `_requests`."""
    if isinstance(spec, tasks.TranslationServing):
        return spec.scaled(_image_shape(spec))
    return tuple(spec.output_shape)


def _requests(spec, rows: int, seed: int = 0):
    """(what the serving signature takes, what the Keras network takes) for
    `rows` requests: latents, with labels as each side encodes them if
    conditional; or uint8 images for an image-to-image task."""
    if isinstance(spec, tasks.TranslationServing):
        images = np.random.default_rng(seed).integers(0, 256, [rows, *_image_shape(spec)],
                                                      dtype=np.uint8)
        return {spec.input_key: images}, spec.to_input(images)
    z = np.random.default_rng(seed).standard_normal([rows, spec.latent_dim]).astype(np.float32)
    if not spec.num_labels:
        return {"z": z}, z
    served = kgan_export.verification_labels(spec, rows)
    vectors = (np.eye(spec.num_labels, dtype=np.float32)[served]
               if spec.label_kind == "class" else served)
    return {"z": z, "labels": served}, [z, vectors]


def assert_resolve_refuses(config: Config, changes: dict, message: str) -> None:
    """`config` with `changes` (`{section: {field: value}}`) is refused by
    its task's `resolve` with an error matching `message`."""
    values = config.to_dict()
    for section, fields in changes.items():
        values[section].update(fields)
    changed = Config.from_dict(values)
    with pytest.raises(ConfigError, match=message):
        tasks.task_of(changed).resolve(changed)


class TaskContract:
    """Subclass with `config(self, shared)` returning a tiny `Config` of the
    task (`shared` is the pytest `request` for fixtures such as data dirs),
    and optionally `EXPORT_VARIANTS`."""

    EXPORT_VARIANTS = ("float32",)
    STEPS = 4

    def config(self, request) -> Config:
        raise NotImplementedError

    def _config(self, request, **train_changes) -> Config:
        config = self.config(request)
        changes = dict(steps=self.STEPS, checkpoint_every=self.STEPS, sample_every=self.STEPS,
                       log_every=self.STEPS, deterministic=True)
        changes.update(train_changes)
        return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))

    @pytest.fixture(scope="class")
    def run(self, request, tmp_path_factory):
        workdir = str(tmp_path_factory.mktemp("task-run") / "run")
        result = train(self._config(request), workdir, stream=open(os.devnull, "w"))
        return workdir, result

    @pytest.fixture(scope="class")
    def exported(self, run, tmp_path_factory):
        workdir, _ = run
        return kgan_export.export(ExportConfig(
            workdir=workdir, export_dir=str(tmp_path_factory.mktemp("task-exports")),
            tflite_variants=self.EXPORT_VARIANTS, calibration_samples=100, max_batch_size=64),
            log=_quiet)

    def test_builds_with_its_declared_parts(self, request):
        config = self.config(request)
        task_class = tasks.task_of(config)
        config = task_class.resolve(config)
        task = task_class.build(config)
        spec = task.serving_spec()
        items = task.checkpoint_items()
        assert spec.network in task.serving_items() and "step" in items
        assert set(task.PLAYERS) and all(
            name in items for names in task.PLAYERS.values() for name in names)
        data = task_class.load_data(config, "train")
        assert data.num_examples >= 1 and set(data.element_spec) <= set(data.arrays) | {"label"}
        _, inputs = _requests(spec, 3)
        out = getattr(task, spec.network)(inputs, training=False)
        assert tuple(spec.to_output(out).shape) == (3, *_output_shape(spec))
        preview = task.preview()
        assert preview.image.dtype == np.uint8 and preview.image.ndim == 3

    def test_parameters_are_counted_without_allocating_them(self, request):
        config = self.config(request)
        config = tasks.task_of(config).resolve(config)
        built = tasks.task_of(config).build(config)
        assert memory.parameter_count(config) == sum(int(np.prod(w.shape)) for w in built.weights)

    def test_trains_a_few_finite_steps(self, run):
        workdir, result = run
        assert (result.start_step, result.step) == (0, self.STEPS)
        assert result.train_step_traces == 1
        assert result.metrics and all(np.isfinite(v) for v in result.metrics.values())
        assert os.listdir(os.path.join(workdir, "samples"))

    def test_resume_is_bitwise(self, request, run, tmp_path):
        half = self.STEPS // 2
        resumed = str(tmp_path / "resumed")
        train(self._config(request, steps=half), resumed, stream=open(os.devnull, "w"))
        second = train(self._config(request), resumed, stream=open(os.devnull, "w"))
        _, straight = run  # the shared run: the same config, trained straight through
        assert second.start_step == half
        assert second.weights_digest == straight.weights_digest

    def test_checkpoint_round_trip(self, run):
        workdir, result = run
        loaded = checkpoints.load_task(workdir)
        assert loaded.step == self.STEPS
        spec = loaded.task.serving_spec()
        _, inputs = _requests(spec, 5)
        again = checkpoints.load_task(workdir)
        network = getattr(loaded.task, spec.network)
        np.testing.assert_array_equal(network(inputs, training=False),
                                      getattr(again.task, spec.network)(inputs, training=False))
        assert checkpoints.weights_digest_of(workdir) == result.weights_digest

    def test_export_reloads_in_a_fresh_process_with_equal_outputs(self, run, exported, tmp_path):
        workdir, _ = run
        loaded = checkpoints.load_task(workdir)
        spec = loaded.task.serving_spec()
        served, inputs = _requests(spec, 6, seed=1)
        np.savez(tmp_path / "inputs.npz", **served)
        result = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, exported.path,
                                 str(tmp_path / "inputs.npz"), str(tmp_path / "out.npy")],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == spec.output_key
        expected = spec.to_output(getattr(loaded.task, spec.network)(inputs, training=False))
        served_output = np.load(tmp_path / "out.npy")
        # The graph may fuse ops the eager network runs one by one: the export's
        # own bound (`spec.tolerance`, one level of a uint8 image) applies.
        difference = np.abs(served_output.astype(np.float64) - np.asarray(expected, np.float64))
        assert served_output.shape == tuple(expected.shape)
        assert difference.max() <= spec.tolerance
        verification = exported.metadata["verification"]
        assert verification["saved_model"]["loaded_without_kgan"]
        if isinstance(spec, tasks.LatentServing):
            assert verification["saved_model"]["seed_repeats_exactly"]

    def test_tflite_matches_the_saved_model(self, exported):
        report = exported.metadata["verification"]["tflite"]
        directions = exported.metadata["generator"].get("directions")
        # An image-to-image export verifies every direction's models.
        checks = ([report[d["signature"]][v] for d in directions for v in self.EXPORT_VARIANTS]
                  if directions else [report[v] for v in self.EXPORT_VARIANTS])
        for check in checks:
            assert check["builtin_ops_only"]
            if check["tolerance"] is None:  # quantized images: held to what a user sees
                assert check["fidelity"]["psnr_db"] >= 30
            else:
                assert check["max_abs_diff"] <= check["tolerance"]

    def test_hostile_requests_are_refused(self, run, exported):
        spec = checkpoints.load_task(run[0]).spec
        serve = tf.saved_model.load(exported.path).signatures["serving_default"]
        if isinstance(spec, tasks.TranslationServing):
            self._check_hostile_images(spec, serve)
            return

        def request(rows, z=None):
            served, _ = _requests(spec, rows)
            if z is not None:
                served["z"] = z
            return serve(**{name: tf.constant(value) for name, value in served.items()})

        bad_z = np.zeros([2, spec.latent_dim], np.float32)
        bad_z[1, 0] = np.nan
        with pytest.raises(tf.errors.InvalidArgumentError, match="must be finite"):
            request(2, bad_z)
        with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)):
            request(2, np.zeros([2, spec.latent_dim + 1], np.float32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="at most 64"):
            request(65)
        (key, empty), = request(0).items()
        assert key == spec.output_key and tuple(empty.shape) == (0, *_output_shape(spec))

    @staticmethod
    def _check_hostile_images(spec, serve):
        shape = _image_shape(spec)
        height, width, channels = shape

        def request(images):
            return serve(**{spec.input_key: tf.constant(images)})

        if spec.any_size:
            side = int(np.sqrt(spec.max_input_pixels)) + 1
            wrong_sizes = ([2, 0, width, channels], [1, side, side, channels])
        else:
            wrong_sizes = ([2, height + 1, width, channels],)
        for wrong in (*wrong_sizes, [2, height, width, 1]):
            with pytest.raises(tf.errors.InvalidArgumentError, match=spec.input_key):
                request(np.zeros(wrong, np.uint8))
        with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)):
            request(np.zeros([2, *shape], np.float32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="at most 64"):
            request(np.zeros([65, *shape], np.uint8))
        (key, empty), = request(np.zeros([0, *shape], np.uint8)).items()
        assert key == spec.output_key and tuple(empty.shape) == (0, *_output_shape(spec))
        if spec.any_size:  # another size than the verified one is served, enlarged
            (_, other), = request(np.zeros([1, height + 3, width + 1, 3], np.uint8)).items()
            assert tuple(other.shape) == (1, *spec.scaled((height + 3, width + 1, 3)))
