"""The semi-supervised GAN's networks (Salimans et al. 2016, MNIST).

The paper's MNIST models (Sec. 5 and its code, `improved-gan/mnist_svhn_cifar10`):

* generator: z (100, uniform in the paper; standard normal here as in every
  kgan task) -> 500 -> 500 softplus units with BatchNorm -> 784 sigmoid;
  here the output is `tanh` (the same curve scaled to kgan's [-1, 1] images);
* discriminator: a classifier of 5 hidden ReLU layers of 1000, 500, 250, 250
  and 250 units with K = 10 linear class logits, Gaussian noise of standard
  deviation 0.3 added to its input and 0.5 to every hidden layer's output
  while training, and weight normalization (Salimans & Kingma 2016) in every
  layer (`WeightNormDense`, without the paper's data-dependent
  initialization). Its last hidden layer is the feature layer the generator
  matches.

Noise is drawn from a seed passed in (`noise_seed`), not from layer state, so
that the task keys it by its step counter like all of kgan's noise and a
resumed run draws exactly what an uninterrupted one would.
"""

import math

import keras
import tensorflow as tf

from kgan.models.body import GeneratorBase


@keras.saving.register_keras_serializable(package="kgan")
class WeightNormDense(keras.layers.Layer):
    """A dense layer with weight normalization (Salimans & Kingma, "Weight
    Normalization", NeurIPS 2016, https://arxiv.org/abs/1602.07868): each
    output unit's weight vector is `g * v / ||v||`, so its length `g` and
    direction `v` are learned apart. Salimans et al. 2016 use it in every
    layer of their semi-supervised discriminator; without it, their learning
    rate (3e-3) kills the ReLU layers within a few thousand steps (measured:
    every logit constant, 10% accuracy, BUILD_NOTES issue 19).

    `g` starts at 1 (a unit-length weight vector per output) and trains in
    every layer. The paper's data-dependent initialization, with `g` then
    fixed in the hidden layers, was measured here and learned far slower
    within a 30 CPU-minute budget (18-23% test error at 6,000 steps against
    8.8%; BUILD_NOTES issue 19), so it is left out.

    Args:
        units: Output width.
        activation: A Keras activation (None: linear).
        **kwargs: Standard `keras.layers.Layer` arguments.
    """

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.direction = self.add_weight(
            name="direction", shape=(int(input_shape[-1]), self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.05))
        self.length = self.add_weight(name="length", shape=(self.units,), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        direction = keras.ops.cast(self.direction, self.compute_dtype)
        norms = keras.ops.sqrt(keras.ops.sum(keras.ops.square(direction), axis=0) + 1e-12)
        kernel = direction * (keras.ops.cast(self.length, self.compute_dtype) / norms)
        outputs = keras.ops.matmul(inputs, kernel) + keras.ops.cast(self.bias,
                                                                    self.compute_dtype)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="kgan")
class FeatureMatchingGenerator(GeneratorBase):
    """Maps z through softplus dense layers with BatchNorm to images in [-1, 1].

    Args:
        latent_dim: Size of z.
        image_shape: (height, width, channels) of the generated images.
        hidden_units: Widths of the hidden layers, in order from z.
        **kwargs: `GeneratorBase` arguments and standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim, image_shape, hidden_units=(500, 500), **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        layers = []
        for units in self.hidden_units:
            layers += [keras.layers.Dense(units, use_bias=False),
                       keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
                       keras.layers.Activation("softplus")]
        layers += [
            keras.layers.Dense(math.prod(self.image_shape)),
            # float32 output keeps images exact under a mixed-precision policy.
            keras.layers.Activation("tanh", dtype="float32"),
            keras.layers.Reshape(self.image_shape),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, hidden_units=self.hidden_units)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class NoisyClassifier(keras.Model):
    """Images in [-1, 1] -> K class logits (`[batch, K]`, float32), with the
    last hidden layer available as features.

    Images are mapped to [0, 1] first: the scale of the paper's MNIST, for
    which its noise levels were chosen (0.3 there is twice what it would be
    on [-1, 1]), and on which a background pixel adds nothing to a unit.

    While training, Gaussian noise of `input_noise` is added to the flattened
    input and of `hidden_noise` to each hidden layer's output; the noise is
    drawn from `noise_seed` (a Philox seed, `[2]` int64) and left out when
    it is None (inference).

    Args:
        image_shape: (height, width, channels) of the input images.
        num_classes: K.
        hidden_units: Widths of the hidden ReLU layers, in order from the image.
        input_noise, hidden_noise: Standard deviations of the training noise.
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, image_shape, num_classes=10, hidden_units=(1000, 500, 250, 250, 250),
                 input_noise=0.3, hidden_noise=0.5, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = int(num_classes)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.input_noise = float(input_noise)
        self.hidden_noise = float(hidden_noise)
        if not self.hidden_units:
            raise ValueError("a NoisyClassifier needs at least one hidden layer (its features)")
        # In a Sequential block, not a list: see kgan.models.body.
        self.hidden = keras.Sequential(
            [WeightNormDense(units, activation="relu") for units in self.hidden_units],
            name="hidden")
        self.logits = WeightNormDense(self.num_classes, dtype="float32", name="logits")

    def build(self, input_shape):
        if self.built:
            return
        self.hidden.build((input_shape[0], math.prod(self.image_shape)))
        self.logits.build((input_shape[0], self.hidden_units[-1]))
        self.built = True

    def _noisy(self, x, stddev, noise_seed, layer):
        if noise_seed is None or stddev == 0:
            return x
        # Each layer its own stream: Task.noise_seed keeps streams below bit 40.
        seed = tf.cast(noise_seed, tf.int64) + tf.constant([layer << 40, 0], tf.int64)
        noise = tf.random.stateless_normal(tf.shape(x), seed=seed, stddev=stddev,
                                           dtype=x.dtype, alg="philox")
        return x + noise

    def features_and_logits(self, images, noise_seed=None):
        """(features `[batch, hidden_units[-1]]`: the last hidden layer before
        its noise, logits `[batch, K]`)."""
        x = keras.ops.reshape(keras.ops.cast(images, self.compute_dtype),
                              (-1, math.prod(self.image_shape)))
        x = (x + 1.0) / 2.0
        x = self._noisy(x, self.input_noise, noise_seed, 0)
        for index, layer in enumerate(self.hidden.layers, start=1):
            features = layer(x)  # the paper's feature layer is the last one before its noise
            x = self._noisy(features, self.hidden_noise, noise_seed, index)
        return features, self.logits(x)

    def call(self, images, noise_seed=None):
        return self.features_and_logits(images, noise_seed)[1]

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, num_classes=self.num_classes,
                      hidden_units=self.hidden_units, input_noise=self.input_noise,
                      hidden_noise=self.hidden_noise)
        return config
