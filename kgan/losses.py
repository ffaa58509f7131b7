"""GAN losses and regularizers as pure functions of the discriminator's outputs.

A task hands the losses one `DiscriminatorOutputs` record: the logits on
real and generated inputs, the inputs themselves, the labels they were
judged under, and `discriminate`, which evaluates the same discriminator
(same conditioning, same training mode) on other inputs. Losses that need
only logits read those; relativistic losses read both sides, and penalties
(R1/R2 on the real or generated inputs, gradient penalties on
interpolations) call `discriminate` inside the caller's tape, so every loss
stays a pure function of that record.

The logit functions below take unnormalized logits (any shape, any magnitude,
any float dtype) and return a scalar float32 mean over the batch. They are
built on `tf.nn.sigmoid_cross_entropy_with_logits`, `tf.nn.softplus` and
`tf.nn.relu`, whose formulations never evaluate `log(sigmoid(x))` directly,
so values and gradients stay finite for logits of +-1e4 and beyond (least
squares, which squares its logits, only up to about 1.8e19).

Sign conventions follow the players: each loss is the quantity that player
minimizes. A loss family pairs a generator loss with the discriminator loss it
is trained against (`LOSS_FAMILIES`): minimax and non-saturating (Goodfellow
et al. 2014), hinge, Wasserstein, least squares and relativistic pairing.

Regularizers (`r1_penalty`, `r2_penalty`, `gradient_penalty`,
`lecam_penalty`) are unweighted float32 scalars: the caller scales them and
adds them to the discriminator loss inside its own `tf.GradientTape`, which
differentiates through the input gradients they take (double backprop).
"""

import dataclasses
from typing import Any, Callable, Optional

import tensorflow as tf

from kgan.errors import ConfigError, lookup


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


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss.

    Minimizes `E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`, the margin loss
    of Lim & Ye, "Geometric GAN", 2017 (https://arxiv.org/abs/1705.02894),
    popularized by Miyato et al., "Spectral Normalization for Generative
    Adversarial Networks", ICLR 2018 (https://arxiv.org/abs/1802.05957).
    D is a critic: its logits are scores, not probabilities, and
    only those inside the margin (real below +1, fake above -1) get
    gradients.

    Args:
        real_logits: Discriminator logits for real images.
        fake_logits: Discriminator logits for generated images.

    Returns:
        Scalar, `mean(relu(1 - real_logits)) + mean(relu(1 + fake_logits))`;
        always >= 0, and 0 once every logit is outside the margin.
    """
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
            + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))


def hinge_generator_loss(fake_logits):
    """Generator loss trained against the hinge discriminator loss.

    Minimizes `-E[D(G(z))]`, as in Lim & Ye, "Geometric GAN", 2017
    (https://arxiv.org/abs/1705.02894) and Miyato et al., "Spectral
    Normalization for Generative Adversarial Networks", ICLR 2018
    (https://arxiv.org/abs/1802.05957): the generator raises the
    critic's score of its samples without a margin.

    Args:
        fake_logits: Discriminator logits for generated images.

    Returns:
        Scalar, `-mean(fake_logits)`.
    """
    return -tf.reduce_mean(_float32(fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Wasserstein critic loss.

    Minimizes `E[D(G(z))] - E[D(x)]`, the negated Kantorovich-Rubinstein
    estimate of the Wasserstein-1 distance of Arjovsky et al., "Wasserstein
    GAN", ICML 2017 (https://arxiv.org/abs/1701.07875). The estimate
    is only meaningful for a (roughly) 1-Lipschitz critic, which this loss
    does not enforce: pair it with weight clipping, spectral normalization or
    `gradient_penalty` (Gulrajani et al., "Improved Training of Wasserstein
    GANs", NeurIPS 2017, https://arxiv.org/abs/1704.00028), or the critic's
    logits grow without bound.

    Args:
        real_logits: Critic scores for real images.
        fake_logits: Critic scores for generated images.

    Returns:
        Scalar, `mean(fake_logits) - mean(real_logits)`.
    """
    return tf.reduce_mean(_float32(fake_logits)) - tf.reduce_mean(_float32(real_logits))


def wasserstein_generator_loss(fake_logits):
    """Wasserstein generator loss.

    Minimizes `-E[D(G(z))]`, Arjovsky et al., "Wasserstein GAN", ICML 2017
    (https://arxiv.org/abs/1701.07875), Algorithm 1; also Gulrajani et al.,
    "Improved Training of Wasserstein GANs", NeurIPS 2017
    (https://arxiv.org/abs/1704.00028), Algorithm 1.

    Args:
        fake_logits: Critic scores for generated images.

    Returns:
        Scalar, `-mean(fake_logits)`.
    """
    return -tf.reduce_mean(_float32(fake_logits))


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Least-squares discriminator loss (LSGAN) with codes a=0, b=1.

    Minimizes `1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]` with fake code
    a = 0 and real code b = 1, Mao et al., "Least Squares Generative
    Adversarial Networks", ICCV 2017 (https://arxiv.org/abs/1611.04076).
    D's outputs are regressed onto the codes, so they are scores, not
    probabilities.

    The squares are finite in float32 only for |logits| below about 1.8e19
    (sqrt of the largest float32, ~3.4e38); beyond that the loss is inf.
    Values and gradients are exact and finite for logits of +-1e4.

    Args:
        real_logits: Discriminator outputs for real images.
        fake_logits: Discriminator outputs for generated images.

    Returns:
        Scalar, `0.5 * mean((real_logits - 1)^2) + 0.5 * mean(fake_logits^2)`.
    """
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    return (0.5 * tf.reduce_mean(tf.square(real_logits - 1.0))
            + 0.5 * tf.reduce_mean(tf.square(fake_logits)))


def least_squares_generator_loss(fake_logits):
    """Least-squares generator loss (LSGAN) with code c=1.

    Minimizes `1/2 E[(D(G(z)) - c)^2]` with c = 1, the real code, Mao et al.,
    "Least Squares Generative Adversarial Networks", ICCV 2017
    (https://arxiv.org/abs/1611.04076). Finite in float32 for
    |fake_logits| below about 1.8e19, like
    `least_squares_discriminator_loss`.

    Args:
        fake_logits: Discriminator outputs for generated images.

    Returns:
        Scalar, `0.5 * mean((fake_logits - 1)^2)`.
    """
    return 0.5 * tf.reduce_mean(tf.square(_float32(fake_logits) - 1.0))


def _paired(real_logits, fake_logits):
    """Both logits in float32, checked to pair up element by element."""
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    if not real_logits.shape.is_compatible_with(fake_logits.shape):
        raise ValueError("relativistic losses pair real and fake logits element by element; "
                         f"got shapes {real_logits.shape} and {fake_logits.shape}")
    return real_logits, fake_logits


def relativistic_discriminator_loss(real_logits, fake_logits):
    """Relativistic pairing (RpGAN) discriminator loss.

    Minimizes `E[f(-(D(x) - D(G(z))))]` with `f = softplus`, i.e.
    `-E[log sigmoid(D(x) - D(G(z)))]`: D judges whether a real sample is
    more realistic than the generated one it is paired with.
    Jolicoeur-Martineau, "The relativistic discriminator: a key element
    missing from standard GAN", ICLR 2019 (https://arxiv.org/abs/1807.00734),
    Algorithm 1 (RSGAN); the loss R3GAN builds on, Huang et al., "The GAN is
    dead; long live the GAN! A Modern GAN Baseline", NeurIPS 2024
    (https://arxiv.org/abs/2501.05441).

    Values and gradients stay finite as long as the differences of logits
    are finite (e.g. logits of +-1e30).

    Args:
        real_logits: Discriminator logits for real images.
        fake_logits: Discriminator logits for generated images, the same
            shape: `real_logits[i]` is paired with `fake_logits[i]`.

    Returns:
        Scalar, `mean(softplus(fake_logits - real_logits))`; always >= 0.

    Raises:
        ValueError: If the shapes cannot pair up.
    """
    real_logits, fake_logits = _paired(real_logits, fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-(real_logits - fake_logits)))


def relativistic_generator_loss(real_logits, fake_logits):
    """Relativistic pairing (RpGAN) generator loss.

    Minimizes `E[f(-(D(G(z)) - D(x)))]` with `f = softplus`: the
    discriminator loss with the roles of real and fake swapped, so the
    generator needs the logits of real samples too. Jolicoeur-Martineau,
    "The relativistic discriminator: a key element missing from standard
    GAN", ICLR 2019 (https://arxiv.org/abs/1807.00734), Algorithm 1; Huang et
    al., "The GAN is dead; long live the GAN! A Modern GAN Baseline",
    NeurIPS 2024 (https://arxiv.org/abs/2501.05441).

    Args:
        real_logits: Discriminator logits for real images.
        fake_logits: Discriminator logits for generated images, the same
            shape: `fake_logits[i]` is paired with `real_logits[i]`.

    Returns:
        Scalar, `mean(softplus(real_logits - fake_logits))`; always >= 0.

    Raises:
        ValueError: If the shapes cannot pair up.
    """
    real_logits, fake_logits = _paired(real_logits, fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-(fake_logits - real_logits)))


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
        generator_needs_real: Whether the generator loss reads
            `outputs.real_logits` (relativistic losses), so the generator
            update must also judge a batch of real data.
        label_smoothing: Whether the discriminator loss takes a non-zero
            `label_smoothing`; the others raise `ConfigError` for one.
    """

    generator_loss: Callable[[DiscriminatorOutputs], tf.Tensor]
    discriminator_loss: Callable[..., tf.Tensor]
    probabilities: bool = True
    generator_needs_real: bool = False
    label_smoothing: bool = False


def _refuse_label_smoothing(loss: str, label_smoothing) -> None:
    """Raises `ConfigError` for label smoothing on a loss without targets to smooth."""
    if label_smoothing:
        raise ConfigError(f"label_smoothing={label_smoothing} applies only to the minimax "
                          f"discriminator loss (losses minimax, non_saturating), not to {loss}")


def minimax_discriminator_loss_of(outputs: DiscriminatorOutputs, label_smoothing=0.0):
    """`minimax_discriminator_loss` of a `DiscriminatorOutputs` record."""
    return minimax_discriminator_loss(outputs.real_logits, outputs.fake_logits, label_smoothing)


def _pair_loss_of(name: str, loss):
    """`loss(real_logits, fake_logits)` as a discriminator loss of a
    `DiscriminatorOutputs` record, refusing label smoothing (no targets)."""

    def loss_of(outputs: DiscriminatorOutputs, label_smoothing=0.0):
        _refuse_label_smoothing(name, label_smoothing)
        return loss(outputs.real_logits, outputs.fake_logits)

    loss_of.__name__ = loss_of.__qualname__ = f"{loss.__name__}_of"
    loss_of.__doc__ = (f"`{loss.__name__}` of a `DiscriminatorOutputs` record.\n\n"
                       "    Raises:\n        ConfigError: For a non-zero `label_smoothing`.\n")
    return loss_of


def _fake_loss_of(loss):
    """`loss(fake_logits)` as a generator loss of a `DiscriminatorOutputs` record."""

    def loss_of(outputs: DiscriminatorOutputs):
        return loss(outputs.fake_logits)

    loss_of.__name__ = loss_of.__qualname__ = f"{loss.__name__}_of"
    loss_of.__doc__ = f"`{loss.__name__}` of a `DiscriminatorOutputs` record."
    return loss_of


minimax_generator_loss_of = _fake_loss_of(minimax_generator_loss)
non_saturating_generator_loss_of = _fake_loss_of(non_saturating_generator_loss)
hinge_discriminator_loss_of = _pair_loss_of("hinge", hinge_discriminator_loss)
hinge_generator_loss_of = _fake_loss_of(hinge_generator_loss)
wasserstein_discriminator_loss_of = _pair_loss_of("wasserstein", wasserstein_discriminator_loss)
wasserstein_generator_loss_of = _fake_loss_of(wasserstein_generator_loss)
least_squares_discriminator_loss_of = _pair_loss_of("least_squares",
                                                    least_squares_discriminator_loss)
least_squares_generator_loss_of = _fake_loss_of(least_squares_generator_loss)
relativistic_discriminator_loss_of = _pair_loss_of("relativistic",
                                                   relativistic_discriminator_loss)


def relativistic_generator_loss_of(outputs: DiscriminatorOutputs):
    """`relativistic_generator_loss` of a `DiscriminatorOutputs` record.

    Raises:
        ValueError: If the record has no `real_logits`: the generator update
            must judge real data too (`LossFamily.generator_needs_real`).
    """
    if outputs.real_logits is None:
        raise ValueError("the relativistic generator loss needs outputs.real_logits: "
                         "judge a batch of real data in the generator update too")
    return relativistic_generator_loss(outputs.real_logits, outputs.fake_logits)


LOSS_FAMILIES = {
    "minimax": LossFamily(minimax_generator_loss_of, minimax_discriminator_loss_of,
                          label_smoothing=True),
    "non_saturating": LossFamily(non_saturating_generator_loss_of,
                                 minimax_discriminator_loss_of, label_smoothing=True),
    "hinge": LossFamily(hinge_generator_loss_of, hinge_discriminator_loss_of,
                        probabilities=False),
    "wasserstein": LossFamily(wasserstein_generator_loss_of, wasserstein_discriminator_loss_of,
                              probabilities=False),
    "least_squares": LossFamily(least_squares_generator_loss_of,
                                least_squares_discriminator_loss_of, probabilities=False),
    "relativistic": LossFamily(relativistic_generator_loss_of,
                               relativistic_discriminator_loss_of, probabilities=False,
                               generator_needs_real=True),
}


def get_loss_family(name: str) -> LossFamily:
    """Looks up a loss family by name, with a clear error for unknown names."""
    return lookup(LOSS_FAMILIES, name, "loss")


# ----- regularizers -----


def _squared_input_gradient_norms(discriminate, inputs) -> tf.Tensor:
    """`[batch]` float32 `||grad_x sum(D(x))||^2` per example, summed over
    every non-batch axis of every input tensor (`inputs` may be a nested
    structure of `[batch, ...]` tensors).

    The input gradients are taken by an inner tape, so a caller's outer tape
    can differentiate the result w.r.t. the discriminator's weights.
    Summing the logits before differentiating is exact because example i's
    logit depends only on example i (no batch statistics across examples).
    """
    flat = [tf.convert_to_tensor(x) for x in tf.nest.flatten(inputs)]
    with tf.GradientTape() as tape:
        tape.watch(flat)
        logits = discriminate(tf.nest.pack_sequence_as(inputs, flat))
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    gradients = tape.gradient(total, flat, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    norms = []
    for gradient in gradients:
        gradient = tf.cast(gradient, tf.float32)
        per_example = tf.reshape(tf.square(gradient), [tf.shape(gradient)[0], -1])
        norms.append(tf.reduce_sum(per_example, axis=1))
    return tf.add_n(norms)


def r1_penalty(discriminate, real_inputs) -> tf.Tensor:
    """R1 penalty: the squared gradient norm of D at real data.

    `E_x[||grad_x D(x)||^2]` over the real inputs, Mescheder et al., "Which
    Training Methods for GANs do actually Converge?", ICML 2018
    (https://arxiv.org/abs/1801.04406), Sec. 4.1. It pushes D's gradients to
    zero on the data manifold and makes the game locally convergent. The
    paper's regularizer is `gamma / 2` times this value: the caller
    multiplies by `gamma / 2` and adds it to the discriminator loss.

    Call it inside the tape that differentiates the discriminator loss: the
    input gradients are taken by an inner tape, and the outer one
    differentiates through them (double backprop).

    Args:
        discriminate: `fn(inputs) -> logits [batch, 1]`, the discriminator
            (with its conditioning and training mode fixed).
        real_inputs: The real inputs, `[batch, ...]` (or a nested structure
            of such tensors, all differentiated).

    Returns:
        Float32 scalar, the batch mean of the squared gradient norms.
    """
    return tf.reduce_mean(_squared_input_gradient_norms(discriminate, real_inputs))


def r2_penalty(discriminate, fake_inputs) -> tf.Tensor:
    """R2 penalty: the squared gradient norm of D at generated data.

    `E_z[||grad D(G(z))||^2]` over the generated inputs, Mescheder et al.,
    "Which Training Methods for GANs do actually Converge?", ICML 2018
    (https://arxiv.org/abs/1801.04406), Sec. 4.1. R3GAN (Huang et al., "The
    GAN is dead; long live the GAN! A Modern GAN Baseline", NeurIPS 2024,
    https://arxiv.org/abs/2501.05441) adds R1 and R2 to the relativistic
    loss. As with `r1_penalty`, the caller multiplies by `gamma / 2`, and
    calls it inside its own tape.

    Args:
        discriminate: `fn(inputs) -> logits [batch, 1]`.
        fake_inputs: The generated inputs, `[batch, ...]` (or a nested
            structure of such tensors).

    Returns:
        Float32 scalar, the batch mean of the squared gradient norms.
    """
    return tf.reduce_mean(_squared_input_gradient_norms(discriminate, fake_inputs))


def gradient_penalty(discriminate, real_inputs, fake_inputs, epsilon) -> tf.Tensor:
    """WGAN-GP gradient penalty on interpolates of real and generated data.

    `E[(||grad D(x_hat)||_2 - 1)^2]` at `x_hat = epsilon * x + (1 - epsilon) *
    G(z)`, Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS
    2017 (https://arxiv.org/abs/1704.00028), Algorithm 1 (which
    weights it by lambda = 10). It softly keeps the critic 1-Lipschitz along
    the lines between real and generated samples.

    The norm is `sqrt(||g||^2 + 1e-12)`, so where D is flat (g = 0) the
    penalty is ~1 and its gradient is finite instead of `0 * inf = nan`.

    Args:
        discriminate: `fn(inputs) -> logits [batch, 1]`.
        real_inputs: The real inputs, `[batch, ...]` (or a nested structure).
        fake_inputs: Generated inputs, the same structure and shapes.
        epsilon: `[batch]` draws from U[0, 1], one per pair, broadcast over
            the non-batch axes (drawn by the caller, so the function stays
            pure and reproducible).

    Returns:
        Float32 scalar, the batch mean of the squared deviations from 1.
    """
    epsilon = tf.convert_to_tensor(epsilon)

    def interpolate(real, fake):
        real, fake = tf.convert_to_tensor(real), tf.convert_to_tensor(fake)
        weight = tf.cast(epsilon, real.dtype)
        weight = tf.reshape(weight, tf.concat([tf.shape(weight), tf.ones(
            [tf.rank(real) - 1], tf.int32)], axis=0))
        return weight * real + (1 - weight) * fake

    interpolates = tf.nest.map_structure(interpolate, real_inputs, fake_inputs)
    norms = tf.sqrt(_squared_input_gradient_norms(discriminate, interpolates) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def lecam_penalty(real_logits, fake_logits, real_anchor, fake_anchor) -> tf.Tensor:
    """LeCam regularizer for limited-data GAN training.

    `E[(D(x) - alpha_F)^2] + E[(D(G(z)) - alpha_R)^2]`, Tseng et al.,
    "Regularizing Generative Adversarial Networks under Limited Data", CVPR
    2021 (https://arxiv.org/abs/2104.03310): real logits are pulled
    towards the anchor of the fake ones and vice versa, which bounds the
    discriminator's predictions and relates the loss to a LeCam divergence.
    The caller weights it and adds it to the discriminator loss, and updates
    the anchors after each discriminator step.

    Args:
        real_logits: Discriminator logits for real images.
        fake_logits: Discriminator logits for generated images.
        real_anchor: `alpha_R`, the caller's exponential moving average of
            the mean real logit (scalar, or broadcastable to the logits).
        fake_anchor: `alpha_F`, the same for the mean fake logit.
            Both anchors are constants here (`tf.stop_gradient`).

    Returns:
        Float32 scalar,
        `mean((real_logits - fake_anchor)^2) + mean((fake_logits - real_anchor)^2)`.
    """
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    real_anchor = tf.stop_gradient(_float32(real_anchor))
    fake_anchor = tf.stop_gradient(_float32(fake_anchor))
    return (tf.reduce_mean(tf.square(real_logits - fake_anchor))
            + tf.reduce_mean(tf.square(fake_logits - real_anchor)))


def _discriminate_of(outputs: DiscriminatorOutputs, inputs, field: str):
    if outputs.discriminate is None or inputs is None:
        raise ValueError(f"this penalty needs outputs.discriminate and outputs.{field}")
    return outputs.discriminate


def r1_penalty_of(outputs: DiscriminatorOutputs) -> tf.Tensor:
    """`r1_penalty` at `outputs.real_inputs`, by `outputs.discriminate`."""
    return r1_penalty(_discriminate_of(outputs, outputs.real_inputs, "real_inputs"),
                      outputs.real_inputs)


def r2_penalty_of(outputs: DiscriminatorOutputs) -> tf.Tensor:
    """`r2_penalty` at `outputs.fake_inputs`, by `outputs.discriminate`."""
    return r2_penalty(_discriminate_of(outputs, outputs.fake_inputs, "fake_inputs"),
                      outputs.fake_inputs)
