"""SimGAN on digits: is a classifier of real handwriting better trained on
refined synthetic digits than on the raw ones?

For each seed:

1. `--task=simgan` (preset `simgan`) trains for `--minutes` CPU-minutes: a
   refiner of the run's `data.synthetic_examples` font-rendered digits
   towards MNIST's training digits (no MNIST labels are used);
2. the scoring classifier (`kgan.evaluation.classifier_score`: kgan's MNIST
   CNN, from scratch, a fixed number of steps) trains on the rendered digits
   as they are (`raw`), on the same digits through the refiner (`refined`),
   and, as the ceiling, on as many real MNIST training digits (`real`), once
   per classifier seed, each tested on MNIST's 10,000 test digits;
3. a grid of synthetic / refined / real digits is written beside the results.

Each run and each classifier result is stored as it finishes (`--results`);
an interrupted run resumes from its checkpoint with the CPU time it already
spent.

    taskset -c 0 python bench/simgan.py --seeds=0 --minutes=10
"""

import os
import statistics
import sys

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_list("seeds", ["0"], "Seeds: the rendered digits, the run's and the draws.")
flags.DEFINE_float("minutes", 10.0, "SimGAN training budget per seed, CPU-minutes.")
flags.DEFINE_float("chunk_minutes", 10.0, "Longest training process (wall-clock).")
flags.DEFINE_integer("classifier_seeds", 3, "Classifier trainings per (seed, contender).")
flags.DEFINE_integer("classifier_steps", 2000, "Classifier training steps (batch 128).")
flags.DEFINE_float("l1_weight", None, "Self-regularization weight (default: the preset's).")
flags.DEFINE_integer("base_filters", None, "Refiner and discriminator width (default: the preset's).")
flags.DEFINE_integer("blocks", None, "Refiner ResNet blocks (default: the preset's).")
flags.DEFINE_integer("patch_layers", None, "Discriminator stride-2 stages (default: the preset's).")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data",
                                             "tensorflow_datasets"), "MNIST TFDS data_dir.")
flags.DEFINE_string("out", "/tmp/kgan-bench-simgan", "Run folders.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "simgan.json"),
                    "Results file.")
FLAGS = flags.FLAGS

CONTENDERS = ("raw", "refined", "real")
GRID_COLUMNS = 20


def run_config(seed: int):
    from kgan.config import Config, presets

    changes = {"data": {"data_dir": FLAGS.data_dir},
               # A step count no budget reaches: the clock ends the run.
               "train": {"steps": 10_000_000, "seed": seed, "checkpoint_every": 500,
                         "sample_every": 2000, "log_every": 250}}
    if FLAGS.l1_weight is not None:
        changes["train"]["l1_weight"] = FLAGS.l1_weight
    changes["model"] = {name: value for name, value in (
        ("base_filters", FLAGS.base_filters), ("generator_blocks", FLAGS.blocks),
        ("patch_layers", FLAGS.patch_layers))
        if value is not None}
    return Config.from_dict(presets.merge(presets.load_preset("simgan", Config), changes))


def variant() -> str:
    """The budget and every setting changed from the preset, as in result keys."""
    changed = [f"{name}={value:g}" for name, value in (
        ("l1", FLAGS.l1_weight), ("width", FLAGS.base_filters), ("blocks", FLAGS.blocks),
        ("patches", FLAGS.patch_layers))
        if value is not None]
    return ",".join([f"{FLAGS.minutes:g}min", *changed])


def run_dir(seed: int) -> str:
    return os.path.join(FLAGS.out, variant(), f"seed{seed}")


def result_key(seed: int, contender: str, classifier_seed: int) -> str:
    return (f"seed{seed}/{contender}/classifier{classifier_seed}"
            f"@{variant()},{FLAGS.classifier_steps}steps")


def digit_sets(seed: int):
    """(raw, refined, real) `LabelledImages` of equal size, and the refiner's step."""
    import numpy as np

    from kgan import data
    from kgan.data import synthetic_digits
    from kgan.evaluation import translation
    from kgan.evaluation.classifier_score import LabelledImages

    translator = translation.from_workdir(run_dir(seed))
    count = translator.run_config.data.synthetic_examples
    rendered, labels = synthetic_digits.render(count, seed)
    refined = translator.translate("serving_default", np.repeat(rendered, 3, axis=-1))[..., :1]
    real = data.load(translator.run_config.data, "train")
    real_images, real_labels = (array.numpy() for array in data.materialize(real))
    rows = np.random.default_rng([seed, 0x5EA1]).choice(len(real_labels), count, replace=False)
    return (LabelledImages(f"{count} rendered digits", rendered, labels),
            LabelledImages(f"{count} refined digits (step {translator.step})", refined, labels),
            LabelledImages(f"{count} real digits", real_images[rows], real_labels[rows]),
            translator.step)


def write_grid(path: str, raw, refined, real) -> None:
    """Rows of rendered digits, their refinements, then real digits of the same classes."""
    import numpy as np

    from kgan import images

    columns = np.arange(GRID_COLUMNS)
    real_rows = [np.flatnonzero(real.labels == raw.labels[i])[0] for i in columns]
    tiles = np.concatenate([raw.images[columns], refined.images[columns],
                            real.images[real_rows]]).astype(np.float32) / 127.5 - 1.0
    images.write_png(path, images.make_grid(tiles, columns=GRID_COLUMNS))


def summary(results: dict) -> list[str]:
    suffix = f"@{variant()},{FLAGS.classifier_steps}steps"
    lines = [f"MNIST test error (%) of the scoring classifier ({FLAGS.classifier_steps} steps) "
             f"trained on one kind of digits, SimGAN trained {variant()}:"]
    for contender in CONTENDERS:
        errors = [100 * value["error"] for key, value in results.items()
                  if f"/{contender}/" in key and key.endswith(suffix)]
        if errors:
            spread = f" +- {statistics.stdev(errors):.2f}" if len(errors) > 1 else ""
            lines.append(f"  {contender:8s} {statistics.mean(errors):6.2f}{spread} "
                         f"(n={len(errors)})")
    return lines


def main(argv):
    del argv
    from budget import claimed, load_results, record_result, train_to_budget

    from kgan.evaluation import classifier_score

    logging.set_verbosity(logging.WARNING)  # TFDS logs every dataset open at INFO
    quiet = lambda message: print(f"  {message}", flush=True)  # noqa: E731
    for seed in map(int, FLAGS.seeds):
        keys = {(contender, k): result_key(seed, contender, k)
                for contender in CONTENDERS for k in range(FLAGS.classifier_seeds)}
        if all(key in load_results(FLAGS.results) for key in keys.values()):
            print(f"seed {seed}: stored", flush=True)
            continue
        with claimed(run_dir(seed)) as mine:
            if not mine:
                print(f"seed {seed}: another bench process has it", flush=True)
                continue
            print(f"seed {seed}:", flush=True)
            timing = train_to_budget(run_dir(seed), run_config(seed), FLAGS.minutes,
                                     FLAGS.chunk_minutes, f"SimGAN seed {seed}")
            raw, refined, real, step = digit_sets(seed)
            grid = os.path.join(os.path.dirname(FLAGS.results),
                                f"simgan_grid_{variant()}_seed{seed}.png")
            write_grid(grid, raw, refined, real)
            print(f"  grid (rendered / refined / real): {grid}", flush=True)
            sources = {"raw": raw, "refined": refined, "real": real}
            for (contender, k), key in keys.items():
                if key in load_results(FLAGS.results):
                    continue
                result = classifier_score.score([sources[contender]], FLAGS.classifier_steps,
                                                1000 * seed + k, run_config(seed).data, quiet)
                record_result(FLAGS.results, key, {"refiner_step": step,
                                                   "cpu_seconds": timing["cpu_seconds"],
                                                   **result})
    print("\n".join(summary(load_results(FLAGS.results))))


if __name__ == "__main__":
    app.run(main)
