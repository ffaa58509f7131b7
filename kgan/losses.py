"""GAN losses as pure functions of the discriminator's outputs.

A task hands the losses one `DiscriminatorOutputs` record: the logits on
real and generated inputs, the inputs themselves, the labels they were
judged under, and `discriminate`, which evaluates the same discriminator
(same conditioning, same training mode) on other inputs. Losses that need
only logits read those; relativistic losses read both sides, and penalties
(R1/R2 on the real or generated inputs, gradient penalties on
interpolations) call `discriminate` inside the caller's tape, so every loss
stays a pure function of that record.

The logit functions below take unnormalized logits (any shape, any magnitude) and
returns a scalar float32 mean over the batch. They are built on
`tf.nn.sigmoid_cross_entropy_with_logits` and `tf.nn.softplus`, whose
formulations never evaluate `log(sigmoid(x))` directly, so values and
gradients stay finite for logits of +-1e4 and beyond.

Sign conventions follow the players: each loss is the quantity that player
minimizes. A loss family pairs a generator loss with the discriminator loss it
is trained against (`LOSS_FAMILIES`).
"""

import dataclasses
from typing import Any, Callable, Optional

import tensorflow as tf

from kgan.errors import lookup


def _float32(logits) -> tf.Tensor:
    """Logits of any float dtype (e.g. bfloat16 from a mixed-precision network)
    in float32, where the losses are computed."""
    return tf.cast(tf.convert_to_tensor(logits), tf.float32)

def minimax_discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """Discriminator loss of the original minimax game.

    Minimizes `-E[log D(x)] - E[log(1 - D(G(z)))]`, the negated value function
    V(D, G) of Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014
    (https://arxiv.org/abs/1406.2661), with D(x) = sigmoid(logits).

    With one-sided label smoothing (Salimans et al., "Improved Techniques for
    Training GANs", NeurIPS 2016, https://arxiv.org/abs/1606.03498, Sec. 3.4)
    the target for real images becomes `1 - label_smoothing` while generated
    images keep target 0, so D is not rewarded for over-confidence on real
    data and fakes are not pulled towards the data.

    Args:
        real_logits: Discriminator logits for real images.
        fake_logits: Discriminator logits for generated images.
        label_smoothing: Amount taken off the real target, in [0, 1).

    Returns:
        Scalar: mean cross-entropy on real images plus mean cross-entropy on
        generated images.
    """
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - label_smoothing)
    loss_on_real = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    loss_on_fake = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.reduce_mean(loss_on_real) + tf.reduce_mean(loss_on_fake)


def minimax_generator_loss(fake_logits):
    """Generator loss of the original minimax game (the saturating form).

    Minimizes `E[log(1 - D(G(z)))]` as in Goodfellow et al., "Generative
    Adversarial Nets", NeurIPS 2014 (https://arxiv.org/abs/1406.2661), Eq. 1.
    `log(1 - sigmoid(l)) = -softplus(l)`. Its gradient vanishes when D
    confidently rejects the fakes (very negative logits), which is why the
    paper recommends the non-saturating loss in practice.

    Args:
        fake_logits: Discriminator logits for generated images.

    Returns:
        Scalar, `-mean(softplus(fake_logits))`; always <= 0.
    """
    fake_logits = _float32(fake_logits)
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss: maximize log D(G(z)).

    Minimizes `-E[log D(G(z))]`, the heuristic of Goodfellow et al.,
    "Generative Adversarial Nets", NeurIPS 2014
    (https://arxiv.org/abs/1406.2661), Sec. 3: it has the same fixed point as
    the minimax loss but strong gradients early in training, when D rejects
    the fakes easily. `-log(sigmoid(l)) = softplus(-l)`.

    Args:
        fake_logits: Discriminator logits for generated images.

    Returns:
        Scalar, `mean(softplus(-fake_logits))`; always >= 0.
    """
    fake_logits = _float32(fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


@dataclasses.dataclass(frozen=True)
class DiscriminatorOutputs:
    """What a discriminator said in one update, for the losses to read.

    Attributes:
        real_logits: Logits on the real inputs (None where the update did
            not judge real data, e.g. a non-relativistic generator update).
        fake_logits: Logits on the generated inputs.
        real_inputs: The real inputs judged (any structure the task's
            discriminator takes), for penalties on them (R1).
        fake_inputs: The generated inputs judged (R2, gradient penalties).
        labels: The label vectors both were judged under, or None.
        discriminate: `fn(inputs) -> logits`: the same discriminator, under
            the same labels and training mode, on other inputs.
    """

    real_logits: Optional[tf.Tensor]
    fake_logits: tf.Tensor
    real_inputs: Any = None
    fake_inputs: Any = None
    labels: Optional[tf.Tensor] = None
    discriminate: Optional[Callable[[Any], tf.Tensor]] = None


@dataclasses.dataclass(frozen=True)
class LossFamily:
    """A generator loss and the discriminator loss it is trained against.

    Attributes:
        generator_loss: `fn(outputs: DiscriminatorOutputs) -> scalar`.
        discriminator_loss: `fn(outputs, label_smoothing=0.0) -> scalar`.
        probabilities: Whether sigmoid(logits) is the discriminator's
            probability of "real" under this loss (so D(x) and D(G(z)) are
            logged); a critic's logits are only compared with each other.
    """

    generator_loss: Callable[[DiscriminatorOutputs], tf.Tensor]
    discriminator_loss: Callable[..., tf.Tensor]
    probabilities: bool = True


def minimax_discriminator_loss_of(outputs: DiscriminatorOutputs, label_smoothing=0.0):
    """`minimax_discriminator_loss` of a `DiscriminatorOutputs` record."""
    return minimax_discriminator_loss(outputs.real_logits, outputs.fake_logits, label_smoothing)


def minimax_generator_loss_of(outputs: DiscriminatorOutputs):
    """`minimax_generator_loss` of a `DiscriminatorOutputs` record."""
    return minimax_generator_loss(outputs.fake_logits)


def non_saturating_generator_loss_of(outputs: DiscriminatorOutputs):
    """`non_saturating_generator_loss` of a `DiscriminatorOutputs` record."""
    return non_saturating_generator_loss(outputs.fake_logits)


LOSS_FAMILIES = {
    "minimax": LossFamily(minimax_generator_loss_of, minimax_discriminator_loss_of),
    "non_saturating": LossFamily(non_saturating_generator_loss_of, minimax_discriminator_loss_of),
}


def get_loss_family(name: str) -> LossFamily:
    """Looks up a loss family by name, with a clear error for unknown names."""
    return lookup(LOSS_FAMILIES, name, "loss")
