"""`cyclegan`: unpaired image-to-image translation (Zhu et al. 2017).

Two domains of CelebA faces chosen by attributes (`data.domain_a=-Male
data.domain_b=Male`: women <-> men; `kgan.data.translation.domain_split`),
two generators (G: A -> B, `generator`; F: B -> A, `generator_ba`) and two
PatchGAN discriminators (D_A judges A faces, D_B judges B faces). The
generators minimize the adversarial terms of both directions, `cycle_weight`
(lambda, 10) times the cycle-consistency terms ||F(G(a)) - a|| + ||G(F(b)) -
b||, and `identity_weight * cycle_weight` times the identity terms ||G(b) -
b|| + ||F(a) - a||. Each discriminator judges its domain's real faces against
generated ones drawn through a history buffer of the last `history_size`
generated images (Shrivastava et al. 2017), kept in the checkpoint so a
resumed run judges exactly what an uninterrupted one would.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import images
from kgan.config import Config
from kgan.data import celeba, to_unit_range
from kgan.data import translation as translation_data
from kgan.losses import DiscriminatorOutputs
from kgan.tasks.base import Direction, Phase, TaskData, TranslationServing
from kgan.tasks.translation import (HISTORY, MIRROR, TranslationExamples, TranslationTask,
                                    generator_for, history_pool, mirrored,
                                    patch_discriminator_for)
from kgan.tasks.translation_losses import cyclegan_cycle_loss, cyclegan_identity_loss


@keras.saving.register_keras_serializable(package="kgan")
class CycleGAN(TranslationTask):
    """Faces of domain A <-> faces of domain B, without pairs."""

    NAME = "cyclegan"
    PLAYERS = {"d": ("discriminator_a", "discriminator_b"),
               "g": ("generator", "generator_ba")}
    METRICS = ("d_loss", "d_a", "d_b", "g_loss", "g_adversarial", "g_cycle", "g_identity")
    EVALUATION_METRICS = ("translation_success", "attribute_agreement", "cycle_error", "fid",
                          "kid")

    @classmethod
    def resolve(cls, config: Config) -> Config:
        config = super().resolve(config)
        names = celeba.all_attribute_names(config.data)
        translation_data.parse_domain(config.data.domain_a, names)
        translation_data.parse_domain(config.data.domain_b, names)
        return config

    @classmethod
    def describe(cls, config: Config) -> str:
        d = config.data
        return (f"CycleGAN {d.domain_a} <-> {d.domain_b} at {d.resolution}x{d.resolution} "
                f"({config.model.architecture} generators)")

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        """Both domains' faces side by side: the smaller domain is repeated in
        seeded permutations up to the larger one's count, so every epoch shows
        every face of both (the pairing of rows carries no meaning: no term
        compares an A face with the B face beside it)."""
        domains = translation_data.domain_split(config.data, split)
        count = max(len(domains.a), len(domains.b))
        rng = np.random.default_rng(config.train.seed)

        def filled(faces):
            if len(faces) == count:
                return faces
            repeats = -(-count // len(faces))
            return faces[np.concatenate([rng.permutation(len(faces))
                                         for _ in range(repeats)])[:count]]

        size = config.data.resolution
        spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        return TaskData({"a": filled(domains.a), "b": filled(domains.b)}, count, domains.source,
                        {"a": spec, "b": spec},
                        lambda rows: {name: to_unit_range(value) for name, value in rows.items()},
                        noun="face pairs")

    @classmethod
    def examples(cls, config: Config, split: str = "heldout") -> dict:
        domains = translation_data.domain_split(config.data, split)
        d = config.data
        return {
            "serving_default": TranslationExamples(
                domains.a, attributes=domains.a_attributes,
                attribute_names=domains.attribute_names,
                description=f"{len(domains.a)} {split} faces of {d.domain_a}"),
            "b_to_a": TranslationExamples(
                domains.b, attributes=domains.b_attributes,
                attribute_names=domains.attribute_names,
                description=f"{len(domains.b)} {split} faces of {d.domain_b}"),
        }

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "CycleGAN":
        return cls(generator_for(config, 3, "generator"), generator_for(config, 3, "generator_ba"),
                   patch_discriminator_for(config, 3, "discriminator_a"),
                   patch_discriminator_for(config, 3, "discriminator_b"), config)

    def __init__(self, generator, generator_ba, discriminator_a, discriminator_b,
                 config: Config, **kwargs):
        t = config.train
        self.adversarial_weight = float(t.adversarial_weight)
        names = self.METRICS if self.adversarial_weight else ("g_loss", "g_cycle", "g_identity")
        if not t.identity_weight:
            names = tuple(name for name in names if name != "g_identity")
        super().__init__({"generator": generator, "generator_ba": generator_ba,
                          "discriminator_a": discriminator_a,
                          "discriminator_b": discriminator_b}, config, metric_names=names,
                         **kwargs)
        self.domains = (config.data.domain_a, config.data.domain_b)
        self.cycle_weight = float(t.cycle_weight)
        self.identity_weight = float(t.identity_weight)
        size = self.image_size
        # Generated A faces (judged by D_A) and B faces (D_B), and the slots
        # each holds. The first replica's exchange is kept: every replica's
        # buffered images are equally old generated faces.
        self.history_buffers = [keras.Variable(np.zeros([t.history_size, size, size, 3], np.float32),
                                       trainable=False, aggregation="only_first_replica",
                                       name=f"history_{domain}") for domain in "ab"]
        self.history_filled = keras.Variable([0, 0], dtype="int32", trainable=False,
                                             aggregation="only_first_replica",
                                             name="history_filled")

    def compile(self, *, optimizers, loss_weights=None, **kwargs):
        """As `Task.compile`; the cycle, identity and adversarial weights of
        the config are the defaults of `loss_weights`."""
        weights = {("g", "cycle"): self.cycle_weight,
                   ("g", "identity"): self.identity_weight * self.cycle_weight,
                   ("g", "adversarial"): self.adversarial_weight}
        super().compile(optimizers=optimizers, loss_weights={**weights, **(loss_weights or {})},
                        **kwargs)

    def get_config(self):
        return {**super().get_config(), "domains": list(self.domains)}

    def checkpoint_items(self) -> dict:
        return {**super().checkpoint_items(), "history_a": self.history_buffers[0],
                "history_b": self.history_buffers[1], "history_filled": self.history_filled}

    def phases(self):
        return [Phase("GD", self._step)]

    def _step(self, batch):
        """One update of both generators, then of both discriminators on this
        step's generated faces through the history buffers (the order of the
        authors' code)."""
        batch_size = tf.shape(batch["a"])[0]
        flips = self.noise(batch_size, (2,), self.step_counter, stream=MIRROR,
                           distribution="uniform") < 0.5
        (real_a,), (real_b,) = mirrored(flips[:, 0], batch["a"]), mirrored(flips[:, 1], batch["b"])
        with tf.GradientTape() as tape:
            # Each generator sees its input domain and its output domain in one
            # call: the translation and the identity mapping.
            to_b = self.generator(tf.concat([real_a, real_b], 0), training=True)
            to_a = self.generator_ba(tf.concat([real_b, real_a], 0), training=True)
            fake_b, same_b = to_b[:batch_size], to_b[batch_size:]
            fake_a, same_a = to_a[:batch_size], to_a[batch_size:]
            terms = {"cycle": cyclegan_cycle_loss(real_a, self.generator_ba(fake_b,
                                                                           training=True))
                     + cyclegan_cycle_loss(real_b, self.generator(fake_a, training=True))}
            if self.identity_weight:
                terms["identity"] = (cyclegan_identity_loss(real_b, same_b)
                                     + cyclegan_identity_loss(real_a, same_a))
            if self.adversarial_weight:
                terms["adversarial"] = (self._generator_adversarial(self.discriminator_b, real_b,
                                                                    fake_b)
                                        + self._generator_adversarial(self.discriminator_a,
                                                                      real_a, fake_a))
            g_total, differentiated = self.player_loss("g", terms, batch_size)
        self.apply_update("g", tape, differentiated)
        if not self.adversarial_weight:
            return [g_total]
        return [g_total, self._discriminator_update(real_a, real_b, fake_a, fake_b, batch_size)]

    def _generator_adversarial(self, discriminator, real, fake):
        real_logits = (discriminator(real, training=True)
                       if self.loss_family.generator_needs_real else None)
        return self.loss_family.generator_loss(DiscriminatorOutputs(
            real_logits=real_logits, fake_logits=discriminator(fake, training=True)))

    def _discriminator_update(self, real_a, real_b, fake_a, fake_b, batch_size):
        key = self.step_counter
        draws = self.noise(batch_size, (2,), key, stream=HISTORY, distribution="uniform")
        size = self.history_buffers[0].shape[0]
        slot_draws = self.noise(batch_size, (2,), key, stream=HISTORY + 1,
                                distribution="uniform")
        slots = tf.minimum(tf.cast(slot_draws * size, tf.int32), max(size - 1, 0))
        judged, filled = [], []
        for index, fake in enumerate((fake_a, fake_b)):
            shown, history, now_filled = history_pool(
                tf.convert_to_tensor(self.history_buffers[index]), self.history_filled[index],
                tf.stop_gradient(fake), draws[:, index], slots[:, index])
            self.history_buffers[index].assign(history)
            judged.append(shown)
            filled.append(now_filled)
        self.history_filled.assign(tf.stack(filled))
        with tf.GradientTape() as tape:
            terms = {}
            for domain, discriminator, real, fake in (("a", self.discriminator_a, real_a,
                                                       judged[0]),
                                                      ("b", self.discriminator_b, real_b,
                                                       judged[1])):
                terms[domain] = self.loss_family.discriminator_loss(
                    self.judge(discriminator, real, fake))
            total, differentiated = self.player_loss("d", terms, batch_size)
        self.apply_update("d", tape, differentiated)
        return total

    def serving_spec(self) -> TranslationServing:
        domain_a, domain_b = self.domains
        return TranslationServing(
            directions=(Direction("serving_default", "generator", domain_a, domain_b),
                        Direction("b_to_a", "generator_ba", domain_b, domain_a)),
            image_shape=(self.image_size, self.image_size, 3),
            to_input=to_unit_range, to_output=images.to_uint8)

    def preview_rows(self, examples: dict) -> list:
        domain_a, domain_b = self.domains
        a, b = examples["serving_default"].inputs, examples["b_to_a"].inputs
        return [(domain_a, a), (f"{domain_a} -> {domain_b}", self.translate("serving_default", a)),
                (domain_b, b), (f"{domain_b} -> {domain_a}", self.translate("b_to_a", b))]
