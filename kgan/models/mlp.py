"""Fully connected GAN (Goodfellow et al., 2014), with LeakyReLU hidden units."""

import math

import keras

from kgan.models.body import DiscriminatorBase, GeneratorBase
from kgan.models.layers import MinibatchStddev


@keras.saving.register_keras_serializable(package="kgan")
class MLPGenerator(GeneratorBase):
    """Maps latent vectors through dense layers to images in [-1, 1].

    Args:
        latent_dim: Size of the latent vector z.
        image_shape: (height, width, channels) of the generated images.
        hidden_units: Widths of the hidden layers, in order from z.
        **kwargs: `GeneratorBase` arguments (`num_labels`,
            `label_embedding_dim`) and standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim, image_shape, hidden_units=(256, 512), **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        layers = []
        for units in self.hidden_units:
            layers += [keras.layers.Dense(units), keras.layers.LeakyReLU(negative_slope=0.2)]
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
class MLPDiscriminator(DiscriminatorBase):
    """Maps images through dense layers to one real-vs-fake logit each.

    Args:
        image_shape: (height, width, channels) of the input images.
        hidden_units: Widths of the hidden layers, in order from the image.
        spectral_norm: Wrap every dense layer, the logit's included, in
            `SpectralNorm` (Miyato et al. 2018).
        minibatch_std: Group size of a `MinibatchStddev` feature (Karras et
            al. 2018) appended to the input of the last hidden layer, so that
            a hidden layer (not only the linear logit) can use it; 0 leaves
            it out.
        **kwargs: `DiscriminatorBase` arguments (`num_labels`) and standard
            `keras.Model` arguments.
    """

    def __init__(self, image_shape, hidden_units=(512, 256), spectral_norm=False,
                 minibatch_std=0, **kwargs):
        super().__init__(spectral_norm=spectral_norm, **kwargs)
        if int(minibatch_std) < 0:
            raise ValueError(f"minibatch_std must be >= 0, got {minibatch_std}")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.minibatch_std = int(minibatch_std)
        layers = [keras.layers.Flatten()]
        for i, units in enumerate(self.hidden_units):
            if self.minibatch_std and i == len(self.hidden_units) - 1:
                layers.append(MinibatchStddev(self.minibatch_std))
            layers += [self._maybe_normalized(keras.layers.Dense(units)),
                       keras.layers.LeakyReLU(negative_slope=0.2)]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, hidden_units=self.hidden_units,
                      minibatch_std=self.minibatch_std)
        return config
