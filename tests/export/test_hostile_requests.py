"""Hostile requests against real exported artifacts: the SavedModel signatures as
`tf.saved_model.load(...).signatures[...]` (and a raw session run, TF Serving's
path) and the TFLite runner. The behaviour tested is documented in
`kgan.export.signatures` and `kgan.export.tflite`."""

import re

import numpy as np
import pytest
import tensorflow as tf

from kgan import export as kgan_export
from kgan import tasks
from kgan.config import Config, ModelConfig
from kgan.errors import ExportError
from kgan.export import signatures, tflite
from kgan.models import build_generator

LATENT_DIM = 16
SMALL_CAP, SMALL_CHUNK = 40, 8


def generator_for(model: ModelConfig, seed: int):
    generator = build_generator(model)
    # Untrained DCGAN weights give nearly uniform grey images; larger random
    # weights make images (and so the differences between them) visible.
    rng = np.random.default_rng(seed)
    for variable in generator.trainable_variables:
        variable.assign(rng.normal(0.0, 0.3, variable.shape).astype(np.float32))
    return generator


def spec_of(model: ModelConfig):
    """The serving spec of the image GAN task whose generator `model` describes."""
    return tasks.get_task("gan").build(Config(model=model)).serving_spec()


def write_saved_model(generator, model, path, **limits):
    """`kgan.export.write_saved_model`, with other request limits."""
    kgan_export.write_saved_model(generator, spec_of(model), str(path), **limits)


class Export:
    def __init__(self, path, model):
        self.path, self.model = str(path), model
        loaded = tf.saved_model.load(self.path)
        self.loaded = loaded  # keeps the signatures' variables alive
        self.serve = loaded.signatures[signatures.SERVING_SIGNATURE]
        self.seeded = loaded.signatures[signatures.SEED_SIGNATURE]

    def tflite(self, tmp_path_factory, batch_size):
        path = tmp_path_factory.mktemp("tflite") / f"b{batch_size}.tflite"
        path.write_bytes(tflite.convert(self.path, "float32", build_generator(self.model),
                                        spec_of(self.model), 100, 0, batch_size))
        return str(path)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    model = ModelConfig(latent_dim=LATENT_DIM, base_filters=8, image_shape=(28, 28, 1))
    path = tmp_path_factory.mktemp("plain") / "1"
    write_saved_model(generator_for(model, 0), model, path)
    export = Export(path, model)
    export.fixed, export.dynamic = (export.tflite(tmp_path_factory, b) for b in (1, 0))
    return export


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Class-conditional, with the default limits and with small ones (cap 40, chunks of 8)."""
    model = ModelConfig(latent_dim=LATENT_DIM, base_filters=8, image_shape=(28, 28, 1),
                        conditional=True, label_kind="class", label_names=tuple("0123456789"))
    generator = generator_for(model, 1)
    path = tmp_path_factory.mktemp("digits") / "1"
    write_saved_model(generator, model, path)
    export = Export(path, model)
    small = tmp_path_factory.mktemp("digits-small") / "1"
    write_saved_model(generator, model, small, max_batch_size=SMALL_CAP, chunk_size=SMALL_CHUNK)
    export.small = Export(small, model)
    export.fixed = export.tflite(tmp_path_factory, 1)
    return export


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Attribute-conditional (three attributes)."""
    model = ModelConfig(latent_dim=LATENT_DIM, base_filters=8, image_shape=(28, 28, 1),
                        conditional=True, label_kind="multi_hot", label_names=("a", "b", "c"))
    path = tmp_path_factory.mktemp("faces") / "1"
    write_saved_model(generator_for(model, 2), model, path)
    export = Export(path, model)
    export.dynamic = export.tflite(tmp_path_factory, 0)
    return export


def latents(count, seed=0, dim=LATENT_DIM):
    return np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def z_tensor(count, seed=0):
    # A wrong-shaped tensor beside it must reach the graph: with NumPy inputs,
    # a shape mismatch fails at binding instead (tested separately).
    return tf.constant(latents(count, seed))


def class_ids(count):
    return np.arange(count, dtype=np.int32) % 10


# --- SavedModel signatures -------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, LATENT_DIM + 1), (LATENT_DIM,), (1, 2, LATENT_DIM),
                                   (0, LATENT_DIM - 1)])
def test_a_latent_of_the_wrong_shape_is_invalid_argument_naming_z(plain, shape):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"Shape of tensor z \[{','.join(map(str, shape))}\] is not "
                             rf"compatible with expected shape \[\?,{LATENT_DIM}\]"):
        plain.serve(z=tf.zeros(shape))


@pytest.mark.parametrize("z, shape", [(np.zeros((2, LATENT_DIM + 1), np.float32), "(2, 17)"),
                                      ([[0.0] * (LATENT_DIM + 1)], "(1, 17)"),
                                      (np.zeros(LATENT_DIM), "(16,)")])
def test_numpy_or_list_input_of_the_wrong_shape_fails_at_binding_naming_z(plain, z, shape):
    with pytest.raises(TypeError, match=rf"Can not cast TensorSpec\(shape={re.escape(shape)}, "
                                        rf"dtype=tf.float32, name='z'\) to TensorSpec\("
                                        rf"shape=\(None, {LATENT_DIM}\)"):
        plain.serve(z=z)


def test_a_wrong_dtype_is_invalid_argument_and_numpy_input_is_converted(plain):
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor "
                                                             "but is a int32 tensor"):
        plain.serve(z=tf.zeros([2, LATENT_DIM], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor "
                                                             "but is a double tensor"):
        plain.serve(z=tf.zeros([2, LATENT_DIM], tf.float64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int64 tensor"):
        plain.seeded(seed=tf.constant([1, 2], tf.int32))
    z = latents(3)
    np.testing.assert_array_equal(plain.serve(z=z.astype(np.float64))["images"],
                                  plain.serve(z=tf.constant(z))["images"])


def test_tf_serving_path_refuses_what_the_declared_shape_does_not(plain):
    """TF Serving runs the signature through a C++ session, which does not check
    a fed tensor against the placeholder's declared shape (the Python session
    does): the in-graph check is what refuses it."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], plain.path)
        signature = meta.signature_def[signatures.SERVING_SIGNATURE]
        z = graph.get_tensor_by_name(signature.inputs["z"].name)
        images = graph.get_tensor_by_name(signature.outputs["images"].name)

        def run(value):  # Session::Run with the feed as given, like the model server
            return session._call_tf_sessionrun(None, {z._as_tf_output(): value},
                                               [images._as_tf_output()], [], None)[0]

        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=rf"\[2,{LATENT_DIM + 1}\] is not compatible with expected "
                                 rf"shape \[\?,{LATENT_DIM}\]"):
            run(np.zeros([2, LATENT_DIM + 1], np.float32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="z must be finite"):
            run(np.full([2, LATENT_DIM], np.nan, np.float32))
        assert run(latents(2)).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_latents_are_refused_naming_the_rows(plain, bad):
    z = latents(5)
    z[3, 7] = bad
    z[1, 0] = bad
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"z must be finite \(no NaN or Inf\); rows that are not:\] \[1 3\]"):
        plain.serve(z=z)
    # The refusal leaves the loaded model serving.
    assert plain.serve(z=latents(2))["images"].shape == (2, 28, 28, 1)


def test_an_empty_batch_gives_no_images(plain, digits, faces):
    empty = (0, 28, 28, 1)
    for images in (plain.serve(z=tf.zeros([0, LATENT_DIM]))["images"],
                   plain.seeded(seed=tf.zeros([0], tf.int64))["images"],
                   digits.serve(z=tf.zeros([0, LATENT_DIM]), labels=tf.zeros([0], tf.int32))[
                       "images"],
                   digits.small.seeded(seed=tf.zeros([0], tf.int64),
                                       labels=tf.zeros([0], tf.int32))["images"],
                   faces.serve(z=tf.zeros([0, LATENT_DIM]), labels=tf.zeros([0, 3]))["images"]):
        assert images.dtype == tf.uint8 and tuple(images.shape) == empty


def test_int64_extreme_seeds_give_distinct_repeatable_images(plain):
    extremes = [-2**63, 2**63 - 1, 0, -1]
    seeds = tf.constant(extremes, tf.int64)
    images = plain.seeded(seed=seeds)["images"].numpy()
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.uint8
    assert len({image.tobytes() for image in images}) == 4
    np.testing.assert_array_equal(plain.seeded(seed=seeds)["images"], images)
    for i, seed in enumerate(extremes):  # each seed's image is its own, alone or in a batch
        alone = plain.seeded(seed=tf.constant([seed], tf.int64))["images"].numpy()
        np.testing.assert_array_equal(alone[0], images[i])


@pytest.mark.parametrize("label", [-1, 10, 2**31 - 1, -2**31])
def test_a_class_id_out_of_range_is_invalid_argument(digits, label):
    labels = tf.constant([1, label], tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids"):
        digits.serve(z=latents(2), labels=labels)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids"):
        digits.seeded(seed=tf.constant([1, 2], tf.int64), labels=labels)


def test_labels_of_the_wrong_shape_dtype_or_count_are_invalid_argument(digits, faces):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Shape of tensor labels \[2,1\] is not compatible"):
        digits.serve(z=z_tensor(2), labels=tf.constant([[1], [2]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int32 tensor"):
        digits.serve(z=z_tensor(2), labels=tf.constant([1, 2], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"labels must have one row per z row; rows of labels, z:\] \[3\] \[2\]"):
        digits.serve(z=z_tensor(2), labels=tf.constant([1, 2, 3], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"labels must have one row per seed row"):
        digits.seeded(seed=tf.constant([1, 2], tf.int64), labels=tf.constant([1], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Shape of tensor labels \[2,4\] is not compatible with expected "
                             r"shape \[\?,3\]"):
        faces.serve(z=z_tensor(2), labels=tf.zeros([2, 4]))


def test_non_finite_attribute_values_are_refused_and_fractional_ones_accepted(faces):
    labels = np.array([[1, 0, 0.5], [0, np.nan, 1]], np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"labels must be finite \(no NaN or Inf\); rows that are not:\] \[1\]"):
        faces.serve(z=latents(2), labels=labels)
    labels[1, 1] = 2.5  # any finite strength is allowed
    assert faces.serve(z=latents(2), labels=labels)["images"].shape == (2, 28, 28, 1)


def test_a_batch_over_the_cap_is_refused_before_any_work(plain, digits):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"at most 10000 images .*rows of seed:\] \[10001\]"):
        plain.seeded(seed=tf.range(10_001, dtype=tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"at most {SMALL_CAP} images .*rows of z:\] \[{SMALL_CAP + 1}\]"):
        digits.small.serve(z=latents(SMALL_CAP + 1), labels=class_ids(SMALL_CAP + 1))


def test_a_large_batch_is_generated_in_chunks_with_the_same_images(digits):
    """Cap 40, chunks of 8: 40 latents run as five chunks inside one request;
    each chunk equals the same rows asked for alone (same batch size, so the
    same kernels), and the plain export agrees within a rounding."""
    z, labels = latents(SMALL_CAP, seed=3), class_ids(SMALL_CAP)[::-1].copy()
    images = digits.small.serve(z=z, labels=labels)["images"].numpy()
    assert images.shape == (SMALL_CAP, 28, 28, 1)
    parts = [digits.small.serve(z=z[i:i + SMALL_CHUNK], labels=labels[i:i + SMALL_CHUNK])[
        "images"].numpy() for i in range(0, SMALL_CAP, SMALL_CHUNK)]
    np.testing.assert_array_equal(images, np.concatenate(parts))
    unchunked = digits.serve(z=z, labels=labels)["images"].numpy().astype(int)
    assert np.abs(images.astype(int) - unchunked).max() <= 1
    # Memory is what chunking buys (bench/serving_limits.py measures it); here,
    # that the served graph does loop.
    library = digits.small.serve.graph.as_graph_def().library.function
    assert {"While", "StatelessWhile"} & {node.op for f in library for node in f.node_def}
    # Seeds: 19 = 8 + 8 + 3, the last chunk short.
    seeds = tf.constant([2**63 - 1 - i for i in range(19)], tf.int64)
    seed_labels = class_ids(19)
    by_seed = digits.small.seeded(seed=seeds, labels=seed_labels)["images"].numpy()
    parts = [digits.small.seeded(seed=seeds[i:i + SMALL_CHUNK],
                                 labels=seed_labels[i:i + SMALL_CHUNK])["images"].numpy()
             for i in range(0, 19, SMALL_CHUNK)]
    np.testing.assert_array_equal(by_seed, np.concatenate(parts))


# --- TFLite ------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_attr", ["fixed", "dynamic"])
def test_tflite_runner_matches_the_saved_model_on_any_batch(plain, model_attr):
    path = getattr(plain, model_attr)
    count = 3 if model_attr == "fixed" else tflite.CHUNK_SIZE + 5  # several dynamic chunks
    z = latents(count, seed=4)
    reference = plain.serve(z=z)["images"].numpy().astype(int)
    images = tflite.generate(path, z)
    assert images.dtype == np.uint8 and images.shape == (count, 28, 28, 1)
    assert np.abs(images.astype(int) - reference).max() <= 1
    np.testing.assert_array_equal(tflite.generate(path, z.astype(np.float64)), images)
    empty = tflite.generate(path, np.zeros((0, LATENT_DIM), np.float32))
    assert empty.dtype == np.uint8 and empty.shape == (0, 28, 28, 1)


@pytest.mark.parametrize("z, message", [
    (np.zeros((2, LATENT_DIM + 1), np.float32),
     rf"z must be \[batch, {LATENT_DIM}\] latents, got shape \(2, {LATENT_DIM + 1}\)"),
    (np.zeros(LATENT_DIM, np.float32), r"got shape \(16,\)"),
    (np.full((2, LATENT_DIM), "0.5"), "z must be real numbers, got dtype <U3"),
    (np.array([[0.0] * LATENT_DIM, [np.nan] * LATENT_DIM]),
     r"z must be finite \(no NaN or Inf\); rows that are not: \[1\]"),
    (np.full((1, LATENT_DIM), 1e300), r"rows that are not: \[0\]"),  # Inf as float32
])
def test_tflite_runner_refuses_bad_latents(plain, z, message):
    with pytest.raises(ValueError, match=message):
        tflite.generate(plain.fixed, z)
    with pytest.raises(ValueError, match="unconditional generator: labels must be None"):
        tflite.generate(plain.fixed, latents(1), labels=np.array([1]))


@pytest.mark.parametrize("labels, message", [
    (np.array([3, 10]), r"labels must be class ids 0..9, got \[10\]"),
    (np.array([-1, 2**31 - 1]), r"got \[-1, 2147483647\]"),
    (np.array([2**32 + 3, 1]), r"got \[4294967299\]"),  # would wrap to 3 as int32
    (np.array([1.0, 2.0]), "labels must be integer class ids, got dtype float64"),
    (np.array([1, 2, 3]), r"labels must have shape \(2,\), one row per latent, got \(3,\)"),
])
def test_tflite_runner_refuses_bad_class_ids(digits, labels, message):
    with pytest.raises(ValueError, match=message):
        tflite.generate(digits.fixed, latents(2), labels)


def test_tflite_runner_takes_class_ids_as_any_integer_type(digits):
    z = latents(4)
    reference = digits.serve(z=z, labels=class_ids(4))["images"].numpy().astype(int)
    for labels in (class_ids(4), class_ids(4).astype(np.int64), class_ids(4).tolist()):
        assert np.abs(tflite.generate(digits.fixed, z, labels).astype(int) - reference).max() <= 1
    assert tflite.generate(digits.fixed, z[:0], class_ids(0)).shape == (0, 28, 28, 1)


def test_tflite_runner_refuses_bad_attribute_labels(faces):
    with pytest.raises(ValueError, match=r"labels must be finite .* rows that are not: \[1\]"):
        tflite.generate(faces.dynamic, latents(2), np.array([[1, 0, 1], [0, np.inf, 0]]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 3\)"):
        tflite.generate(faces.dynamic, latents(2), np.zeros((2, 4)))
    labels = np.array([[1, 0, 0.5], [0, 1, 1]], np.float32)
    reference = faces.serve(z=latents(2), labels=labels)["images"].numpy().astype(int)
    assert np.abs(tflite.generate(faces.dynamic, latents(2), labels).astype(int)
                  - reference).max() <= 1


def test_the_raw_interpreter_needs_the_runners_checks(plain, digits):
    """What the checks guard against: the TFLite model itself returns images for
    a NaN latent, and fails only at run time on a class id out of range."""
    runner = tflite.interpreter(plain.fixed).get_signature_runner()
    nan_images = runner(z=np.full((1, LATENT_DIM), np.nan, np.float32))["images"]
    assert nan_images.shape == (1, 28, 28, 1)  # garbage, silently
    runner = tflite.interpreter(digits.fixed).get_signature_runner()
    with pytest.raises(RuntimeError, match="index out of bounds"):
        runner(z=latents(1), labels=np.array([10], np.int32))


def test_tflite_models_hold_only_the_generator(plain, digits):
    """Converted from the bare generator: no Assert, loop or chunking ops."""
    assert tflite.operator_names(plain.fixed) <= {
        "ADD", "CAST", "FULLY_CONNECTED", "MINIMUM", "MUL", "RELU", "RESHAPE", "ROUND", "TANH",
        "TRANSPOSE_CONV"}
    assert "EMBEDDING_LOOKUP" in tflite.operator_names(digits.fixed)
    assert not {"WHILE", "IF"} & tflite.operator_names(plain.dynamic)


def test_tflite_conversion_refuses_weights_of_another_network(plain):
    other = ModelConfig(latent_dim=LATENT_DIM, base_filters=16, image_shape=(28, 28, 1))
    with pytest.raises(ExportError, match="does not hold the weights of the DCGANGenerator"):
        tflite.convert(plain.path, "float32", build_generator(other), spec_of(other), 100, 0, 1)
