"""Semi-supervised MNIST with 100 labels: the GAN's classifier against the labels alone.

For each seed (which 10 images per class are labelled, and every other
random choice), two contenders train for the same CPU budget, each pinned
to the cores this process may use:

* `gan`: `--task=semi_supervised` with its preset (Salimans et al. 2016: the
  K-class discriminator on the labelled and all unlabelled images, a
  feature-matching generator);
* `labels_only`: the same network, noise and optimizer on the 100
  labelled images alone (`--adversarial_weight=0`: no generator).

Each is scored by its classifier's error on MNIST's 10,000 test images. The
literature reports the GAN at 0.93% (+-0.07) over 10 seeds and a classifier on
the 100 labels alone at about 20-25%. Results are stored per (contender,
seed) as they finish (`--results`); a run interrupted midway resumes from
its checkpoint with the CPU time it already spent, so the comparison can be
run in parts.

    taskset -c 0 python bench/semi_supervised.py --seeds=0,2,4 --minutes=30
    taskset -c 1 python bench/semi_supervised.py --seeds=1,3 --minutes=30
"""

import os
import statistics
import sys

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Seeds to run.")
flags.DEFINE_list("contenders", ["gan", "labels_only"], "Contenders to run.")
flags.DEFINE_float("minutes", 30.0, "Training budget per run, CPU-minutes.")
flags.DEFINE_float("chunk_minutes", 30.0, "Longest training process (wall-clock).")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data",
                                             "tensorflow_datasets"), "MNIST TFDS data_dir.")
flags.DEFINE_string("out", "/tmp/kgan-bench-semi-supervised", "Run folders.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "semi_supervised.json"),
                    "Results file (one entry per contender, seed and budget).")
FLAGS = flags.FLAGS

CONTENDERS = {"gan": {}, "labels_only": {"train": {"adversarial_weight": 0.0}}}


def run_config(contender: str, seed: int):
    from kgan.config import Config, presets

    values = presets.merge(presets.load_preset("semi_supervised", Config),
                           {"data": {"data_dir": FLAGS.data_dir}})
    values = presets.merge(values, CONTENDERS[contender])
    # A step count no budget reaches: the clock ends the run.
    values = presets.merge(values, {"train": {"steps": 10_000_000, "seed": seed,
                                              "checkpoint_every": 2000, "sample_every": 10_000,
                                              "log_every": 1000}})
    return Config.from_dict(values)


def run_dir(contender: str, seed: int) -> str:
    return os.path.join(FLAGS.out, f"{FLAGS.minutes:g}min", f"{contender}_seed{seed}")


def result_key(contender: str, seed: int) -> str:
    return f"{contender}/seed{seed}@{FLAGS.minutes:g}min"


def train(contender: str, seed: int) -> dict:
    """Trains the run until its CPU budget is spent (resuming an interrupted one)."""
    from budget import train_to_budget

    return train_to_budget(run_dir(contender, seed), run_config(contender, seed), FLAGS.minutes,
                           FLAGS.chunk_minutes, f"{contender}/seed{seed}")


def score(contender: str, seed: int) -> dict:
    from kgan import checkpoints, data
    from kgan.evaluation import classification

    workdir = run_dir(contender, seed)
    loaded = checkpoints.load_task(workdir)
    result = classification.test_error(
        lambda images: loaded.task.classify(data.to_unit_range(images)).numpy(),
        loaded.config.data, log=lambda message: print(f"  {message}", flush=True))
    return {"steps": loaded.step, "cores": len(os.sched_getaffinity(0)), **result}


def summary(results: dict) -> list[str]:
    lines = [f"MNIST, 100 labels, {FLAGS.minutes:g} CPU-min per run: test error (%)"]
    for contender in CONTENDERS:
        rows = sorted((key, value) for key, value in results.items()
                      if key.startswith(f"{contender}/") and key.endswith(f"@{FLAGS.minutes:g}min"))
        if not rows:
            continue
        errors = [100 * value["error"] for _, value in rows]
        spread = f" +- {statistics.stdev(errors):.2f}" if len(errors) > 1 else ""
        each = ", ".join(f"{key.split('/')[1].split('@')[0]} {100 * value['error']:.2f} "
                         f"({value['steps']} steps)" for key, value in rows)
        lines.append(f"  {contender:12s} mean {statistics.mean(errors):.2f}{spread} over "
                     f"{len(errors)} seeds: {each}")
    return lines


def main(argv):
    del argv
    from budget import claimed, load_results, record_result

    logging.set_verbosity(logging.WARNING)  # TFDS logs every dataset open at INFO

    for seed in map(int, FLAGS.seeds):
        for contender in FLAGS.contenders:
            if contender not in CONTENDERS:
                raise app.UsageError(f"unknown contender {contender!r}; choose from "
                                     f"{', '.join(CONTENDERS)}")
            key = result_key(contender, seed)
            if key in load_results(FLAGS.results):
                print(f"{key}: stored", flush=True)
                continue
            with claimed(run_dir(contender, seed)) as mine:
                if not mine:
                    print(f"{key}: another bench process is training it", flush=True)
                    continue
                print(f"{key}:", flush=True)
                timing = train(contender, seed)
                record_result(FLAGS.results, key, {**timing, **score(contender, seed)})
    print("\n".join(summary(load_results(FLAGS.results))))


if __name__ == "__main__":
    app.run(main)
