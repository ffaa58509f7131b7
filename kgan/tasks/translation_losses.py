"""The reconstruction terms of the image-to-image families, as pure functions.

The adversarial terms are the shared loss families (`kgan.losses`); these
are the terms that tie a translation to its input. Each takes images in
[-1, 1] of any float dtype and returns a float32 scalar (a mixed-precision
network's bfloat16 output is compared in float32).
"""

import tensorflow as tf


def _mean_absolute_difference(a, b) -> tf.Tensor:
    a = tf.cast(tf.convert_to_tensor(a), tf.float32)
    b = tf.cast(tf.convert_to_tensor(b), tf.float32)
    return tf.reduce_mean(tf.abs(a - b))


def pix2pix_l1_loss(target, generated) -> tf.Tensor:
    """pix2pix's reconstruction term: `E ||y - G(x)||_1`, the mean absolute
    difference per pixel and channel.

    Isola et al., "Image-to-Image Translation with Conditional Adversarial
    Networks", CVPR 2017 (https://arxiv.org/abs/1611.07004), Eq. 3: L1
    rather than L2 "as L1 encourages less blurring"; the generator minimizes
    `L_cGAN + lambda * L_L1` with lambda = 100 (Eq. 4). L1 alone captures
    the low frequencies; the PatchGAN discriminator is left the high ones.

    Returns:
        Scalar float32, 0 for identical images, 2 at most (images in [-1, 1]).
    """
    return _mean_absolute_difference(target, generated)


def cyclegan_cycle_loss(real, cycled) -> tf.Tensor:
    """CycleGAN's cycle-consistency term for one domain: `E ||F(G(x)) - x||_1`.

    Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
    Adversarial Networks", ICCV 2017 (https://arxiv.org/abs/1703.10593),
    Eq. 2: a translation followed by the inverse translation should give the
    input back, which rules out mapping every input to the same plausible
    output (the mode collapse of an adversarial term alone). The full
    objective adds both domains' terms, each weighted by lambda = 10 (Eq. 3).

    Returns:
        Scalar float32, the mean absolute difference per pixel and channel.
    """
    return _mean_absolute_difference(real, cycled)


def cyclegan_identity_loss(real, mapped) -> tf.Tensor:
    """CycleGAN's identity term for one domain: `E ||G(y) - y||_1`, a
    target-domain image given to the generator into that domain should pass
    unchanged.

    Zhu et al. 2017 (https://arxiv.org/abs/1703.10593), Sec. 5.2, after
    Taigman et al. 2017: it keeps the colour composition of the input
    (without it, translators shift tints freely); weighted 0.5 * lambda.

    Returns:
        Scalar float32, the mean absolute difference per pixel and channel.
    """
    return _mean_absolute_difference(real, mapped)


def simgan_self_regularization_loss(synthetic, refined) -> tf.Tensor:
    """SimGAN's self-regularization term: `E ||psi(R(x)) - psi(x)||_1`
    with `psi` the identity, the mean absolute difference per pixel.

    Shrivastava et al., "Learning from Simulated and Unsupervised Images
    through Adversarial Training", CVPR 2017 (https://arxiv.org/abs/1612.07828),
    Eq. 4: the refined image must stay close to the synthetic one it came
    from, so that the simulator's annotation (here the digit) still holds;
    the refiner minimizes the local adversarial loss plus lambda times this.

    Returns:
        Scalar float32, 0 for an unchanged image, 2 at most (images in [-1, 1]).
    """
    return _mean_absolute_difference(synthetic, refined)
