"""Optimizer updates written as pure functions of tensors.

An unrolled GAN (Metz et al. 2016, "Unrolled Generative Adversarial
Networks", https://arxiv.org/abs/1611.02163) differentiates the generator's
loss through k updates of the discriminator: those updates must be ordinary
differentiable ops on tensors, not `assign`s on variables. `FunctionalUpdate`
reads a Keras optimizer's current state (step count, Adam moments) and
applies its rule to tensors, leaving the optimizer and the variables alone.
"""

import keras
import tensorflow as tf


def sgd_update(weights, gradients, learning_rate):
    """Plain gradient descent: `w - learning_rate * g` for each pair."""
    return [w - tf.cast(learning_rate, w.dtype) * g for w, g in zip(weights, gradients)]


def adam_update(weights, gradients, momentums, velocities, step, learning_rate, beta_1, beta_2,
                epsilon):
    """One Adam update (Kingma & Ba 2015, Algorithm 1), as Keras computes it.

    The bias corrections are folded into the step size and epsilon is added
    outside the square root: `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`,
    `m += (g - m)(1 - beta_1)`, `v += (g^2 - v)(1 - beta_2)`,
    `w -= alpha * m / (sqrt(v) + epsilon)`.

    Args:
        weights, gradients, momentums, velocities: Lists of tensors, aligned.
        step: The 1-based number of this update (t).
        learning_rate, beta_1, beta_2, epsilon: Adam's hyper-parameters.

    Returns:
        (new weights, new momentums, new velocities).
    """
    new_weights, new_momentums, new_velocities = [], [], []
    for w, g, m, v in zip(weights, gradients, momentums, velocities):
        dtype = w.dtype
        t = tf.cast(step, dtype)
        alpha = (tf.cast(learning_rate, dtype) * tf.sqrt(1 - tf.pow(tf.cast(beta_2, dtype), t))
                 / (1 - tf.pow(tf.cast(beta_1, dtype), t)))
        g = tf.cast(g, dtype)
        m = m + (g - m) * (1 - beta_1)
        v = v + (tf.square(g) - v) * (1 - beta_2)
        new_weights.append(w - alpha * m / (tf.sqrt(v) + epsilon))
        new_momentums.append(m)
        new_velocities.append(v)
    return new_weights, new_momentums, new_velocities


class FunctionalUpdate:
    """A Keras optimizer's update rule, from its current state, on tensors.

    Supports `keras.optimizers.SGD` without momentum and `keras.optimizers.Adam`
    without AMSGrad, weight decay or gradient clipping (what kgan trains with).

    Args:
        optimizer: The optimizer (built for `variables`, or built here).
        variables: The variables it updates, in the order weights will be given.

    Raises:
        ValueError: for any other optimizer or option.
    """

    def __init__(self, optimizer: keras.optimizers.Optimizer, variables):
        clipping = [name for name in ("clipnorm", "clipvalue", "global_clipnorm")
                    if getattr(optimizer, name, None)]
        if clipping or getattr(optimizer, "weight_decay", None):
            raise ValueError(f"a functional {type(optimizer).__name__} update has no "
                             f"{(clipping or ['weight_decay'])[0]}")
        if isinstance(optimizer, keras.optimizers.Adam):
            if optimizer.amsgrad:
                raise ValueError("a functional Adam update has no AMSGrad")
            self.kind = "adam"
        elif isinstance(optimizer, keras.optimizers.SGD):
            if optimizer.momentum or optimizer.nesterov:
                raise ValueError("a functional SGD update has no momentum")
            self.kind = "sgd"
        else:
            raise ValueError(f"no functional update for {type(optimizer).__name__}; "
                             f"use Adam or SGD")
        if not optimizer.built:
            optimizer.build(variables)
        self.optimizer = optimizer
        self.variables = list(variables)

    def initial_state(self):
        """The optimizer's state now: (step count, momentums, velocities)."""
        o = self.optimizer
        if self.kind == "sgd":
            return o.iterations, [], []
        index = [o._get_variable_index(v) for v in self.variables]
        return (o.iterations, [tf.convert_to_tensor(o._momentums[i]) for i in index],
                [tf.convert_to_tensor(o._velocities[i]) for i in index])

    def __call__(self, weights, gradients, state):
        """(new weights, new state) after one update of `weights` by
        `gradients`; a weight whose gradient is None is left as it is, as
        `apply_gradients` leaves a variable it is given no gradient for."""
        iterations, momentums, velocities = state
        learning_rate = tf.convert_to_tensor(self.optimizer.learning_rate)
        present = [i for i, g in enumerate(gradients) if g is not None]
        weights = list(weights)
        if self.kind == "sgd":
            updated = sgd_update([weights[i] for i in present],
                                 [gradients[i] for i in present], learning_rate)
            for i, w in zip(present, updated):
                weights[i] = w
            return weights, (iterations + 1, [], [])
        o = self.optimizer
        momentums, velocities = list(momentums), list(velocities)
        updated = adam_update(
            [weights[i] for i in present], [gradients[i] for i in present],
            [momentums[i] for i in present], [velocities[i] for i in present],
            iterations + 1, learning_rate, o.beta_1, o.beta_2, o.epsilon)
        for i, w, m, v in zip(present, *updated):
            weights[i], momentums[i], velocities[i] = w, m, v
        return weights, (iterations + 1, momentums, velocities)


__all__ = ["FunctionalUpdate", "adam_update", "sgd_update"]
