"""The noise-to-image task's update rules (kgan.tasks.gan), on tiny networks and tiny data."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import data
from kgan.config import Config, ModelConfig, TrainConfig
from kgan.training import build_task
from tests.conftest import tiny_dataset

TINY = Config(model=ModelConfig(latent_dim=8, base_filters=8, hidden_units=(32,),
                                image_shape=(28, 28, 1)),
              train=TrainConfig(batch_size=4))


def tiny_gan(architecture="dcgan", **train_changes):
    return build_task(dataclasses.replace(
        TINY, model=dataclasses.replace(TINY.model, architecture=architecture),
        train=dataclasses.replace(TINY.train, **train_changes)))


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def real_batch(size=4):
    return next(iter(data.training_batches(tiny_dataset(10), size, seed=0)))["image"]


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
def test_discriminator_step_updates_only_the_discriminator(architecture):
    gan = tiny_gan(architecture)
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)
    gan.discriminator_step(real_batch())
    assert all(changed(d_before, gan.discriminator.trainable_variables))
    assert not any(changed(g_before, gan.generator.trainable_variables))
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 0


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
def test_generator_step_updates_only_the_generator(architecture):
    gan = tiny_gan(architecture)
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)
    gan.generator_step(4)
    assert all(changed(g_before, gan.generator.trainable_variables))
    assert not any(changed(d_before, gan.discriminator.trainable_variables))
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == 0


def test_discriminator_alone_learns_a_fixed_batch():
    keras.utils.set_random_seed(0)  # weights drawn independently of the tests run before
    gan = tiny_gan()
    real = real_batch(8)
    step = tf.function(lambda images: gan.discriminator_step(images)[0])
    losses = [float(step(real)) for _ in range(80)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_fit_traces_the_step_once_including_partial_batches():
    gan = tiny_gan()
    stream = data.training_batches(tiny_dataset(10), 4, seed=0)  # batches of 4, 4, 2, ...
    gan.fit(stream, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    traces = gan.train_step_traces
    history = gan.fit(stream, epochs=1, steps_per_epoch=25, verbose=0, shuffle=False)
    assert traces == 1
    assert gan.train_step_traces == traces
    assert int(gan.g_optimizer.iterations) == 28
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "d_gap", "nonfinite_steps"}
    assert 0.0 <= logs["d_real"] <= 1.0 and 0.0 <= logs["d_fake"] <= 1.0
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["nonfinite_steps"] == 0.0


def test_nonfinite_steps_are_counted():
    gan = tiny_gan()
    gan.d_optimizer.learning_rate = 1e20  # overflows the discriminator within a step
    history = gan.fit(data.training_batches(tiny_dataset(10), 4, seed=0), epochs=1,
                      steps_per_epoch=3, verbose=0, shuffle=False)
    assert history.history["nonfinite_steps"][-1] >= 2.0


def test_k_discriminator_updates_per_generator_update():
    gan = tiny_gan(d_steps=3)
    # 30 examples give batches of 12, 12 and 6, each split into three discriminator minibatches.
    stream = data.training_batches(tiny_dataset(30), 12, seed=0, min_batch_size=3)
    gan.fit(stream, epochs=1, steps_per_epoch=5, verbose=0, shuffle=False)
    assert int(gan.g_optimizer.iterations) == 5
    assert int(gan.d_optimizer.iterations) == 15


def test_batch_smaller_than_d_steps_is_refused():
    gan = tiny_gan(d_steps=3)
    two_images = tf.data.Dataset.from_tensors({"image": real_batch(2)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least d_steps=3 examples"):
        gan.fit(two_images, epochs=1, verbose=0, shuffle=False)


def test_latents_are_seeded_and_fresh_for_every_update_and_step():
    a, b = tiny_gan(d_steps=2), tiny_gan(d_steps=2)
    first_a, first_b = a.sample_latents(4), b.sample_latents(4)
    np.testing.assert_array_equal(first_a, first_b)
    assert first_a.shape == (4, 8)
    draws = [a.sample_latents(4, update) for update in range(3)]
    a.step_counter.assign_add(1)
    draws += [a.sample_latents(4, update) for update in range(3)]
    assert len({d.numpy().tobytes() for d in draws}) == 6
    # A differently seeded GAN draws other latents.
    other = build_task(dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, seed=1)))
    assert not np.array_equal(other.sample_latents(4), first_a)


def test_separate_optimizer_settings_per_player():
    gan = tiny_gan(g_learning_rate=1e-3, d_learning_rate=4e-4, g_beta1=0.3, d_beta1=0.6)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert gan.g_optimizer.beta_1 == 0.3 and gan.d_optimizer.beta_1 == 0.6


def tiny_conditional_gan(d_steps=1):
    config = data.resolve(dataclasses.replace(
        TINY, model=dataclasses.replace(TINY.model, conditional=True, label_embedding_dim=4),
        train=dataclasses.replace(TINY.train, d_steps=d_steps)))
    return build_task(config)


@pytest.mark.parametrize("d_steps", [1, 2])
def test_conditional_train_step_uses_the_labels(d_steps):
    gan = tiny_conditional_gan(d_steps)
    assert gan.conditional
    stream = data.training_batches(tiny_dataset(12), 4 * d_steps, seed=0, with_labels=True)
    projection = gan.discriminator.label_projection.kernel
    embedding = gan.generator.label_embedding.kernel
    before = projection.numpy().copy(), embedding.numpy().copy()
    gan.fit(stream, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2 * d_steps
    # Both players' label weights learned: the labels reached both networks' losses.
    assert not np.array_equal(before[0], projection.numpy())
    assert not np.array_equal(before[1], embedding.numpy())


def test_conditional_step_refuses_labels_of_the_wrong_width():
    gan = tiny_conditional_gan()
    batch = next(iter(data.training_batches(tiny_dataset(10), 4, seed=0, with_labels=True)))
    images, labels = batch["image"], batch["label"]
    _, outputs = gan.discriminator_step(images, labels)
    assert outputs.real_logits.shape == outputs.fake_logits.shape == (4, 1)
    assert outputs.labels is labels and outputs.real_inputs is images
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        gan.discriminator_step(images, labels[:, :3])


@pytest.mark.parametrize("reuse_fakes, d_steps, generator_passes", [
    (False, 1, 2), (True, 1, 1), (False, 2, 3), (True, 2, 2)])
def test_reusing_fakes_saves_one_generator_pass(reuse_fakes, d_steps, generator_passes):
    gan = tiny_gan(d_steps=d_steps, reuse_fakes=reuse_fakes)
    calls = []
    original_call = gan.generator.call
    gan.generator.call = lambda *args, **kwargs: calls.append(1) or original_call(*args, **kwargs)
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)
    stream = data.training_batches(tiny_dataset(16), 4 * d_steps, seed=0)
    gan.fit(stream, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert len(calls) == generator_passes  # traced once: the passes of one step
    assert all(changed(g_before, gan.generator.trainable_variables))
    assert all(changed(d_before, gan.discriminator.trainable_variables))
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2 * d_steps


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_float32_variables_outputs_and_losses(policy):
    import keras

    gan = tiny_gan(mixed_precision=policy)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    compute = policy.removeprefix("mixed_")
    convolution = next(layer for layer in gan.generator.body.layers
                       if isinstance(layer, keras.layers.Conv2DTranspose))
    assert convolution.compute_dtype == compute and convolution.variable_dtype == "float32"
    assert all(v.dtype == "float32" for v in gan.generator.trainable_variables)
    # float16 needs loss scaling for both players; bfloat16 has float32's exponent range.
    scaled = isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    images = gan.generator(tf.random.normal([2, 8]), training=False)
    assert images.dtype == tf.float32
    assert gan.discriminator(images, training=False).dtype == tf.float32
    history = gan.fit(data.training_batches(tiny_dataset(16), 4, seed=0), epochs=1,
                      steps_per_epoch=3, verbose=0, shuffle=False)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(gan.step_counter.numpy()) == 3
