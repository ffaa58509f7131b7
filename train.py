"""Train a GAN: `python train.py --workdir=runs/mnist --data_dir=../shared/data/tensorflow_datasets`.

Flags build a `kgan.config.Config`; `kgan.training.train` does the rest.
Running the same command again resumes from the newest checkpoint in the
workdir; Ctrl-C saves a checkpoint first. `--dry_run` prints the resolved
config and exits.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags

from kgan import cli
from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from kgan.errors import KganError

_DEFAULT = Config()
_D, _M, _T = _DEFAULT.data, _DEFAULT.model, _DEFAULT.train

flags.DEFINE_string("workdir", None, "Run directory: config.json, checkpoints/, samples/, "
                    "tensorboard/. Default runs/<dataset>_<model>[_conditional].")
flags.DEFINE_bool("dry_run", False, "Print the resolved config as JSON and exit.")
# Data.
flags.DEFINE_string("dataset", _D.dataset, "Dataset name: mnist or celeba.")
flags.DEFINE_string("data_dir", None, "MNIST: a TFDS data_dir, or a folder holding the four IDX "
                    ".gz files (default $KGAN_DATA_DIR, else TFDS's default folder). CelebA: the "
                    "folder of aligned NNNNNN.jpg files, with list_attr_celeba.txt and "
                    "list_eval_partition.txt in it or its parent.")
flags.DEFINE_bool("download", _D.download, "Let TFDS download a dataset missing locally.")
flags.DEFINE_list("attributes", list(_D.attributes), "CelebA attributes that label each image "
                  "(conditioning), as named in list_attr_celeba.txt.")
flags.DEFINE_float("crop_fraction", _D.crop_fraction, "CelebA square center crop as a fraction "
                   "of the image width, before resizing to 64x64 (0.9: 160 of 178 pixels).")
# Model.
flags.DEFINE_string("model", _M.architecture, "Architecture: dcgan or mlp.")
flags.DEFINE_integer("latent_dim", _M.latent_dim, "Size of the latent vector z.")
flags.DEFINE_integer("base_filters", _M.base_filters, "DCGAN filters at full resolution.")
flags.DEFINE_integer("kernel_size", _M.kernel_size, "DCGAN kernel size.")
flags.DEFINE_list("hidden_units", [str(u) for u in _M.hidden_units],
                  "MLP generator hidden widths (the discriminator uses them reversed).")
flags.DEFINE_bool("conditional", _M.conditional, "Condition the GAN on labels: MNIST digit "
                  "classes, or the CelebA --attributes (projection discriminator).")
flags.DEFINE_integer("label_embedding_dim", _M.label_embedding_dim,
                     "Width of the generator's label embedding (conditional models).")
# Training.
flags.DEFINE_string("loss", _T.loss, "Loss family: non_saturating or minimax.")
flags.DEFINE_float("label_smoothing", _T.label_smoothing,
                   "One-sided label smoothing: real target is 1 - this (e.g. 0.1 -> 0.9).")
flags.DEFINE_integer("d_steps", _T.d_steps, "Discriminator updates per generator update.")
flags.DEFINE_integer("batch_size", _T.batch_size, "Images per discriminator update.")
flags.DEFINE_integer("steps", _T.steps, "Generator updates to train to (ignored with --epochs).")
flags.DEFINE_float("epochs", None, "Train for this many passes over the data instead of --steps.")
flags.DEFINE_float("g_learning_rate", _T.g_learning_rate, "Generator Adam learning rate.")
flags.DEFINE_float("d_learning_rate", _T.d_learning_rate, "Discriminator Adam learning rate.")
flags.DEFINE_float("g_beta1", _T.g_beta1, "Generator Adam beta_1.")
flags.DEFINE_float("g_beta2", _T.g_beta2, "Generator Adam beta_2.")
flags.DEFINE_float("d_beta1", _T.d_beta1, "Discriminator Adam beta_1.")
flags.DEFINE_float("d_beta2", _T.d_beta2, "Discriminator Adam beta_2.")
flags.DEFINE_integer("seed", _T.seed, "Seed of weight init, latent noise and data order.")
flags.DEFINE_bool("deterministic", _T.deterministic, "Enable TensorFlow op determinism.")
flags.DEFINE_bool("reuse_fakes", _T.reuse_fakes, "The generator update re-scores the "
                  "discriminator update's fakes (one generator pass less per step).")
flags.DEFINE_bool("jit_compile", _T.jit_compile, "Compile the train step with XLA.")
flags.DEFINE_integer("steps_per_execution", _T.steps_per_execution,
                     "Train steps per call into the compiled step (fewer host round trips).")
flags.DEFINE_string("strategy", _T.strategy, "default (one device), mirrored (all GPUs of this "
                    "host) or multi_worker (several hosts; reads TF_CONFIG). --batch_size is the "
                    "global batch.")
flags.DEFINE_bool("sync_batch_norm", _T.sync_batch_norm,
                  "BatchNorm statistics over the global batch under a strategy.")
flags.DEFINE_string("mixed_precision", _T.mixed_precision,
                    "float32, mixed_bfloat16 or mixed_float16 (with dynamic loss scaling).")
flags.DEFINE_string("on_nan", _T.on_nan, "A non-finite loss or weight: stop (error naming the "
                    "step; nothing of it saved) or rollback (restore the newest checkpoint, lower "
                    "the learning rates by --rollback_lr_factor, continue).")
flags.DEFINE_float("rollback_lr_factor", _T.rollback_lr_factor,
                   "Learning-rate multiplier per --on_nan=rollback.")
flags.DEFINE_integer("max_rollbacks", _T.max_rollbacks, "Rollbacks allowed before the run stops.")
flags.DEFINE_integer("log_every", _T.log_every, "Steps between metric logs.")
flags.DEFINE_integer("sample_every", _T.sample_every, "Steps between sample grids.")
flags.DEFINE_integer("checkpoint_every", _T.checkpoint_every, "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoints", _T.keep_checkpoints, "Newest checkpoints kept.")
flags.DEFINE_integer("num_samples", _T.num_samples, "Images per sample grid.")
flags.DEFINE_integer("eval_every", _T.eval_every, "Steps between in-training evaluations against "
                     "the test split (0: none); the best checkpoint is kept in <workdir>/best/.")
flags.DEFINE_integer("eval_samples", _T.eval_samples, "Images per in-training evaluation.")
flags.DEFINE_string("eval_metric", _T.eval_metric, "In-training metric: fid (TTUR Inception, "
                    ">= 2048 samples, about a minute each here) or classifier_fd (MNIST "
                    "classifier features, seconds).")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph for --eval_metric=fid; default "
                    "$KGAN_INCEPTION_PATH.")

FLAGS = flags.FLAGS


def config_from_flags() -> Config:
    try:
        hidden_units = tuple(int(u) for u in FLAGS.hidden_units)
    except ValueError:
        raise KganError(f"--hidden_units must be integers, got {','.join(FLAGS.hidden_units)!r}")
    return Config(
        data=DataConfig(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir, download=FLAGS.download,
                        attributes=tuple(FLAGS.attributes), crop_fraction=FLAGS.crop_fraction),
        model=ModelConfig(architecture=FLAGS.model, latent_dim=FLAGS.latent_dim,
                          hidden_units=hidden_units, base_filters=FLAGS.base_filters,
                          kernel_size=FLAGS.kernel_size, conditional=FLAGS.conditional,
                          label_embedding_dim=FLAGS.label_embedding_dim),
        train=TrainConfig(
            loss=FLAGS.loss, label_smoothing=FLAGS.label_smoothing, d_steps=FLAGS.d_steps,
            batch_size=FLAGS.batch_size,
            steps=None if FLAGS.epochs is not None else FLAGS.steps, epochs=FLAGS.epochs,
            g_learning_rate=FLAGS.g_learning_rate, d_learning_rate=FLAGS.d_learning_rate,
            g_beta1=FLAGS.g_beta1, g_beta2=FLAGS.g_beta2, d_beta1=FLAGS.d_beta1,
            d_beta2=FLAGS.d_beta2, seed=FLAGS.seed, deterministic=FLAGS.deterministic,
            reuse_fakes=FLAGS.reuse_fakes, jit_compile=FLAGS.jit_compile,
            steps_per_execution=FLAGS.steps_per_execution,
            strategy=FLAGS.strategy, sync_batch_norm=FLAGS.sync_batch_norm,
            mixed_precision=FLAGS.mixed_precision, log_every=FLAGS.log_every,
            sample_every=FLAGS.sample_every, checkpoint_every=FLAGS.checkpoint_every,
            keep_checkpoints=FLAGS.keep_checkpoints, num_samples=FLAGS.num_samples,
            eval_every=FLAGS.eval_every, eval_samples=FLAGS.eval_samples,
            eval_metric=FLAGS.eval_metric, inception_path=FLAGS.inception_path,
            on_nan=FLAGS.on_nan, rollback_lr_factor=FLAGS.rollback_lr_factor,
            max_rollbacks=FLAGS.max_rollbacks),
    )


def train_from_flags():
    config = config_from_flags()  # value errors surface here, before TensorFlow loads
    from kgan import training

    config = training.resolve(config)
    if FLAGS.dry_run:
        sys.stdout.write(config.to_json())
        return 0
    workdir = FLAGS.workdir or os.path.join("runs", "_".join(
        [config.data.dataset, config.model.architecture]
        + (["conditional"] if config.model.conditional else [])))
    result = training.train(config, workdir)
    if result.interrupted:
        return 130
    print(f"Done: step {result.step} in {result.workdir}; newest checkpoint {result.checkpoint}; "
          f"weights sha256 {result.weights_digest[:16]}")
    return 0


def main(argv):
    # Ctrl-C during training is handled by train() (checkpoint saved); before it, nothing to save.
    return cli.run("train.py", train_from_flags, argv)

if __name__ == "__main__":
    app.run(main)
