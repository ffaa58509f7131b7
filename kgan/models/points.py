"""Fully connected networks for 2-D points (the ring and grid mixtures of
`kgan.data.points`).

The literature's 2-D networks are larger than a CPU needs for these data:
Metz et al. (2016, Unrolled GANs) use a 256-d latent and a generator of two
hidden layers of 128 ReLU units; PacGAN (Lin et al., 2018, Sec. 5, after
VEEGAN) a 2-d Gaussian latent, a generator of four hidden layers of 400 ReLU
units with BatchNorm and a discriminator of three hidden layers of 200
LinearMaxout units (5 pieces). The defaults here keep PacGAN's shape at a
CPU-friendly width: a 2-d latent, a generator of four hidden layers of 128
ReLU units (BatchNorm optional, off by default) and a discriminator of three
hidden layers of 128 ReLU units (ReLU in place of maxout). Both have linear
outputs: points are unbounded, and the discriminator returns logits.

Parameter counts with the defaults:
    generator:     (2*128 + 128) + 3 * (128*128 + 128) + (128*2 + 2) = 50,178
    discriminator: (2*128 + 128) + 2 * (128*128 + 128) + (128*1 + 1) = 33,537
"""

import keras

from kgan.models.body import DiscriminatorBase, GeneratorBase


def _batch_norm():
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


@keras.saving.register_keras_serializable(package="kgan")
class PointGenerator(GeneratorBase):
    """Maps latent vectors through ReLU dense layers to points, linearly.

    Args:
        latent_dim: Size of the latent vector z (PacGAN: 2).
        hidden_units: Widths of the hidden layers, in order from z.
        output_dim: Size of the generated points.
        batch_norm: BatchNorm before each hidden ReLU, as in PacGAN's generator.
        **kwargs: `GeneratorBase` arguments (`num_labels`,
            `label_embedding_dim`) and standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim=2, hidden_units=(128, 128, 128, 128), output_dim=2,
                 batch_norm=False, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.output_dim = int(output_dim)
        self.batch_norm = bool(batch_norm)
        layers = []
        for units in self.hidden_units:
            layers.append(keras.layers.Dense(units, use_bias=not self.batch_norm))
            if self.batch_norm:
                layers.append(_batch_norm())
            layers.append(keras.layers.ReLU())
        layers += [
            keras.layers.Dense(self.output_dim),
            # float32 output keeps points exact under a mixed-precision policy.
            keras.layers.Activation("linear", dtype="float32"),
        ]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units, output_dim=self.output_dim,
                      batch_norm=self.batch_norm)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class PointDiscriminator(DiscriminatorBase):
    """Maps points through ReLU dense layers to one real-vs-fake logit each
    (`[batch, 1]`, from `DiscriminatorBase`'s linear `logit` layer).

    Args:
        hidden_units: Widths of the hidden layers, in order from the point.
        **kwargs: `DiscriminatorBase` arguments (`num_labels`) and standard
            `keras.Model` arguments.
    """

    def __init__(self, hidden_units=(128, 128, 128), **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        layers = []
        for units in self.hidden_units:
            layers += [keras.layers.Dense(units), keras.layers.ReLU()]
        self.body = keras.Sequential(layers, name="body")

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units)
        return config


__all__ = ["PointDiscriminator", "PointGenerator"]
