import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import models
from kgan.config import ModelConfig

MNIST = (28, 28, 1)
FACES = (64, 64, 3)

# Pinned so that an architecture change is a deliberate, visible decision:
# (image shape, base_filters) -> (generator, discriminator, discriminator with
# spectral_norm and minibatch_std=4). Latent size 100 (the default). The
# spectrally normalized count adds only the non-trainable u vectors (and the
# minibatch-stddev channel's weights in the last block).
PARAMETER_COUNTS = {
    (MNIST, 32): (367_009, 67_137, 68_066),
    (MNIST, 64): (832_321, 267_393, 269_250),
    (FACES, 64): (3_408_067, 4_858_113, 4_866_114),
}


def config(image_shape, **kwargs):
    return ModelConfig(architecture="resnet", image_shape=image_shape, **kwargs)


def small(image_shape=MNIST, **kwargs):
    """A narrow network's config, for tests that do not pin a size."""
    return config(image_shape, latent_dim=8, base_filters=4, label_embedding_dim=4, **kwargs)


@pytest.mark.parametrize("image_shape, base_filters", list(PARAMETER_COUNTS))
def test_shapes_ranges_and_parameter_counts(image_shape, base_filters):
    c = config(image_shape, base_filters=base_filters)
    generator, discriminator = models.build_generator(c), models.build_discriminator(c)
    images = generator(tf.random.normal([2, c.latent_dim], stddev=3.0), training=False)
    assert images.shape == (2, *image_shape) and images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    logits = discriminator(images, training=False)
    assert logits.shape == (2, 1) and logits.dtype == tf.float32
    normalized = models.build_discriminator(config(image_shape, base_filters=base_filters,
                                                   spectral_norm=True, minibatch_std=4))
    assert normalized(images, training=True).shape == (2, 1)
    assert (generator.count_params(), discriminator.count_params(),
            normalized.count_params()) == PARAMETER_COUNTS[(image_shape, base_filters)]


@pytest.mark.parametrize("image_shape, blocks, start", [(MNIST, 2, 7), (FACES, 4, 4)])
def test_the_blocks_follow_the_dcgan_geometry(image_shape, blocks, start):
    c = config(image_shape, base_filters=8, spectral_norm=True, minibatch_std=2)
    generator = models.build_generator(c)
    g_blocks = [layer for layer in generator.body.layers
                if isinstance(layer, models.GeneratorBlock)]
    assert len(g_blocks) == blocks
    assert generator.body.layers[1].output.shape[1:3] == (start, start)
    # Widths halve toward the image, down to base_filters at the last two resolutions.
    assert [b.filters for b in g_blocks] == [8 * 2 ** max(blocks - 2 - i, 0)
                                             for i in range(blocks)]
    kinds = [type(layer).__name__ for layer in generator.body.layers]
    assert kinds[-4:] == ["BatchNormalization", "ReLU", "Conv2D", "Activation"]

    discriminator = models.build_discriminator(c)
    layers = discriminator.body.layers
    d_blocks = [layer for layer in layers if isinstance(layer, models.DiscriminatorBlock)]
    assert [b.filters for b in d_blocks] == [8 * 2 ** i for i in range(blocks)]
    assert [b.first for b in d_blocks] == [True] + [False] * (blocks - 1)
    # Minibatch stddev right before the last block; no normalization layers anywhere.
    assert isinstance(layers[layers.index(d_blocks[-1]) - 1], models.MinibatchStddev)
    assert not [layer for layer in discriminator._flatten_layers()
                if "Normalization" in type(layer).__name__]
    # Spectral normalization on every convolution and on the logit.
    assert all(isinstance(conv, models.SpectralNorm) for b in d_blocks
               for conv in (b.conv1, b.conv2, b.shortcut))
    assert isinstance(discriminator.logit, models.SpectralNorm)
    assert layers[-1].compute_output_shape((None, start, start, 8 * 2 ** (blocks - 1))) == \
        (None, 8 * 2 ** (blocks - 1))


def test_discriminator_pools_by_summing():
    discriminator = models.build_discriminator(small())
    images = tf.random.uniform([2, *MNIST], -1, 1)
    blocks = keras.Sequential(discriminator.body.layers[:-2])
    features = tf.nn.relu(blocks(images))
    np.testing.assert_allclose(discriminator.body(images), tf.reduce_sum(features, axis=[1, 2]),
                               rtol=1e-5, atol=1e-5)


CONDITIONAL = {
    "mnist classes": (MNIST, "class", tuple("0123456789")),
    "celeba attributes": (FACES, "multi_hot", ("Male", "Smiling", "Eyeglasses", "Blond_Hair")),
}


def relative_difference(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / np.abs(a).max()


@pytest.mark.parametrize("case", list(CONDITIONAL))
def test_conditional_networks_take_labels(case):
    image_shape, kind, names = CONDITIONAL[case]
    c = small(image_shape, conditional=True, label_kind=kind, label_names=names,
              spectral_norm=True)
    generator, discriminator = models.build_generator(c), models.build_discriminator(c)
    z = tf.random.normal([3, 8])
    first, second = np.eye(len(names), dtype=np.float32)[[0, 0, 0]], \
        np.eye(len(names), dtype=np.float32)[[1, 1, 1]]
    images = generator([z, first], training=False)
    assert images.shape == (3, *image_shape)
    assert relative_difference(images, generator([z, second], training=False)) > 1e-3
    logits = discriminator([images, first], training=False)
    assert logits.shape == (3, 1) and logits.dtype == tf.float32
    assert relative_difference(logits, discriminator([images, second], training=False)) > 1e-3
    # The projection is spectrally normalized too, and a training call updates its u.
    assert isinstance(discriminator.label_projection, models.SpectralNorm)
    before = discriminator.label_projection.u.numpy().copy()
    discriminator([images, first], training=True)
    assert not np.allclose(before, discriminator.label_projection.u.numpy())


def normalized_pair(**kwargs):
    c = small(spectral_norm=True, minibatch_std=2, conditional=True, label_kind="class",
              label_names=tuple("0123"), **kwargs)
    return c, models.build_generator(c), models.build_discriminator(c)


def inputs_of(c, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.eye(c.num_labels, dtype=np.float32)[rng.integers(0, c.num_labels, batch)]
    return ([rng.normal(size=(batch, c.latent_dim)).astype(np.float32), labels],
            [rng.uniform(-1, 1, (batch, *c.image_shape)).astype(np.float32), labels])


def test_serialization_round_trip_gives_identical_outputs(tmp_path):
    c, generator, discriminator = normalized_pair()
    g_inputs, d_inputs = inputs_of(c)
    discriminator(d_inputs, training=True)  # moves u away from its initial draw
    for original, inputs in ((generator, g_inputs), (discriminator, d_inputs)):
        serialized = keras.saving.serialize_keras_object(original)
        assert serialized["registered_name"].startswith("kgan>ResNet")
        clone = keras.saving.deserialize_keras_object(serialized)
        clone.build([original.body.input_shape, (None, c.num_labels)])
        clone.set_weights(original.get_weights())
        np.testing.assert_allclose(clone(inputs, training=False),
                                   original(inputs, training=False), rtol=1e-6, atol=1e-6)
        path = str(tmp_path / f"{original.name}.keras")
        original.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(loaded(inputs, training=False),
                                   original(inputs, training=False), rtol=1e-6, atol=1e-6)


def test_checkpoint_round_trip_restores_every_variable(tmp_path):
    c, generator, discriminator = normalized_pair()
    g_inputs, d_inputs = inputs_of(c)
    generator(g_inputs, training=True)  # BatchNorm moving statistics
    discriminator(d_inputs, training=True)  # spectral-norm u vectors
    _, fresh_generator, fresh_discriminator = normalized_pair()
    for name, original, fresh, inputs in (
            ("generator", generator, fresh_generator, g_inputs),
            ("discriminator", discriminator, fresh_discriminator, d_inputs)):
        path = tf.train.Checkpoint(**{name: original}).save(str(tmp_path / name))
        saved = [n for n, _ in tf.train.list_variables(path) if n.startswith(name + "/")]
        assert len(saved) == len(original.weights)
        assert not np.allclose(fresh(inputs, training=False), original(inputs, training=False))
        tf.train.Checkpoint(**{name: fresh}).restore(path).assert_existing_objects_matched()
        for restored, expected in zip(fresh.weights, original.weights):
            np.testing.assert_array_equal(restored.numpy(), expected.numpy())
        np.testing.assert_allclose(fresh(inputs, training=False),
                                   original(inputs, training=False), rtol=1e-6, atol=1e-6)


def test_mixed_precision_keeps_images_and_logits_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        c = small(spectral_norm=True, minibatch_std=2)
        generator, discriminator = models.build_generator(c), models.build_discriminator(c)
        images = generator(tf.random.normal([4, 8]), training=True)
        logits = discriminator(images, training=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert images.dtype == tf.float32 and logits.dtype == tf.float32
    assert np.all(np.isfinite(logits))


def test_generator_converts_to_builtin_tflite_ops_and_matches_keras(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    keras.utils.set_random_seed(3)
    generator = models.build_generator(small())
    # Non-trivial BatchNorm statistics, so that their folding is checked too.
    for layer in generator._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.random.uniform(-0.5, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(np.random.uniform(0.5, 2.0, layer.moving_variance.shape))
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", lambda z: {"images": generator(z, training=False)},
                         input_signature=[tf.TensorSpec([None, 8], tf.float32, name="z")])
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    (tmp_path / "generator.tflite").write_bytes(converter.convert())

    interpreter = Interpreter(model_path=str(tmp_path / "generator.tflite"))
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert {"TILE", "DEPTH_TO_SPACE", "CONV_2D", "TANH"} <= ops, ops
    z = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    images = interpreter.get_signature_runner("serving_default")(z=z)["images"]
    np.testing.assert_allclose(images, generator(z, training=False), atol=1e-4)


def test_nearest_upsampling_repeats_each_pixel_and_keeps_static_shapes():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(np.float32)
    layer = models.NearestUpsampling2D()
    np.testing.assert_array_equal(layer(x), x.repeat(2, axis=1).repeat(2, axis=2))
    traced = tf.function(layer, input_signature=[tf.TensorSpec([None, 3, 5, 4])])
    assert traced.get_concrete_function().structured_outputs.shape.as_list() == [None, 6, 10, 4]


def test_training_step_compiles_with_xla():
    """`jit_compile` training: e.g. a nearest-neighbour resize has no XLA gradient."""
    c = small(spectral_norm=True, minibatch_std=2)
    generator, discriminator = models.build_generator(c), models.build_discriminator(c)
    variables = generator.trainable_variables + discriminator.trainable_variables

    @tf.function(jit_compile=True)
    def gradients(z):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(discriminator(generator(z, training=True), training=True))
        return tape.gradient(loss, variables)

    assert all(np.all(np.isfinite(g)) for g in gradients(tf.random.normal([4, 8])))
