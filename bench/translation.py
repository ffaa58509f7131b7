"""Image-to-image translation against its papers' baselines, at equal CPU budgets.

Problems (`--problems`), each with its contenders (config overrides of the
task's preset, `kgan/presets/<task>.json`):

* `colorization`, `sketch` (pix2pix on CelebA pairs the pipeline builds):
  `pix2pix` (conditional GAN + 100 x L1, Isola et al. 2017) against
  `l1_only` (the same U-Net trained on L1 alone, pix2pix's Table 1
  baseline; it runs no discriminator, so it gets more steps in the same
  time). Judged on the 1,440 held-out faces: PSNR and SSIM against the true
  faces, colourfulness (Hasler and Suesstrunk 2003) beside the real faces',
  FID and KID against the real held-out faces.
* `women_men` (CycleGAN, -Male <-> Male): `cyclegan` (least squares, cycle
  lambda 10, identity 0.5 lambda, history buffer 50; Zhu et al. 2017) and
  `gan_alone` (cycle and identity weights 0: the paper's "GAN alone"
  ablation, Table 4). Judged per direction on the held-out faces of each
  domain: translation success by kgan's CelebA attribute classifier,
  agreement of the other 39 attributes, cycle error, FID and KID against
  the held-out faces of the target domain.
* Ablations: `pix2pix_resize`, `l1_only_resize` and `cyclegan_resize` are
  the same contenders with resize-convolution upsampling in the generators
  (`--upsampling=resize`, Odena et al. 2016) instead of the papers'
  transposed convolutions.

Budgets are CPU seconds of the training processes (start-up, data loading
and tracing included; a process pinned to one core spends at most one CPU
second per second), so contenders trained while other work shared their
core still get equal compute. Runs train in processes of at most
`--chunk_minutes` wall-clock minutes: the CPU time spent is stored in the
run after each, so a comparison cut short (a session's end) resumes with the
budget left instead of starting over. Each (problem, contender) result is stored in `--results` as it
finishes (`bench/results/translation.json`, committed). Nothing else may use
the core a bench process is pinned to; two processes on two cores share the
results file:

    taskset -c 0 python bench/translation.py --problems=colorization,sketch --minutes=10
    taskset -c 1 python bench/translation.py --problems=women_men --minutes=60

Each problem's before/after grid (held-out inputs, every contender's
outputs, the true faces where paired) is written to
`<out>/<problem>_grid.png`, outside the repository: the faces are CelebA's,
which may not be redistributed.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

_L1_ONLY = {"train": {"adversarial_weight": 0.0}}
_RESIZE = {"model": {"upsampling": "resize"}}
_PIX2PIX_CONTENDERS = {
    "pix2pix": {}, "l1_only": _L1_ONLY,
    # Ablation: resize-convolution upsampling, for the GAN and its baseline alike.
    "pix2pix_resize": _RESIZE, "l1_only_resize": {**_L1_ONLY, **_RESIZE},
}
PROBLEMS = {
    "colorization": ("pix2pix", {"data": {"translation": "colorization"}}, _PIX2PIX_CONTENDERS),
    "sketch": ("pix2pix", {"data": {"translation": "sketch"}}, _PIX2PIX_CONTENDERS),
    "women_men": ("cyclegan", {"data": {"domain_a": "-Male", "domain_b": "Male"}},
                  {"cyclegan": {},
                   "gan_alone": {"train": {"cycle_weight": 0.0, "identity_weight": 0.0}},
                   "cyclegan_resize": _RESIZE}),
}
GRID_COLUMNS = 8

flags.DEFINE_list("problems", list(PROBLEMS), "Problems, in order.")
flags.DEFINE_list("contenders", None, "Contenders (default: each problem's all).")
flags.DEFINE_float("minutes", 10.0, "Training budget per run, CPU-minutes.")
flags.DEFINE_float("chunk_minutes", 10.0, "Longest training process (wall-clock); the CPU "
                   "time spent is stored after each, so an interrupted comparison resumes.")
flags.DEFINE_string("data_dir", None, "The CelebA image folder (default "
                    "../shared/data/celeba/img_align_celeba beside the repository).")
flags.DEFINE_list("classifier_data_dirs", None, "CelebA folders kgan's attribute classifier "
                  "learns from (default the 178x218 and 89x109 shared folders).")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph (default $KGAN_INCEPTION_PATH).")
flags.DEFINE_integer("seed", 0, "Training seed.")
flags.DEFINE_string("out", "runs/bench_translation", "Where the runs go.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "translation.json"),
                    "The results file.")
FLAGS = flags.FLAGS


def data_dir() -> str:
    return FLAGS.data_dir or os.path.join(os.path.dirname(REPO), "shared", "data", "celeba",
                                          "img_align_celeba")


def classifier_data_dirs() -> tuple:
    celeba = os.path.dirname(data_dir())
    return tuple(FLAGS.classifier_data_dirs or (data_dir(), os.path.join(
        celeba, "img_align_celeba_89x109")))


def run_config(problem: str, contender: str):
    from kgan.config import Config, presets

    task, problem_settings, contenders = PROBLEMS[problem]
    values = presets.merge(presets.load_preset(task, Config), {"data": {"data_dir": data_dir()}})
    values = presets.merge(values, problem_settings)
    values = presets.merge(values, contenders[contender])
    # A step count no budget reaches: the clock ends the run.
    values = presets.merge(values, {"train": {"steps": 10_000_000, "seed": FLAGS.seed,
                                              "checkpoint_every": 250, "sample_every": 1000}})
    return Config.from_dict(values)


def run_dir(problem: str, contender: str) -> str:
    return os.path.join(FLAGS.out, f"{FLAGS.minutes:g}min", f"{problem}_{contender}")


def train(problem: str, contender: str) -> dict:
    """Trains the run until its CPU budget is spent (resuming an interrupted one)."""
    from budget import train_to_budget

    return train_to_budget(run_dir(problem, contender), run_config(problem, contender),
                           FLAGS.minutes, FLAGS.chunk_minutes, f"{problem}/{contender}")


def evaluate_run(problem: str, contender: str) -> dict:
    from kgan import checkpoints
    from kgan.config import EvalConfig
    from kgan.evaluation import evaluate

    workdir = run_dir(problem, contender)
    report = evaluate(EvalConfig(workdir=workdir, inception_path=FLAGS.inception_path,
                                 classifier_data_dirs=classifier_data_dirs(),
                                 classifier_heldout_dir=data_dir()),
                      log=lambda message: print(f"  {message}", flush=True))
    report.pop("output", None)
    for direction in report["directions"].values():
        direction.pop("attribute_agreement_per_attribute", None)
    step = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir))
    return {"steps": step, "cores": len(os.sched_getaffinity(0)), **report}


def write_grid(problem: str, contenders: list) -> str | None:
    """The before/after grid of a problem: rows of held-out inputs, each
    trained contender's translations, and the true outputs where paired."""
    import numpy as np

    from kgan import checkpoints, images, tasks

    task_class = tasks.get_task(PROBLEMS[problem][0])
    trained = [name for name in contenders
               if checkpoints.latest_checkpoint(run_dir(problem, name))]
    if not trained:
        return None
    chosen = task_class.chosen_examples(run_config(problem, trained[0]), GRID_COLUMNS, 1)
    rows = []
    for signature, examples in chosen.items():
        rows.append(examples.inputs)
        for name in trained:
            rows.append(checkpoints.load_task(run_dir(problem, name)).task.translate(
                signature, examples.inputs))
        if examples.targets is not None:
            rows.append(examples.targets)
    path = os.path.join(FLAGS.out, f"{FLAGS.minutes:g}min", f"{problem}_grid.png")
    grid = images.make_grid(np.concatenate(rows).astype(np.float32) / 127.5 - 1.0,
                            columns=GRID_COLUMNS)
    images.write_png(path, np.repeat(np.repeat(grid, 2, 0), 2, 1))
    print(f"{problem}: grid (rows: " + "; ".join(
        f"{signature}: inputs, {', '.join(trained)}"
        + (", true faces" if chosen[signature].targets is not None else "")
        for signature in chosen) + f") in {path}", flush=True)
    return path


def print_table(results: dict, problems: list) -> None:
    for problem in problems:
        print(f"\n{problem}: {FLAGS.minutes:g} min of training per contender")
        for key, row in results.items():
            name, rest = key.split("/", 1)
            if not rest.startswith(f"{problem}@{FLAGS.minutes:g}min"):
                continue
            for signature, d in row["directions"].items():
                figures = [f"{row['steps']} steps", f"{d['source']} -> {d['target']}"]
                if "psnr_db" in d:
                    figures += [f"PSNR {d['psnr_db']:.2f} dB", f"SSIM {d['ssim']:.4f}",
                                f"colourfulness {d['colourfulness']['outputs']:.1f} (real "
                                f"{d['colourfulness']['real']:.1f})"]
                if "translation_success" in d:
                    figures += [f"success {d['translation_success']:.3f}",
                                f"kept {d['attribute_agreement']:.3f}",
                                f"cycle {d['cycle_error_levels']:.1f} levels"]
                if "fid" in d:
                    figures += [f"FID {d['fid']:.2f}", f"KID {d['kid']['mean']:.4f}"]
                print(f"  {name:10s} {signature:16s} " + ", ".join(figures))


def main(argv):
    from budget import claimed, load_results, record_result

    logging.set_verbosity(logging.WARNING)
    unknown = [p for p in FLAGS.problems if p not in PROBLEMS]
    if unknown:
        raise app.UsageError(f"unknown problem {unknown[0]!r}: {', '.join(PROBLEMS)}")
    for problem in FLAGS.problems:
        contenders = FLAGS.contenders or list(PROBLEMS[problem][2])
        for name in contenders:
            if name not in PROBLEMS[problem][2]:
                raise app.UsageError(f"unknown contender {name!r} for {problem}: "
                                     f"{', '.join(PROBLEMS[problem][2])}")
            key = f"{name}/{problem}@{FLAGS.minutes:g}min"
            if key in load_results(FLAGS.results):
                continue
            with claimed(run_dir(problem, name)) as mine:
                if not mine:
                    print(f"{key}: being trained by another process; skipped", flush=True)
                    continue
                print(f"{key}: training", flush=True)
                timing = train(problem, name)
                print(f"{key}: evaluating", flush=True)
                row = {**timing, **evaluate_run(problem, name)}
                record_result(FLAGS.results, key, row)
            print(f"{key}: {json.dumps(row)}", flush=True)
        # Every contender trained at this budget, not only this command's: a grid
        # written by a partial command would otherwise lose the others' rows.
        write_grid(problem, list(PROBLEMS[problem][2]))
    print_table(load_results(FLAGS.results), FLAGS.problems)


if __name__ == "__main__":
    app.run(main)
