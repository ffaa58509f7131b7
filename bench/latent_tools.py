"""Latent tools, measured: concept transfer vs random directions, projection error, timings.

For one trained generator (a run or an export):
  * each concept (`attribute:measure_on:apply_to`, as generate.py's flags) is
    measured on `--concept_samples` classifier-judged samples and added to
    fresh ones at each `--strengths`; prints how often the result is judged to
    have the target attribute, against random directions of the same length;
  * `--project_count` held-out real images and as many generated images are
    projected; prints the pixel RMSE (levels) of each set, and the error of
    the starting candidate latents for scale;
  * timings of a 64-image grid, an interpolation GIF, judging, projection.

    python bench/latent_tools.py --source=runs/celeba \
        --concepts=Smiling:-Male:Male,Smiling::,Eyeglasses::,Blond_Hair::,Male:: \
        --classifier_data_dirs=../shared/data/celeba/img_align_celeba,../shared/data/celeba/img_align_celeba_89x109
    python bench/latent_tools.py --source=runs/mnist --concepts=7:1:,8:3:,9:4:,6:0:,0::
"""

import dataclasses
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging
import numpy as np

from kgan.config import GenerateConfig, ProjectionConfig
from kgan import data
from kgan.evaluation import sampling
from kgan.latent import commands, concepts, projection
from kgan.latent.seeds import Purpose, truncated_normal

flags.DEFINE_string("source", None, "A training run or an export.")
flags.DEFINE_list("concepts", [], "attribute:measure_on:apply_to, e.g. Smiling:-Male:Male.")
flags.DEFINE_list("strengths", ["1", "2"], "Multiples of each concept vector added.")
flags.DEFINE_integer("concept_samples", 2000, "Samples each concept vector is measured on.")
flags.DEFINE_integer("transfer_samples", 2000, "Fresh samples it is tested on.")
flags.DEFINE_integer("project_count", 32, "Real and generated images projected, each.")
flags.DEFINE_string("project_split", None, "Real split (default the dataset's held-out split).")
flags.DEFINE_integer("project_steps", ProjectionConfig().steps, "Projection steps.")
flags.DEFINE_float("feature_weight", ProjectionConfig().feature_weight, "Feature loss weight.")
flags.DEFINE_float("project_learning_rate", ProjectionConfig().learning_rate, "Projection learning rate.")
flags.DEFINE_list("classifier_data_dirs", [], "CelebA folders for the attribute classifier.")
flags.DEFINE_string("classifier_heldout_dir", None, "CelebA folder of its held-out faces.")
flags.DEFINE_integer("seed", 0, "Seed.")
flags.DEFINE_string("output", None, "Also write the figures as JSON here.")
flags.mark_flag_as_required("source")
FLAGS = flags.FLAGS


def timed(fn):
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def measure_concepts(source, config, judge, report):
    z = truncated_normal(config.seed, Purpose.CONCEPTS, config.concept_samples, source.latent_dim,
                         config.truncation)
    labels = commands.generator_labels(source, len(z), None)
    judged, seconds = timed(lambda: concepts.judge_samples(source.generate, judge, z, labels))
    report["timings"]["judge_samples_per_second"] = len(z) / seconds
    fresh = truncated_normal(config.seed, Purpose.TRANSFER, config.transfer_samples,
                             source.latent_dim, config.truncation)
    fresh_labels = commands.generator_labels(source, len(fresh), None)
    rows = []
    for spec in FLAGS.concepts:
        attribute, measure_on, apply_to = (spec.split(":") + ["", ""])[:3]
        spec_config = dataclasses.replace(config, attribute=attribute, measure_on=measure_on,
                                          apply_to=apply_to)
        positive, negative, start, target = commands.concept_groups(spec_config, judge)
        concept = concepts.concept_vector(z, judged, judge, positive, negative)
        for strength in map(float, FLAGS.strengths):
            result = concepts.transfer(source.generate, judge, concept, fresh, start, target,
                                       fresh_labels, strength, config.seed)
            rows.append({"concept": concept.name, "start": concepts.describe(start),
                         "target": concepts.describe(target), "strength": strength,
                         "positive": concept.positive_count, "negative": concept.negative_count,
                         "vector_norm": float(np.linalg.norm(concept.vector)),
                         "edited": result.count, "success_rate": result.success_rate,
                         "random_direction_rate": result.baseline_rate})
            print(f"  {concept.name:40s} on {concepts.describe(start):18s} x{strength:g}: "
                  f"{result.success_rate:6.1%} judged {concepts.describe(target)} "
                  f"(random direction {result.baseline_rate:5.1%}; {result.count} samples, "
                  f"groups {concept.positive_count}/{concept.negative_count}, "
                  f"|v| {np.linalg.norm(concept.vector):.2f})", flush=True)
    report["concepts"] = rows


def measure_projection(source, config, judge, model, report):
    split = FLAGS.project_split or ("heldout" if source.run_config.data.dataset == "celeba"
                                    else "test")
    real, _ = data.split_arrays(source.run_config.data, split, FLAGS.project_count)
    z = truncated_normal(config.seed + 1, Purpose.GENERATE, FLAGS.project_count,
                         source.latent_dim, None)
    generated_labels = commands.generator_labels(source, len(z), None)
    generated = source.generate(z, generated_labels)
    features = projection.feature_model(model)  # reported even at feature_weight 0
    results = {}
    for name, targets in (("real", real), ("generated", generated)):
        labels = (generated_labels if name == "generated"
                  else commands.judged_labels(source, judge, targets))
        result = projection.project(source.images, targets, source.latent_dim, config.projection,
                                    labels, features, config.seed)
        start = truncated_normal(config.seed, Purpose.PROJECTION, 1, source.latent_dim, None)
        random_error = projection.pixel_rmse(
            source.generate(np.repeat(start, len(targets), axis=0),
                            None if labels is None else labels), targets)
        seen, rebuilt = judge.labels(targets), judge.labels(result.images)
        agreement = float(np.mean(np.all(seen == rebuilt, axis=1)) if judge.exclusive
                          else np.mean(seen == rebuilt))
        results[name] = {
            "classifier_agreement": agreement,
            "images": len(targets), "mean_pixel_rmse": float(result.pixel_rmse.mean()),
            "median_pixel_rmse": float(np.median(result.pixel_rmse)),
            "mean_feature_error": float(result.feature_error.mean()),
            "random_latent_pixel_rmse": float(random_error.mean()),
            "seconds_per_image": result.seconds / len(targets)}
        print(f"  {name:9s} ({len(targets)} {split if name == 'real' else 'samples'}): pixel "
              f"RMSE mean {result.pixel_rmse.mean():5.1f}, median "
              f"{np.median(result.pixel_rmse):5.1f} levels; feature error "
              f"{result.feature_error.mean():.3f}; classifier agreement {agreement:.3f}; a random "
              f"latent: {random_error.mean():5.1f}; "
              f"{result.seconds / len(targets):.2f} s/image", flush=True)
    report["projection"] = {"split": split, **results,
                            "config": dataclasses.asdict(config.projection)}


def main(argv):
    logging.set_verbosity(logging.WARNING)
    source = sampling.load(FLAGS.source)
    config = GenerateConfig(
        mode="arithmetic", source=FLAGS.source, attribute="-", seed=FLAGS.seed,
        concept_samples=FLAGS.concept_samples, transfer_samples=FLAGS.transfer_samples,
        classifier_data_dirs=tuple(FLAGS.classifier_data_dirs),
        classifier_heldout_dir=FLAGS.classifier_heldout_dir,
        projection=ProjectionConfig(steps=FLAGS.project_steps,
                                    feature_weight=FLAGS.feature_weight,
                                    learning_rate=FLAGS.project_learning_rate))
    print(f"{source.description}, step {source.step}")
    report = {"source": source.description, "step": source.step, "timings": {}}
    (judge, model, quality), seconds = timed(lambda: commands.dataset_judge(config, source))
    report["judge"] = quality
    report["timings"]["classifier_load_seconds"] = seconds
    with tempfile.TemporaryDirectory() as folder:
        for mode, extra in (("grid", {}), ("interpolate", {})):
            _, seconds = timed(lambda: commands.run(dataclasses.replace(
                config, mode=mode, output_dir=folder, attribute=None, **extra),
                log=lambda m: None))
            report["timings"][f"{mode}_seconds"] = seconds
    print(f"  grid of 64: {report['timings']['grid_seconds']:.2f} s; interpolation strip + "
          f"48-frame GIF of 4 paths: {report['timings']['interpolate_seconds']:.2f} s")
    if FLAGS.concepts:
        measure_concepts(source, config, judge, report)
    if FLAGS.project_count:
        measure_projection(source, config, judge, model, report)
    print(f"  judging: {report['timings'].get('judge_samples_per_second', 0):.0f} samples/s "
          "(generate + classify)")
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            json.dump(report, f, indent=2)
        print(f"Wrote {FLAGS.output}")


if __name__ == "__main__":
    app.run(main)
