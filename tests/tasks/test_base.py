"""The base task's shared mechanics: weighted loss terms, lazy phases, checkpoint items."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.tasks.base import Phase, Task


class CountingTask(Task):
    """One player fitting a scalar to 3 with two loss terms, and a phase every 2 steps."""

    NAME = "counting"
    PLAYERS = {"p": ("net",)}
    METRICS = ("p_loss", "p_fit", "p_pull", "lazy_runs")

    def __init__(self, every=2):
        net = keras.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        net.build((None, 1))
        super().__init__({"net": net})
        self.every = every
        self.lazy = keras.Variable(0.0, trainable=False)

    def phases(self):
        def main(batch):
            x = batch["x"]
            with tf.GradientTape() as tape:
                y = self.net(x)
                terms = {"fit": tf.reduce_mean((y - 3.0) ** 2), "pull": tf.reduce_mean(y ** 2)}
                total, differentiated = self.player_loss("p", terms, tf.shape(x)[0])
            self.apply_update("p", tape, differentiated)
            return [total]

        def lazy(batch):
            self.lazy.assign_add(1.0)
            return [tf.constant(0.0)]

        return [Phase("main", main), Phase("lazy", lazy, every=self.every)]


def test_terms_are_weighted_summed_and_logged_each():
    task = CountingTask()
    task.compile(optimizers={"p": keras.optimizers.SGD(0.0)}, loss_weights={("p", "fit"): 0.5})
    batch = {"x": tf.ones([4, 1])}
    logs = task.train_step(batch)
    # y = 0: fit = 9 and pull = 0, logged unweighted; total = 0.5 * 9 + 0.
    assert float(logs["p_fit"]) == 9.0 and float(logs["p_pull"]) == 0.0
    assert float(logs["p_loss"]) == 4.5


def test_a_lazy_phase_runs_every_n_steps_under_fit():
    task = CountingTask(every=3)
    task.compile(optimizers={"p": keras.optimizers.SGD(0.01)})
    stream = tf.data.Dataset.from_tensors({"x": tf.ones([4, 1])}).repeat()
    task.fit(stream, steps_per_epoch=7, epochs=1, verbose=0)
    assert int(task.step_counter.numpy()) == 7
    assert float(task.lazy.numpy()) == 3.0  # steps 0, 3 and 6
    assert task.train_step_traces == 1


def test_checkpoint_items_name_networks_optimizers_and_step():
    task = CountingTask()
    task.compile(optimizers={"p": keras.optimizers.SGD(0.1)})
    assert set(task.checkpoint_items()) == {"net", "p_optimizer", "step"}


def test_noise_is_keyed_by_seed_and_key():
    task = CountingTask()
    a, b = task.noise(4, (3,), 7), task.noise(4, (3,), 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, task.noise(4, (3,), 8))
    assert a.shape == (4, 3)


def test_compile_arguments_are_keyword_only_and_checked():
    task = CountingTask()
    with pytest.raises(TypeError):
        task.compile({"p": keras.optimizers.SGD(0.1)})  # keras-io's positional style
    with pytest.raises(TypeError, match="takes no optimizer"):
        task.compile(optimizers={"p": keras.optimizers.SGD(0.1)}, optimizer="adam")
    with pytest.raises(ValueError, match="unknown player.*q"):
        task.compile(optimizers={"p": keras.optimizers.SGD(0.1), "q": keras.optimizers.SGD(0.1)})
    with pytest.raises(ValueError, match="no optimizer for player.*p"):
        task.compile(optimizers={})


def test_the_model_optimizer_is_every_players_and_has_no_single_rate():
    task = CountingTask()
    assert task.optimizer is None
    sgd = keras.optimizers.SGD(0.1)
    task.compile(optimizers={"p": sgd})
    assert task.optimizer.optimizers == [sgd]
    assert task.optimizer.iterations is task.step_counter
    with pytest.raises(AttributeError, match="one optimizer per player"):
        task.optimizer.learning_rate = 0.5
    assert not hasattr(task.optimizer, "learning_rate")


def test_a_keras_learning_rate_schedule_drives_the_players_optimizer():
    task = CountingTask()
    task.compile(optimizers={"p": keras.optimizers.SGD(0.1)})
    stream = tf.data.Dataset.from_tensors({"x": tf.ones([4, 1])}).repeat()
    history = task.fit(stream, steps_per_epoch=2, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.5)])
    assert float(task.optimizers["p"].learning_rate.numpy()) == pytest.approx(0.1 / 8)
    assert history.history[f"learning_rate_{task.optimizers['p'].name}"] == pytest.approx(
        [0.05, 0.025, 0.0125])
