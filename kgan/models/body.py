"""The bases of kgan's networks: layers in one `keras.Sequential` body, plus
optional label conditioning.

Keeping the layers in a Sequential block, not a plain list attribute, matters:
under Keras 3 on TensorFlow, layers in a list are silently left out of
`tf.train.Checkpoint`.

Conditioning (Mirza & Osindero, 2014) takes float32 label vectors
`[batch, num_labels]`: one-hot class ids, or {0, 1} attribute vectors
(`kgan.data.label_vectors`). One code path serves both, and fractional
vectors (e.g. half an attribute) stay meaningful.
"""

import keras

from kgan.models.layers import MinibatchDiscrimination, SpectralNorm


def _split_shapes(input_shape, conditional):
    if not conditional:
        return input_shape, None
    if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
            and isinstance(input_shape[0], (list, tuple))):
        raise ValueError(f"a conditional network takes [inputs, labels]; got shape {input_shape}")
    return tuple(input_shape[0]), tuple(input_shape[1])


@keras.saving.register_keras_serializable(package="kgan")
class GeneratorBase(keras.Model):
    """Runs `self.body` (set by the subclass) on z, or on z and a label embedding.

    A conditional generator takes `[z, labels]`; the labels pass through a
    learned linear embedding (for one-hot classes, an embedding lookup; for
    attribute vectors, the sum of the present attributes' embeddings), which
    is concatenated to z.

    Args:
        latent_dim: Size of z.
        num_labels: Size of the label vectors; 0 for an unconditional generator.
        label_embedding_dim: Width of the label embedding.
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, latent_dim, num_labels=0, label_embedding_dim=50, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.num_labels = int(num_labels)
        self.label_embedding_dim = int(label_embedding_dim)
        if self.num_labels:
            self.label_embedding = keras.layers.Dense(
                self.label_embedding_dim, use_bias=False,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="label_embedding")

    @property
    def body_input_dim(self):
        return self.latent_dim + (self.label_embedding_dim if self.num_labels else 0)

    def build(self, input_shape):
        if self.built:  # deserialization builds from the saved config; later calls are no-ops
            return
        z_shape, label_shape = _split_shapes(input_shape, self.num_labels)
        if label_shape is not None:
            self.label_embedding.build(label_shape)
        self.body.build((z_shape[0], self.body_input_dim))
        self.built = True

    def _body_input(self, inputs):
        if not self.num_labels:
            return inputs
        z, labels = inputs
        embedded = self.label_embedding(keras.ops.cast(labels, self.compute_dtype))
        return keras.ops.concatenate([keras.ops.cast(z, self.compute_dtype), embedded], axis=-1)

    def call(self, inputs, training=None):
        return self.body(self._body_input(inputs), training=training)

    def pre_tanh(self, inputs, training=None):
        """The body's output before its final tanh, in float32: what a
        full-int8 export clips before its own tanh (`kgan.export.tflite`)."""
        *layers, last = self.body.layers
        if getattr(last, "activation", None) is not keras.activations.tanh:
            raise ValueError(f"{type(self).__name__}'s body ends in {last.name}, not a tanh")
        x = self._body_input(inputs)
        for layer in layers:
            x = layer(x, training=training)
        return keras.ops.cast(x, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, num_labels=self.num_labels,
                      label_embedding_dim=self.label_embedding_dim)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class DiscriminatorBase(keras.Model):
    """`self.body` (set by the subclass) maps images to features; a dense
    layer maps those to one real-vs-fake logit.

    A conditional discriminator takes `[images, labels]` and is a projection
    discriminator (Miyato & Koyama, 2018): `logit = w.phi(x) + b +
    <V y, phi(x)>`, where `V y` is a learned embedding of the label vector.
    The label term scores how well the image's features match its label,
    instead of letting the network ignore a concatenated label input.

    Args:
        num_labels: Size of the label vectors; 0 for an unconditional discriminator.
        spectral_norm: Wrap the logit layer (and the label projection) in
            `SpectralNorm` (Miyato et al. 2018; Miyato & Koyama 2018
            normalize the projection's embedding too). Subclasses normalize
            their body's weight layers.
        minibatch_discrimination: Kernels of a `MinibatchDiscrimination`
            layer (Salimans et al. 2016) between the body's features and the
            logit; 0 leaves it out.
        minibatch_kernel_dim: Size of each of its kernels' projections.
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, num_labels=0, spectral_norm=False, minibatch_discrimination=0,
                 minibatch_kernel_dim=5, **kwargs):
        super().__init__(**kwargs)
        self.num_labels = int(num_labels)
        self.spectral_norm = bool(spectral_norm)
        self.minibatch_discrimination = int(minibatch_discrimination)
        self.minibatch_kernel_dim = int(minibatch_kernel_dim)
        if self.minibatch_discrimination:
            self.minibatch_features = MinibatchDiscrimination(
                self.minibatch_discrimination, self.minibatch_kernel_dim,
                name="minibatch_discrimination")
        # float32 logits keep the losses exact under a mixed-precision policy.
        self.logit = self._maybe_normalized(keras.layers.Dense(
            1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), dtype="float32",
            name="logit"))

    def _maybe_normalized(self, layer):
        """`layer`, wrapped in `SpectralNorm` (under the same name) if the
        discriminator is spectrally normalized."""
        if not self.spectral_norm:
            return layer
        return SpectralNorm(layer, name=layer.name)

    def build(self, input_shape):
        if self.built:
            return
        image_shape, label_shape = _split_shapes(input_shape, self.num_labels)
        self.body.build(image_shape)
        feature_shape = self.body.compute_output_shape(image_shape)
        if self.minibatch_discrimination:
            self.minibatch_features.build(feature_shape)
            feature_shape = self.minibatch_features.compute_output_shape(feature_shape)
        self.logit.build(feature_shape)
        if label_shape is not None:
            self.label_projection = self._maybe_normalized(keras.layers.Dense(
                int(feature_shape[-1]), use_bias=False,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), dtype="float32",
                name="label_projection"))
            self.label_projection.build(label_shape)
        self.built = True

    def features(self, images, training=None):
        """The body's features (with the minibatch comparisons, if any)."""
        features = self.body(images, training=training)
        if self.minibatch_discrimination:
            features = self.minibatch_features(features)
        return features

    def call(self, inputs, training=None):
        if not self.num_labels:
            return self.logit(self.features(inputs, training=training))
        images, labels = inputs
        features = keras.ops.cast(self.features(images, training=training), "float32")
        projected = keras.ops.sum(self.label_projection(keras.ops.cast(labels, "float32")) * features,
                                  axis=-1, keepdims=True)
        return self.logit(features) + projected

    def get_config(self):
        config = super().get_config()
        config.update(num_labels=self.num_labels, spectral_norm=self.spectral_norm,
                      minibatch_discrimination=self.minibatch_discrimination,
                      minibatch_kernel_dim=self.minibatch_kernel_dim)
        return config
