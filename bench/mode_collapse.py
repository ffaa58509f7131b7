"""Mode collapse: the literature's counter-measures side by side, with equal wall-clock budgets.

Two suites (`--suite`):

* `rings`: the 2-D ring of 8 and grid of 25 Gaussians (presets `ring8`,
  `grid25`: MLP networks, PacGAN's shape at CPU width), several seeds per
  contender, each run trained for `--seconds` of wall-clock time and judged
  on 2,500 samples by PacGAN's protocol (Lin et al. 2018, Table 1): modes
  recovered, high-quality share, reverse KL.
* `stacked`: Stacked MNIST (1,000 modes), DCGAN networks, each run trained
  for `--minutes` and judged on 26,000 samples: modes covered and
  KL(generated || uniform) of the mode histogram, each channel read by kgan's
  MNIST classifier (PacGAN Table 3's protocol).

Contenders are config overrides of the suite's base recipe (`CONTENDERS`):
the standard non-saturating GAN, unrolled GAN (Metz et al. 2016; k = 5 and
10), PacGAN2 (Lin et al. 2018), minibatch discrimination (Salimans et al.
2016) and the modern recipe (RpGAN + R1 + R2, Huang et al. 2024). Budgets are
wall-clock from process start, so a contender's cost per step is part of its
result; each row also gives the steps it reached. Every (contender, mixture,
seed) result is stored in `--results` as it finishes
(`bench/results/mode_collapse_<suite>.json`, committed), so the comparison
resumes across sessions. Budgets are wall-clock, so nothing else may share
the cores the bench runs on; pinning each suite to its own core
(`taskset -c 0 ... --suite=stacked` beside `taskset -c 1 ... --suite=rings`)
runs both at once, each result recording the cores it had.

    python bench/mode_collapse.py --suite=rings --seconds=60 --seeds=0,1,2,3,4
    python bench/mode_collapse.py --suite=stacked --minutes=30 \
        --data_dir=../shared/data/tensorflow_datasets
"""

import copy
import json
import os
import shutil
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

_RPGAN_R1R2 = {"loss": "relativistic", "r1_gamma": 0.1, "r2_gamma": 0.1}
_EMA_BF16 = {"ema_half_life": 10_000, "mixed_precision": "auto"}
CONTENDERS = {
    "rings": {
        "gan": {},
        "unrolled5": {"train": {"unrolled_steps": 5}},
        "unrolled10": {"train": {"unrolled_steps": 10}},
        "pacgan2": {"model": {"pack": 2}},
        "minibatch_discrimination": {"model": {"minibatch_discrimination": 50}},
        "rpgan_r1r2": {"train": _RPGAN_R1R2},
    },
    "stacked": {
        "dcgan": {},
        "pacgan2": {"model": {"pack": 2}},
        "minibatch_discrimination": {"model": {"minibatch_discrimination": 50}},
        # R1/R2 penalize each example's input gradient: no BatchNorm in D.
        "rpgan_r1r2": {"model": {"d_normalization": "none"},
                       "train": {**_RPGAN_R1R2, "reg_every": 4}},
        "unrolled5": {"train": {"unrolled_steps": 5}},
        # The issue-15 recipe (EMA generator, bfloat16 compute where native)
        # on the two best 30-minute contenders.
        "pacgan2_ema_bf16": {"model": {"pack": 2}, "train": _EMA_BF16},
        "rpgan_r1r2_ema_bf16": {"model": {"d_normalization": "none"},
                                "train": {**_RPGAN_R1R2, "reg_every": 4, **_EMA_BF16}},
    },
}
SAMPLES = {"rings": 2_500, "stacked": 26_000}

flags.DEFINE_enum("suite", "rings", list(CONTENDERS), "Which benchmark.")
flags.DEFINE_list("contenders", None, "Contenders, in order (default: all of the suite's).")
flags.DEFINE_list("mixtures", ["ring8", "grid25"], "rings: the mixtures (presets).")
flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Training seeds.")
flags.DEFINE_float("seconds", 60.0, "rings: training budget per run, wall-clock seconds.")
flags.DEFINE_float("minutes", 30.0, "stacked: training budget per run, wall-clock minutes.")
flags.DEFINE_string("data_dir", None, "stacked: the MNIST TFDS data_dir.")
flags.DEFINE_string("out", "runs/bench_mode_collapse", "Where the runs go.")
flags.DEFINE_string("results", None, "The results file (default "
                    "bench/results/mode_collapse_<suite>.json).")
flags.DEFINE_bool("fresh", False, "Ignore stored results: evaluate every run again and replace "
                  "its row (runs already trained are not retrained).")
FLAGS = flags.FLAGS


def run_config(contender: str, problem: str, seed: int):
    """The full kgan config of one run: the problem's base recipe (a ring
    preset, or the DCGAN defaults on Stacked MNIST) with the contender's
    overrides and the seed."""
    from kgan.config import Config
    from kgan.config.presets import load_preset, merge

    values = Config().to_dict()
    if FLAGS.suite == "rings":
        values = merge(values, load_preset(problem))
        # At the presets' 1e-4 (PacGAN's rate, for its thousands of epochs) the
        # plain GAN finds 0 of 25 grid modes in a minute's 9,000 steps, at 1e-3
        # nine (BUILD_NOTES): a CPU-minute budget needs the higher rate.
        values["train"].update(d_learning_rate=1e-3, g_learning_rate=1e-3)
    else:
        values["data"].update(dataset="stacked_mnist", data_dir=FLAGS.data_dir)
    values["train"].update(seed=seed, steps=100_000_000, epochs=None, log_every=500,
                           sample_every=100_000_000, checkpoint_every=100_000_000,
                           keep_checkpoints=1)
    return Config.from_dict(merge(values, copy.deepcopy(CONTENDERS[FLAGS.suite][contender])))


def run_dir(contender: str, problem: str, seed: int) -> str:
    """Each budget trains its own runs (a longer one never resumes a shorter one's);
    the budgets of the first measurements (rings 60 s, stacked 30 min) kept the
    folders they were trained in."""
    first = (FLAGS.suite == "rings" and FLAGS.seconds == 60) or (
        FLAGS.suite == "stacked" and FLAGS.minutes == 30)
    budget = "" if first else (f"{FLAGS.seconds:g}s" if FLAGS.suite == "rings"
                               else f"{FLAGS.minutes:g}min")
    return os.path.join(FLAGS.out, FLAGS.suite, budget, f"{contender}_{problem}_seed{seed}")


def run(contender: str, problem: str, seed: int) -> dict:
    from budget import train_for
    from machine import matmul_gflops

    from kgan import checkpoints
    from kgan.config import EvalConfig
    from kgan.evaluation import evaluate

    workdir = run_dir(contender, problem, seed)
    timing_path = os.path.join(workdir, "bench_timing.json")
    speed = matmul_gflops()
    if not os.path.exists(timing_path) and os.path.isdir(os.path.join(workdir, "checkpoints")):
        # Killed while training: a partial run would resume with a wrong budget.
        shutil.rmtree(os.path.join(workdir, "checkpoints"))
    if checkpoints.latest_checkpoint(workdir) is None:
        budget = FLAGS.seconds if FLAGS.suite == "rings" else FLAGS.minutes * 60
        timing = {"matmul_gflops": speed, **train_for(workdir, run_config(contender, problem, seed),
                                                       budget)}
        with open(timing_path, "w") as f:
            json.dump(timing, f)
    else:  # trained before an interruption of the evaluation
        with open(timing_path) as f:
            timing = json.load(f)
    step = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir))
    report = evaluate(EvalConfig(workdir=workdir, num_samples=SAMPLES[FLAGS.suite],
                                 metrics=("classifier",), data_dir=FLAGS.data_dir),
                      log=lambda message: None)
    metrics = report["modes"] if FLAGS.suite == "rings" else report["stacked_mnist"]
    metrics.pop("per_mode_counts", None)
    return {"steps": step, "cores": len(os.sched_getaffinity(0)), **timing, **metrics}


def summary_row(name: str, rows: list) -> str:
    if FLAGS.suite == "rings":
        kls = [r["reverse_kl"] for r in rows if r["reverse_kl"] is not None]
        per_seed = " ".join(f"{r['modes_recovered']}/{r['high_quality_share']:.2f}/"
                            f"{'-' if r['reverse_kl'] is None else format(r['reverse_kl'], '.3f')}"
                            for r in rows)
        return (f"{name:26s} {len(rows):5d} {statistics.mean(r['steps'] for r in rows):7.0f} "
                f"{statistics.mean(r['modes_recovered'] for r in rows):6.2f} "
                f"{min(r['modes_recovered'] for r in rows):4d} "
                f"{statistics.mean(r['high_quality_share'] for r in rows):8.3f} "
                f"{statistics.mean(kls) if kls else float('nan'):7.3f} "
                f"{max(kls) if kls else float('nan'):7.3f}  {per_seed}")
    per_seed = " ".join(f"{r['modes_covered']}/{r['kl_from_uniform']:.3f}" for r in rows)
    return (f"{name:26s} {len(rows):5d} {statistics.mean(r['steps'] for r in rows):7.0f} "
            f"{statistics.mean(r['modes_covered'] for r in rows):7.1f} "
            f"{statistics.mean(r['kl_from_uniform'] for r in rows):7.3f} "
            f"{statistics.mean(r['confident_share'] for r in rows):8.3f}  {per_seed}")


def print_table(results: dict, problems: list, contenders: list) -> None:
    budget = (f"{FLAGS.seconds:g} s" if FLAGS.suite == "rings" else f"{FLAGS.minutes:g} min")
    for problem in problems:
        print(f"\n{problem}: {budget} of training per run, {SAMPLES[FLAGS.suite]} samples, "
              f"{len(os.sched_getaffinity(0))} CPU core(s)")
        if FLAGS.suite == "rings":
            print(f"{'contender':26s} {'seeds':>5s} {'steps':>7s} {'modes':>6s} {'min':>4s} "
                  f"{'HQ share':>8s} {'rev. KL':>7s} {'max KL':>7s}  per seed (modes/HQ/KL)")
        else:
            print(f"{'contender':26s} {'seeds':>5s} {'steps':>7s} {'modes':>7s} {'KL':>7s} "
                  f"{'conf>=.9':>8s}  per seed (modes/KL)")
        for name in contenders:
            rows = [results[key] for key in (f"{name}/{problem}/seed{s}@{budget}"
                                             for s in FLAGS.seeds) if key in results]
            if rows:
                print(summary_row(name, rows))


def main(argv):
    from budget import claimed, load_results, record_result

    logging.set_verbosity(logging.WARNING)
    contenders = FLAGS.contenders or list(CONTENDERS[FLAGS.suite])
    unknown = [name for name in contenders if name not in CONTENDERS[FLAGS.suite]]
    if unknown:
        raise app.UsageError(f"unknown contender {unknown[0]!r} for --suite={FLAGS.suite}: "
                             f"{', '.join(CONTENDERS[FLAGS.suite])}")
    if FLAGS.suite == "stacked" and not FLAGS.data_dir:
        raise app.UsageError("--suite=stacked needs --data_dir (the MNIST TFDS data_dir)")
    problems = FLAGS.mixtures if FLAGS.suite == "rings" else ["stacked_mnist"]
    results_path = FLAGS.results or os.path.join(REPO, "bench", "results",
                                                 f"mode_collapse_{FLAGS.suite}.json")
    budget = (f"{FLAGS.seconds:g} s" if FLAGS.suite == "rings" else f"{FLAGS.minutes:g} min")
    # Seed-major order: an interrupted comparison has every contender on the first seeds.
    for seed in map(int, FLAGS.seeds):
        for problem in problems:
            for name in contenders:
                key = f"{name}/{problem}/seed{seed}@{budget}"
                # Re-read each time: a process on another core may have done it meanwhile.
                if not FLAGS.fresh and key in load_results(results_path):
                    continue
                with claimed(run_dir(name, problem, seed)) as mine:
                    if not mine:
                        print(f"{key}: being trained by another process; skipped", flush=True)
                        continue
                    print(f"{key}: training", flush=True)
                    row = run(name, problem, seed)
                    record_result(results_path, key, row)
                print(f"{key}: {json.dumps(row)}", flush=True)
    print_table(load_results(results_path), problems, contenders)


if __name__ == "__main__":
    app.run(main)
