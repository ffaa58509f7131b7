"""pix2pix's U-Net and PatchGAN and CycleGAN's ResNet generator (kgan.models.translation)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as tflite_schema

import kgan  # noqa: F401  (load_model resolves the registered "kgan>" classes)
from kgan.export.tflite import interpreter, operator_names
from kgan.models.translation import (PatchDiscriminator, ResidualBlock, ResnetTranslator,
                                     UNetGenerator, _upconv, patch_receptive_field)

# Measured with count_params() on the built networks, and pinned so that an
# architecture change is a deliberate, visible decision. Convolutions
# followed by instance norm have no bias; the norms have a scale and an
# offset per channel.
PAPER_PARAMETER_COUNTS = {
    # pix2pix colorization (1 -> 3 channels), base 64, dropout 0.5.
    "unet 64x64": (lambda: UNetGenerator(1, 3, image_size=64), (64, 1), 29_242_563),
    "unet 128x128": (lambda: UNetGenerator(1, 3, image_size=128), (128, 1), 41_827_523),
    # pix2pix's conditional PatchGAN sees the grayscale input beside the colour image.
    "patchgan 70x70, 1+3 channels": (lambda: PatchDiscriminator(4), (64, 4), 2_766_657),
    "patchgan 70x70, 3 channels": (lambda: PatchDiscriminator(3), (64, 3), 2_765_633),
    "resnet 6 blocks": (lambda: ResnetTranslator(3, 3, blocks=6), (128, 3), 7_841_411),
    "resnet 9 blocks": (lambda: ResnetTranslator(3, 3, blocks=9), (128, 3), 11_383_427),
}

# Names of TFLite's builtin operators; a Flex or custom op reports its own name instead.
BUILTIN_OPS = {name for name in vars(tflite_schema.BuiltinOperator) if name.isupper()} - {
    "CUSTOM", "DELEGATE"}


def images(batch, size, channels, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype(
        np.float32)


def small_unet(size=32, dropout=0.5, input_channels=1, upsampling="transpose"):
    network = UNetGenerator(input_channels, 3, image_size=size, base_filters=4, dropout=dropout,
                            upsampling=upsampling)
    network.build((None, size, size, input_channels))
    return network


def small_resnet(size=32, upsampling="transpose"):
    network = ResnetTranslator(3, 3, base_filters=4, blocks=2, upsampling=upsampling)
    network.build((None, size, size, 3))
    return network


def small_patchgan(size=32, patch_layers=3, input_channels=4):
    network = PatchDiscriminator(input_channels, base_filters=4, patch_layers=patch_layers)
    network.build((None, size, size, input_channels))
    return network


def small_networks():
    """(network, its input images) of each family, at 32x32."""
    return [(small_unet(), images(3, 32, 1)), (small_resnet(), images(3, 32, 3)),
            (small_patchgan(), images(3, 32, 4)),
            (small_unet(upsampling="resize"), images(3, 32, 1)),
            (small_resnet(upsampling="resize"), images(3, 32, 3))]


@pytest.mark.parametrize("name", list(PAPER_PARAMETER_COUNTS))
def test_paper_configurations_have_the_pinned_sizes_and_dcgan_initialization(name):
    make, (size, channels), count = PAPER_PARAMETER_COUNTS[name]
    network = make()
    network.build((None, size, size, channels))
    assert network.count_params() == count
    kernels = [w for w in network.weights if w.path.endswith("kernel")]
    assert kernels and all(w.shape.rank == 4 for w in kernels)
    for kernel in kernels:
        values = kernel.numpy()
        if values.size >= 8192:  # large enough for a tight estimate of the spread
            assert abs(values.std() - 0.02) < 0.001 and abs(values.mean()) < 0.001, kernel.path


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_output_shapes_at_every_size(size):
    x = images(2, size, 1)
    assert small_unet(size)(x, training=False).shape == (2, size, size, 3)
    assert small_resnet(size)(images(2, size, 3), training=False).shape == (2, size, size, 3)
    for patch_layers in (2, 3):
        logits = small_patchgan(size, patch_layers)(images(2, size, 4), training=False)
        assert logits.shape == (2, size // 2 ** patch_layers, size // 2 ** patch_layers, 1)
        assert logits.dtype == tf.float32
        # Raw logits: not squashed into (0, 1) by a sigmoid.
        assert np.min(logits) < 0 < np.max(logits)


def test_a_network_builds_only_for_its_input_shape():
    with pytest.raises(ValueError, match="32, 32, 1"):
        UNetGenerator(1, image_size=32, base_filters=4).build((None, 64, 64, 1))
    with pytest.raises(ValueError, match="3] images"):
        ResnetTranslator(3, base_filters=4).build((None, 32, 32, 1))
    with pytest.raises(ValueError, match="power of two"):
        UNetGenerator(1, image_size=48)


@pytest.mark.parametrize("make", [small_unet, small_resnet])
def test_outputs_are_the_tanh_of_pre_tanh(make):
    network = make()
    x = images(3, 32, network.input_channels)
    # Larger output weights push the pre-tanh activations well past +-1.
    output_conv = network.body.layers[-1]
    output_conv.kernel.assign(output_conv.kernel * 50.0)
    pre_tanh = network.pre_tanh(x, training=False)
    outputs = network(x, training=False)
    assert pre_tanh.dtype == tf.float32 and outputs.dtype == tf.float32
    assert np.max(np.abs(pre_tanh)) > 2.0
    assert np.all(np.abs(outputs) <= 1.0)
    np.testing.assert_allclose(np.tanh(pre_tanh), outputs, atol=1e-6)


def test_unet_encodes_down_to_one_pixel_and_concatenates_each_encoder_stage():
    network = small_unet(64)
    body = network.body
    sides = [body.get_layer(f"encoder{stage}_act").output.shape[1] for stage in range(1, 7)]
    assert sides == [32, 16, 8, 4, 2, 1]
    for stage in range(1, 6):
        mirrored = body.get_layer(f"encoder{6 - stage}_act").output
        skip = body.get_layer(f"decoder{stage}_skip").output
        assert skip.shape[1:] == (mirrored.shape[1], mirrored.shape[2], 2 * mirrored.shape[3])
    # Innermost (1x1) and first stages have no normalization.
    norms = [layer.name for layer in body.layers
             if isinstance(layer, keras.layers.GroupNormalization)]
    assert [n for n in norms if n.startswith("encoder")] == [f"encoder{s}_norm"
                                                             for s in range(2, 6)]


def test_unet_skips_carry_the_input_past_a_cut_bottleneck():
    network = small_unet(32, dropout=0.0)
    innermost = network.body.get_layer("encoder5_conv")
    innermost.kernel.assign(tf.zeros_like(innermost.kernel))
    a, b = images(1, 32, 1, seed=1), images(1, 32, 1, seed=2)
    bottleneck = keras.Model(network.body.input, network.body.get_layer("encoder5_act").output)
    np.testing.assert_array_equal(bottleneck(a), bottleneck(b))
    difference = np.abs(network(a, training=False) - network(b, training=False))
    assert difference.max() > 1e-3


def test_unet_dropout_acts_in_the_three_innermost_decoder_stages_only_in_training():
    network = small_unet(32, dropout=0.5)
    dropouts = [layer.name for layer in network.body.layers
                if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == ["decoder1_dropout", "decoder2_dropout", "decoder3_dropout"]
    x = images(2, 32, 1)
    np.testing.assert_array_equal(network(x, training=False), network(x, training=False))
    np.testing.assert_array_equal(network(x), network(x, training=False))
    assert np.abs(network(x, training=True) - network(x, training=True)).max() > 1e-4

    deterministic = small_unet(32, dropout=0.0)
    assert not [layer for layer in deterministic.body.layers
                if isinstance(layer, keras.layers.Dropout)]
    np.testing.assert_allclose(deterministic(x, training=True), deterministic(x, training=True),
                               atol=1e-6)


@pytest.mark.parametrize("training", [False, True])
def test_an_example_output_does_not_depend_on_its_batch(training):
    for network, x in small_networks():
        if isinstance(network, UNetGenerator) and training:
            continue  # dropout draws differ between the two calls
        together = network(x, training=training)
        for i in range(len(x)):
            np.testing.assert_allclose(together[i:i + 1], network(x[i:i + 1], training=training),
                                       atol=1e-5, err_msg=type(network).__name__)


def test_normalization_is_per_example_per_channel_over_height_and_width():
    network = small_resnet()
    norm = next(layer for layer in network.body.layers
                if isinstance(layer, keras.layers.GroupNormalization))
    channels = norm.gamma.shape[0]
    assert norm.groups == channels  # groups=-1 became one group per channel
    rng = np.random.default_rng(0)
    norm.gamma.assign(rng.normal(1.0, 0.5, channels))
    norm.beta.assign(rng.normal(0.0, 0.5, channels))
    x = rng.normal(3.0, 2.0, (2, 8, 8, channels)).astype(np.float32)
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * norm.gamma.numpy() + norm.beta.numpy()
    np.testing.assert_allclose(norm(x), expected, atol=1e-4)


def test_resnet_translator_has_its_residual_blocks_and_reflection_pads():
    network = ResnetTranslator(3, 3, base_filters=4, blocks=5)
    network.build((None, 32, 32, 3))
    blocks = [layer for layer in network.body.layers if isinstance(layer, ResidualBlock)]
    assert len(blocks) == 5 and all(block.filters == 16 for block in blocks)
    # The residual branch is added to the input: with the branch's last
    # convolution zeroed (and its norm's offset at 0), the block is the identity.
    x = images(2, 8, 16)
    assert np.abs(blocks[0](x) - x).max() > 0.1
    blocks[0].conv2.kernel.assign(tf.zeros_like(blocks[0].conv2.kernel))
    np.testing.assert_allclose(blocks[0](x), x, atol=1e-6)
    pad = network.body.layers[0]
    row = np.arange(5, dtype=np.float32).reshape(1, 1, 5, 1)
    np.testing.assert_array_equal(pad(np.repeat(row, 5, axis=1))[0, 3, :, 0],
                                  [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1])


def _window_start(logit_index, patch_layers):
    """First input row of a PatchGAN logit's receptive field. Every "same"
    convolution pads 1 pixel before: each stride-1 layer moves the window
    start back by 1, each stride-2 one maps start s to 2 s - 1."""
    start = logit_index - 2
    for _ in range(patch_layers):
        start = 2 * start - 1
    return start


@pytest.mark.parametrize("patch_layers, size, receptive_field", [(3, 128, 70), (2, 64, 34)])
def test_patchgan_logit_sees_a_window_of_its_receptive_field(patch_layers, size,
                                                             receptive_field):
    """Through the convolutions alone: instance norm also passes each
    image's mean and variance to every logit, which would make every input
    pixel reach it."""
    network = small_patchgan(size, patch_layers, input_channels=3)
    assert patch_receptive_field(patch_layers) == receptive_field
    convolutional = [layer for layer in network.body.layers
                     if not isinstance(layer, keras.layers.GroupNormalization)]
    x = tf.constant(images(1, size, 3))
    center = size // 2 ** patch_layers // 2
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for layer in convolutional:
            h = layer(h)
        logit = h[0, center, center, 0]
    reach = np.abs(tape.gradient(logit, x)[0]).sum(axis=-1) > 0
    rows, cols = np.flatnonzero(reach.any(axis=1)), np.flatnonzero(reach.any(axis=0))
    start = _window_start(center, patch_layers)
    window = slice(start, start + receptive_field)
    assert 0 < start and start + receptive_field < size  # the window is not clipped
    np.testing.assert_array_equal(rows, np.arange(size)[window])
    np.testing.assert_array_equal(cols, np.arange(size)[window])
    assert reach[window, window].all()


def test_mixed_bfloat16_networks_run_and_give_float32_outputs():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        for network, x in small_networks():
            assert network.compute_dtype == "bfloat16"
            for training in (False, True):
                outputs = network(x, training=training)
                assert outputs.dtype == tf.float32 and np.all(np.isfinite(outputs))
            if not isinstance(network, PatchDiscriminator):
                assert network.pre_tanh(x).dtype == tf.float32
                assert np.all(np.abs(outputs) <= 1.0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert keras.config.dtype_policy().name == "float32"


def test_config_save_and_load_round_trips_give_identical_outputs(tmp_path):
    for network, x in small_networks():
        expected = network(x, training=False)
        clone = type(network).from_config(network.get_config())
        assert clone.get_config() == network.get_config()
        clone.build(x.shape)
        clone.set_weights(network.get_weights())
        np.testing.assert_array_equal(clone(x, training=False), expected)

        path = str(tmp_path / f"{network.name}.keras")
        network.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        assert type(loaded) is type(network)
        np.testing.assert_array_equal(loaded(x, training=False), expected)


def test_checkpoint_holds_and_restores_every_variable(tmp_path):
    for (network, x), (fresh, _) in zip(small_networks(), small_networks()):
        name = type(network).__name__
        path = tf.train.Checkpoint(network=network).save(str(tmp_path / name))
        saved = [n for n, _ in tf.train.list_variables(path) if n.startswith("network/")]
        assert len(saved) == len(network.weights), name
        assert not np.allclose(fresh(x, training=False), network(x, training=False))
        tf.train.Checkpoint(network=fresh).restore(path).assert_existing_objects_matched()
        np.testing.assert_array_equal(fresh(x, training=False), network(x, training=False))


@pytest.mark.parametrize("make, channels, expected_ops", [
    (lambda: UNetGenerator(1, 3, image_size=64, base_filters=8), 1,
     {"CONV_2D", "TRANSPOSE_CONV", "CONCATENATION", "LEAKY_RELU", "TANH"}),
    (lambda: ResnetTranslator(3, 3, base_filters=8, blocks=2), 3,
     {"MIRROR_PAD", "CONV_2D", "TRANSPOSE_CONV", "ADD", "TANH"}),
    (lambda: PatchDiscriminator(4, base_filters=8), 4, {"CONV_2D", "LEAKY_RELU"}),
    (lambda: UNetGenerator(1, 3, image_size=64, base_filters=8, upsampling="resize"), 1,
     {"CONV_2D", "TILE", "CONCATENATION", "TANH"}),
    (lambda: ResnetTranslator(3, 3, base_filters=8, blocks=2, upsampling="resize"), 3,
     {"MIRROR_PAD", "CONV_2D", "TILE", "ADD", "TANH"}),
], ids=["unet", "resnet", "patchgan", "unet-resize", "resnet-resize"])
def test_converts_to_builtin_tflite_ops_and_matches_keras(tmp_path, make, channels,
                                                          expected_ops):
    keras.utils.set_random_seed(1)
    network = make()
    network.build((None, 64, 64, channels))
    for norm in network._flatten_layers():  # scales and offsets away from 1 and 0
        if isinstance(norm, keras.layers.GroupNormalization):
            norm.gamma.assign(np.random.uniform(0.5, 1.5, norm.gamma.shape))
            norm.beta.assign(np.random.uniform(-0.5, 0.5, norm.beta.shape))
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint("serving_default", lambda x: {"outputs": network(x, training=False)},
                         input_signature=[tf.TensorSpec([1, 64, 64, channels], tf.float32,
                                                        name="x")])
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    model_path = tmp_path / "network.tflite"
    model_path.write_bytes(converter.convert())

    ops = operator_names(str(model_path))
    assert ops <= BUILTIN_OPS, ops - BUILTIN_OPS
    assert expected_ops <= ops, expected_ops - ops
    x = images(1, 64, channels)
    outputs = interpreter(str(model_path)).get_signature_runner("serving_default")(x=x)["outputs"]
    np.testing.assert_allclose(outputs, network(x, training=False), atol=1e-3)


@pytest.mark.parametrize("kernel_size", [3, 4])
def test_resize_upsampling_spreads_a_flat_map_evenly_where_transpose_makes_a_checkerboard(
        kernel_size):
    flat = np.ones((1, 8, 8, 1), np.float32)
    interior = (slice(None), slice(2, -2), slice(2, -2))

    def upsampled(upsampling):
        layer = _upconv(1, kernel_size, upsampling)
        layer.build(flat.shape)
        for weight in layer.weights:
            weight.assign(np.ones(weight.shape))
        return np.asarray(layer(flat))[interior]

    resized = upsampled("resize")
    assert resized.shape == (1, 12, 12, 1)
    np.testing.assert_array_equal(resized, 9.0)
    transposed = upsampled("transpose")
    if kernel_size % 2:  # 3x3 at stride 2: pixels get 1, 2 or 4 taps
        assert set(np.unique(transposed)) == {1.0, 2.0, 4.0}
    else:  # 4x4 at stride 2 overlaps evenly on a flat map
        np.testing.assert_array_equal(transposed, 4.0)


def test_unknown_upsampling_is_refused_by_name():
    with pytest.raises(ValueError, match="'bilinear'"):
        UNetGenerator(1, 3, image_size=16, upsampling="bilinear")
    with pytest.raises(ValueError, match="'bilinear'"):
        ResnetTranslator(3, 3, upsampling="bilinear")
