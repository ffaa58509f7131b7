"""The mode-collapse counter-measures of the noise-to-sample game: unrolled
discriminator updates (Metz et al. 2016), PacGAN packing (Lin et al. 2018)
and minibatch discrimination (Salimans et al. 2016)."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from kgan.tasks.adversarial import LatentGAN, pack_samples
from kgan.tasks.points import PointGAN
from kgan.training import build_task, resolve, train

LEARNING_RATES = {"g": 0.5, "d": 0.3}


def linear_game(unrolled_steps):
    """D(x) = w x + b and G(z) = a z + c on 1-D samples, both trained by SGD."""
    generator = keras.Sequential([keras.layers.Dense(1)])
    generator.build((None, 1))
    discriminator = keras.Sequential([keras.layers.Dense(1)])
    discriminator.build((None, 1))
    generator.set_weights([np.array([[0.8]], np.float32), np.array([0.3], np.float32)])
    discriminator.set_weights([np.array([[-0.6]], np.float32), np.array([0.2], np.float32)])
    task = LatentGAN(generator, discriminator, latent_dim=1, unrolled_steps=unrolled_steps)
    task.compile(optimizers={player: keras.optimizers.SGD(rate)
                             for player, rate in LEARNING_RATES.items()})
    return task


def hand_unrolled_generator_gradient(real, latents, k):
    """d/d(a, c) of the non-saturating generator loss after k SGD steps of D,
    written out with scalars: no Keras, no kgan."""
    a, c = tf.Variable(0.8), tf.Variable(0.3)
    with tf.GradientTape() as outer:
        fake = a * latents + c
        w, b = tf.constant(-0.6), tf.constant(0.2)
        for _ in range(k):
            with tf.GradientTape() as inner:
                inner.watch([w, b])
                d_loss = (tf.reduce_mean(tf.nn.softplus(-(w * real + b)))
                          + tf.reduce_mean(tf.nn.softplus(w * fake + b)))
            dw, db = inner.gradient(d_loss, [w, b])
            w, b = w - LEARNING_RATES["d"] * dw, b - LEARNING_RATES["d"] * db
        g_loss = tf.reduce_mean(tf.nn.softplus(-(w * fake + b)))
    return [float(g) for g in outer.gradient(g_loss, [a, c])]


@pytest.mark.parametrize("k", [1, 3])
def test_the_generator_update_goes_through_k_discriminator_updates(k):
    task = linear_game(k)
    real = tf.constant([[1.5], [2.0], [-0.5], [1.0]])
    latents = task.sample_latents(4, task.d_steps)
    d_before = [w.copy() for w in task.discriminator.get_weights()]
    task.generator_step(4, real=real)
    expected = hand_unrolled_generator_gradient(real, latents, k)
    a, c = (float(np.ravel(w)[0]) for w in task.generator.get_weights())
    assert a == pytest.approx(0.8 - LEARNING_RATES["g"] * expected[0], abs=1e-6)
    assert c == pytest.approx(0.3 - LEARNING_RATES["g"] * expected[1], abs=1e-6)
    # Only the generator moved: the unrolled updates are never applied.
    for before, after in zip(d_before, task.discriminator.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert int(task.d_optimizer.iterations.numpy()) == 0
    # ... and unrolling changed the update (the control: k = 0).
    plain = hand_unrolled_generator_gradient(real, latents, 0)
    assert abs(expected[0] - plain[0]) > 1e-3


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    return Config(task="points", data=DataConfig(dataset="ring8"),
                  model=ModelConfig(architecture="mlp", latent_dim=2, hidden_units=(16, 16)),
                  train=TrainConfig(batch_size=16, steps=4, log_every=2, sample_every=100,
                                    checkpoint_every=4, num_samples=16, deterministic=True))


def with_options(config, model=None, **train_changes):
    return dataclasses.replace(
        config, model=dataclasses.replace(config.model, **(model or {})),
        train=dataclasses.replace(config.train, **train_changes))


def test_an_unrolled_run_trains_under_fit_and_applies_only_real_updates(ring, tmp_path):
    config = with_options(ring, unrolled_steps=3)
    result = train(config, str(tmp_path / "run"), stream=open("/dev/null", "w"))
    assert result.step == 4 and result.train_step_traces == 1
    task = build_task(resolve(config))
    loaded = checkpoints.make_checkpoint(task.checkpoint_items())
    loaded.restore(result.checkpoint).expect_partial()
    assert int(task.d_optimizer.iterations.numpy()) == 4  # one real D update a step


def test_unrolling_leaves_batch_norm_statistics_alone(mnist_tfds_dir):
    config = resolve(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                            model=ModelConfig(latent_dim=8, base_filters=4),
                            train=TrainConfig(batch_size=4, unrolled_steps=2)))
    task = build_task(config)
    statistics = [v.numpy().copy() for v in task.discriminator.non_trainable_variables]
    assert statistics  # DCGAN's BatchNorm
    task.generator_step(4, real=tf.random.uniform([4, 28, 28, 1], -1, 1))
    for before, variable in zip(statistics, task.discriminator.non_trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())


def test_pack_concatenates_consecutive_samples_along_the_last_axis():
    points = tf.constant([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]])
    np.testing.assert_array_equal(pack_samples(points, 2).numpy(),
                                  [[0, 1, 2, 3], [4, 5, 6, 7]])  # the odd row is left out
    images = tf.reshape(tf.range(2 * 2 * 2 * 1, dtype=tf.float32), [2, 2, 2, 1])
    packed = pack_samples(images, 2).numpy()
    assert packed.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(packed[0, :, :, 0], images[0, :, :, 0])
    np.testing.assert_array_equal(packed[0, :, :, 1], images[1, :, :, 0])
    assert pack_samples(images, 1) is images


def test_a_packed_discriminator_judges_groups(ring):
    task = build_task(resolve(with_options(ring, model={"pack": 4})))
    assert task.discriminator.body.layers[0].kernel.shape == (8, 16)  # 4 points of 2
    assert task.discriminate(tf.zeros([16, 2])).shape == (4, 1)
    losses = task.train_step({"points": tf.random.normal([16, 2])})
    assert np.isfinite(float(losses["d_loss"])) and np.isfinite(float(losses["g_loss"]))


def test_a_packed_image_discriminator_takes_pack_times_the_channels(mnist_tfds_dir):
    config = resolve(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                            model=ModelConfig(latent_dim=8, base_filters=4, pack=2),
                            train=TrainConfig(batch_size=4)))
    task = build_task(config)
    assert task.discriminator.body.layers[0].kernel.shape[2] == 2  # 2 images of 1 channel
    assert task.discriminate(tf.zeros([4, 28, 28, 1])).shape == (2, 1)


def test_minibatch_discrimination_is_part_of_the_points_discriminator(ring):
    task = build_task(resolve(with_options(ring, model={"minibatch_discrimination": 6,
                                                        "minibatch_kernel_dim": 3})))
    names = [v.path for v in task.discriminator.trainable_variables]
    assert any("minibatch_discrimination/projection" in name for name in names)
    # The logit reads the 16 hidden features and the 6 comparisons.
    assert task.discriminator.logit.kernel.shape == (16 + 6, 1)
    losses = task.train_step({"points": tf.random.normal([16, 2])})
    assert np.isfinite(float(losses["d_loss"]))


@pytest.mark.parametrize("model, train_changes, message", [
    ({"pack": 3}, {}, "train.batch_size=16 must be a multiple of it"),
    ({}, {"unrolled_steps": 2, "mixed_precision": "mixed_float16"},
     "float16 loss scaling does not cover"),
    ({"spectral_norm": True}, {}, "task points' MLP discriminator has no model.spectral_norm"),
])
def test_options_that_cannot_train_are_refused(ring, model, train_changes, message):
    with pytest.raises(ConfigError, match=message):
        resolve(with_options(ring, model=model, **train_changes))


def test_unrolling_refuses_augmentation(mnist_tfds_dir):
    with pytest.raises(ConfigError, match="unrolls the discriminator on unaugmented samples"):
        resolve(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                       train=TrainConfig(unrolled_steps=2, augment=("translation",))))


def test_pack_needs_an_unconditional_model():
    with pytest.raises(ConfigError, match="model.pack packs samples of different labels"):
        ModelConfig(pack=2, conditional=True)


def test_the_options_survive_serialization(ring):
    task = build_task(resolve(with_options(ring, model={"pack": 2}, unrolled_steps=5)))
    config = task.get_config()
    assert (config["unrolled_steps"], config["pack"]) == (5, 2)
    rebuilt = PointGAN.from_config(config)
    assert (rebuilt.unrolled_steps, rebuilt.pack) == (5, 2)
