"""The adversarial update as a Keras model: `fit` drives the GAN game."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kgan")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by `fit`.

    Each `train_step` makes `d_steps` discriminator updates followed by one
    generator update (Goodfellow et al., 2014, Algorithm 1). The real batch
    a step receives is split into `d_steps` near-equal slices, one per
    discriminator update, so a pipeline that batches `d_steps * batch_size`
    images gives each update its own minibatch of `batch_size`; every update
    draws fresh latents. Each player's optimizer applies gradients only to
    that player's trainable variables. (BatchNorm moving statistics follow
    every training-mode forward pass, as in the reference DCGAN code.)

    A conditional GAN (networks with `num_labels > 0`) reads `(images,
    label_vectors)` batches. Fakes take the labels of the real minibatch they
    are judged against, and the generator update takes the first
    minibatch's labels: labels always follow the data's own distribution
    (for CelebA, the joint distribution of the attributes), with no label
    prior to specify.

    Latents come from stateless ops keyed by a `keras.random.SeedGenerator`,
    whose state is checkpointed with the model, so a resumed run draws the
    same noise as an uninterrupted one; under a distribution strategy each
    replica folds in its replica id so replicas draw different latents.

    Args:
        generator: Maps `[batch, latent_dim]` latents to images.
        discriminator: Maps images to `[batch, 1]` real-vs-fake logits.
        latent_dim: Size of the latent vectors.
        seed: Seed of the latent noise.
        **kwargs: Standard `keras.Model` arguments.
    """

    def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.seed = int(seed)
        self.noise_seed = keras.random.SeedGenerator(self.seed, name="noise_seed")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.conditional = bool(getattr(generator, "num_labels", 0))
        # Python runs `train_step` only while tracing it (unless run eagerly),
        # so this counts traces: it must not grow with the number of steps.
        self.train_step_traces = 0

    def compile(self, g_optimizer, d_optimizer, generator_loss_fn, discriminator_loss_fn,
                d_steps=1, label_smoothing=0.0, **kwargs):
        """Configures the game.

        Args:
            g_optimizer: Optimizer of the generator.
            d_optimizer: Optimizer of the discriminator.
            generator_loss_fn: `fn(fake_logits) -> scalar`.
            discriminator_loss_fn: `fn(real_logits, fake_logits,
                label_smoothing=...) -> scalar`.
            d_steps: Discriminator updates per generator update.
            label_smoothing: Passed to `discriminator_loss_fn`.
            **kwargs: Passed to `keras.Model.compile` (e.g. `jit_compile`,
                `steps_per_execution`).
        """
        super().compile(**kwargs)
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.generator_loss_fn = generator_loss_fn
        self.discriminator_loss_fn = discriminator_loss_fn
        self.d_steps = int(d_steps)
        self.label_smoothing = float(label_smoothing)
        # Optimizer slots are created now, eagerly: created lazily inside the
        # traced step they break under tf.distribute, and they must exist
        # before a checkpoint can be restored into them.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker]

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def generate(self, latents, labels=None, training=False):
        """Generator output for latents (and label vectors, if conditional)."""
        return self.generator([latents, labels] if self.conditional else latents,
                              training=training)

    def discriminate(self, images, labels=None, training=False):
        """Discriminator logits for images (and label vectors, if conditional)."""
        return self.discriminator([images, labels] if self.conditional else images,
                                  training=training)

    def sample_latents(self, batch_size):
        """Draws `[batch_size, latent_dim]` standard-normal latents."""
        seed = self.noise_seed.next()
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None:
            seed = tf.random.experimental.stateless_fold_in(
                seed, replica_context.replica_id_in_sync_group)
        return tf.random.stateless_normal([batch_size, self.latent_dim], seed=seed)

    def _scaled(self, loss):
        # Gradients are summed across replicas; scaling each replica's mean
        # makes the sum the mean over the global batch.
        return loss / tf.distribute.get_strategy().num_replicas_in_sync

    def discriminator_step(self, real_images, labels=None):
        """One discriminator update on `real_images` and as many fresh fakes
        (conditioned on the same `labels`, for a conditional GAN).

        Returns:
            (loss, real_logits, fake_logits).
        """
        latents = self.sample_latents(tf.shape(real_images)[0])
        fake_images = self.generate(latents, labels, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminate(real_images, labels, training=True)
            fake_logits = self.discriminate(fake_images, labels, training=True)
            loss = self.discriminator_loss_fn(real_logits, fake_logits,
                                              label_smoothing=self.label_smoothing)
            scaled_loss = self._scaled(loss)
        variables = self.discriminator.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.d_optimizer.apply_gradients(zip(gradients, variables))
        return loss, real_logits, fake_logits

    def generator_step(self, batch_size, labels=None):
        """One generator update on `batch_size` fresh latents (with `labels`
        `[batch_size, num_labels]`, for a conditional GAN). Returns the loss."""
        latents = self.sample_latents(batch_size)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminate(self.generate(latents, labels, training=True), labels,
                                            training=True)
            loss = self.generator_loss_fn(fake_logits)
            scaled_loss = self._scaled(loss)
        variables = self.generator.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.g_optimizer.apply_gradients(zip(gradients, variables))
        return loss

    def _minibatch(self, tensor, k):
        """The k-th of `d_steps` interleaved slices of a batch (None stays None)."""
        if tensor is None or self.d_steps == 1:
            return tensor
        return tensor[k::self.d_steps]

    def train_step(self, data):
        self.train_step_traces += 1
        if self.conditional:
            real_images, labels = data
        else:
            real_images, labels = (data[0] if isinstance(data, (tuple, list)) else data), None
        batch_size = tf.shape(real_images)[0]
        if self.d_steps > 1:
            tf.debugging.assert_greater_equal(
                batch_size, self.d_steps,
                message=f"each batch needs at least d_steps={self.d_steps} images")
        for k in range(self.d_steps):
            d_loss, real_logits, fake_logits = self.discriminator_step(
                self._minibatch(real_images, k), self._minibatch(labels, k))
            self.d_loss_tracker.update_state(d_loss)
            self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
            self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        # As many latents as the largest discriminator minibatch.
        g_loss = self.generator_step((batch_size + self.d_steps - 1) // self.d_steps,
                                     self._minibatch(labels, 0))
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
