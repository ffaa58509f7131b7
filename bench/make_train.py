"""`make train` over several seeds: how good and how stable the default MNIST run is.

Each seed runs exactly what `make train` runs (`train.py` with the MNIST
preset, its default length) with `--seed=<seed>` added, timed, then:
- the issue's criterion on 1,000 samples: the share kgan's digit classifier
  labels with confidence >= 0.9, and each class's count over the uniform
  count (all ten must lie in 0.5x-1.5x);
- FID and KID of `--fid_samples` (10,000) samples against the 10,000 test
  images.
A seed diverged if training stopped on a non-finite loss or rolled back.
Results are stored per seed in `--results` as each finishes, so the
comparison resumes; the machine's float32 matmul rate is recorded before
each run, and the machine must be otherwise idle.

    python bench/make_train.py --data_dir=../shared/data/tensorflow_datasets \
        --inception_path=../shared/data/inception/inception-2015-12-05-pool3.pb --seeds=0,1,2,3,4
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

flags.DEFINE_string("data_dir", None, "The MNIST TFDS data_dir.")
flags.DEFINE_string("inception_path", None, "The TTUR FID graph (default $KGAN_INCEPTION_PATH).")
flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Training seeds, in order.")
flags.DEFINE_list("train_flags", [], "Extra train.py flags (e.g. --preset=none for the "
                  "dataclass defaults); they name the result set.")
flags.DEFINE_integer("fid_samples", 10_000, "Generated images for FID and KID (the criterion "
                     "always uses 1,000); part of the result set's name when not 10,000.")
flags.DEFINE_string("out", "runs/bench_make_train", "Where the runs go.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "make_train.json"),
                    "The results file.")
FLAGS = flags.FLAGS

CONFIDENT_SHARE = 0.9
UNIFORM_RANGE = (0.5, 1.5)


def train(workdir: str, seed: int) -> dict:
    command = [sys.executable, os.path.join(REPO, "train.py"), f"--workdir={workdir}",
               f"--data_dir={FLAGS.data_dir}", f"--seed={seed}", *FLAGS.train_flags]
    os.makedirs(workdir, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    with open(os.path.join(workdir, "train.log"), "a") as log:
        returncode = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"returncode": returncode, "wall_seconds": wall,
            "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def evaluate(workdir: str) -> dict:
    from kgan import checkpoints
    from kgan.config import EvalConfig
    from kgan.evaluation import evaluate as evaluate_run

    quiet = lambda message: None  # noqa: E731
    criterion = evaluate_run(EvalConfig(workdir=workdir, num_samples=1000, metrics=("classifier",),
                                        data_dir=FLAGS.data_dir), log=quiet)["classifier"]
    full = evaluate_run(EvalConfig(workdir=workdir, num_samples=FLAGS.fid_samples,
                                   metrics=("fid", "kid", "classifier"),
                                   inception_path=FLAGS.inception_path,
                                   data_dir=FLAGS.data_dir), log=quiet)
    config = checkpoints.read_config(workdir)
    low, high = criterion["uniform_ratio"]
    return {
        "steps": full["step"], "batch_size": config.train.batch_size,
        "mixed_precision": config.train.mixed_precision,
        "ema_half_life": config.train.ema_half_life,
        "confident_share_1k": criterion["confident_share"],
        "uniform_ratio_1k": criterion["uniform_ratio"],
        "criterion_met": (criterion["confident_share"] >= CONFIDENT_SHARE
                          and UNIFORM_RANGE[0] <= low and high <= UNIFORM_RANGE[1]),
        "fid_samples": FLAGS.fid_samples, "fid": full["fid"], "kid": full["kid"]["mean"],
        "confident_share_fid_samples": full["classifier"]["confident_share"],
        "uniform_ratio_fid_samples": full["classifier"]["uniform_ratio"],
    }


def rollbacks(workdir: str) -> int:
    path = os.path.join(workdir, "rollbacks.jsonl")
    return sum(1 for _ in open(path)) if os.path.exists(path) else 0


def print_table(results: dict) -> None:
    print(f"\nmake train{' ' + ' '.join(FLAGS.train_flags) if FLAGS.train_flags else ''}, "
          f"{os.cpu_count()} CPU cores")
    print(f"{'seed':>4s} {'GFLOP/s':>7s} {'steps':>6s} {'minutes':>7s} {'img/s':>6s} "
          f"{'conf>=.9':>8s} {'min-max/unif':>12s} {'met':>4s} {'FID':>6s} {'KID':>7s} "
          f"{'diverged':>8s}")
    fids = []
    for seed, r in results.items():
        if "fid" not in r:
            print(f"{seed:>4s} {r['matmul_gflops']:7.0f} train.py exited {r['returncode']} after "
                  f"{r['wall_seconds'] / 60:.2f} minutes: diverged")
            continue
        low, high = r["uniform_ratio_1k"]
        print(f"{seed:>4s} {r['matmul_gflops']:7.0f} {r['steps']:6d} {r['wall_seconds'] / 60:7.2f} "
              f"{r['steps'] * r['batch_size'] / r['wall_seconds']:6.0f} "
              f"{r['confident_share_1k']:8.3f} {low:5.2f}-{high:4.2f} "
              f"{'yes' if r['criterion_met'] else 'no':>4s} {r['fid']:6.2f} {r['kid']:7.4f} "
              f"{'yes' if r['diverged'] else 'no':>8s}")
        fids.append(r["fid"])
    print(f"FID and KID of {FLAGS.fid_samples} samples against the 10,000 test images")
    if len(fids) > 1:
        print(f"FID over {len(fids)} seeds: mean {statistics.mean(fids):.2f}, "
              f"std {statistics.stdev(fids):.2f}, min {min(fids):.2f}, max {max(fids):.2f}")


def main(argv):
    from kgan.core.files import write_json_atomically
    from machine import matmul_gflops

    logging.set_verbosity(logging.WARNING)
    all_results = {}
    if os.path.exists(FLAGS.results):
        with open(FLAGS.results) as f:
            all_results = json.load(f)
    name = " ".join(FLAGS.train_flags) or "default"
    if FLAGS.fid_samples != 10_000:
        name += f" (FID of {FLAGS.fid_samples} samples)"
    results = all_results.setdefault(name, {})
    for seed in FLAGS.seeds:
        if seed in results:
            print(f"seed {seed}: stored")
            continue
        workdir = os.path.join(FLAGS.out, "_".join(["seed" + seed, *FLAGS.train_flags]))
        print(f"seed {seed}: make train in {workdir}", flush=True)
        speed = matmul_gflops()
        run = train(workdir, int(seed))
        diverged = run["returncode"] != 0 or rollbacks(workdir) > 0
        if run["returncode"] != 0:
            print(f"seed {seed}: train.py exited {run['returncode']}; see {workdir}/train.log")
        from kgan import checkpoints
        trained = checkpoints.latest_checkpoint(workdir) is not None and run["returncode"] == 0
        results[seed] = {"matmul_gflops": speed, **run, "diverged": diverged,
                         **(evaluate(workdir) if trained else {})}
        write_json_atomically(FLAGS.results, all_results, indent=2)
        print(f"seed {seed}: {json.dumps(results[seed])}", flush=True)
    print_table(results)


if __name__ == "__main__":
    app.run(main)
