"""SRResNet and SRGAN's discriminator: shapes, the bilinear start, serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan  # noqa: F401  (registers the kgan layers for loading)
from kgan.models.super_resolution import SRDiscriminator, SRResNet


def _faces(shape, seed=0):
    return tf.random.stateless_uniform(shape, seed=[seed, 1], minval=-1.0, maxval=1.0)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_a_new_srresnet_is_bilinear_upsampling_at_any_size(scale):
    network = SRResNet(scale, base_filters=4, blocks=1)
    network.build((None, None, None, 3))
    low = _faces([2, 7, 5, 3])
    high = network(low).numpy()
    assert high.shape == (2, 7 * scale, 5 * scale, 3)
    bilinear = tf.image.resize(low, [7 * scale, 5 * scale], method="bilinear").numpy()
    np.testing.assert_allclose(high, bilinear, atol=1.1e-3)
    np.testing.assert_allclose(np.tanh(network.pre_tanh(low).numpy()), high, atol=1e-6)


def test_srresnet_learns_detail_once_its_last_convolution_moves():
    network = SRResNet(2, base_filters=4, blocks=1)
    network.build((None, None, None, 3))
    last = network.tail.layers[-2]
    last.kernel.assign(tf.random.stateless_normal(last.kernel.shape, seed=[3, 4]) * 0.1)
    low = _faces([1, 6, 6, 3])
    bilinear = tf.image.resize(low, [12, 12], method="bilinear").numpy()
    assert np.abs(network(low).numpy() - bilinear).max() > 0.01


def test_srresnet_survives_a_keras_file_round_trip(tmp_path):
    network = SRResNet(4, base_filters=4, blocks=2, name="generator")
    network.build((None, None, None, 3))
    network.tail.layers[-2].kernel.assign(tf.fill(network.tail.layers[-2].kernel.shape, 0.01))
    path = str(tmp_path / "generator.keras")
    network.save(path)
    again = keras.models.load_model(path, safe_mode=True)
    assert (again.scale, again.base_filters, again.blocks) == (4, 4, 2)
    low = _faces([1, 9, 4, 3], seed=5)
    np.testing.assert_allclose(again(low).numpy(), network(low).numpy(), atol=1e-6)


def test_srresnet_refuses_other_scales_and_channels():
    with pytest.raises(ValueError, match="scale must be one of"):
        SRResNet(3)
    with pytest.raises(ValueError, match=r"\[batch, height, width, 3\]"):
        SRResNet(2).build((None, 8, 8, 1))


def test_the_discriminator_gives_one_float32_logit_per_crop():
    discriminator = SRDiscriminator(32, base_filters=4)
    discriminator.build((None, 32, 32, 3))
    logits = discriminator(_faces([3, 32, 32, 3]), training=False)
    assert logits.shape == (3, 1) and logits.dtype == tf.float32
    # Four stride-2 stages: 32 -> 2, flattened 2 x 2 x 8 base into 16 base units.
    assert discriminator.body.layers[-3].kernel.shape == (2 * 2 * 8 * 4, 16 * 4)


def test_the_discriminator_refuses_crops_it_was_not_built_for():
    with pytest.raises(ValueError, match="multiple of 16"):
        SRDiscriminator(40)
    with pytest.raises(ValueError, match=r"\[batch, 32, 32, 3\] crops"):
        SRDiscriminator(32).build((None, 48, 48, 3))
