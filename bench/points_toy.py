"""The 2-D toy family's figures: modes recovered, high-quality share, reverse KL.

Trains the standard non-saturating GAN of the `ring8` and `grid25` presets
(`kgan/presets/`) for `--steps` steps with each of `--seeds`, evaluates
2,500 samples by PacGAN's protocol (Lin et al. 2018, Sec. 5;
`kgan.evaluation.points`) and prints one row per mixture: the mean over
seeds and each seed's figures. Each (mixture, seed) result is stored in
`<out>/results.json` as it finishes, so an interrupted run resumes where it
stopped (`--fresh` starts again).

    python bench/points_toy.py --steps=5000 --seeds=0,1,2
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

flags.DEFINE_list("mixtures", ["ring8", "grid25"], "Presets (and mixtures) to train.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds per mixture.")
flags.DEFINE_integer("steps", 5000, "Training steps per run.")
flags.DEFINE_integer("samples", 2500, "Samples evaluated (PacGAN: 2,500).")
flags.DEFINE_string("out", "runs/bench_points", "Where runs and results.json go.")
flags.DEFINE_bool("fresh", False, "Ignore stored results.")
FLAGS = flags.FLAGS


def main(argv):
    import numpy as np

    from kgan import checkpoints
    from kgan.config import Config
    from kgan.config.presets import load_preset, merge
    from kgan.core.files import write_json_atomically
    from kgan.data import points as point_data
    from kgan.evaluation import points as point_metrics
    from kgan.latent import Purpose, standard_normal
    from kgan.training import train

    results_path = os.path.join(FLAGS.out, "results.json")
    results = {}
    if os.path.exists(results_path) and not FLAGS.fresh:
        with open(results_path) as f:
            results = json.load(f)
    for mixture_name in FLAGS.mixtures:
        for seed in map(int, FLAGS.seeds):
            key = f"{mixture_name}/seed{seed}/steps{FLAGS.steps}"
            if key in results:
                print(f"{key}: stored")
                continue
            values = merge(Config().to_dict(), load_preset(mixture_name))
            values["train"].update(steps=FLAGS.steps, seed=seed)
            config = Config.from_dict(values)
            workdir = os.path.join(FLAGS.out, key.replace("/", "_"))
            began = time.monotonic()
            train(config, workdir, stream=open(os.devnull, "w"))
            seconds = time.monotonic() - began
            loaded = checkpoints.load_task(workdir)
            z = standard_normal(seed, Purpose.EVALUATION, FLAGS.samples, config.model.latent_dim)
            samples = np.asarray(loaded.generator(z, training=False))
            metrics = point_metrics.mode_metrics(samples, point_data.get_mixture(mixture_name))
            results[key] = {"seconds": round(seconds, 1), **metrics}
            write_json_atomically(results_path, results, indent=2)
            print(f"{key}: {metrics['modes_recovered']}/{metrics['num_modes']} modes, "
                  f"high quality {metrics['high_quality_share']:.3f}, reverse KL "
                  f"{metrics['reverse_kl']}, {seconds:.0f} s", flush=True)
    print(f"\nnon-saturating GAN, {FLAGS.steps} steps, {FLAGS.samples} samples per seed")
    print(f"{'mixture':8s} {'modes':>7s} {'HQ share':>9s} {'rev. KL':>8s}  per seed (modes/HQ/KL)")
    for mixture_name in FLAGS.mixtures:
        rows = [results[f"{mixture_name}/seed{s}/steps{FLAGS.steps}"] for s in FLAGS.seeds
                if f"{mixture_name}/seed{s}/steps{FLAGS.steps}" in results]
        if not rows:
            continue
        kls = [r["reverse_kl"] for r in rows if r["reverse_kl"] is not None]
        per_seed = "  ".join(f"{r['modes_recovered']}/{r['high_quality_share']:.2f}/"
                             f"{r['reverse_kl'] if r['reverse_kl'] is None else round(r['reverse_kl'], 2)}"
                             for r in rows)
        print(f"{mixture_name:8s} {np.mean([r['modes_recovered'] for r in rows]):7.2f} "
              f"{np.mean([r['high_quality_share'] for r in rows]):9.3f} "
              f"{(np.mean(kls) if kls else float('nan')):8.3f}  {per_seed}")


if __name__ == "__main__":
    app.run(main)
