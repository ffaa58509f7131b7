"""The noise-to-sample game shared by the latent GAN families (images, 2-D points)."""

import keras
import tensorflow as tf

from kgan import augment, losses
from kgan.config import Config
from kgan.functional_optimizers import FunctionalUpdate
from kgan.errors import ConfigError
from kgan.tasks.base import Phase, Task

# Independent noise streams of the game (`Task.noise` stream numbers); the
# latents are stream 0, so recipes without the options below draw exactly
# the noise they always drew.
LATENTS, AUGMENT_REAL, AUGMENT_FAKE, PENALTY_MIX = range(4)


def pack_samples(samples, pack: int):
    """PacGAN's packing (Lin et al. 2018, "PacGAN: The power of two samples in
    generative adversarial networks", arXiv 1712.04086): each run of `pack`
    consecutive rows of `[N, ..., C]` becomes one example of
    `[N // pack, ..., pack * C]`, the samples concatenated along the last
    axis (channels of images, coordinates of points). The last `N mod pack`
    rows, if any, are left out."""
    if pack == 1:
        return samples
    rank = samples.shape.rank
    count = tf.shape(samples)[0] // pack
    packed = tf.reshape(samples[:count * pack],
                        tf.concat([[count, pack], tf.shape(samples)[1:]], 0))
    # [B, pack, ..., C] -> [B, ..., pack, C] -> [B, ..., pack * C]
    packed = tf.transpose(packed, [0, *range(2, rank), 1, rank])
    return tf.reshape(packed, tf.concat([[count], tf.shape(samples)[1:-1],
                                         [pack * samples.shape[-1]]], 0))


def adam_optimizers(config: Config) -> dict:
    """`{"g": Adam, "d": Adam}` with the config's rates and betas; wrapped for
    dynamic loss scaling under `mixed_float16` (float16 gradients underflow
    without it; bfloat16 has float32's range)."""
    t = config.train
    # Named per player: Keras's callbacks log `learning_rate_<name>`.
    optimizers = {
        "g": keras.optimizers.Adam(t.g_learning_rate, beta_1=t.g_beta1, beta_2=t.g_beta2,
                                   name="g_adam"),
        "d": keras.optimizers.Adam(t.d_learning_rate, beta_1=t.d_beta1, beta_2=t.d_beta2,
                                   name="d_adam"),
    }
    if t.mixed_precision == "mixed_float16":
        optimizers = {player: keras.optimizers.LossScaleOptimizer(
            optimizer, name=f"{player}_loss_scale") for player, optimizer in optimizers.items()}
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
        unrolled_steps: Unrolled GAN (Metz et al. 2016): the generator's loss
            is the discriminator's after this many functional updates on the
            step's first real minibatch and the generator's fakes
            (`unrolled_discriminate`); 0: the current discriminator's.
        pack: PacGAN: the discriminator judges this many samples at once
            (`pack_samples`); 1: one.
        **kwargs: Standard `keras.Model` arguments.

    The weight average, penalties, LeCam and augmentation arguments are
    those of `kgan.config.TrainConfig`.
    """

    SAMPLE_KEY = "image"
    PLAYERS = {"d": ("discriminator",), "g": ("generator",)}
    # D(x) and D(G(z)) are mean probabilities (losses whose logits are
    # probabilities); the gap of mean logits is meaningful for any critic.
    METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_gap")
    METRIC_LABELS = {"d_real": "D(x)", "d_fake": "D(G(z))"}

    def __init__(self, generator, discriminator, latent_dim, seed=0, d_steps=1,
                 loss="non_saturating", label_smoothing=0.0, reuse_fakes=False, label_kind=None,
                 label_names=None, preview_samples=64, generator_ema=None, ema_half_life=0,
                 ema_rampup=0.05, r1_gamma=0.0, r2_gamma=0.0, gp_weight=0.0, reg_every=1,
                 lecam_weight=0.0, lecam_decay=0.99, augment_policy=(), augment_probability=1.0,
                 ada_target=0.0, ada_interval=4, ada_speed=100_000, unrolled_steps=0, pack=1,
                 **kwargs):
        if d_steps < 1:
            raise ConfigError(f"d_steps must be >= 1, got {d_steps}")
        if reg_every < 1:
            raise ConfigError(f"reg_every must be >= 1, got {reg_every}")
        if unrolled_steps < 0 or pack < 1:
            raise ConfigError(f"unrolled_steps must be >= 0 and pack >= 1, got "
                              f"{unrolled_steps} and {pack}")
        if bool(ema_half_life) != (generator_ema is not None):
            raise ConfigError("a weight average needs both ema_half_life > 0 and generator_ema")
        networks = {"generator": generator, "discriminator": discriminator}
        if generator_ema is not None:
            networks["generator_ema"] = generator_ema
        penalties = {"r1": r1_gamma / 2, "r2": r2_gamma / 2, "gp": gp_weight}
        self.penalty_weights = {name: float(w) for name, w in penalties.items() if w}
        self.reg_every = int(reg_every) if self.penalty_weights else 1
        self.lecam_weight = float(lecam_weight)
        self.augment_policy = augment.check_policy(augment_policy)
        self.ada_target = float(ada_target) if self.augment_policy else 0.0
        d_terms = ["adversarial"] + (["lecam"] if self.lecam_weight else [])
        # D(x) and D(G(z)) are probabilities only under the minimax losses.
        probabilities = losses.get_loss_family(loss).probabilities
        names = [name for name in self.METRICS
                 if probabilities or name not in ("d_real", "d_fake")]
        if len(d_terms) > 1 or self.penalty_weights:
            names += [f"d_{term}" for term in d_terms + list(self.penalty_weights)]
        if self.augment_policy:
            names.append("augment_p")
        super().__init__(networks, seed=seed, metric_names=tuple(names), **kwargs)
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.loss = loss
        self.loss_family = losses.get_loss_family(loss)
        self.label_smoothing = float(label_smoothing)
        if self.label_smoothing and not self.loss_family.label_smoothing:
            raise ConfigError(f"label smoothing applies to the minimax discriminator loss, not "
                              f"to loss {loss!r}")
        self.reuse_fakes = bool(reuse_fakes)
        self.conditional = bool(getattr(generator, "num_labels", 0))
        self.label_kind = label_kind if self.conditional else None
        self.label_names = tuple(label_names) if self.conditional and label_names else None
        self.preview_samples = int(preview_samples)
        self.r1_gamma, self.r2_gamma, self.gp_weight = (float(r1_gamma), float(r2_gamma),
                                                        float(gp_weight))
        self.lecam_decay = float(lecam_decay)
        self.ema_half_life = int(ema_half_life)
        self.ema_rampup = float(ema_rampup)
        self.augment_probability = float(augment_probability)
        self.ada_interval = int(ada_interval)
        self.ada_speed = int(ada_speed)
        self.unrolled_steps = int(unrolled_steps)
        self.pack = int(pack)
        # Sample with the raw generator even when an average exists (set by loaders).
        self.serve_raw_weights = False
        if generator_ema is not None:
            self._restart_average()
        # LeCam's anchors: moving averages of D's mean logits on real and
        # generated inputs (Tseng et al. 2021); checkpointed with the run.
        self.lecam_anchors = keras.Variable([0.0, 0.0], trainable=False, aggregation="mean",
                                            name="lecam_anchors")
        # ADA: the augmentation probability, and the sum of sign(D(x_real))
        # and the count of real images since its last adjustment.
        start = 0.0 if self.ada_target else self.augment_probability
        self.augment_p = keras.Variable(start, trainable=False,
                                        aggregation="only_first_replica", name="augment_p")
        self.ada_signs = keras.Variable([0.0, 0.0], trainable=False, aggregation="sum",
                                        name="ada_signs")

    @classmethod
    def examples_per_step(cls, config: Config) -> int:
        return config.train.batch_size * config.train.d_steps

    @classmethod
    def min_examples_per_step(cls, config: Config) -> int:
        return config.train.d_steps

    @classmethod
    def check_recipe(cls, config: Config) -> None:
        """Refuses combinations of the game's options that cannot train.

        Raises:
            ConfigError: naming the setting.
        """
        t = config.train
        family = losses.get_loss_family(t.loss)
        if t.label_smoothing and not family.label_smoothing:
            raise ConfigError(f"train.label_smoothing applies to the minimax discriminator loss "
                              f"(non_saturating, minimax), not to train.loss={t.loss!r}")
        lipschitz = t.gp_weight or t.r1_gamma or t.r2_gamma or config.model.spectral_norm
        if t.loss == "wasserstein" and not lipschitz:
            raise ConfigError("train.loss='wasserstein' needs a Lipschitz constraint on the "
                              "critic: set train.gp_weight (10 in Gulrajani et al. 2017) or "
                              "model.spectral_norm")
        if t.ada_target and not t.augment:
            raise ConfigError(f"train.ada_target={t.ada_target} adapts the probability of "
                              f"augmentations: name them with train.augment")
        if t.unrolled_steps and t.augment:
            raise ConfigError(f"train.unrolled_steps={t.unrolled_steps} unrolls the "
                              f"discriminator on unaugmented samples: leave train.augment unset")
        if t.unrolled_steps and t.mixed_precision == "mixed_float16":
            raise ConfigError(f"train.unrolled_steps={t.unrolled_steps} differentiates through "
                              f"optimizer updates, which float16 loss scaling does not cover: "
                              f"use float32 or mixed_bfloat16")
        pack = config.model.pack
        if pack > 1 and t.batch_size % pack:
            raise ConfigError(f"model.pack={pack} packs the batch into groups of {pack}: "
                              f"train.batch_size={t.batch_size} must be a multiple of it")

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

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        """As `Task.compile`; the regularizers' weights (gamma/2 for R1 and
        R2, times `reg_every` when lazy; the GP and LeCam weights) are the
        defaults of `loss_weights`."""
        weights = {("d", name): weight * self.reg_every
                   for name, weight in self.penalty_weights.items()}
        if self.lecam_weight:
            weights[("d", "lecam")] = self.lecam_weight
        super().compile(optimizers=optimizers, loss_weights={**weights, **(loss_weights or {})},
                        **kwargs)
        self._configured_rates = {player: float(keras.ops.convert_to_numpy(
            optimizer.learning_rate)) for player, optimizer in optimizers.items()}

    # ----- the game -----

    def generate(self, latents, labels=None, training=False):
        """Generator output for latents (and label vectors, if conditional)."""
        return self.generator([latents, labels] if self.conditional else latents,
                              training=training)

    def _discriminator_inputs(self, samples, labels):
        samples = pack_samples(samples, self.pack)
        return [samples, labels] if self.conditional else samples

    def discriminate(self, samples, labels=None, training=False):
        """Discriminator logits for samples (and label vectors, if conditional);
        with packing, one logit per pack of samples."""
        return self.discriminator(self._discriminator_inputs(samples, labels),
                                  training=training)

    def unrolled_discriminate(self, real, fakes, labels=None):
        """`fn(samples) -> logits` of the discriminator as it would be after
        `unrolled_steps` more updates on `real` and `fakes` (Metz et al. 2016,
        "Unrolled Generative Adversarial Networks", arXiv 1611.02163, Eq. 6
        and 7), differentiable with respect to the generator.

        The updates are the discriminator optimizer's rule written on tensors
        (`kgan.functional_optimizers`), from its current state, on the
        adversarial loss (penalties and LeCam are not unrolled), with the
        same real and generated batch at every update, as the paper's code
        does. Under a strategy the unrolled gradients are summed across
        replicas, as the real update's are. Nothing is assigned: the
        discriminator, its optimizer and BatchNorm statistics are unchanged.
        """
        discriminator = self.discriminator
        update = FunctionalUpdate(self.d_optimizer, discriminator.trainable_variables)
        weights = [tf.convert_to_tensor(v) for v in discriminator.trainable_variables]
        statistics = [tf.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
        state = update.initial_state()
        batch_size = tf.shape(real)[0]
        _, global_size = self.replica_share(batch_size)
        share = tf.cast(batch_size, tf.float32) / tf.cast(global_size, tf.float32)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1

        def logits_of(weights, statistics, samples):
            return discriminator.stateless_call(
                weights, statistics, self._discriminator_inputs(samples, labels), training=True)

        for _ in range(self.unrolled_steps):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                real_logits, statistics = logits_of(weights, statistics, real)
                fake_logits, statistics = logits_of(weights, statistics, fakes)
                loss = self.loss_family.discriminator_loss(
                    losses.DiscriminatorOutputs(real_logits=real_logits, fake_logits=fake_logits,
                                                labels=labels),
                    label_smoothing=self.label_smoothing) * share
            gradients = tape.gradient(loss, weights)
            if replicas > 1:
                present = [i for i, g in enumerate(gradients) if g is not None]
                summed = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                            [gradients[i] for i in present])
                for i, g in zip(present, summed):
                    gradients[i] = g
            weights, state = update(weights, gradients, state)
        return lambda samples: logits_of(weights, statistics, samples)[0]

    def sample_latents(self, batch_size, update=0, stream=LATENTS):
        """`[batch_size, latent_dim]` standard-normal latents for update
        `update` (0..d_steps) of the current step; under a strategy, this
        replica's rows of the global batch's latents."""
        return self.noise(batch_size, (self.latent_dim,), self._key(update), stream)

    def _key(self, update):
        return self.step_counter * (self.d_steps + 1) + update

    def seen(self, samples, update, stream):
        """What the discriminator sees of `samples`: differentiably augmented
        (`kgan.augment`) with the current probability, if the task augments."""
        if not self.augment_policy:
            return samples
        # Drawn for the global batch, of which each replica takes its rows:
        # R replicas augment as one device would.
        return augment.diff_augment(samples, self.augment_policy,
                                    self.noise_seed(self._key(update), stream), self.augment_p,
                                    replica_rows=self.replica_share(tf.shape(samples)[0]))

    def _penalties(self, outputs, mix):
        """The input-gradient penalties (unweighted) of one discriminator update;
        `mix` holds the gradient penalty's interpolation weights."""
        terms = {}
        if "r1" in self.penalty_weights:
            terms["r1"] = losses.r1_penalty(outputs.discriminate, outputs.real_inputs)
        if "r2" in self.penalty_weights:
            terms["r2"] = losses.r2_penalty(outputs.discriminate, outputs.fake_inputs)
        if "gp" in self.penalty_weights:
            terms["gp"] = losses.gradient_penalty(outputs.discriminate, outputs.real_inputs,
                                                  outputs.fake_inputs, mix)
        return terms

    def _lazy_penalties(self, outputs, mix):
        """The penalties on steps that are multiples of `reg_every`, zeros on
        the others (lazy regularization, Karras et al. 2020, Sec. 4; their
        weights carry the factor `reg_every`). Computed under `tf.cond` inside
        the discriminator update, so the update itself, which synchronizes
        replicas, stays outside the branch (a strategy cannot synchronize
        inside replica-local control flow). Each penalty is logged on the
        steps that compute it."""
        names = list(self.penalty_weights)

        def compute():
            values = self._penalties(outputs, mix)
            for name in names:
                self.track(f"d_{name}", values[name])
            return [values[name] for name in names]

        def skip():
            return [tf.constant(0.0) for _ in names]

        due = tf.equal(self.step_counter % self.reg_every, 0)
        return dict(zip(names, tf.cond(due, compute, skip)))

    def discriminator_step(self, real, labels=None, update=0, fakes=None):
        """One discriminator update on `real` and as many fakes: `fakes` if
        given, else fresh ones (conditioned on the same `labels`).

        Returns:
            (loss, the update's `losses.DiscriminatorOutputs`).
        """
        batch_size = tf.shape(real)[0]
        if fakes is None:
            fakes = self.generate(self.sample_latents(batch_size, update), labels, training=True)
        real_seen = self.seen(real, update, AUGMENT_REAL)
        fake_seen = self.seen(fakes, update, AUGMENT_FAKE)
        mix = None
        if "gp" in self.penalty_weights:
            mix = self.noise(batch_size, (), self._key(update), PENALTY_MIX, "uniform")
        lazy = self.reg_every > 1 and update == 0
        with tf.GradientTape() as tape:
            outputs = losses.DiscriminatorOutputs(
                real_logits=self.discriminate(real_seen, labels, training=True),
                fake_logits=self.discriminate(fake_seen, labels, training=True),
                real_inputs=real_seen, fake_inputs=fake_seen, labels=labels,
                discriminate=lambda inputs: self.discriminate(inputs, labels, training=True))
            terms = {"adversarial": self.loss_family.discriminator_loss(
                outputs, label_smoothing=self.label_smoothing)}
            if self.lecam_weight:
                terms["lecam"] = losses.lecam_penalty(outputs.real_logits, outputs.fake_logits,
                                                      self.lecam_anchors[0],
                                                      self.lecam_anchors[1])
            if self.reg_every == 1:
                terms.update(self._penalties(outputs, mix))
            elif lazy:
                terms.update(self._lazy_penalties(outputs, mix))
            # Lazy penalties are logged by the steps that compute them.
            logged = None if not self.penalty_weights else [
                name for name in terms if self.reg_every == 1 or name not in self.penalty_weights]
            total, differentiated = self.player_loss("d", terms, batch_size, track_terms=logged)
        self.apply_update("d", tape, differentiated)
        real_logits = tf.cast(outputs.real_logits, tf.float32)
        if self.lecam_weight:
            means = tf.stack([tf.reduce_mean(real_logits),
                              tf.reduce_mean(tf.cast(outputs.fake_logits, tf.float32))])
            self.lecam_anchors.assign(self.lecam_decay * self.lecam_anchors
                                      + (1.0 - self.lecam_decay) * means)
        if self.ada_target:
            self.ada_signs.assign_add(tf.stack([
                tf.reduce_sum(tf.sign(real_logits)), tf.cast(tf.size(real_logits), tf.float32)]))
        return total, outputs

    def generator_step(self, batch_size, labels=None, tape=None, fakes=None, real=None):
        """One generator update (with `labels` `[batch_size, num_labels]` if
        conditional), scored by the current discriminator. Returns the loss.

        The fakes are `fakes`, generated under `tape` (a GradientTape not yet
        used) by the unchanged generator; else `batch_size` fresh ones. A
        relativistic loss also judges `real` (as many real samples), and an
        unrolled one unrolls the discriminator on them.
        """
        if self.unrolled_steps and real is None:
            raise ValueError("an unrolled generator update needs the real minibatch")
        if fakes is None:
            tape = tf.GradientTape()
            with tape:
                fakes = self.generate(self.sample_latents(batch_size, self.d_steps), labels,
                                      training=True)
        with tape:
            fake_seen = self.seen(fakes, self.d_steps, AUGMENT_FAKE)
            if self.unrolled_steps:
                # The unrolled updates see fakes the generator made under this tape.
                discriminate = self.unrolled_discriminate(real, fakes, labels)
            else:
                discriminate = lambda inputs: self.discriminate(  # noqa: E731
                    inputs, labels, training=True)
            real_logits = None
            if self.loss_family.generator_needs_real:
                real_logits = discriminate(self.seen(real, self.d_steps, AUGMENT_REAL))
            outputs = losses.DiscriminatorOutputs(
                real_logits=real_logits, fake_logits=discriminate(fake_seen),
                fake_inputs=fake_seen, labels=labels, discriminate=discriminate)
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
        first = self._minibatch(real, 0)
        g_loss = self.generator_step(tf.shape(first)[0], self._minibatch(labels, 0), g_tape,
                                     reused, real=first)
        step_losses.append(g_loss)
        _, images_per_step = self.replica_share(batch_size)
        if self.ema_half_life:
            self.update_average(self.generator_ema, self.generator,
                                self._ema_decay(images_per_step))
        if self.augment_policy:
            if self.ada_target:
                self._adjust_augmentation(images_per_step)
            self.track("augment_p", self.augment_p)
        return step_losses

    def _ema_decay(self, images_per_step):
        """Per-step decay of the weight average: a half-life of
        `ema_half_life` images, at most `ema_rampup` x the images shown so far
        (StyleGAN2-ADA's ramp, Karras et al. 2020)."""
        images = tf.cast(images_per_step, tf.float32)
        half_life = tf.constant(float(self.ema_half_life))
        if self.ema_rampup:
            shown = tf.cast(self.step_counter + 1, tf.float32) * images
            half_life = tf.minimum(half_life, shown * self.ema_rampup)
        return tf.pow(0.5, images / tf.maximum(half_life, 1e-8))

    def _adjust_augmentation(self, images_per_step):
        """Every `ada_interval` steps, moves the augmentation probability by
        the sign of E[sign D(x_real)] - target (`kgan.augment.ada_adjust`)."""
        due = tf.equal((self.step_counter + 1) % self.ada_interval, 0)
        signs, count = self.ada_signs[0], self.ada_signs[1]
        adjusted = augment.ada_adjust(
            self.augment_p, signs / tf.maximum(count, 1.0), target=self.ada_target,
            batch_images=tf.cast(images_per_step * self.ada_interval, tf.float32),
            speed_images=self.ada_speed)
        self.augment_p.assign(tf.where(due, adjusted, self.augment_p))
        self.ada_signs.assign(tf.where(due, tf.zeros_like(self.ada_signs), self.ada_signs))

    def phases(self):
        # One phase: the reused-fakes recipe ties the generator update to the
        # first discriminator update's tape, so the two cannot be split.
        return [Phase("DG", self._play)]

    # ----- checkpoints -----

    def checkpoint_items(self) -> dict:
        items = super().checkpoint_items()
        if self.lecam_weight:
            items["lecam_anchors"] = self.lecam_anchors
        if self.augment_policy:
            items["augment_p"] = self.augment_p
            items["ada_signs"] = self.ada_signs
        return items

    def _restart_average(self) -> None:
        for average, weight in zip(self.generator_ema.weights, self.generator.weights):
            average.assign(weight)

    def start_added_items(self, names) -> None:
        # A weight average turned on when resuming starts from the restored
        # generator, as a new run's starts from the initial one.
        if "generator_ema" in names:
            self._restart_average()

    # ----- serving -----

    @property
    def serving_network(self) -> str:
        """The network samples come from: the weight average if the run
        keeps one (unless `serve_raw_weights`), else the generator."""
        if self.ema_half_life and not self.serve_raw_weights:
            return "generator_ema"
        return "generator"

    @property
    def sampler(self) -> keras.Model:
        return getattr(self, self.serving_network)

    def sample(self, latents, labels=None):
        """Inference-mode samples from the serving network."""
        return self.sampler([latents, labels] if self.conditional else latents, training=False)

    def serving_items(self) -> dict:
        return {self.serving_network: self.sampler}

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim, seed=self.seed, d_steps=self.d_steps, loss=self.loss,
            label_smoothing=self.label_smoothing, reuse_fakes=self.reuse_fakes,
            label_kind=self.label_kind, label_names=self.label_names,
            preview_samples=self.preview_samples,
            generator_ema=(keras.saving.serialize_keras_object(self.generator_ema)
                           if self.ema_half_life else None),
            ema_half_life=self.ema_half_life, ema_rampup=self.ema_rampup,
            r1_gamma=self.r1_gamma, r2_gamma=self.r2_gamma, gp_weight=self.gp_weight,
            reg_every=self.reg_every, lecam_weight=self.lecam_weight,
            lecam_decay=self.lecam_decay, augment_policy=self.augment_policy,
            augment_probability=self.augment_probability, ada_target=self.ada_target,
            ada_interval=self.ada_interval, ada_speed=self.ada_speed,
            unrolled_steps=self.unrolled_steps, pack=self.pack)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        if config.get("generator_ema"):
            config["generator_ema"] = keras.saving.deserialize_keras_object(
                config["generator_ema"])
        return cls(**config)


def recipe_arguments(config: Config, generator_ema=None) -> dict:
    """The `LatentGAN` constructor arguments a config's `train` section sets."""
    t = config.train
    return dict(seed=t.seed, d_steps=t.d_steps, loss=t.loss, label_smoothing=t.label_smoothing,
                reuse_fakes=t.reuse_fakes, preview_samples=t.num_samples,
                generator_ema=generator_ema if t.ema_half_life else None,
                ema_half_life=t.ema_half_life, ema_rampup=t.ema_rampup, r1_gamma=t.r1_gamma,
                r2_gamma=t.r2_gamma, gp_weight=t.gp_weight, reg_every=t.reg_every,
                lecam_weight=t.lecam_weight, lecam_decay=t.lecam_decay,
                augment_policy=t.augment, augment_probability=t.augment_probability,
                ada_target=t.ada_target, ada_interval=t.ada_interval, ada_speed=t.ada_speed,
                unrolled_steps=t.unrolled_steps, pack=config.model.pack)
