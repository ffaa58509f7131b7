"""The modern recipe's options in the noise-to-sample game, one at a time.

Tiny MLP GANs on the real MNIST; numbers checked by hand where the option
is a formula (the weight average's decay, the loss weights, LeCam's anchors,
the adaptive augmentation probability).
"""

import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from kgan.training import build_task, distribute, resolve, train


@pytest.fixture(scope="module")
def base(mnist_tfds_dir):
    return Config(data=DataConfig(data_dir=mnist_tfds_dir),
                  model=ModelConfig(architecture="mlp", latent_dim=8, hidden_units=(16,)),
                  train=TrainConfig(batch_size=8, num_samples=4, steps=3, log_every=1,
                                    sample_every=100, checkpoint_every=3, deterministic=True))


def with_train(config, **changes):
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def with_model(config, **changes):
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **changes))


def batch(task, size=8, seed=0):
    images = np.random.default_rng(seed).uniform(-1, 1, (size, 28, 28, 1)).astype(np.float32)
    return {"image": tf.constant(images)}


def step(task, data):
    """One training step, eagerly; its logged values as floats."""
    return {name: float(np.asarray(value)) for name, value in task.train_step(data).items()}


# ----- the generator weight average -----

def test_average_update_is_the_exponential_moving_average(base):
    task = build_task(resolve(with_train(base, ema_half_life=1000)))
    average, source = task.generator_ema, task.generator
    for weight in average.weights:
        weight.assign(tf.zeros_like(weight))
    for weight in source.weights:
        weight.assign(tf.ones_like(weight))
    task.update_average(average, source, tf.constant(0.25))
    # average <- source + 0.25 * (average - source) = 1 - 0.25
    for weight in average.weights:
        np.testing.assert_allclose(weight.numpy(), 0.75)


def test_average_decay_has_the_half_life_in_images_and_the_ramp(base):
    task = build_task(resolve(with_train(base, ema_half_life=1000, ema_rampup=0.5)))
    # Step 0: at most 0.5 x 8 images shown -> half-life 4 images, decay 0.5 ** (8 / 4).
    assert float(task._ema_decay(tf.constant(8, tf.int64))) == pytest.approx(0.25)
    task.step_counter.assign(9999)  # 80,000 images shown: the ramp no longer binds
    assert float(task._ema_decay(tf.constant(8, tf.int64))) == pytest.approx(0.5 ** (8 / 1000))
    no_ramp = build_task(resolve(with_train(base, ema_half_life=1000, ema_rampup=0.0)))
    assert float(no_ramp._ema_decay(tf.constant(8, tf.int64))) == pytest.approx(0.5 ** 0.008)


def test_average_starts_as_the_generator_and_is_checkpointed(base):
    task = build_task(resolve(with_train(base, ema_half_life=1000)))
    for average, weight in zip(task.generator_ema.weights, task.generator.weights):
        np.testing.assert_array_equal(average.numpy(), weight.numpy())
    assert "generator_ema" in task.checkpoint_items()
    assert task.serving_spec().network == "generator_ema"
    task.serve_raw_weights = True
    assert task.serving_spec().network == "generator"


def test_loaders_serve_the_average_unless_raw_weights_are_asked(base, tmp_path):
    workdir = str(tmp_path / "run")
    train(with_train(base, ema_half_life=20, steps=6, checkpoint_every=6), workdir,
          stream=open(os.devnull, "w"))
    averaged = checkpoints.load_task(workdir)
    raw = checkpoints.load_task(workdir, raw_weights=True)
    assert averaged.spec.network == "generator_ema" and raw.spec.network == "generator"
    z = np.random.default_rng(0).standard_normal([4, 8]).astype(np.float32)
    from_average = np.asarray(averaged.generator(z, training=False))
    from_raw = np.asarray(raw.generator(z, training=False))
    assert not np.allclose(from_average, from_raw)
    # The averaged generator lags the raw one: it is not a copy of either end.
    fresh = tasks.task_of(averaged.config).build(averaged.config)
    assert not np.allclose(from_average, np.asarray(fresh.generator(z, training=False)))


# ----- regularizers -----

def test_eager_penalties_add_gamma_halves_to_the_discriminator_loss(base):
    config = resolve(with_train(base, r1_gamma=4.0, r2_gamma=2.0, lecam_weight=0.5))
    task = build_task(config)
    assert set(task.metric_names) >= {"d_adversarial", "d_r1", "d_r2", "d_lecam"}
    logs = step(task, batch(task))
    expected = (logs["d_adversarial"] + 2.0 * logs["d_r1"] + 1.0 * logs["d_r2"]
                + 0.5 * logs["d_lecam"])
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["d_r1"] > 0 and logs["d_r2"] > 0


def test_lazy_penalties_run_every_n_steps_weighted_by_n(base):
    config = resolve(with_train(base, r1_gamma=4.0, reg_every=3))
    task = build_task(config)
    assert task.loss_weights[("d", "r1")] == pytest.approx(2.0 * 3)
    logs = step(task, batch(task))  # step 0: due
    assert logs["d_r1"] > 0
    assert logs["d_loss"] == pytest.approx(logs["d_adversarial"] + 6.0 * logs["d_r1"], rel=1e-5)
    task.reset_metrics()
    logs = step(task, batch(task))  # step 1: not due, nothing computed or logged
    assert logs["d_r1"] == 0.0
    assert logs["d_loss"] == pytest.approx(logs["d_adversarial"], rel=1e-6)


def test_lecam_anchors_are_moving_averages_of_the_mean_logits(base):
    task = build_task(resolve(with_train(base, lecam_weight=0.1, lecam_decay=0.9)))
    real = batch(task)["image"]
    fakes = task.generate(task.sample_latents(8, 0))
    expected_real = float(tf.reduce_mean(task.discriminate(real, training=True)))
    task.discriminator_step(real, fakes=fakes)
    anchors = task.lecam_anchors.numpy()
    # The update reads the logits the step computed, before its own update.
    assert anchors[0] == pytest.approx(0.1 * expected_real, rel=1e-4, abs=1e-6)
    assert "lecam_anchors" in task.checkpoint_items()


def test_adaptive_augmentation_moves_the_probability_by_the_sign_heuristic(base):
    task = build_task(resolve(with_train(base, augment=("translation",), ada_target=0.6,
                                         ada_interval=2, ada_speed=1000)))
    assert float(task.augment_p.numpy()) == 0.0
    task.ada_signs.assign([8.0, 10.0])  # E[sign D(x)] = 0.8 > 0.6: overfitting, raise p
    task.step_counter.assign(1)  # the adjustment falls after step index 1 (interval 2)
    task._adjust_augmentation(tf.constant(8, tf.int64))
    assert float(task.augment_p.numpy()) == pytest.approx(2 * 8 / 1000)
    assert task.ada_signs.numpy().tolist() == [0.0, 0.0]
    task.ada_signs.assign([2.0, 10.0])  # 0.2 < 0.6: lower p
    task.step_counter.assign(2)  # not due: unchanged
    task._adjust_augmentation(tf.constant(8, tf.int64))
    assert float(task.augment_p.numpy()) == pytest.approx(0.016)
    task.step_counter.assign(3)
    task._adjust_augmentation(tf.constant(8, tf.int64))
    assert float(task.augment_p.numpy()) == pytest.approx(0.0)


def test_fixed_augmentation_probability_and_what_the_discriminator_sees(base):
    task = build_task(resolve(with_train(base, augment=("cutout",), augment_probability=1.0)))
    images = tf.ones([4, 28, 28, 1])
    seen = task.seen(images, 0, 1)
    zeroed = np.mean(seen.numpy() == 0.0, axis=(1, 2, 3))
    assert np.all(zeroed > 0) and np.all(zeroed <= 0.25)  # a (clipped) 14x14 square each
    plain = build_task(resolve(base))
    assert plain.seen(images, 0, 1) is images


def test_relativistic_generator_update_judges_real_samples(base):
    task = build_task(resolve(with_train(base, loss="relativistic")))
    real = batch(task)["image"]
    # The generator's loss is the mirror of D's: softplus(-(D(G(z)) - D(x))).
    loss = task.generator_step(8, real=real)
    assert np.isfinite(float(loss))
    logs = step(task, batch(task))
    # Critic logits are not probabilities: D(x) and D(G(z)) are not logged.
    assert "d_real" not in logs and "d_fake" not in logs and logs["d_gap"] != 0.0


@pytest.mark.parametrize("changes, message", [
    ({"train": {"loss": "wasserstein"}}, "needs a Lipschitz constraint"),
    ({"train": {"loss": "hinge", "label_smoothing": 0.1}}, "label_smoothing applies"),
    ({"train": {"ada_target": 0.6}}, "name them with train.augment"),
    ({"model": {"architecture": "dcgan"}, "train": {"r1_gamma": 1.0}},
     "model.d_normalization to layer or none"),
])
def test_recipes_that_cannot_train_are_refused(base, changes, message):
    config = with_train(with_model(base, **changes.get("model", {})), **changes.get("train", {}))
    with pytest.raises(ConfigError, match=message):
        resolve(config)


def test_wasserstein_with_a_gradient_penalty_trains(base):
    task = build_task(resolve(with_train(base, loss="wasserstein", gp_weight=10.0)))
    logs = step(task, batch(task))
    assert logs["d_gp"] > 0 and np.isfinite(logs["d_loss"])


def test_auto_precision_follows_the_hardware(base):
    resolved = resolve(with_train(base, mixed_precision="auto"))
    expected = "mixed_bfloat16" if distribute.native_bfloat16() else "float32"
    assert resolved.train.mixed_precision == expected
    assert resolve(with_train(base, mixed_precision="float32")).train.mixed_precision == "float32"


def test_bfloat16_penalties_and_average_stay_finite(base):
    config = resolve(with_train(base, mixed_precision="mixed_bfloat16", r1_gamma=1.0,
                                ema_half_life=100, loss="relativistic"))
    with distribute.precision_policy("mixed_bfloat16"):
        task = build_task(config)
    logs = step(task, batch(task))
    assert all(np.isfinite(v) for v in logs.values())
    assert all(w.dtype == "float32" for w in task.generator_ema.weights)
    keras.config.set_dtype_policy("float32")
