"""Quality per CPU-minute: GAN recipes trained for the same wall-clock budget, side by side.

Each contender is trained from scratch on this machine for `--minutes` of
wall-clock time (from process start: imports, data loading and tracing are
part of the budget), then stopped with Ctrl-C (SIGINT: kgan saves a
checkpoint at the last finished step) and evaluated with kgan's evaluate:
FID and KID of `--num_samples` samples against the held-out split (MNIST:
the 10,000 test images, with the digit classifier's mode coverage; CelebA:
the 1,440 shared held-out faces, where KID is the unbiased figure).

Contenders (`CONTENDERS`): the TensorFlow DCGAN tutorial's recipe (its
networks and simultaneous update, rebuilt in `tutorial_networks.py`, MNIST
only), today's default (the dataclass defaults), and the modern recipes as
config overrides. Each result is stored in `--results` as it finishes
(`bench/results/recipes_<dataset>.json`, committed), so an interrupted
comparison resumes where it stopped, on any machine; `--curve`
trains one contender in stages (resuming its run) and evaluates it at each
cumulative budget.

The machine must be otherwise idle: budgets are wall-clock. Each row
reports the machine's float32 matmul rate measured just before the
contender trained (this shared machine's speed drifts by up to 2x between
runs) and the training process's CPU time over its wall time (about 2 on
this 2-core machine when nothing else ran).

    python bench/recipes.py --dataset=mnist --data_dir=../shared/data/tensorflow_datasets \
        --inception_path=../shared/data/inception/inception-2015-12-05-pool3.pb
    python bench/recipes.py --dataset=celeba --minutes=30 \
        --data_dir=../shared/data/celeba/img_align_celeba --inception_path=...
"""

import copy
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# Overrides of the dataclass defaults (today's recipe), per dataset.
_EMA = {"train": {"ema_half_life": 10_000}}
_R3 = {"model": {"d_normalization": "none"},
       "train": {"loss": "relativistic", "r1_gamma": 0.1, "r2_gamma": 0.1, "reg_every": 4,
                 "ema_half_life": 10_000}}
CONTENDERS = {
    "mnist": {
        "tutorial": None,
        "default": {},
        "ema": _EMA,
        "ema_bf16": {"train": {**_EMA["train"], "mixed_precision": "mixed_bfloat16"}},
        "rpgan_r1r2_ema": _R3,
        "hinge_sn_ema": {"model": {"d_normalization": "none", "spectral_norm": True},
                         "train": {"loss": "hinge", **_EMA["train"]}},
        "resnet_rpgan_r1r2_ema": {"model": {"architecture": "resnet", "base_filters": 32},
                                  "train": _R3["train"]},
        "ema50k_bf16": {"train": {"ema_half_life": 50_000, "mixed_precision": "mixed_bfloat16"}},
        "ema_bf16_batch128": {"train": {**_EMA["train"], "mixed_precision": "mixed_bfloat16",
                                        "batch_size": 128}},
    },
    "celeba": {
        "default": {},
        "ema": {"train": {"ema_half_life": 10_000}},
        "ema_bf16": {"train": {"ema_half_life": 10_000, "mixed_precision": "mixed_bfloat16"}},
        "ema_bf16_diffaug": {"train": {"ema_half_life": 10_000, "mixed_precision": "mixed_bfloat16",
                                       "augment": ["translation", "color", "cutout"]}},
        # Half DCGAN's width (G 256-128-64-32 filters): ~4x fewer FLOPs per step.
        "narrow_ema_bf16_diffaug": {
            "model": {"base_filters": 32},
            "train": {"ema_half_life": 10_000, "mixed_precision": "mixed_bfloat16",
                      "augment": ["translation", "color", "cutout"]}},
        "rpgan_r1r2_ema_diffaug": {
            "model": {"d_normalization": "none"},
            "train": {**_R3["train"], "augment": ["translation", "color", "cutout"]}},
        # Attribute-conditional (the data's default attributes): evaluated with the
        # attribute classifier's agreement with the requested attributes too.
        "ema_bf16_diffaug_conditional": {
            "model": {"conditional": True},
            "train": {"ema_half_life": 10_000, "mixed_precision": "mixed_bfloat16",
                      "augment": ["translation", "color", "cutout"]}},
    },
}
DEFAULT_MINUTES = {"mnist": 10.0, "celeba": 30.0}

flags.DEFINE_enum("dataset", "mnist", list(CONTENDERS), "Dataset of the comparison.")
flags.DEFINE_string("data_dir", None, "The dataset's folder (MNIST: a TFDS data_dir).")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph (default $KGAN_INCEPTION_PATH).")
flags.DEFINE_float("minutes", None, "Training budget per contender (default: MNIST 10, "
                   "CelebA 30).")
flags.DEFINE_list("contenders", None, "Contenders to run, in order (default: all of the "
                  "dataset's).")
flags.DEFINE_list("curve", [], "Cumulative budgets in minutes (e.g. 2.5,5,10,20) at which "
                  "--curve_contender is evaluated.")
flags.DEFINE_string("curve_contender", None, "Contender of the curve (default: the lowest FID "
                    "stored).")
flags.DEFINE_integer("num_samples", 10_000, "Generated images per evaluation.")
flags.DEFINE_integer("seed", 0, "Training seed of every contender.")
flags.DEFINE_string("out", "runs/bench_recipes", "Where the contenders' runs go.")
flags.DEFINE_string("results", None, "The results file (default "
                    "bench/results/recipes_<dataset>.json, kept in the repository so a "
                    "comparison resumes across machines).")
flags.DEFINE_bool("fresh", False, "Ignore stored results.")
FLAGS = flags.FLAGS


def contender_config(name: str):
    """The full kgan config of a contender."""
    from kgan.config import Config
    from kgan.config.presets import merge

    values = Config().to_dict()
    values["data"].update(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir)
    values["train"].update(seed=FLAGS.seed, steps=100_000_000, log_every=500,
                           sample_every=2_000, checkpoint_every=100_000_000, keep_checkpoints=2)
    return Config.from_dict(merge(values, copy.deepcopy(CONTENDERS[FLAGS.dataset][name])))


def evaluate_run(workdir: str) -> dict:
    from kgan.config import EvalConfig
    from kgan.evaluation import evaluate

    from kgan import checkpoints

    conditional_faces = (FLAGS.dataset == "celeba"
                         and checkpoints.read_config(workdir).model.conditional)
    metrics = (("fid", "kid", "classifier") if FLAGS.dataset == "mnist" or conditional_faces
               else ("fid", "kid"))
    report = evaluate(EvalConfig(workdir=workdir, num_samples=FLAGS.num_samples,
                                 metrics=metrics, inception_path=FLAGS.inception_path,
                                 data_dir=FLAGS.data_dir))
    return summarize(report)


def summarize(report: dict) -> dict:
    summary = {"fid": report["fid"], "kid": report["kid"]["mean"],
               "kid_std": report["kid"]["std"]}
    if "attribute_classifier" in report and "agreement" in report["attribute_classifier"]:
        a = report["attribute_classifier"]
        summary.update({key: a[key] for key in (
            "agreement", "heldout_accuracy", "majority_accuracy", "mean_agreement",
            "mean_heldout_accuracy", "mean_majority_accuracy")})
    if "classifier" in report:
        c = report["classifier"]
        summary.update({key: c[key] for key in (
            "classes_covered", "kl_from_uniform", "mean_confidence", "confident_share",
            "uniform_ratio")})
    return summary


def run_tutorial(seconds: float) -> dict:
    """The TensorFlow DCGAN tutorial's loop for `seconds`, then its evaluation."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kgan import data, images
    from kgan.config import DataConfig, EvalConfig
    from kgan.evaluation import evaluate_images
    from tutorial_networks import LATENT_DIM, tutorial_discriminator, tutorial_generator

    began = time.monotonic()
    cpu_began = time.process_time()
    keras.utils.set_random_seed(FLAGS.seed)
    data_config = DataConfig(data_dir=FLAGS.data_dir)
    dataset = data.load(data_config, "train")
    train_images = next(iter(dataset.examples.batch(dataset.num_examples)))[0].numpy()
    batch_size = 256
    generator, discriminator = tutorial_generator(), tutorial_discriminator()
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    stream = iter(tf.data.Dataset.from_tensor_slices(
        (train_images.astype(np.float32) - 127.5) / 127.5).shuffle(60000).batch(
            batch_size, drop_remainder=True).repeat())

    @tf.function
    def train_step(real):
        noise = tf.random.normal([batch_size, LATENT_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            d_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                      + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                                        generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                                        discriminator.trainable_variables))
        return g_loss

    steps = 0
    while time.monotonic() - began < seconds:
        train_step(next(stream)).numpy()
        steps += 1
    wall, cpu = time.monotonic() - began, time.process_time() - cpu_began
    latents = np.random.default_rng(FLAGS.seed).standard_normal(
        (FLAGS.num_samples, LATENT_DIM)).astype(np.float32)
    generated = np.concatenate([np.asarray(images.to_uint8(generator(latents[i:i + 500],
                                                                       training=False)))
                                for i in range(0, len(latents), 500)])
    report = evaluate_images(generated, data_config, EvalConfig(
        saved_model="tutorial", num_samples=FLAGS.num_samples,
        metrics=("fid", "kid", "classifier"), inception_path=FLAGS.inception_path,
        data_dir=FLAGS.data_dir))
    return {"steps": steps, "batch_size": batch_size, "wall_seconds": wall, "cpu_seconds": cpu,
            **summarize(report)}


def run_contender(name: str, minutes: float) -> dict:
    from budget import train_for
    from machine import matmul_gflops

    from kgan import checkpoints

    speed = {"matmul_gflops": matmul_gflops()}

    if CONTENDERS[FLAGS.dataset][name] is None:
        return {**speed, **run_tutorial(minutes * 60)}
    workdir = os.path.join(FLAGS.out, FLAGS.dataset, f"{name}_{minutes:g}min_seed{FLAGS.seed}")
    if checkpoints.latest_checkpoint(workdir) is None:
        timing = train_for(workdir, contender_config(name), minutes * 60)
    else:  # trained before an interruption of the evaluation
        timing = json.load(open(os.path.join(workdir, "bench_timing.json")))
    with open(os.path.join(workdir, "bench_timing.json"), "w") as f:
        json.dump(timing, f)
    config = checkpoints.read_config(workdir)
    step = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir))
    return {"steps": step, "batch_size": config.train.batch_size,
            "mixed_precision": config.train.mixed_precision, **speed, **timing,
            "num_samples": FLAGS.num_samples, **evaluate_run(workdir)}


def run_curve(name: str, budgets: list, results: dict, store) -> None:
    from budget import train_for

    from kgan import checkpoints

    curve = results.setdefault(f"curve:{name}", {})
    workdir = os.path.join(FLAGS.out, FLAGS.dataset, f"{name}_curve_seed{FLAGS.seed}")
    spent = sum(entry["wall_seconds_stage"] for entry in curve.values())
    for minutes in budgets:
        if f"{minutes:g}" in curve:
            continue
        timing = train_for(workdir, contender_config(name), minutes * 60 - spent)
        spent += timing["wall_seconds"]
        step = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir))
        curve[f"{minutes:g}"] = {"steps": step, "wall_seconds_stage": timing["wall_seconds"],
                                 "wall_seconds": spent, **evaluate_run(workdir)}
        store()
        print(f"curve {name} {minutes:g} min: step {step}, FID {curve[f'{minutes:g}']['fid']:.2f}")


def print_table(results: dict, minutes: float) -> None:
    print(f"\n{FLAGS.dataset}, {minutes:g} minutes of training each, {FLAGS.num_samples} samples, "
          f"seed {FLAGS.seed}, {os.cpu_count()} CPU cores")
    header = (f"{'contender':24s} {'GFLOP/s':>7s} {'steps':>7s} {'img/s':>6s} {'cpu/wall':>8s} "
              f"{'FID':>7s} {'KID':>15s}")
    mnist = FLAGS.dataset == "mnist"
    if mnist:
        header += f" {'classes':>7s} {'KL':>6s} {'conf>=.9':>8s} {'min-max/unif':>12s}"
    print(header)
    for name, r in results.items():
        if name.startswith("curve:") or not name.endswith(f"@{minutes:g}"):
            continue
        images_per_second = r["steps"] * r["batch_size"] / r["wall_seconds"]
        speed = r.get("matmul_gflops")
        row = (f"{name.split('@')[0]:24s} {speed or float('nan'):7.0f} {r['steps']:7d} "
               f"{images_per_second:6.0f} "
               f"{r['cpu_seconds'] / r['wall_seconds']:8.2f} {r['fid']:7.2f} "
               f"{r['kid']:8.4f}+-{r['kid_std']:.4f}")
        if mnist:
            low, high = r["uniform_ratio"]
            row += (f" {r['classes_covered']:5d}/10 {r['kl_from_uniform']:6.3f} "
                    f"{r['confident_share']:8.3f} {low:5.2f}-{high:4.2f}")
        if "mean_agreement" in r:
            row += (f"  attributes: agreement {r['mean_agreement']:.3f} (classifier on real "
                    f"faces {r['mean_heldout_accuracy']:.3f}, majority answer "
                    f"{r['mean_majority_accuracy']:.3f})")
        print(row)
    for name, curve in results.items():
        if name.startswith("curve:"):
            points = ", ".join(f"{m} min: step {c['steps']} FID {c['fid']:.2f} KID {c['kid']:.4f}"
                               for m, c in curve.items())
            print(f"{name}: {points}")


def main(argv):
    from kgan.core.files import write_json_atomically

    logging.set_verbosity(logging.WARNING)
    minutes = FLAGS.minutes or DEFAULT_MINUTES[FLAGS.dataset]
    results_path = FLAGS.results or os.path.join(REPO, "bench", "results",
                                                 f"recipes_{FLAGS.dataset}.json")
    all_results = {}
    if os.path.exists(results_path) and not FLAGS.fresh:
        with open(results_path) as f:
            all_results = json.load(f)
    results = all_results.setdefault(f"seed{FLAGS.seed}", {})

    def store():
        write_json_atomically(results_path, all_results, indent=2)

    for name in FLAGS.contenders or list(CONTENDERS[FLAGS.dataset]):
        if name not in CONTENDERS[FLAGS.dataset]:
            raise app.UsageError(f"unknown contender {name!r} for {FLAGS.dataset}: "
                                 f"{', '.join(CONTENDERS[FLAGS.dataset])}")
        key = f"{name}@{minutes:g}"
        if key in results:
            print(f"{key}: stored")
            continue
        print(f"{key}: training for {minutes:g} minutes", flush=True)
        results[key] = run_contender(name, minutes)
        store()
        print(f"{key}: {json.dumps(results[key])}", flush=True)
    if FLAGS.curve:
        name = FLAGS.curve_contender or min(
            (k for k in results if "@" in k), key=lambda k: results[k]["fid"]).split("@")[0]
        run_curve(name, [float(m) for m in FLAGS.curve], results, store)
    print_table(results, minutes)


if __name__ == "__main__":
    app.run(main)
