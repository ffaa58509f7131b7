"""Frozen configuration records for a training run (`train.py`).

A run is fully described by a `Config`: the data it reads, the networks it
builds and how it trains them. Library functions take a `Config` (never
command-line flags); tests derive variants with `dataclasses.replace`. Every
run writes its resolved config to `<workdir>/config.json`, and
`Config.from_dict` reads it back strictly: unknown keys and wrong types are
refused, so a saved config either reproduces the run or fails loudly.

Each field's `metadata["help"]` is its command-line help (see
`kgan.config.flags`); `metadata["flag"]` renames its flag, or hides it
(None) for values filled in by resolution.
"""

import dataclasses
import json
from dataclasses import field
from typing import Any, Optional

from kgan.config.base import (LEARNING_RATES, LOSS_WEIGHTS, MAX_PICTURE_IMAGES, MAX_SAMPLES,
                              MAX_STEPS, SEEDS, _require, check_ranges, decode_json, from_dict)
from kgan.config.evaluation import MIN_FID_SAMPLES
from kgan.errors import ConfigError

# How a dataset's labels are encoded: one class id per image, or a {0, 1}
# vector of attributes per image.
LABEL_KINDS = ("class", "multi_hot")

D_NORMALIZATIONS = ("batch", "layer", "none")

# How the translation generators double their resolution (kgan.models.translation).
UPSAMPLINGS = ("transpose", "resize")

CELEBA_DEFAULT_ATTRIBUTES = ("Male", "Smiling", "Eyeglasses", "Blond_Hair")
FOLDER_RESOLUTIONS = (32, 64, 128)
# What pix2pix turns into faces (kgan.data.translation).
TRANSLATIONS = ("colorization", "sketch")
PIXEL_LOSSES = ("mse", "l1")

# The largest fraction below 1 a setting may take: float32, which the optimizers
# and layers compute in, rounds fractions within 3e-8 of 1 up to 1.0 (and an
# Adam beta of 1 divides by zero).
BELOW_ONE = 0.999999
# Waits on other processes or on a file system, in seconds: up to a week.
TIMEOUTS = (1.0, 604_800.0)
# The data pipeline counts a run's examples, steps x batch_size x d_steps, in
# int64: MAX_STEPS x MAX_BATCH_SIZE x MAX_D_STEPS is 8.4e18, under 2**63.
MAX_BATCH_SIZE = 2**18
MAX_D_STEPS = 32
# Real images shown, as a half-life or a speed.
MAX_IMAGES_SHOWN = 10**12
# Widths of dense layers and vectors: a 65_536 x 65_536 float32 kernel is 16 GB.
MAX_WIDTH = 65_536
# Image sides and channels: a batch of 64 4096x4096 RGB images is 12 GB in float32.
MAX_IMAGE_SIDE = 4096


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the training images come from.

    Attributes:
        dataset: Registered dataset name (see `kgan.data.DATASETS`).
        data_dir: Folder holding the data. MNIST: a TFDS `data_dir`, or a
            folder with the original IDX `.gz` files; None means
            `$KGAN_DATA_DIR`, else TFDS's default folder. CelebA: the folder
            of `NNNNNN.jpg` files (or the folder holding `img_align_celeba/`),
            with `list_attr_celeba.txt` and `list_eval_partition.txt` in it
            or in its parent.
        download: Let TFDS download a dataset that is not prepared locally.
        attributes: CelebA attributes that label each image (a {0, 1} vector
            in this order), as named in `list_attr_celeba.txt`.
        crop_fraction: CelebA's square center crop, as a fraction of the image
            width, taken before resizing (0.9: 160 of 178 pixels, as Lucic et
            al. 2018 crop).
        resolution: The image side of the `folder` dataset (its largest
            centered square, resized; RGB) and of the image-to-image tasks
            on CelebA (`pix2pix`, `cyclegan`: 64 or 128).
        translation: What `pix2pix` learns to turn into faces: `colorization`
            (the face's grayscale) or `sketch` (an edge drawing computed
            from the face, `kgan.data.translation.sketch`).
        domain_a, domain_b: `cyclegan`'s two unpaired domains, each a CelebA
            attribute that its faces have (`Male`) or lack (`-Male`).
        labeled_per_class: `semi_supervised`: the labelled training images
            of each class (drawn by `train.seed`); every training image is
            also used unlabelled.
        synthetic_examples: `simgan`: synthetic digits rendered from fonts
            (`kgan.data.synthetic_digits`, drawn by `train.seed`) for the
            refiner; the held-out ones are the next indices.
        scale: `srgan`: the upscaling factor (2, 4 or 8): low-resolution
            inputs are the faces downscaled by it.
        crop_size: `srgan`: the side of the high-resolution training crops
            (96 in Ledig et al. 2017); a multiple of 16 and of `scale`.
        examples_per_class: `gan` on a class-labelled dataset: train on only
            this many training images of each class, drawn by `train.seed`
            (0: all of them), as with a small labelled set.
        read_timeout: Seconds an image decode (CelebA, an image folder) may
            go without reading a batch of files (a hung network mount, a
            FIFO among the images) before it gives up with an error.
    """

    dataset: str = field(default="mnist", metadata={"help": (
        "Dataset name: mnist, celeba, stacked_mnist (three MNIST digits as RGB channels: "
        "1,000 modes; --data_dir is MNIST's) or folder (any folder of JPEG/PNG images, "
        "--data_dir; classes from its subfolders).")})
    data_dir: Optional[str] = field(default=None, metadata={"help": (
        "MNIST: a TFDS data_dir, or a folder holding the four IDX .gz files (default "
        "$KGAN_DATA_DIR, else TFDS's default folder). CelebA: the folder of aligned NNNNNN.jpg "
        "files, with list_attr_celeba.txt and list_eval_partition.txt in it or its parent.")})
    download: bool = field(default=False, metadata={
        "help": "Let TFDS download a dataset missing locally."})
    attributes: tuple[str, ...] = field(default=CELEBA_DEFAULT_ATTRIBUTES, metadata={"help": (
        "CelebA attributes that label each image (conditioning), as named in "
        "list_attr_celeba.txt.")})
    # 0.01 of CelebA's 178-pixel width is 2 pixels; less would crop to nothing.
    crop_fraction: float = field(default=0.9, metadata={"range": (0.01, 1.0), "help": (
        "CelebA square center crop as a fraction of the image width, before resizing to 64x64 "
        "(0.9: 160 of 178 pixels).")})
    resolution: int = field(default=64, metadata={
        "range": (min(FOLDER_RESOLUTIONS), max(FOLDER_RESOLUTIONS)), "help": (
        "folder: the side of the square RGB training images (32, 64 or 128); pix2pix and "
        "cyclegan: the side of the CelebA faces they translate (64 or 128).")})
    translation: str = field(default="colorization", metadata={"help": (
        "pix2pix: what is turned into faces: colorization (grayscale -> colour) or sketch "
        "(an edge drawing computed from each face -> the face).")})
    domain_a: str = field(default="-Male", metadata={"help": (
        "cyclegan: domain A, a CelebA attribute its faces have (Eyeglasses) or lack "
        "(-Eyeglasses).")})
    domain_b: str = field(default="Male", metadata={"help": (
        "cyclegan: domain B, as --domain_a (e.g. --domain_a=-Male --domain_b=Male: women <-> "
        "men).")})
    labeled_per_class: int = field(default=10, metadata={"range": (1, 100_000), "help": (
        "semi_supervised: labelled training images per class, drawn by --seed (10: MNIST with "
        "100 labels); every training image is also used unlabelled.")})
    examples_per_class: int = field(default=0, metadata={"range": (0, 10**9), "help": (
        "gan on a class-labelled dataset: train on only this many training images of each "
        "class, drawn by --seed (0: all), e.g. a small labelled set.")})
    synthetic_examples: int = field(default=20_000, metadata={"range": (1, 10**7), "help": (
        "simgan: synthetic digits rendered from fonts (drawn by --seed) for the refiner to "
        "refine; held-out ones follow them.")})
    scale: int = field(default=4, metadata={"range": (2, 8), "help": (
        "srgan: upscaling factor, 2, 4 or 8 (low-resolution inputs are the faces downscaled by "
        "it).")})
    crop_size: int = field(default=96, metadata={"range": (16, 176), "help": (
        "srgan: side of the high-resolution training crops (96 in Ledig et al.), a multiple of "
        "16 and of --scale.")})
    read_timeout: float = field(default=300.0, metadata={"range": TIMEOUTS, "help": (
        "Seconds an image decode (CelebA, folder) may go without reading a batch of files "
        "before giving up with an error.")})

    def __post_init__(self):
        check_ranges(self, "data")
        _require(len(self.attributes) >= 1 and len(set(self.attributes)) == len(self.attributes),
                 "data.attributes", ",".join(self.attributes),
                 "must name one or more distinct attributes")
        _require(self.resolution in FOLDER_RESOLUTIONS, "data.resolution", self.resolution,
                 f"must be one of {', '.join(map(str, FOLDER_RESOLUTIONS))}")
        _require(self.translation in TRANSLATIONS, "data.translation", self.translation,
                 f"must be one of {', '.join(TRANSLATIONS)}")
        for name in ("domain_a", "domain_b"):
            value = getattr(self, name)
            _require(len(value.removeprefix("-")) >= 1, f"data.{name}", value,
                     "must name a CelebA attribute, with a leading - for its absence")
        _require(self.domain_a != self.domain_b, "data.domain_b", self.domain_b,
                 "must differ from data.domain_a")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The generator and discriminator architecture.

    Attributes:
        architecture: Registered architecture (see `kgan.models.ARCHITECTURES`);
            the flag is `--model`.
        latent_dim: Size of the latent vector z.
        image_shape: (height, width, channels) of generated images. Left as
            None, it is filled in from the dataset by `kgan.data.resolve`.
        hidden_units: Widths of the MLP generator's hidden layers; the MLP
            discriminator uses them in reverse order.
        base_filters: DCGAN filters at the highest resolution; each halving
            of the resolution doubles them.
        kernel_size: DCGAN convolution kernel size.
        conditional: Condition both networks on the dataset's labels (class
            ids or attribute vectors): the generator models p(x|y).
        label_kind: `class` or `multi_hot`; filled in from the dataset for a
            conditional model, None otherwise.
        label_names: The labels' names (classes, or attributes in vector
            order); filled in from the dataset for a conditional model.
        label_embedding_dim: Width of the generator's learned label embedding,
            concatenated to z.
        d_normalization: Normalization after the DCGAN discriminator's hidden
            convolutions: `batch` (DCGAN), `layer` (what Gulrajani et al.
            2017 use in a gradient-penalty critic) or `none`. Penalties on
            D's input gradients (R1, R2, gradient penalty) are per example
            only without `batch`.
        spectral_norm: Spectral normalization (Miyato et al. 2018) of every
            weight layer of the discriminator.
        minibatch_std: Group size of the discriminator's minibatch standard
            deviation feature (Karras et al. 2018); 0 turns it off.
        minibatch_discrimination: Kernels of the discriminator's minibatch
            discrimination layer (Salimans et al. 2016) before its logit; 0
            turns it off.
        minibatch_kernel_dim: Size of each minibatch discrimination kernel.
        pack: PacGAN packing (Lin et al. 2018): the discriminator judges this
            many samples at once, concatenated along the channels (1: one).
        generator_blocks: Residual blocks of CycleGAN's ResNet generator
            (Zhu et al. 2017: 6 at 128x128, 9 at 256x256).
        classifier_units: `semi_supervised`: the hidden widths of the
            classifier-discriminator (Salimans et al. 2016: 1000, 500, 250,
            250, 250); its last hidden layer is what feature matching matches.
        patch_layers: Stride-2 convolutions of the PatchGAN discriminator
            (Isola et al. 2017: 3, a 70x70 receptive field; 2: 34x34; 1:
            16x16, SimGAN's local patches on digits).
        dropout: Dropout rate of the U-Net generator's innermost decoder
            stages, pix2pix's noise (0.5 in the paper; applied in training
            only: the served translation is deterministic).
        upsampling: How the translation generators double their resolution:
            "transpose" (stride-2 transposed convolutions, as in both papers)
            or "resize" (nearest-neighbour upsampling then a 3x3 convolution,
            Odena et al. 2016: no checkerboard artifacts).
    """

    architecture: str = field(default="dcgan", metadata={
        "flag": "model", "help": "Architecture: dcgan, resnet or mlp."})
    latent_dim: int = field(default=100, metadata={
        "range": (1, MAX_WIDTH), "help": "Size of the latent vector z."})
    image_shape: Optional[tuple[int, int, int]] = field(default=None, metadata={
        "range": (1, MAX_IMAGE_SIDE), "flag": None,
        "help": "(height, width, channels), from the dataset."})
    hidden_units: tuple[int, ...] = field(default=(256, 512), metadata={
        "range": (1, MAX_WIDTH),
        "help": "MLP generator hidden widths (the discriminator uses them reversed)."})
    base_filters: int = field(default=64, metadata={
        "range": (1, 4096), "help": "DCGAN filters at full resolution."})
    kernel_size: int = field(default=4, metadata={"range": (1, 32), "help": "DCGAN kernel size."})
    conditional: bool = field(default=False, metadata={"help": (
        "Condition the GAN on labels: MNIST digit classes, or the CelebA --attributes "
        "(projection discriminator).")})
    label_kind: Optional[str] = field(default=None, metadata={
        "flag": None, "help": "class or multi_hot, from the dataset."})
    label_names: Optional[tuple[str, ...]] = field(default=None, metadata={
        "flag": None, "help": "The labels' names, from the dataset."})
    label_embedding_dim: int = field(default=50, metadata={
        "range": (1, MAX_WIDTH),
        "help": "Width of the generator's label embedding (conditional models)."})
    d_normalization: str = field(default="batch", metadata={"help": (
        "DCGAN discriminator normalization: batch, layer or none (penalties on D's input "
        "gradients want layer or none).")})
    spectral_norm: bool = field(default=False, metadata={
        "help": "Spectral normalization of every discriminator weight layer."})
    minibatch_std: int = field(default=0, metadata={"range": (0, 1024), "help": (
        "Group size of the discriminator's minibatch standard deviation feature (0: off).")})
    minibatch_discrimination: int = field(default=0, metadata={"range": (0, 4096), "help": (
        "Kernels of the discriminator's minibatch discrimination layer (Salimans et al. 2016; "
        "0: off).")})
    minibatch_kernel_dim: int = field(default=5, metadata={
        "range": (1, 1024), "help": "Size of each minibatch discrimination kernel."})
    pack: int = field(default=1, metadata={"range": (1, 64), "help": (
        "PacGAN: the discriminator judges this many samples at once, concatenated along the "
        "channels (1: one; Lin et al. 2018 use 2-4).")})
    generator_blocks: int = field(default=6, metadata={"range": (0, 64), "help": (
        "cyclegan: residual blocks of the ResNet generator (6 at 128x128 in Zhu et al.).")})
    classifier_units: tuple[int, ...] = field(default=(1000, 500, 250, 250, 250), metadata={
        "range": (1, MAX_WIDTH), "help": (
            "semi_supervised: hidden widths of the classifier-discriminator (its last layer is "
            "feature matching's).")})
    patch_layers: int = field(default=3, metadata={"range": (1, 6), "help": (
        "pix2pix/cyclegan/simgan: stride-2 convolutions of the PatchGAN discriminator (3: "
        "70x70 patches, 2: 34x34, 1: 16x16).")})
    dropout: float = field(default=0.5, metadata={"range": (0.0, BELOW_ONE), "help": (
        "pix2pix: dropout rate of the U-Net's innermost decoder stages (its noise; training "
        "only).")})
    upsampling: str = field(default="transpose", metadata={"help": (
        "pix2pix/cyclegan: generator upsampling, transpose (the papers') or resize "
        "(nearest-neighbour + 3x3 conv, no checkerboard artifacts).")})

    @property
    def num_labels(self) -> int:
        """Size of the label vector the networks take (0: unconditional)."""
        return len(self.label_names) if self.conditional and self.label_names else 0

    def __post_init__(self):
        check_ranges(self, "model")
        if self.image_shape is not None:
            _require(len(self.image_shape) == 3, "model.image_shape", self.image_shape,
                     "must be three sizes (height, width, channels)")
        _require(len(self.hidden_units) >= 1, "model.hidden_units", self.hidden_units,
                 "must be one or more layer widths")
        _require(self.d_normalization in D_NORMALIZATIONS, "model.d_normalization",
                 self.d_normalization, f"must be one of {', '.join(D_NORMALIZATIONS)}")
        _require(self.upsampling in UPSAMPLINGS, "model.upsampling", self.upsampling,
                 f"must be one of {', '.join(UPSAMPLINGS)}")
        if self.pack > 1:
            _require(not self.conditional, "model.pack", self.pack,
                     "packs samples of different labels; use it with an unconditional model")
        if self.label_kind is not None:
            _require(self.label_kind in LABEL_KINDS, "model.label_kind", self.label_kind,
                     f"must be one of {', '.join(LABEL_KINDS)}")
        if self.label_names is not None:
            _require(len(self.label_names) >= 1, "model.label_names", self.label_names,
                     "must name one or more labels")
        if not self.conditional:
            _require(self.label_kind is None and self.label_names is None, "model.label_kind",
                     self.label_kind, "is only set for a conditional model")


STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
TRAINING_EVAL_METRICS = ("fid", "classifier_fd")
ON_NAN_ACTIONS = ("stop", "rollback")
# kgan.augment.POLICIES, named here so configs validate without TensorFlow.
AUGMENTATIONS = ("translation", "cutout", "color")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How the two networks are trained.

    Attributes:
        loss: Registered loss family (see `kgan.losses.LOSS_FAMILIES`).
        label_smoothing: One-sided label smoothing: the discriminator's target
            for real images is `1 - label_smoothing`; fakes keep target 0.
        d_steps: Discriminator updates per generator update (k in Goodfellow
            et al.'s Algorithm 1). Each uses its own real minibatch.
        batch_size: Images per discriminator update.
        steps: Generator updates to train for. Exactly one of `steps` and
            `epochs` is set.
        epochs: Passes over the training split (converted to steps).
        g_learning_rate, d_learning_rate: Adam learning rates per player.
        g_beta1, g_beta2, d_beta1, d_beta2: Adam betas per player.
        seed: Seeds weight init, latent noise and data order.
        deterministic: Enable TensorFlow op determinism (bitwise-reproducible
            runs at some speed cost).
        reuse_fakes: The generator update re-scores the first discriminator
            update's fakes with the updated discriminator instead of drawing
            new latents (one generator forward pass less per step; the
            PyTorch DCGAN example's recipe).
        jit_compile: Compile the train step with XLA.
        steps_per_execution: Train steps run per call into the compiled
            step (fewer host round trips); log, sample, checkpoint and
            evaluation intervals are honoured at the first execution
            boundary at or after each multiple.
        strategy: `default` (one device), `mirrored` (all GPUs of this
            host, synchronous), or `multi_worker` (several hosts, from
            `TF_CONFIG`). `batch_size` is the global batch, split across
            replicas.
        peer_timeout: Seconds a `multi_worker` process waits for every
            worker in `TF_CONFIG` to join before it gives up with an error.
        sync_batch_norm: Under a strategy, compute BatchNorm statistics over
            the global batch instead of per replica.
        mixed_precision: `float32`, `mixed_bfloat16` or `mixed_float16`
            (Keras dtype policy: float32 variables, lower-precision compute;
            float16 adds dynamic loss scaling), or `auto`: bfloat16 compute
            where the hardware has native bfloat16 math, float32 elsewhere
            (resolved before the run starts; `config.json` holds the result).
        r1_gamma: R1 penalty weight gamma (Mescheder et al. 2018): the
            discriminator adds gamma/2 * E||grad D(x)||^2 on real inputs.
        r2_gamma: The same penalty on generated inputs (R2).
        gp_weight: WGAN-GP gradient penalty weight (Gulrajani et al. 2017: 10).
        reg_every: Input-gradient penalties (R1, R2, GP) run every this many
            steps, their weight multiplied by it (lazy regularization,
            Karras et al. 2020); 1 adds them to every discriminator update.
        lecam_weight: LeCam regularization weight (Tseng et al. 2021; 0: off).
        lecam_decay: Decay of LeCam's moving averages of the logits.
        ema_half_life: Half-life, in real images shown, of the exponential
            moving average of the generator's weights (0: no average).
            Samples, evaluation and export use the average by default.
        ema_rampup: The half-life is at most this fraction of the images
            shown so far, so early averages do not remember the random
            initialization (0: no ramp).
        augment: Differentiable augmentations (DiffAugment, Zhao et al. 2020)
            of every image the discriminator sees: any of translation,
            cutout, color.
        augment_probability: Probability of each augmentation per image;
            with `ada_target` set, where the adaptive probability starts.
        ada_target: Adaptive augmentation (Karras et al. 2020): the
            probability rises while E[sign D(x_real)] exceeds this target and
            falls below it (0: a fixed probability).
        ada_interval: Steps between adjustments of the adaptive probability.
        ada_speed: Real images over which the adaptive probability can move
            from 0 to 1.
        unrolled_steps: Unrolled GAN (Metz et al. 2016): the generator's loss
            is taken through this many differentiable updates of a copy of
            the discriminator by its optimizer's rule (0: off); only the
            discriminator's own update is applied.
        log_every: Steps between metric logs (TensorBoard, console).
        sample_every: Steps between sample grids.
        checkpoint_every: Steps between checkpoints.
        keep_checkpoints: Newest checkpoints kept on disk.
        num_samples: Images in each sample grid (from one fixed latent batch).
        eval_every: Steps between in-training evaluations (0: none).
        eval_samples: Generated (and real) images per in-training evaluation.
        eval_metric: `fid` (TTUR Inception; needs >= 2048 samples) or
            `classifier_fd` (Frechet distance on the MNIST classifier's
            features: seconds instead of minutes). The checkpoint with the
            lowest value is kept in `<workdir>/best/`.
        inception_path: The TTUR graph for `fid`; default `$KGAN_INCEPTION_PATH`.
        on_nan: What a non-finite loss or weight does: `stop` (end the run
            with an error naming the step; nothing of that state is saved) or
            `rollback` (restore the newest checkpoint, multiply both learning
            rates by `rollback_lr_factor`, and continue).
        rollback_lr_factor: Learning-rate multiplier per rollback, in (0, 1).
        max_rollbacks: Rollbacks allowed in a run before it stops as with
            `stop`.
        l1_weight: pix2pix: weight of the L1 distance to the target (lambda,
            100 in Isola et al. 2017). simgan: weight of the self-regularization
            L1 distance to the synthetic input.
        adversarial_weight: pix2pix, simgan: weight of the (conditional,
            local) GAN term; 0 trains the L1-only baseline (no discriminator
            updates). srgan: weight of the GAN term against the pixel loss
            (1e-3 in Ledig et al. 2017); 0 trains SRResNet.
            semi_supervised: weight of the unsupervised (real vs generated)
            term; 0 trains the classifier on the labelled images alone, the
            paper's baseline (no generator updates).
        pixel_loss: srgan: the distance to the high-resolution face, `mse`
            (SRResNet, Ledig et al. 2017) or `l1` (ESRGAN, Wang et al. 2018).
        content_weight: srgan: weight of the content loss, the squared
            distance between CelebA attribute classifier features of the output
            and of the original (Ledig et al.'s VGG loss, with kgan's own
            classifier); 0: off.
        content_classifier: srgan: the attribute classifier weights file
            (`*.weights.h5` with its `.json` record, as kgan caches them) for
            `content_weight`; empty: the classifier kgan trains once and
            caches for `data.data_dir`.
        cycle_weight: cyclegan: weight of each cycle-consistency L1 term
            (lambda, 10 in Zhu et al. 2017).
        identity_weight: cyclegan: weight of the identity L1 terms, as a
            fraction of `cycle_weight` (0.5 in Zhu et al.; 0: off).
        history_size: cyclegan, simgan: generated images kept per
            discriminator in its history buffer (50 in Zhu et al.; 0: judge
            only the newest).
    """

    loss: str = field(default="non_saturating", metadata={"help": (
        "Loss family: non_saturating, minimax, hinge, wasserstein, least_squares or "
        "relativistic (RpGAN).")})
    label_smoothing: float = field(default=0.0, metadata={
        "range": (0.0, BELOW_ONE),
        "help": "One-sided label smoothing: real target is 1 - this (e.g. 0.1 -> 0.9)."})
    d_steps: int = field(default=1, metadata={
        "range": (1, MAX_D_STEPS), "help": "Discriminator updates per generator update."})
    batch_size: int = field(default=64, metadata={
        "range": (1, MAX_BATCH_SIZE), "help": "Images per discriminator update."})
    steps: Optional[int] = field(default=5000, metadata={
        "range": (1, MAX_STEPS), "help": "Generator updates to train to (ignored with --epochs)."})
    epochs: Optional[float] = field(default=None, metadata={
        "range": (1e-6, 1e6),
        "help": "Train for this many passes over the data instead of --steps."})
    g_learning_rate: float = field(default=2e-4, metadata={
        "range": LEARNING_RATES, "help": "Generator Adam learning rate."})
    d_learning_rate: float = field(default=2e-4, metadata={
        "range": LEARNING_RATES, "help": "Discriminator Adam learning rate."})
    g_beta1: float = field(default=0.5, metadata={
        "range": (0.0, BELOW_ONE), "help": "Generator Adam beta_1."})
    g_beta2: float = field(default=0.999, metadata={
        "range": (0.0, BELOW_ONE), "help": "Generator Adam beta_2."})
    d_beta1: float = field(default=0.5, metadata={
        "range": (0.0, BELOW_ONE), "help": "Discriminator Adam beta_1."})
    d_beta2: float = field(default=0.999, metadata={
        "range": (0.0, BELOW_ONE), "help": "Discriminator Adam beta_2."})
    seed: int = field(default=0, metadata={
        "range": SEEDS, "help": "Seed of weight init, latent noise and data order."})
    deterministic: bool = field(default=False, metadata={
        "help": "Enable TensorFlow op determinism."})
    reuse_fakes: bool = field(default=False, metadata={"help": (
        "The generator update re-scores the discriminator update's fakes (one generator pass "
        "less per step).")})
    jit_compile: bool = field(default=False, metadata={
        "help": "Compile the train step with XLA."})
    steps_per_execution: int = field(default=1, metadata={
        "range": (1, 1_000_000),
        "help": "Train steps per call into the compiled step (fewer host round trips)."})
    strategy: str = field(default="default", metadata={"help": (
        "default (one device), mirrored (all GPUs of this host) or multi_worker (several "
        "hosts; reads TF_CONFIG). --batch_size is the global batch.")})
    peer_timeout: float = field(default=600.0, metadata={"range": TIMEOUTS, "help": (
        "multi_worker: seconds to wait for every worker in TF_CONFIG to join before giving "
        "up with an error.")})
    sync_batch_norm: bool = field(default=False, metadata={
        "help": "BatchNorm statistics over the global batch under a strategy."})
    mixed_precision: str = field(default="float32", metadata={"help": (
        "auto (bfloat16 compute where the hardware has native bfloat16 math, else float32), "
        "float32, mixed_bfloat16 or mixed_float16 (with dynamic loss scaling).")})
    r1_gamma: float = field(default=0.0, metadata={
        "range": LOSS_WEIGHTS,
        "help": "R1 penalty gamma: gamma/2 * E||grad D(x_real)||^2 (0: off)."})
    r2_gamma: float = field(default=0.0, metadata={
        "range": LOSS_WEIGHTS, "help": "R2 penalty gamma: the same on generated inputs (0: off)."})
    gp_weight: float = field(default=0.0, metadata={
        "range": LOSS_WEIGHTS,
        "help": "WGAN-GP gradient penalty weight (10 in Gulrajani et al.; 0: off)."})
    reg_every: int = field(default=1, metadata={
        "range": (1, MAX_STEPS),
        "help": "Run R1/R2/GP every N steps, weighted by N (lazy regularization)."})
    lecam_weight: float = field(default=0.0, metadata={
        "range": LOSS_WEIGHTS, "help": "LeCam regularization weight (0: off)."})
    lecam_decay: float = field(default=0.99, metadata={
        "range": (0.0, BELOW_ONE), "help": "Decay of LeCam's moving averages of D's logits."})
    ema_half_life: int = field(default=0, metadata={"range": (0, MAX_IMAGES_SHOWN), "help": (
        "Half-life in real images of the generator's weight average (0: none); samples, "
        "evaluation and export use the average.")})
    ema_rampup: float = field(default=0.05, metadata={
        "range": (0.0, 1.0),
        "help": "Half-life at most this fraction of the images shown so far (0: no ramp)."})
    augment: tuple[str, ...] = field(default=(), metadata={
        "help": "DiffAugment policy for everything D sees: any of translation, cutout, color."})
    augment_probability: float = field(default=1.0, metadata={"range": (0.0, 1.0), "help": (
        "Probability of each augmentation per image (the start value with --ada_target).")})
    ada_target: float = field(default=0.0, metadata={"range": (0.0, BELOW_ONE), "help": (
        "Adaptive augmentation target for E[sign D(x_real)] (0.6 in Karras et al. 2020; "
        "0: fixed probability).")})
    ada_interval: int = field(default=4, metadata={
        "range": (1, MAX_STEPS), "help": "Steps between adaptive augmentation adjustments."})
    ada_speed: int = field(default=100_000, metadata={
        "range": (1, MAX_IMAGES_SHOWN),
        "help": "Real images over which the adaptive probability can go from 0 to 1."})
    unrolled_steps: int = field(default=0, metadata={"range": (0, 100), "help": (
        "Unrolled GAN: the generator update looks this many discriminator updates ahead "
        "(Metz et al. 2016: 5-10; 0: off).")})
    log_every: int = field(default=100, metadata={
        "range": (1, MAX_STEPS), "help": "Steps between metric logs."})
    sample_every: int = field(default=500, metadata={
        "range": (1, MAX_STEPS), "help": "Steps between sample grids."})
    checkpoint_every: int = field(default=1000, metadata={
        "range": (1, MAX_STEPS), "help": "Steps between checkpoints."})
    keep_checkpoints: int = field(default=3, metadata={
        "range": (1, 1_000_000), "help": "Newest checkpoints kept."})
    num_samples: int = field(default=64, metadata={
        "range": (1, MAX_PICTURE_IMAGES), "help": "Images per sample grid."})
    eval_every: int = field(default=0, metadata={"range": (0, MAX_STEPS), "help": (
        "Steps between in-training evaluations against the test split (0: none); the best "
        "checkpoint is kept in <workdir>/best/.")})
    eval_samples: int = field(default=MIN_FID_SAMPLES, metadata={
        "range": (2, MAX_SAMPLES), "help": "Images per in-training evaluation."})
    eval_metric: str = field(default="fid", metadata={"help": (
        "In-training metric: fid (TTUR Inception, >= 2048 samples, about a minute each here) or "
        "classifier_fd (MNIST classifier features, seconds).")})
    inception_path: Optional[str] = field(default=None, metadata={
        "help": "The TTUR FID graph for --eval_metric=fid; default $KGAN_INCEPTION_PATH."})
    on_nan: str = field(default="stop", metadata={"help": (
        "A non-finite loss or weight: stop (error naming the step; nothing of it saved) or "
        "rollback (restore the newest checkpoint, lower the learning rates by "
        "--rollback_lr_factor, continue).")})
    # 1e-40 takes the largest learning rate to the smallest in one rollback.
    rollback_lr_factor: float = field(default=0.5, metadata={
        "range": (1e-40, BELOW_ONE), "help": "Learning-rate multiplier per --on_nan=rollback."})
    max_rollbacks: int = field(default=3, metadata={
        "range": (1, 1000), "help": "Rollbacks allowed before the run stops."})
    l1_weight: float = field(default=100.0, metadata={
        "range": LOSS_WEIGHTS,
        "help": ("pix2pix: weight of the L1 distance to the target (100 in Isola et al.); "
                 "simgan: weight of the self-regularization L1 to the synthetic input.")})
    adversarial_weight: float = field(default=1.0, metadata={"range": LOSS_WEIGHTS, "help": (
        "pix2pix: weight of the conditional GAN term (0: the L1-only baseline, no "
        "discriminator); semi_supervised: of the real-vs-generated term (0: the classifier on "
        "the labels alone); srgan: against the pixel loss (1e-3 in Ledig et al.; 0: SRResNet, "
        "no discriminator).")})
    pixel_loss: str = field(default="mse", metadata={"help": (
        "srgan: distance to the high-resolution face: mse (SRResNet) or l1 (ESRGAN).")})
    content_weight: float = field(default=0.0, metadata={"range": LOSS_WEIGHTS, "help": (
        "srgan: weight of the content loss, the squared distance between CelebA attribute "
        "classifier features of the output and of the original (Ledig et al.'s VGG loss, with "
        "kgan's own classifier; 0: off).")})
    content_classifier: str = field(default="", metadata={"help": (
        "srgan: attribute classifier weights file (*.weights.h5 beside its .json, as kgan caches "
        "them) for --content_weight; empty: the one kgan trains once and caches for "
        "--data_dir.")})
    cycle_weight: float = field(default=10.0, metadata={
        "range": LOSS_WEIGHTS,
        "help": "cyclegan: weight of each cycle-consistency L1 term (10 in Zhu et al.)."})
    identity_weight: float = field(default=0.5, metadata={"range": LOSS_WEIGHTS, "help": (
        "cyclegan: identity L1 weight as a fraction of --cycle_weight (0.5 in Zhu et al.; 0: "
        "off).")})
    history_size: int = field(default=50, metadata={"range": (0, 10_000), "help": (
        "cyclegan, simgan: generated images kept per discriminator in its history buffer (50 "
        "in Zhu et al.; 0: none).")})

    def __post_init__(self):
        check_ranges(self, "train")
        _require(self.strategy in STRATEGIES, "train.strategy", self.strategy,
                 f"must be one of {', '.join(STRATEGIES)}")
        _require(self.mixed_precision in PRECISIONS, "train.mixed_precision",
                 self.mixed_precision, f"must be one of {', '.join(PRECISIONS)}")
        if (self.steps is None) == (self.epochs is None):
            raise ConfigError(
                f"set exactly one of train.steps and train.epochs (got steps={self.steps!r}, "
                f"epochs={self.epochs!r})")
        unknown = [name for name in self.augment if name not in AUGMENTATIONS]
        _require(not unknown and len(set(self.augment)) == len(self.augment), "train.augment",
                 ",".join(self.augment),
                 f"must name distinct augmentations from {', '.join(AUGMENTATIONS)}")
        _require(self.eval_metric in TRAINING_EVAL_METRICS, "train.eval_metric",
                 self.eval_metric, f"must be one of {', '.join(TRAINING_EVAL_METRICS)}")
        _require(self.pixel_loss in PIXEL_LOSSES, "train.pixel_loss", self.pixel_loss,
                 f"must be one of {', '.join(PIXEL_LOSSES)}")
        _require(self.on_nan in ON_NAN_ACTIONS, "train.on_nan", self.on_nan,
                 f"must be one of {', '.join(ON_NAN_ACTIONS)}")
        if self.eval_metric == "fid":
            _require(self.eval_samples >= MIN_FID_SAMPLES, "train.eval_samples",
                     self.eval_samples, f"must be >= {MIN_FID_SAMPLES} for fid")


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole run: the task (GAN family) it trains, and its data, model and
    training settings.

    Each dataclass field is a section of `config.json` and of the
    command-line flags. A config written before tasks existed has no `task`
    key and reads as the noise-to-image GAN it trained.
    """

    task: str = dataclasses.field(default="gan", metadata={
        "help": "GAN family to train (kgan.tasks.TASKS): gan (noise -> image, MNIST/CelebA, "
                "unconditional or conditional), points (2-D toy mixtures ring8/grid25), pix2pix "
                "(paired image-to-image: CelebA colorization or sketch -> face), cyclegan "
                "(unpaired: CelebA attribute domains) or semi_supervised (a classifier from few "
                "labels: MNIST with 100)."})
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()

    def __post_init__(self):
        check_ranges(self, "config")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: Any) -> "Config":
        """Builds a Config from nested dicts, refusing unknown keys and wrong types.

        Missing keys take their defaults, so a config written by an older
        kgan (without settings added since) still loads.
        """
        return from_dict(cls, values, "config")

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "config") -> "Config":
        """Parses strict JSON (no NaN or Infinity, no repeated keys) into a Config.

        Args:
            text: The JSON, as text or as UTF-8 bytes (a file read in binary
                mode, so that a file that is not text is reported here too).
            source: Names the JSON in error messages, e.g. its path.

        Raises:
            ConfigError: for bytes that are not UTF-8, text that is not
                strict JSON, or values that `from_dict` refuses.
        """
        return from_dict(cls, decode_json(text, source), source)
