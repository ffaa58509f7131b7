"""The semi-supervised GAN's losses (Salimans et al. 2016), as pure functions.

The discriminator is a K-class classifier whose logits `l_1..l_K` also say
"real": with `Z(x) = sum_k exp(l_k(x))`, the paper sets

    p(y = k | x, real) = softmax(l)_k,      D(x) = Z(x) / (Z(x) + 1),

which is fixing the logit of the implicit (K+1)-th "generated" class at 0
(Sec. 5: a network with K+1 outputs is over-parameterized; subtracting
`l_{K+1}` from every logit changes nothing). So `logsumexp(l)` is the
logit of D(x): every term below is a softplus or a cross-entropy of
logits, finite for logits of any size. Each returns a float32 scalar.

Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen, "Improved Techniques
for Training GANs", NeurIPS 2016 (https://arxiv.org/abs/1606.03498).
"""

import tensorflow as tf


def _float32(x) -> tf.Tensor:
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def real_logit(class_logits) -> tf.Tensor:
    """`log Z(x)`, the logit of D(x) = Z/(Z+1), per example: `[N, K] -> [N]`."""
    return tf.reduce_logsumexp(_float32(class_logits), axis=-1)


def semi_supervised_class_loss(class_logits, labels) -> tf.Tensor:
    """The supervised term: `-E log p(y | x, y < K+1)` over the labelled examples,
    the cross-entropy of the K class logits with integer `labels` (Sec. 5,
    `L_supervised`).

    Returns:
        Scalar float32; ln K for all-equal logits.
    """
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int64), logits=_float32(class_logits)))


def semi_supervised_discriminator_loss(real_class_logits, fake_class_logits) -> tf.Tensor:
    """The unsupervised term: `-E_x log D(x) - E_z log(1 - D(G(z)))` with
    `D = Z/(Z+1)` (Sec. 5, `L_unsupervised`): the standard GAN loss on the
    logit `log Z`, that is `softplus(-log Z)` for unlabelled real examples
    and `softplus(log Z)` for generated ones.

    Returns:
        Scalar float32; 2 ln 2 when every logit sum is 1 (`log Z = 0`).
    """
    return (tf.reduce_mean(tf.nn.softplus(-real_logit(real_class_logits)))
            + tf.reduce_mean(tf.nn.softplus(real_logit(fake_class_logits))))


def semi_supervised_generator_loss(real_features, fake_features) -> tf.Tensor:
    """Feature matching (Sec. 3.1): the generator matches the mean of an
    intermediate discriminator layer over real and generated batches,
    `|| E f(x) - E f(G(z)) ||^2`, here averaged over the features as in the
    paper's code (`mean((m_real - m_fake)^2)`), so the scale does not
    grow with the layer's width.

    Returns:
        Scalar float32; 0 when the batch means agree.
    """
    real_mean = tf.reduce_mean(_float32(real_features), axis=0)
    fake_mean = tf.reduce_mean(_float32(fake_features), axis=0)
    return tf.reduce_mean(tf.square(real_mean - fake_mean))
