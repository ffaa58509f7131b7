"""Conditional-GAN data augmentation: does a classifier learn more from N real
digits plus a kgan generator's samples than from the N digits alone?

For each N (real labelled MNIST training digits, N/10 per class, drawn by the
seed) and seed:

1. a class-conditional GAN (`mnist_conditional` preset, with DiffAugment's
   translation and cutout when N is below the full 60,000, as data-efficient
   GANs do; `--data.examples_per_class=N/10`) trains on the same N digits for
   `--gan_minutes` CPU-minutes: the generator knows no more than the
   classifier's own data;
2. `--samples_per_class` digits of each class are drawn from its generator;
3. the scoring classifier (`kgan.evaluation.classifier_score`: kgan's MNIST
   CNN, from scratch, a fixed number of steps) trains on the N real digits
   alone (`real`) and on batches half real, half generated (`real+gan`),
   once per classifier seed, and is tested on MNIST's 10,000 test digits.

Each GAN run and each classifier result is stored as it finishes
(`--results`); an interrupted GAN run resumes from its checkpoint with the
CPU time it already spent, so the table can be built in parts.

    taskset -c 0 python bench/augmentation.py --sizes=100,1000
    taskset -c 1 python bench/augmentation.py --sizes=60000
"""

import os
import statistics
import sys

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_list("sizes", ["100", "1000", "60000"], "Real labelled training digits (N).")
flags.DEFINE_list("seeds", ["0"], "Seeds: which N digits, the GAN's and the samples' draws.")
flags.DEFINE_integer("classifier_seeds", 3, "Classifier trainings per (N, seed, contender).")
flags.DEFINE_integer("classifier_steps", 2000, "Classifier training steps (batch 128).")
flags.DEFINE_integer("samples_per_class", 1000, "Generated digits per class.")
flags.DEFINE_float("gan_minutes", 10.0, "Conditional GAN training budget, CPU-minutes.")
flags.DEFINE_float("chunk_minutes", 10.0, "Longest GAN training process (wall-clock).")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data",
                                             "tensorflow_datasets"), "MNIST TFDS data_dir.")
flags.DEFINE_string("out", "/tmp/kgan-bench-augmentation", "GAN run folders.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "augmentation.json"),
                    "Results file.")
FLAGS = flags.FLAGS

CONTENDERS = ("real", "real+gan")
FULL_MNIST = 60_000


def gan_config(size: int, seed: int):
    from kgan.config import Config, presets

    values = presets.merge(presets.load_preset("mnist_conditional", Config), {
        "data": {"data_dir": FLAGS.data_dir},
        # A step count no budget reaches: the clock ends the run.
        "train": {"steps": 10_000_000, "seed": seed, "checkpoint_every": 1000,
                  "sample_every": 5000, "log_every": 500}})
    if size < FULL_MNIST:
        values = presets.merge(values, {"data": {"examples_per_class": size // 10},
                                        "train": {"augment": ["translation", "cutout"]}})
    return Config.from_dict(values)


def gan_dir(size: int, seed: int) -> str:
    return os.path.join(FLAGS.out, f"{FLAGS.gan_minutes:g}min", f"N{size}_seed{seed}")


def real_digits(size: int, seed: int):
    """The N training digits the GAN saw (the same draw as its data)."""
    from kgan import data
    from kgan.config import DataConfig
    from kgan.evaluation.classifier_score import LabelledImages

    dataset = data.load(DataConfig(data_dir=FLAGS.data_dir), "train")
    images, labels = (array.numpy() for array in data.materialize(dataset))
    if size < FULL_MNIST:
        chosen = data.per_class_indices(labels, size // 10, seed)
        images, labels = images[chosen], labels[chosen]
    return LabelledImages(f"{len(images)} real digits", images, labels)


def generated_digits(size: int, seed: int):
    import numpy as np

    from kgan.evaluation import sampling
    from kgan.evaluation.classifier_score import LabelledImages

    source = sampling.load(gan_dir(size, seed))
    labels = np.repeat(np.arange(10), FLAGS.samples_per_class)
    images = sampling.sample(source, len(labels), seed, labels)
    return LabelledImages(f"{len(images)} generated digits (step {source.step})", images, labels)


def result_key(size: int, seed: int, contender: str, classifier_seed: int) -> str:
    return (f"N{size}/seed{seed}/{contender}/classifier{classifier_seed}"
            f"@{FLAGS.gan_minutes:g}min,{FLAGS.classifier_steps}steps")


def summary(results: dict) -> list[str]:
    lines = [f"MNIST test error (%) of the scoring classifier ({FLAGS.classifier_steps} steps), "
             f"GANs trained {FLAGS.gan_minutes:g} CPU-min:"]
    suffix = f"@{FLAGS.gan_minutes:g}min,{FLAGS.classifier_steps}steps"
    for size in sorted({int(key.split("/")[0][1:]) for key in results if key.endswith(suffix)}):
        cells = []
        for contender in CONTENDERS:
            errors = [100 * value["error"] for key, value in results.items()
                      if key.startswith(f"N{size}/") and f"/{contender}/" in key
                      and key.endswith(suffix)]
            if errors:
                spread = f" +- {statistics.stdev(errors):.2f}" if len(errors) > 1 else ""
                cells.append(f"{contender} {statistics.mean(errors):.2f}{spread} "
                             f"(n={len(errors)})")
        lines.append(f"  N={size:>6}: " + "; ".join(cells))
    return lines


def main(argv):
    del argv
    from budget import claimed, load_results, record_result, train_to_budget

    from kgan.config import DataConfig
    from kgan.evaluation import classifier_score

    logging.set_verbosity(logging.WARNING)  # TFDS logs every dataset open at INFO
    quiet = lambda message: print(f"  {message}", flush=True)  # noqa: E731
    for size in map(int, FLAGS.sizes):
        if size % 10 or not 10 <= size <= FULL_MNIST:
            raise app.UsageError(f"--sizes: {size} is not a multiple of 10 in 10..{FULL_MNIST}")
        for seed in map(int, FLAGS.seeds):
            keys = {(contender, k): result_key(size, seed, contender, k)
                    for contender in CONTENDERS for k in range(FLAGS.classifier_seeds)}
            if all(key in load_results(FLAGS.results) for key in keys.values()):
                print(f"N={size} seed {seed}: stored", flush=True)
                continue
            with claimed(gan_dir(size, seed)) as mine:
                if not mine:
                    print(f"N={size} seed {seed}: another bench process has it", flush=True)
                    continue
                print(f"N={size} seed {seed}:", flush=True)
                timing = train_to_budget(gan_dir(size, seed), gan_config(size, seed),
                                         FLAGS.gan_minutes, FLAGS.chunk_minutes,
                                         f"conditional GAN on N={size}")
                real = real_digits(size, seed)
                generated = generated_digits(size, seed)
                for (contender, k), key in keys.items():
                    if key in load_results(FLAGS.results):
                        continue
                    sources = [real] if contender == "real" else [real, generated]
                    result = classifier_score.score(sources, FLAGS.classifier_steps,
                                                    1000 * seed + k,
                                                    DataConfig(data_dir=FLAGS.data_dir), quiet)
                    record_result(FLAGS.results, key, {
                        "gan_cpu_seconds": timing["cpu_seconds"],
                        "generated": generated.name, **result})
    print("\n".join(summary(load_results(FLAGS.results))))


if __name__ == "__main__":
    app.run(main)
