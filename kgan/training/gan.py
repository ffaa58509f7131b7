"""The adversarial update as a Keras model: `fit` drives the GAN game."""

import keras
import tensorflow as tf

# The metric counting steps with non-finite losses or weights.
NONFINITE_STEPS = "nonfinite_steps"


def all_finite(tensors) -> tf.Tensor:
    """Whether every element of every (floating-point) tensor is finite."""
    checks = [tf.reduce_all(tf.math.is_finite(t)) for t in map(tf.convert_to_tensor, tensors)
              if t.dtype.is_floating]
    return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


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

    Latents come from stateless Philox ops keyed by (`seed`, step, update
    index), with the step counted by the checkpointed `step_counter`: a
    resumed run draws the same noise as an uninterrupted one, without any
    random state to carry.

    Under a `tf.distribute` strategy, every replica draws the latents of the
    whole global batch and keeps its own rows, and each replica's mean loss is
    weighted by its share of the global batch before gradients are summed
    across replicas. A step on R replicas therefore computes exactly the
    single-device update on the global batch (up to float summation order,
    and given synchronized BatchNorm where BatchNorm is used), whatever R is.

    Under a mixed-precision policy, losses are computed from float32 logits
    and each loss passes through its optimizer's `scale_loss` (a
    `keras.optimizers.LossScaleOptimizer` under float16 scales it, and
    unscales the gradients when applying them).

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
        # Generator updates so far: keys the latent noise and is the step a
        # checkpoint is written at. Updated once per step, by the first replica.
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False,
                                           aggregation="only_first_replica", name="step")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        # Steps since the last metrics reset whose losses or updated weights
        # were not all finite (read by `NonFiniteGuard`).
        self.nonfinite_tracker = keras.metrics.Sum(name=NONFINITE_STEPS)
        self.conditional = bool(getattr(generator, "num_labels", 0))
        # Python runs `train_step` only while tracing it (unless run eagerly),
        # so this counts traces: it must not grow with the number of steps.
        self.train_step_traces = 0

    def compile(self, g_optimizer, d_optimizer, generator_loss_fn, discriminator_loss_fn,
                d_steps=1, label_smoothing=0.0, reuse_fakes=False, **kwargs):
        """Configures the game.

        Args:
            g_optimizer: Optimizer of the generator.
            d_optimizer: Optimizer of the discriminator.
            generator_loss_fn: `fn(fake_logits) -> scalar`.
            discriminator_loss_fn: `fn(real_logits, fake_logits,
                label_smoothing=...) -> scalar`.
            d_steps: Discriminator updates per generator update.
            label_smoothing: Passed to `discriminator_loss_fn`.
            reuse_fakes: The generator update re-scores the first
                discriminator update's fakes with the updated discriminator
                (as the PyTorch DCGAN example does) instead of generating
                new ones: one generator forward pass less per step.
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
        self.reuse_fakes = bool(reuse_fakes)
        # Optimizer slots are created now, eagerly: created lazily inside the
        # traced step they break under tf.distribute, and they must exist
        # before a checkpoint can be restored into them.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        # Both networks are built; without this, `fit` under a strategy
        # would trace `call` on a data batch (images, not latents) to build it.
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker, self.nonfinite_tracker]

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

    def _replica_share(self, batch_size):
        """(this replica's first row in the global batch, global batch size)."""
        context = tf.distribute.get_replica_context()
        batch_size = tf.cast(batch_size, tf.int64)
        if context is None or context.num_replicas_in_sync == 1:
            return tf.constant(0, tf.int64), batch_size
        sizes = context.all_gather(tf.reshape(batch_size, [1]), axis=0)
        return tf.reduce_sum(sizes[:context.replica_id_in_sync_group]), tf.reduce_sum(sizes)

    def sample_latents(self, batch_size, update=0):
        """`[batch_size, latent_dim]` standard-normal latents for update
        `update` (0..d_steps) of the current step; under a strategy, this
        replica's rows of the global batch's latents."""
        key = self.step_counter * (self.d_steps + 1) + update
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(key, tf.int64)])
        offset, total = self._replica_share(batch_size)
        latents = tf.random.stateless_normal(tf.stack([total, self.latent_dim]), seed=seed,
                                             alg="philox")
        return latents[offset:offset + tf.cast(batch_size, tf.int64)]

    def _global_mean_weight(self, batch_size):
        # Gradients are summed across replicas: weighting each replica's mean
        # loss by its share of the global batch makes the sum the global mean.
        _, total = self._replica_share(batch_size)
        return tf.cast(batch_size, tf.float32) / tf.cast(total, tf.float32)

    def _loss_to_differentiate(self, loss, batch_size, optimizer):
        """`loss` weighted for cross-replica summation and scaled by the
        optimizer (loss scaling under float16); computed inside the tape."""
        return optimizer.scale_loss(loss * self._global_mean_weight(batch_size))

    def discriminator_step(self, real_images, labels=None, update=0, fake_images=None):
        """One discriminator update on `real_images` and as many fakes:
        `fake_images` if given, else fresh ones (conditioned on the same
        `labels`, for a conditional GAN).

        Returns:
            (loss, real_logits, fake_logits).
        """
        batch_size = tf.shape(real_images)[0]
        if fake_images is None:
            fake_images = self.generate(self.sample_latents(batch_size, update), labels,
                                        training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminate(real_images, labels, training=True)
            fake_logits = self.discriminate(fake_images, labels, training=True)
            loss = self.discriminator_loss_fn(real_logits, fake_logits,
                                              label_smoothing=self.label_smoothing)
            differentiated = self._loss_to_differentiate(loss, batch_size, self.d_optimizer)
        variables = self.discriminator.trainable_variables
        gradients = tape.gradient(differentiated, variables)
        self.d_optimizer.apply_gradients(zip(gradients, variables))
        return loss, real_logits, fake_logits

    def generator_step(self, batch_size, labels=None, tape=None, fake_images=None):
        """One generator update (with `labels` `[batch_size, num_labels]`, for a
        conditional GAN), scored by the current discriminator. Returns the loss.

        The fakes are `fake_images`, generated under `tape` (a GradientTape
        not yet used) by the unchanged generator; else `batch_size` fresh ones.
        """
        if fake_images is None:
            tape = tf.GradientTape()
            with tape:
                fake_images = self.generate(self.sample_latents(batch_size, self.d_steps),
                                            labels, training=True)
        with tape:
            fake_logits = self.discriminate(fake_images, labels, training=True)
            loss = self.generator_loss_fn(fake_logits)
            differentiated = self._loss_to_differentiate(loss, batch_size, self.g_optimizer)
        variables = self.generator.trainable_variables
        gradients = tape.gradient(differentiated, variables)
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
        g_tape = reused_fakes = None
        step_losses = []
        for k in range(self.d_steps):
            minibatch, minibatch_labels = self._minibatch(real_images, k), self._minibatch(labels, k)
            if k == 0 and self.reuse_fakes:
                g_tape = tf.GradientTape()
                with g_tape:
                    reused_fakes = self.generate(
                        self.sample_latents(tf.shape(minibatch)[0], 0), minibatch_labels,
                        training=True)
            d_loss, real_logits, fake_logits = self.discriminator_step(
                minibatch, minibatch_labels, update=k,
                fake_images=reused_fakes if k == 0 else None)
            self.d_loss_tracker.update_state(d_loss)
            step_losses.append(d_loss)
            self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
            self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        # As many fakes as the largest (first) discriminator minibatch.
        g_loss = self.generator_step((batch_size + self.d_steps - 1) // self.d_steps,
                                     self._minibatch(labels, 0), g_tape, reused_fakes)
        self.g_loss_tracker.update_state(g_loss)
        self.step_counter.assign_add(1)
        finite = tf.logical_and(all_finite(step_losses + [g_loss]),
                                all_finite(self.generator.weights + self.discriminator.weights))
        self.nonfinite_tracker.update_state(1.0 - tf.cast(finite, "float32"))
        results = {m.name: m.result() for m in self.metrics}
        if isinstance(self.distribute_strategy,
                      tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages each returned value across workers along axis 0,
            # which a scalar lacks; callbacks still receive plain numbers.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

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
