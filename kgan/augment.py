"""Differentiable augmentation of what the discriminator sees, and ADA's controller.

With little data a discriminator memorizes the training set, and its
feedback to the generator degrades. Differentiable augmentation (Zhao et al.,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020,
https://arxiv.org/abs/2006.10738) augments *every* image the discriminator
sees, real and generated alike, with transformations that are
differentiable in the image values: the generator's gradient flows back
through the augmentation, and the generator is not taught to produce
augmented images, because both sides are augmented the same way in kind.

Adaptive discriminator augmentation (ADA: Karras et al., "Training
Generative Adversarial Networks with Limited Data", NeurIPS 2020,
https://arxiv.org/abs/2006.06676) applies each transformation to each image
with a probability p, and tunes p during training from an overfitting
heuristic (`ada_adjust`). With p < 1 the discriminator also sees clean
images, so augmentations do not "leak" into the generated distribution.

`diff_augment` implements DiffAugment's three policies with ADA's per-image
probability. Its randomness is stateless Philox keyed by a seed the caller
derives from the training step, so a resumed run augments exactly as an
uninterrupted one, and nothing random happens on the Python side (it works
inside `tf.function`, with a dynamic batch size, and in a `tf.distribute`
replica context).
"""

from typing import Sequence, Union

import tensorflow as tf

from kgan.errors import ConfigError

# The policies, as named in configs. They are applied in DiffAugment's order
# (color, translation, cutout) whatever order they are listed in.
POLICIES = ("translation", "cutout", "color")
_APPLICATION_ORDER = ("color", "translation", "cutout")

# DiffAugment's constants: translations of up to 1/8 of the image size, and a
# cutout square of half the image size.
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2

# Fixed keys folded into the caller's seed, one per random draw. Each draw
# therefore depends only on the seed and its own key: adding or removing a
# policy does not change the randomness of the others.
_KEYS = {
    "brightness": 1, "brightness_gate": 2,
    "saturation": 3, "saturation_gate": 4,
    "contrast": 5, "contrast_gate": 6,
    "translation_rows": 7, "translation_cols": 8, "translation_gate": 9,
    "cutout_rows": 10, "cutout_cols": 11, "cutout_gate": 12,
}


def check_policy(policy: Union[str, Sequence[str]]) -> tuple:
    """The policy's names, validated, in the order `diff_augment` applies them.

    Args:
        policy: Names from `POLICIES`, as a sequence or as one comma-separated
            string (DiffAugment's own format, e.g. "color,translation").

    Returns:
        A tuple of the distinct names in application order (color,
        translation, cutout); empty for an empty policy.

    Raises:
        ConfigError (a ValueError): a name is unknown or listed twice.
    """
    if isinstance(policy, str):
        # A bare string would otherwise be taken letter by letter.
        names = [name.strip() for name in policy.split(",") if name.strip()]
    else:
        names = list(policy)
    for name in names:
        if name not in POLICIES:
            raise ConfigError(f"unknown augmentation {name!r}; choose from: "
                              f"{', '.join(POLICIES)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"augmentation policy {','.join(names)!r} lists a name twice")
    return tuple(name for name in _APPLICATION_ORDER if name in names)


def diff_augment(images, policy, seed, probability=1.0, replica_rows=None):
    """DiffAugment (Zhao et al. 2020), each transformation applied per image with
    probability `probability` (ADA, Karras et al. 2020).

    Apply it to every batch the discriminator sees, real and generated, each
    with its own seed, in every discriminator and generator update
    (https://arxiv.org/abs/2006.10738, Sec. 3). The transformations are
    DiffAugment's:

    * color: brightness (add U[-0.5, 0.5]), then saturation (scale each
      pixel's deviation from its channel mean by U[0, 2]; nothing for
      single-channel images), then contrast (scale the deviation from the
      image's mean by U[0.5, 1.5]). Each of the three is drawn, and gated by
      the probability, on its own, as ADA does for its color transforms.
    * translation: shift by whole pixels, up to 1/8 of the height and of the
      width (rounded to the nearest pixel) each way, filling with 0 (mid-grey
      in [-1, 1]), as DiffAugment's zero padding does.
    * cutout: set to 0 a rectangle of half the height by half the width
      (rounded), whose center is uniform over the image; it is clipped at
      the borders.

    Each draw is per image. The results are not clipped back to [-1, 1]
    (DiffAugment does not clip either). Every output value is either an
    input value, 0, or a smooth function of the input values, so gradients
    reach the images (zero only where the fill or the cutout replaced them).

    Args:
        images: Float `[N, H, W, C]` batch in [-1, 1]; N may be dynamic.
        policy: Names from `POLICIES` (see `check_policy`).
        seed: Shape-[2] integer Philox seed; the same seed gives the same
            augmentation every time.
        probability: Per-image probability of each transformation: a Python
            float or a scalar float tensor (e.g. ADA's variable), in [0, 1].
            At 1 this is DiffAugment; at 0 the images come back unchanged,
            bit for bit.
        replica_rows: Under a `tf.distribute` strategy, optionally (this
            replica's first row in the global batch, the global batch size):
            the random draws are then made for the global batch and this
            replica takes its rows, so R replicas augment exactly as one
            device would. None: the batch is the whole batch.

    Returns:
        The augmented images, with the shape and dtype of `images`. They
        are computed in float32 (float64 stays float64), where bfloat16 and
        float16 inputs lose nothing.
    """
    names = check_policy(policy)
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
        raise TypeError(f"diff_augment takes float images, got {images.dtype.name}")
    if images.shape.rank is not None and images.shape.rank != 4:
        raise ValueError(f"diff_augment takes [N, H, W, C] images, got shape {images.shape}")
    if isinstance(probability, (int, float)) and not 0.0 <= probability <= 1.0:
        raise ValueError(f"augmentation probability must be in [0, 1], got {probability}")
    if not names:
        return images

    compute_dtype = tf.float64 if images.dtype == tf.float64 else tf.float32
    x = tf.cast(images, compute_dtype)
    draws = _Draws(seed, tf.shape(x, out_type=tf.int64)[0], replica_rows,
                   tf.cast(probability, tf.float32))
    for name in names:
        x = _OPS[name](x, draws)
    return tf.cast(x, images.dtype)


class _Draws:
    """Per-image random values for one batch, each draw keyed by its own name."""

    def __init__(self, seed, batch_size, replica_rows, probability):
        self.seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
        self.batch_size = batch_size
        if replica_rows is None:
            self.first_row, self.total_rows = tf.constant(0, tf.int64), batch_size
        else:
            self.first_row, self.total_rows = (tf.cast(v, tf.int64) for v in replica_rows)
        self.probability = probability

    def uniform(self, key: str, minval, maxval, dtype=tf.float32) -> tf.Tensor:
        """`[batch_size]` draws from U[minval, maxval) (integers: minval..maxval-1).

        The draw is for the global batch's rows, of which this batch takes its
        own, so a sharded batch gets the rows a whole one would."""
        seed = tf.random.experimental.stateless_fold_in(self.seed, _KEYS[key], alg="philox")
        values = tf.random.stateless_uniform(tf.reshape(self.total_rows, [1]), seed=seed,
                                             minval=minval, maxval=maxval, dtype=dtype,
                                             alg="philox")
        return values[self.first_row:self.first_row + self.batch_size]

    def gate(self, key: str) -> tf.Tensor:
        """`[batch_size]` booleans, each True with the probability.

        U[0, 1) < p is never true at p = 0 and always true at p = 1."""
        return self.uniform(key, 0.0, 1.0) < self.probability


def _per_image(values, dtype) -> tf.Tensor:
    """`[N]` values shaped `[N, 1, 1, 1]`, to broadcast against images."""
    return tf.reshape(tf.cast(values, dtype), [-1, 1, 1, 1])


def _gated(gate, augmented, x) -> tf.Tensor:
    """Augmented images where the gate is open, the inputs themselves elsewhere.

    Selecting (rather than, say, blending with a 0/1 factor) returns the
    untouched images bit for bit, and sends them their gradient unchanged."""
    return tf.where(_per_image(gate, tf.bool), augmented, x)


def _color(x, draws: _Draws) -> tf.Tensor:
    # Brightness: one offset for the whole image.
    brightness = _per_image(draws.uniform("brightness", -0.5, 0.5), x.dtype)
    x = _gated(draws.gate("brightness_gate"), x + brightness, x)

    # Saturation: the deviation from the pixel's gray level (its channel
    # mean). A single channel is its own mean, so there is nothing to do.
    if x.shape[-1] != 1:
        factor = _per_image(draws.uniform("saturation", 0.0, 2.0), x.dtype)
        gray = tf.reduce_mean(x, axis=3, keepdims=True)
        x = _gated(draws.gate("saturation_gate"), (x - gray) * factor + gray, x)

    # Contrast: the deviation from the image's mean over all pixels and channels.
    factor = _per_image(draws.uniform("contrast", 0.5, 1.5), x.dtype)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return _gated(draws.gate("contrast_gate"), (x - mean) * factor + mean, x)


def _shift_axis(x, offsets, axis: int) -> tf.Tensor:
    """Shift each image by its offset along `axis` (1: rows, 2: columns), with 0 fill.

    Output position i reads input position i - offset; positions that read
    outside the image are filled. A batched gather keeps this one op for any
    batch size, and it is differentiable in the gathered values."""
    size = tf.shape(x, out_type=tf.int64)[axis]
    source = tf.range(size)[tf.newaxis, :] - offsets[:, tf.newaxis]  # [N, size]
    inside = (source >= 0) & (source < size)
    moved = tf.gather(x, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    mask_shape = [-1, 1, 1, 1]
    mask_shape[axis] = size
    return tf.where(tf.reshape(inside, mask_shape), moved, tf.zeros([], x.dtype))


def _translation(x, draws: _Draws) -> tf.Tensor:
    height, width = (tf.shape(x, out_type=tf.int64)[axis] for axis in (1, 2))
    gate = draws.gate("translation_gate")
    shifted = x
    for axis, size, key in ((1, height, "translation_rows"), (2, width, "translation_cols")):
        # floor(size * ratio + 0.5): the largest shift, rounded to the nearest
        # pixel as in DiffAugment; offsets are uniform over -limit..limit.
        limit = tf.cast(tf.floor(tf.cast(size, tf.float64) * TRANSLATION_RATIO + 0.5), tf.int64)
        offsets = draws.uniform(key, -limit, limit + 1, dtype=tf.int64)
        # A closed gate shifts by 0, which gathers every pixel from where it
        # was: the image comes back exactly.
        offsets = tf.where(gate, offsets, tf.zeros_like(offsets))
        shifted = _shift_axis(shifted, offsets, axis)
    return shifted


def _cutout(x, draws: _Draws) -> tf.Tensor:
    shape = tf.shape(x, out_type=tf.int64)
    inside = _per_image(draws.gate("cutout_gate"), tf.bool)
    for axis, key in ((1, "cutout_rows"), (2, "cutout_cols")):
        size = shape[axis]
        side = tf.cast(tf.floor(tf.cast(size, tf.float64) * CUTOUT_RATIO + 0.5), tf.int64)
        # The square covers start..start+side-1 with start = center - side//2.
        # For an odd side the center is a pixel, uniform over 0..size-1; for
        # an even side it lies between two pixels, and the draw over
        # 0..size keeps its range symmetric about the image's middle (as
        # DiffAugment's does).
        center = draws.uniform(key, 0, size + 1 - side % 2, dtype=tf.int64)
        start = center - side // 2
        positions = tf.range(size)[tf.newaxis, :]
        covered = (positions >= start[:, tf.newaxis]) & (positions < (start + side)[:, tf.newaxis])
        mask_shape = [-1, 1, 1, 1]
        mask_shape[axis] = size
        inside = inside & tf.reshape(covered, mask_shape)
    # Selecting 0 (rather than multiplying by a 0/1 mask) gives exact zeros
    # even for non-finite inputs, and a zero gradient inside the square.
    return tf.where(inside, tf.zeros([], x.dtype), x)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def ada_adjust(probability, real_signs_mean, *, batch_images, target=0.6,
               speed_images=500_000):
    """ADA's new augmentation probability after one adjustment interval.

    Karras et al. 2020 (https://arxiv.org/abs/2006.06676, Sec. 3) measure
    overfitting by r_t = E[sign(D(x_real))], the mean sign of the
    discriminator's outputs on (augmented) real images over the interval:
    0 when D cannot tell the training images from the rest, 1 when it is
    sure of every one. When r_t exceeds the target (0.6 in the paper), D is
    overfitting and p rises; when it falls below, p falls, by

        p <- clip(p + sign(r_t - target) * batch_images / speed_images, 0, 1),

    so p can cross from 0 to 1 in `speed_images` real images. The paper
    uses 500k images (and adjusts every 4 minibatches); kgan's short CPU
    runs use smaller values so that p can react within the run.

    Args:
        probability: The current probability (float or scalar tensor).
        real_signs_mean: r_t over the interval (float or scalar tensor).
        batch_images: Real images shown since the last adjustment (the
            global batch size times the steps per interval).
        target: The target of r_t.
        speed_images: Real images for p to go from 0 to 1.

    Returns:
        The new probability in [0, 1]: a float if every argument is a
        Python number, else a float32 scalar tensor.
    """
    arguments = (probability, real_signs_mean, batch_images, target, speed_images)
    if all(isinstance(a, (int, float)) for a in arguments):
        step = batch_images / speed_images
        direction = (real_signs_mean > target) - (real_signs_mean < target)
        return float(min(max(probability + direction * step, 0.0), 1.0))
    probability, real_signs_mean, batch_images, target, speed_images = (
        tf.cast(a, tf.float32) for a in arguments)
    step = tf.sign(real_signs_mean - target) * batch_images / speed_images
    return tf.clip_by_value(probability + step, 0.0, 1.0)
