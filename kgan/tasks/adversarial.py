"""The noise-to-sample game shared by the latent GAN families (images, 2-D points)."""

import keras
import tensorflow as tf

from kgan import losses
from kgan.config import Config
from kgan.errors import ConfigError
from kgan.tasks.base import Phase, Task


def adam_optimizers(config: Config) -> dict:
    """`{"g": Adam, "d": Adam}` with the config's rates and betas; wrapped for
    dynamic loss scaling under `mixed_float16` (float16 gradients underflow
    without it; bfloat16 has float32's range)."""
    t = config.train
    optimizers = {
        "g": keras.optimizers.Adam(t.g_learning_rate, beta_1=t.g_beta1, beta_2=t.g_beta2),
        "d": keras.optimizers.Adam(t.d_learning_rate, beta_1=t.d_beta1, beta_2=t.d_beta2),
    }
    if t.mixed_precision == "mixed_float16":
        optimizers = {player: keras.optimizers.LossScaleOptimizer(optimizer)
                      for player, optimizer in optimizers.items()}
    return optimizers


class LatentGAN(Task):
    """A generator of samples from latents and a discriminator, trained against each other.

    Each `train_step` makes `d_steps` discriminator updates followed by one
    generator update (Goodfellow et al., 2014, Algorithm 1). The real batch
    a step receives is split into `d_steps` interleaved slices, one per
    discriminator update, so a pipeline that batches `d_steps * batch_size`
    examples gives each update its own minibatch of `batch_size`; every
    update draws fresh latents. Each player's optimizer applies gradients
    only to that player's trainable variables. (BatchNorm moving statistics
    follow every training-mode forward pass, as in the reference DCGAN code.)

    A conditional task (networks with `num_labels > 0`) reads a `label`
    entry of label vectors beside the samples. Fakes take the labels of the
    real minibatch they are judged against, and the generator update takes
    the first minibatch's labels: labels follow the data's own distribution.

    Latents come from stateless Philox ops keyed by (`seed`, step * (d_steps
    + 1) + update), with the step counted by the checkpointed step counter:
    a resumed run draws the same noise as an uninterrupted one.

    Subclasses set `SAMPLE_KEY`, the batch entry holding real samples.

    Args:
        generator: Maps `[batch, latent_dim]` latents (and label vectors) to samples.
        discriminator: Maps samples (and label vectors) to `[batch, 1]` logits.
        latent_dim: Size of the latent vectors.
        seed: Seed of the latent noise.
        d_steps: Discriminator updates per generator update.
        loss: Registered loss family (`kgan.losses.LOSS_FAMILIES`).
        label_smoothing: One-sided label smoothing of the discriminator loss.
        reuse_fakes: The generator update re-scores the first discriminator
            update's fakes with the updated discriminator (as the PyTorch
            DCGAN example does) instead of generating new ones.
        label_kind: How a conditional task's labels are given (`class` or
            `multi_hot`), None if unconditional.
        label_names: The labels' names, in vector order.
        preview_samples: Samples in each preview.
        **kwargs: Standard `keras.Model` arguments.
    """

    SAMPLE_KEY = "image"
    PLAYERS = {"d": ("discriminator",), "g": ("generator",)}
    # D(x) and D(G(z)) are mean probabilities (losses whose logits are
    # probabilities); the gap of mean logits is meaningful for any critic.
    METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_gap")
    METRIC_LABELS = {"d_real": "D(x)", "d_fake": "D(G(z))"}

    def __init__(self, generator, discriminator, latent_dim, seed=0, d_steps=1,
                 loss="non_saturating", label_smoothing=0.0, reuse_fakes=False, label_kind=None,
                 label_names=None, preview_samples=64, **kwargs):
        super().__init__({"generator": generator, "discriminator": discriminator}, seed=seed,
                         **kwargs)
        if d_steps < 1:
            raise ConfigError(f"d_steps must be >= 1, got {d_steps}")
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.loss = loss
        self.loss_family = losses.get_loss_family(loss)
        self.label_smoothing = float(label_smoothing)
        self.reuse_fakes = bool(reuse_fakes)
        self.conditional = bool(getattr(generator, "num_labels", 0))
        self.label_kind = label_kind if self.conditional else None
        self.label_names = tuple(label_names) if self.conditional and label_names else None
        self.preview_samples = int(preview_samples)

    @classmethod
    def examples_per_step(cls, config: Config) -> int:
        return config.train.batch_size * config.train.d_steps

    @classmethod
    def min_examples_per_step(cls, config: Config) -> int:
        return config.train.d_steps

    def configure(self, config: Config) -> None:
        """Compiles the task for training with the config's optimizers."""
        t = config.train
        self.compile(optimizers=adam_optimizers(config), jit_compile=t.jit_compile,
                     steps_per_execution=t.steps_per_execution)

    @property
    def g_optimizer(self):
        return self.optimizers["g"]

    @property
    def d_optimizer(self):
        return self.optimizers["d"]

    def learning_rates(self) -> dict:
        return dict(self._configured_rates)

    def compile(self, optimizers, loss_weights=None, **kwargs):
        super().compile(optimizers, loss_weights, **kwargs)
        self._configured_rates = {player: float(keras.ops.convert_to_numpy(
            optimizer.learning_rate)) for player, optimizer in optimizers.items()}

    # ----- the game -----

    def generate(self, latents, labels=None, training=False):
        """Generator output for latents (and label vectors, if conditional)."""
        return self.generator([latents, labels] if self.conditional else latents,
                              training=training)

    def discriminate(self, samples, labels=None, training=False):
        """Discriminator logits for samples (and label vectors, if conditional)."""
        return self.discriminator([samples, labels] if self.conditional else samples,
                                  training=training)

    def sample_latents(self, batch_size, update=0):
        """`[batch_size, latent_dim]` standard-normal latents for update
        `update` (0..d_steps) of the current step; under a strategy, this
        replica's rows of the global batch's latents."""
        return self.noise(batch_size, (self.latent_dim,),
                          self.step_counter * (self.d_steps + 1) + update)

    def discriminator_step(self, real, labels=None, update=0, fakes=None):
        """One discriminator update on `real` and as many fakes: `fakes` if
        given, else fresh ones (conditioned on the same `labels`).

        Returns:
            (loss, the update's `losses.DiscriminatorOutputs`).
        """
        batch_size = tf.shape(real)[0]
        if fakes is None:
            fakes = self.generate(self.sample_latents(batch_size, update), labels, training=True)
        with tf.GradientTape() as tape:
            outputs = losses.DiscriminatorOutputs(
                real_logits=self.discriminate(real, labels, training=True),
                fake_logits=self.discriminate(fakes, labels, training=True),
                real_inputs=real, fake_inputs=fakes, labels=labels,
                discriminate=lambda inputs: self.discriminate(inputs, labels, training=True))
            adversarial = self.loss_family.discriminator_loss(
                outputs, label_smoothing=self.label_smoothing)
            total, differentiated = self.player_loss("d", {"adversarial": adversarial},
                                                     batch_size)
        self.apply_update("d", tape, differentiated)
        return total, outputs

    def generator_step(self, batch_size, labels=None, tape=None, fakes=None):
        """One generator update (with `labels` `[batch_size, num_labels]` if
        conditional), scored by the current discriminator. Returns the loss.

        The fakes are `fakes`, generated under `tape` (a GradientTape not yet
        used) by the unchanged generator; else `batch_size` fresh ones.
        """
        if fakes is None:
            tape = tf.GradientTape()
            with tape:
                fakes = self.generate(self.sample_latents(batch_size, self.d_steps), labels,
                                      training=True)
        with tape:
            outputs = losses.DiscriminatorOutputs(
                real_logits=None, fake_logits=self.discriminate(fakes, labels, training=True),
                fake_inputs=fakes, labels=labels,
                discriminate=lambda inputs: self.discriminate(inputs, labels, training=True))
            adversarial = self.loss_family.generator_loss(outputs)
            total, differentiated = self.player_loss("g", {"adversarial": adversarial},
                                                     batch_size)
        self.apply_update("g", tape, differentiated)
        return total

    def _minibatch(self, tensor, k):
        """The k-th of `d_steps` interleaved slices of a batch (None stays None)."""
        if tensor is None or self.d_steps == 1:
            return tensor
        return tensor[k::self.d_steps]

    def _play(self, data):
        real, labels = data[self.SAMPLE_KEY], data.get("label") if self.conditional else None
        batch_size = tf.shape(real)[0]
        if self.d_steps > 1:
            tf.debugging.assert_greater_equal(
                batch_size, self.d_steps,
                message=f"each batch needs at least d_steps={self.d_steps} examples")
        g_tape = reused = None
        step_losses = []
        for k in range(self.d_steps):
            minibatch, minibatch_labels = self._minibatch(real, k), self._minibatch(labels, k)
            if k == 0 and self.reuse_fakes:
                g_tape = tf.GradientTape()
                with g_tape:
                    reused = self.generate(self.sample_latents(tf.shape(minibatch)[0], 0),
                                           minibatch_labels, training=True)
            d_loss, outputs = self.discriminator_step(minibatch, minibatch_labels, update=k,
                                                      fakes=reused if k == 0 else None)
            step_losses.append(d_loss)
            real_logits = tf.cast(outputs.real_logits, tf.float32)
            fake_logits = tf.cast(outputs.fake_logits, tf.float32)
            if self.loss_family.probabilities:
                self.track("d_real", tf.reduce_mean(tf.sigmoid(real_logits)))
                self.track("d_fake", tf.reduce_mean(tf.sigmoid(fake_logits)))
            self.track("d_gap", tf.reduce_mean(real_logits) - tf.reduce_mean(fake_logits))
        # As many fakes as the largest (first) discriminator minibatch.
        g_loss = self.generator_step((batch_size + self.d_steps - 1) // self.d_steps,
                                     self._minibatch(labels, 0), g_tape, reused)
        return step_losses + [g_loss]

    def phases(self):
        # One phase: the reused-fakes recipe ties the generator update to the
        # first discriminator update's tape, so the two cannot be split.
        return [Phase("DG", self._play)]

    # ----- serving -----

    def serving_items(self) -> dict:
        return {"generator": self.generator}

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim, seed=self.seed, d_steps=self.d_steps, loss=self.loss,
            label_smoothing=self.label_smoothing, reuse_fakes=self.reuse_fakes,
            label_kind=self.label_kind, label_names=self.label_names,
            preview_samples=self.preview_samples)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
