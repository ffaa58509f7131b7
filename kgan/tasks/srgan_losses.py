"""The reconstruction terms of super-resolution, as pure functions.

The adversarial term is a shared loss family (`kgan.losses`): SRGAN's
`non_saturating` (Ledig et al. 2017, Eq. 6) or ESRGAN's `relativistic`
(Wang et al. 2018, Eq. 1-2). Images are in [-1, 1], of any float dtype; the
result is a float32 scalar.
"""

import tensorflow as tf

from kgan.config.run import PIXEL_LOSSES


def srgan_pixel_loss(target, generated, kind: str = "mse") -> tf.Tensor:
    """The pixel-wise distance between the high-resolution face and its reconstruction.

    `mse`: the mean squared difference per pixel and channel, SRResNet's
    whole objective (Ledig et al., "Photo-Realistic Single Image
    Super-Resolution Using a Generative Adversarial Network", CVPR 2017,
    https://arxiv.org/abs/1609.04802, Eq. 4); the estimate it rewards is
    the mean of the plausible faces, which maximizes PSNR and looks blurred.
    `l1`: the mean absolute difference (ESRGAN, Wang et al. 2018,
    https://arxiv.org/abs/1809.00219, Eq. 3), which SRGAN's successors
    keep beside the perceptual terms.

    Returns:
        Scalar float32: 0 for identical images; at most 4 (`mse`) or 2 (`l1`).

    Raises:
        ValueError: for an unknown `kind`.
    """
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"pixel loss must be one of {', '.join(PIXEL_LOSSES)}, got {kind!r}")
    difference = (tf.cast(tf.convert_to_tensor(target), tf.float32)
                  - tf.cast(tf.convert_to_tensor(generated), tf.float32))
    if kind == "mse":
        return tf.reduce_mean(tf.square(difference))
    return tf.reduce_mean(tf.abs(difference))


def srgan_content_loss(target_features, generated_features) -> tf.Tensor:
    """The content loss: the mean squared difference between feature maps
    of the high-resolution face and of its reconstruction (Ledig et al. 2017,
    https://arxiv.org/abs/1609.04802, Eq. 5, the "VGG loss", which compares
    VGG19 activations; any frozen network's features of the same shape).

    Features, unlike pixels, are the same for outputs that differ in detail a
    network ignores, so the plausible sharp face costs no more than the blurred
    mean of all of them.

    Returns:
        Scalar float32: 0 for identical features.
    """
    difference = (tf.cast(tf.convert_to_tensor(target_features), tf.float32)
                  - tf.cast(tf.convert_to_tensor(generated_features), tf.float32))
    return tf.reduce_mean(tf.square(difference))
