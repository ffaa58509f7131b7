"""Super-resolution of CelebA faces: the perception-distortion table of SRGAN.

For each scale (`--scales`), on one core per process, budgets in CPU-minutes:

1. `srresnet`: `--task=srgan` with the preset and `--adversarial_weight=0`
   (the pixel loss alone) for `--minutes`;
2. `srresnet_long`: that run continued on the pixel loss for `--gan_minutes`
   more: the baseline with the same total budget as SRGAN;
3. `srgan`: that run continued for `--gan_minutes` with the discriminator
   joining (`--adversarial_weight`, 1e-3 in Ledig et al.): the paper's
   SRResNet-initialized SRGAN-MSE;
4. `srgan_content`: the same continuation with the content loss added
   (`--content_weight`, features of kgan's attribute classifier, which is
   trained once into the kgan cache before its clock starts): the paper's
   SRGAN with a feature loss.

Each is scored by `evaluate.py`'s figures on the 1,440 held-out faces
(`kgan.evaluation.super_resolution`): PSNR and SSIM on Y with a border of
the scale, FID and KID against the real high-resolution faces; bicubic
upscaling is scored on the same faces, and at 2x the external set
(independently downscaled faces) is reported separately. Crops of the
first faces (bicubic / SRResNet / SRGAN / original) are written beside the
results for a person to look at. Runs and results are stored as they
finish (`--results`); an interrupted run resumes with its CPU time.

    taskset -c 0 python bench/super_resolution.py --scales=4 --minutes=20 --gan_minutes=10
"""

import json
import os
import shutil
import sys

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from budget import load_results  # noqa: E402  (beside this script)

flags.DEFINE_list("scales", ["4", "2"], "Upscaling factors to measure.")
flags.DEFINE_float("minutes", 20.0, "SRResNet (pixel loss) budget, CPU-minutes.")
flags.DEFINE_float("gan_minutes", 10.0, "Budget of the continuation (SRGAN, or SRResNet "
                                        "longer), CPU-minutes.")
flags.DEFINE_float("chunk_minutes", 10.0, "Longest training process (wall-clock).")
flags.DEFINE_list("contenders", ["srresnet", "srresnet_long", "srgan", "srgan_content"],
                  "Contenders to train and score, in this order (srresnet first: the others "
                  "continue its run).")
flags.DEFINE_float("adversarial_weight", 1e-3, "SRGAN's adversarial weight.")
flags.DEFINE_float("content_weight", 0.1, "srgan_content's content-loss weight.")
flags.DEFINE_string("loss", "non_saturating", "SRGAN's adversarial loss family "
                                              "(relativistic: ESRGAN's).")
flags.DEFINE_string("data_dir", os.path.join(REPO, "..", "shared", "data", "celeba"),
                    "CelebA folder (holding img_align_celeba/).")
flags.DEFINE_string("inception_path", os.path.join(
    REPO, "..", "shared", "data", "inception", "inception-2015-12-05-pool3.pb"),
    "The TTUR FID Inception graph.")
flags.DEFINE_string("out", "/tmp/kgan-bench-super-resolution", "Run folders.")
flags.DEFINE_string("results", os.path.join(REPO, "bench", "results", "super_resolution.json"),
                    "Results file.")
FLAGS = flags.FLAGS

CONTENDERS = ("srresnet", "srresnet_long", "srgan", "srgan_content")
EVALUATION = "evaluation.json"
CROP_FACES = 4
CLAIM = ".bench_claim"  # `budget.claimed`'s lock file


def run_config(contender: str, scale: int):
    from kgan.config import Config, presets

    gan = contender.startswith("srgan")
    content = FLAGS.content_weight if contender == "srgan_content" else 0.0
    changes = {"data": {"data_dir": FLAGS.data_dir, "scale": scale},
               # A step count no budget reaches: the clock ends the run.
               "train": {"steps": 10_000_000, "checkpoint_every": 500, "sample_every": 2000,
                         "log_every": 250,
                         "adversarial_weight": FLAGS.adversarial_weight if gan else 0.0,
                         "content_weight": content, "loss": FLAGS.loss}}
    return Config.from_dict(presets.merge(presets.load_preset("srgan", Config), changes))


def budget_minutes(contender: str) -> float:
    return FLAGS.minutes + (0.0 if contender == "srresnet" else FLAGS.gan_minutes)


def run_dir(contender: str, scale: int) -> str:
    return os.path.join(FLAGS.out, f"x{scale}_{FLAGS.minutes:g}+{FLAGS.gan_minutes:g}min",
                        contender)


def result_key(contender: str, scale: int) -> str:
    weight = f"_w{FLAGS.content_weight:g}" if contender == "srgan_content" else ""
    return f"x{scale}/{contender}{weight}@{budget_minutes(contender):g}min"


def train(contender: str, scale: int) -> dict:
    """Trains the contender to its budget; a continuation starts as a copy
    of the finished SRResNet run (its steps and CPU time included)."""
    from budget import train_to_budget

    workdir = run_dir(contender, scale)
    if contender == "srgan_content":
        # Outside the training processes' CPU clock: the classifier is trained once, cached.
        from kgan.config import DataConfig
        from kgan.data import celeba
        from kgan.features import attribute_classifier
        attribute_classifier.load_classifier([celeba.image_folder(DataConfig(
            dataset="celeba", data_dir=FLAGS.data_dir))])
    timing = "bench_timing.json"
    if contender != "srresnet" and not os.path.exists(os.path.join(workdir, timing)):
        # The timing file is copied last: without it a copy is incomplete and redone.
        source = run_dir("srresnet", scale)
        for name in os.listdir(workdir):
            if name != CLAIM:
                path = os.path.join(workdir, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        for name in sorted(os.listdir(source), key=lambda n: n == timing):
            if name in (CLAIM, EVALUATION):  # the copy's own evaluation comes after its training
                continue
            copy = shutil.copytree if os.path.isdir(os.path.join(source, name)) else shutil.copy2
            copy(os.path.join(source, name), os.path.join(workdir, name))
    return train_to_budget(workdir, run_config(contender, scale), budget_minutes(contender),
                           FLAGS.chunk_minutes, f"x{scale} {contender}")


def score(contender: str, scale: int) -> dict:
    """`evaluate.py`'s figures of the contender's newest checkpoint; an
    evaluation already written for that checkpoint (an interrupted bench)
    is read, not redone."""
    from kgan import checkpoints
    from kgan.config import EvalConfig
    from kgan.evaluation import evaluate

    workdir = run_dir(contender, scale)
    output = os.path.join(workdir, EVALUATION)
    step = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(workdir))
    report = None
    if os.path.exists(output):
        with open(output) as f:
            report = json.load(f)
    if report is None or report.get("step") != step:
        report = evaluate(EvalConfig(workdir=workdir, inception_path=FLAGS.inception_path,
                                     output=output),
                          log=lambda message: print(f"  {message}", flush=True))
    entry = report["directions"]["serving_default"]
    return {"step": report["step"], "model": {**entry["model"], "fid": entry["fid"],
                                              "kid": entry["kid"]["mean"]},
            "bicubic": {**entry["bicubic"], "kid": entry["bicubic"]["kid"]["mean"]},
            "external_2x": entry["external_2x"]}


def write_crops(scale: int, path: str) -> list[str]:
    """Face crops side by side, one row each: bicubic / SRResNet (the longest
    stored) / SRGAN / SRGAN with the content loss (when stored) / original.
    Returns the rows' names."""
    import numpy as np

    from kgan import checkpoints, images
    from kgan.data import super_resolution

    stored = load_results(FLAGS.results)
    srresnet = ("srresnet_long" if result_key("srresnet_long", scale) in stored
                else "srresnet")
    shown = [c for c in (srresnet, "srgan", "srgan_content") if result_key(c, scale) in stored]
    loaded = {c: checkpoints.load_task(run_dir(c, scale)) for c in shown}
    first = loaded[shown[0]]
    examples = type(first.task).examples(first.config)["serving_default"]
    low, high = examples.inputs[:CROP_FACES], examples.targets[:CROP_FACES]
    rows = [super_resolution.bicubic_upscale(low, scale).numpy(),
            *[loaded[c].task.translate("serving_default", low) for c in shown], high]
    # The middle of the face (eyes, nose, mouth), enlarged 2x for viewing.
    crop = np.stack(rows)[:, :, 60:156, 40:136]
    tiles = np.concatenate([np.concatenate(list(row), axis=1) for row in crop], axis=0)
    images.write_png(path, np.repeat(np.repeat(tiles, 2, 0), 2, 1))
    return ["bicubic", *shown, "original"]


def summary(results: dict) -> list[str]:
    lines = ["CelebA held-out faces: PSNR(Y) dB / SSIM(Y) (border = scale) / FID / KID"]
    scales = sorted({int(key.split("/")[0][1:]) for key in results}, reverse=True)
    for scale in scales:
        # A key is x<scale>/<contender>[_w<content weight>]@<budget>min (`result_key`).
        rows = [(key, value) for contender in CONTENDERS for key, value in results.items()
                if key.split("@")[0].split("_w")[0] == f"x{scale}/{contender}"]
        if rows:
            rows.insert(0, (f"x{scale}/bicubic", {"model": rows[0][1]["bicubic"]}))
        for label, value in rows:
            row = value["model"]
            lines.append(f"  {label:34s} {row['psnr_y_db']:6.2f} {row['ssim_y']:.4f} "
                         f"{row.get('fid', float('nan')):7.1f} {row.get('kid', float('nan')):.4f}")
    return lines


def main(argv):
    del argv
    from budget import claimed, record_result

    logging.set_verbosity(logging.WARNING)
    unknown = sorted(set(FLAGS.contenders) - set(CONTENDERS))
    if unknown:
        raise app.UsageError(f"--contenders: unknown {', '.join(unknown)}; choose from "
                             f"{', '.join(CONTENDERS)}")
    for scale in map(int, FLAGS.scales):
        for contender in FLAGS.contenders:
            if contender != "srresnet" and result_key("srresnet", scale) not in load_results(
                    FLAGS.results):
                print(f"{result_key(contender, scale)}: waits for srresnet at {scale}x", flush=True)
                continue
            key = result_key(contender, scale)
            if key in load_results(FLAGS.results):
                print(f"{key}: stored", flush=True)
                continue
            with claimed(run_dir(contender, scale)) as mine:
                if not mine:
                    print(f"{key}: another bench process is training it", flush=True)
                    continue
                print(f"{key}:", flush=True)
                timing = train(contender, scale)
                record_result(FLAGS.results, key, {**timing, **score(contender, scale)})
        crops = os.path.join(os.path.dirname(FLAGS.results), f"super_resolution_x{scale}.png")
        if all(result_key(c, scale) in load_results(FLAGS.results)
               for c in ("srresnet", "srgan")):
            rows = write_crops(scale, crops)
            print(f"crops: {crops} (rows: {' / '.join(rows)})", flush=True)
    print("\n".join(summary(load_results(FLAGS.results))))
    print(json.dumps({k: v.get("external_2x") for k, v in load_results(FLAGS.results).items()
                      if k.startswith("x2/")}, indent=1))


if __name__ == "__main__":
    app.run(main)
