"""What `generate.py` does: pictures from a trained generator, one function per mode.

`run(GenerateConfig)` loads the generator once (`kgan.evaluation.sampling`,
the loader evaluation uses: a run directory or an export), makes the mode's
pictures, writes them (PNG, GIF, and for arithmetic and projection a JSON
report and the latents as `.npz`), and returns what it wrote. Every file
name carries the mode, the generator's step and the seed (and the
truncation and edit, where given), so runs with other settings do not
overwrite each other's pictures; the one exception is the run's
`progress.gif`, which shows every step and is remade whole each time.

The judging classifiers are the dataset's: kgan's MNIST digit classifier
(evaluation) and the CelebA attribute classifier, both trained once and
cached.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from kgan import conditioning, images
from kgan.config import DataConfig, GenerateConfig
from kgan.core.files import write_atomically, write_json_atomically
from kgan.core.messages import one_line
from kgan.data import mnist, split_arrays
from kgan.data import points as point_data
from kgan.errors import ConfigError, DataError, RunError
from kgan.evaluation import mnist_classifier, sampling, translation
from kgan.evaluation.points import mode_metrics
from kgan.features import attribute_classifier
from kgan.latent import animation, concepts, projection, translate
from kgan.latent.interpolation import interpolate
from kgan.latent.seeds import Purpose, generate_in_batches, truncated_normal

# Columns of an interpolation strip per keyframe segment (the GIF has them all).
_STRIP_STEPS = 6
# Edited samples shown in an arithmetic figure, at most.
_FIGURE_COLUMNS = 16
# Below this margin over always answering the majority, a classifier's
# judgement of an attribute is flagged as unreliable in the report.
_RELIABLE_MARGIN = 0.05


@dataclasses.dataclass(frozen=True)
class GenerateResult:
    """What a `generate.py` mode wrote.

    Attributes:
        files: The files written, in the order a person would open them.
        report: The mode's figures (also in its JSON file, if it writes one).
        lines: A human summary, one item per line.
    """

    files: tuple[str, ...]
    report: dict
    lines: tuple[str, ...]


def output_dir(config: GenerateConfig, source: sampling.GeneratorSource) -> str:
    """`config.output_dir`, else `<run>/generated`, else `generated/<model>_v<version>`."""
    if config.output_dir:
        return config.output_dir
    if not source.is_export:
        return os.path.join(source.path, "generated")
    version_dir = os.path.normpath(source.path)
    model = os.path.basename(os.path.dirname(version_dir))
    return os.path.join("generated", f"{model}_v{os.path.basename(version_dir)}")


def generator_labels(source: sampling.GeneratorSource, count: int, text: str | None):
    """The labels a conditional generator is sampled under, `count` rows, as its dataset
    encodes them (class ids, or attribute vectors); None for an unconditional one.

    Args:
        text: A class name (`7`), or the attributes present (`Smiling,Male`;
            `""` for none). None cycles through the rows of a training
            sample grid (every class, or attribute combinations).
    """
    spec = source.spec
    if not spec.num_labels:
        if text is not None:
            raise ConfigError(f"labels {text!r} given, but {source.description} is not a "
                              "conditional generator")
        return None
    names = tuple(spec.label_names)
    if text is None:
        rows, _ = conditioning.grid_rows(spec.label_kind, names)
        rows = np.resize(rows, (count, len(names)))
        return rows.argmax(axis=1).astype(np.int32) if spec.label_kind == "class" else rows
    if spec.label_kind == "class":
        if text not in names:
            raise ConfigError(f"labels {text!r} is not a class of this generator; choose one "
                              f"of {', '.join(names)}")
        return np.full(count, names.index(text), np.int32)
    vector = np.zeros(len(names), np.float32)
    for name in filter(None, (part.strip() for part in text.split(","))):
        if name not in names:
            raise ConfigError(f"labels: {name!r} is not an attribute of this generator; it "
                              f"takes {', '.join(names)}")
        vector[names.index(name)] = 1.0
    return np.tile(vector, (count, 1))


def _generate(source, z, labels=None) -> np.ndarray:
    """uint8 images in batches (64x64 activations of 2,000 latents at once would take GBs)."""
    return generate_in_batches(source.generate, z, labels, batch_size=256)


def _latents(config: GenerateConfig, purpose: Purpose, count: int, latent_dim: int):
    return truncated_normal(config.seed, purpose, count, latent_dim, config.truncation)


def _picture(config, tiles, columns) -> np.ndarray:
    """uint8 tiles `[n, h, w, c]` as one enlarged grid."""
    grid = images.make_grid(np.asarray(tiles, np.float32) / 127.5 - 1.0, columns=columns)
    return animation.upscale(grid, config.scale)


def _stem(config: GenerateConfig, source, mode: str) -> str:
    truncation = f"_trunc{config.truncation:g}" if config.truncation is not None else ""
    return f"{mode}_step{source.step}_seed{config.seed}{truncation}"


def _edit_suffix(config: GenerateConfig) -> str:
    """`_Smiling_in-Male_toMale_x2`: the concept edit, so other edits keep their files."""
    suffix = f"_{config.attribute}"
    suffix += f"_in{config.measure_on}" if config.measure_on else ""
    suffix += f"_to{config.apply_to}" if config.apply_to else ""
    return suffix + (f"_x{config.strength:g}" if config.strength != 1 else "")


def _write_npz(path: str, **arrays) -> None:
    write_atomically(path, lambda partial: np.savez(partial, **arrays), suffix=".partial.npz")


def grid(config: GenerateConfig, source, log=print) -> GenerateResult:
    """A grid of samples (conditional: a row per class or attribute combination,
    each column one latent, unless `labels` fixes one label)."""
    folder = output_dir(config, source)
    spec = source.spec
    lines = []
    if spec.num_labels and config.labels is None:
        rows, names = conditioning.grid_rows(spec.label_kind, tuple(spec.label_names))
        columns = max(1, config.num_samples // len(rows))
        z = np.tile(_latents(config, Purpose.GENERATE, columns, source.latent_dim), (len(rows), 1))
        labels = generator_labels(source, len(z), None)
        labels = np.repeat(labels[:len(rows)], columns, axis=0)
        lines.append("rows: " + ", ".join(names))
    else:
        columns = None
        z = _latents(config, Purpose.GENERATE, config.num_samples, source.latent_dim)
        labels = generator_labels(source, len(z), config.labels)
    tiles = _generate(source, z, labels)
    path = os.path.join(folder, _stem(config, source, "grid") + ".png")
    images.write_png(path, _picture(config, tiles, columns))
    report = {"source": source.description, "step": source.step, "images": len(tiles),
              "truncation": config.truncation, "seed": config.seed}
    return GenerateResult((path,), report, tuple(lines))


def scatter(config: GenerateConfig, source, log=print) -> GenerateResult:
    """`--mode=grid` of a points generator: a scatter plot of `num_samples`
    samples over the true modes (circles of 3 standard deviations), the
    points as `.npz`, and their mode metrics in the report."""
    folder = output_dir(config, source)
    mixture = point_data.get_mixture(source.run_config.data.dataset)
    z = _latents(config, Purpose.GENERATE, config.num_samples, source.latent_dim)
    samples = _generate(source, z)
    stem = _stem(config, source, "scatter")
    path = os.path.join(folder, stem + ".png")
    picture = images.scatter_plot(samples, mixture.centers, std=mixture.std)
    images.write_png(path, animation.upscale(picture, config.scale))
    points_path = os.path.join(folder, stem + ".npz")
    _write_npz(points_path, points=samples, z=z)
    metrics = mode_metrics(samples, mixture)
    report = {"source": source.description, "step": source.step, "points": len(samples),
              "truncation": config.truncation, "seed": config.seed, "mixture": mixture.name,
              "modes": metrics}
    line = (f"{metrics['modes_recovered']}/{metrics['num_modes']} modes recovered, "
            f"high-quality share {metrics['high_quality_share']:.3f}")
    return GenerateResult((path, points_path), report, (line,))


def interpolate_mode(config: GenerateConfig, source, log=print) -> GenerateResult:
    """Interpolation paths through `keyframes` latents: a strip (PNG) and a looping GIF."""
    folder = output_dir(config, source)
    keys = _latents(config, Purpose.GENERATE, config.keyframes * config.paths, source.latent_dim)
    keys = keys.reshape(config.keyframes, config.paths, source.latent_dim)
    labels = generator_labels(source, config.paths, config.labels)

    def render(path_latents):  # [frames, paths, d] -> uint8 [frames, paths, h, w, c]
        flat = path_latents.reshape(-1, source.latent_dim)
        flat_labels = None if labels is None else np.tile(labels, (len(path_latents),) + (1,) * (
            labels.ndim - 1))
        tiles = _generate(source, flat, flat_labels)
        return tiles.reshape(len(path_latents), config.paths, *tiles.shape[1:])

    strip_steps = min(config.frames_per_keyframe, _STRIP_STEPS)
    strip = render(interpolate(keys, strip_steps, config.interpolation))
    stem = f"{_stem(config, source, 'interpolate')}_{config.interpolation}"
    strip_path = os.path.join(folder, stem + ".png")
    # Rows are paths, columns the steps along them.
    images.write_png(strip_path, _picture(config, strip.transpose(1, 0, 2, 3, 4).reshape(
        -1, *strip.shape[2:]), len(strip)))
    frames = render(interpolate(keys, config.frames_per_keyframe, config.interpolation,
                                closed=True))
    gif_path = os.path.join(folder, stem + ".gif")
    animation.write_gif(gif_path, [_picture(config, f, config.paths) for f in frames],
                        config.frame_ms)
    report = {"source": source.description, "step": source.step, "paths": config.paths,
              "keyframes": config.keyframes, "strip_columns": len(strip),
              "gif_frames": len(frames), "method": config.interpolation}
    lines = (f"{config.paths} paths through {config.keyframes} keyframes ({config.interpolation});"
             f" strip: {len(strip)} steps per row, GIF: {len(frames)} frames looping",)
    return GenerateResult((strip_path, gif_path), report, lines)


def _run_data(source, data_dir: str | None = None) -> DataConfig:
    data = source.run_config.data
    return dataclasses.replace(data, data_dir=data_dir) if data_dir else data


def dataset_judge(config: GenerateConfig, source, log=print):
    """The dataset's classifier as a `concepts.Judge`, with its Keras model and
    what it reports about its own accuracy on `attribute` (if given)."""
    data = source.run_config.data
    if data.dataset == "mnist":
        classifier = mnist_classifier.load_classifier(data, log=log)
        judge = concepts.Judge(mnist.CLASS_NAMES, True, classifier.probabilities,
                               "the MNIST classifier")
        quality = {"classifier": "MNIST digit classifier",
                   "test_accuracy": classifier.test_accuracy}
        return judge, classifier.model, quality
    if data.dataset == "celeba":
        data_dirs = config.classifier_data_dirs or (data.data_dir,)
        if not all(data_dirs):
            raise ConfigError("the attribute classifier needs CelebA folders: give "
                              "--classifier_data_dirs (the run names no data_dir)")
        classifier = attribute_classifier.load_classifier(
            data_dirs, config.classifier_heldout_dir, log=log)
        judge = concepts.Judge(classifier.names, False, classifier.probabilities,
                               "the CelebA attribute classifier")
        quality = {"classifier": "CelebA attribute classifier",
                   "heldout_images": classifier.heldout_images}
        if config.attribute in classifier.names:
            quality.update(heldout_accuracy=classifier.heldout_accuracy[config.attribute],
                           majority_accuracy=classifier.majority_accuracy[config.attribute])
        return judge, classifier.model, quality
    raise ConfigError(f"no classifier judges {data.dataset!r} images; arithmetic and "
                      "projection support mnist and celeba")


def concept_groups(config: GenerateConfig, judge: concepts.Judge):
    """(positive, negative, start, target) conditions for `attribute`,
    `measure_on` and `apply_to` (see `GenerateConfig`)."""
    attribute = config.attribute
    judge.index(attribute)
    if judge.exclusive:  # digits: from class `measure_on` to class `attribute`
        origin = concepts.parse_condition(config.measure_on)
        if len(origin) > 1 or any(not present for _, present in origin):
            raise ConfigError(f"for digits, measure_on names one class to start from, got "
                              f"{config.measure_on!r}")
        negative = origin or ((attribute, False),)
        start = concepts.parse_condition(config.apply_to) or negative
        return ((attribute, True),), negative, start, ((attribute, True),)
    within = concepts.parse_condition(config.measure_on)
    group = concepts.parse_condition(config.apply_to)
    for name, _ in within + group:
        judge.index(name)
    return (within + ((attribute, True),), within + ((attribute, False),),
            group + ((attribute, False),), group + ((attribute, True),))


def arithmetic(config: GenerateConfig, source, log=print) -> GenerateResult:
    """A concept vector measured on classifier-judged samples, added to fresh ones."""
    folder = output_dir(config, source)
    judge, _, quality = dataset_judge(config, source, log)
    positive, negative, start, target = concept_groups(config, judge)
    z = _latents(config, Purpose.CONCEPTS, config.concept_samples, source.latent_dim)
    labels = generator_labels(source, len(z), config.labels)
    log(f"Judging {len(z)} samples with {judge.description}")
    judged = concepts.judge_samples(source.generate, judge, z, labels)
    concept = concepts.concept_vector(z, judged, judge, positive, negative)
    fresh = _latents(config, Purpose.TRANSFER, config.transfer_samples, source.latent_dim)
    fresh_labels = generator_labels(source, len(fresh), config.labels)
    result = concepts.transfer(source.generate, judge, concept, fresh, start, target,
                               fresh_labels, config.strength, config.seed)
    shown = min(config.num_samples, _FIGURE_COLUMNS, result.count)
    shown_labels = None if result.labels is None else result.labels[:shown]
    rows = [result.latents[:shown], result.edited[:shown], result.randomized[:shown]]
    tiles = np.concatenate([_generate(source, r, shown_labels) for r in rows])
    stem = f"{_stem(config, source, 'arithmetic')}{_edit_suffix(config)}"
    png_path = os.path.join(folder, stem + ".png")
    images.write_png(png_path, _picture(config, tiles, shown))
    report = {
        "source": source.description, "step": source.step, "seed": config.seed,
        "concept": concept.name, "vector_norm": float(np.linalg.norm(concept.vector)),
        "positive_samples": concept.positive_count, "negative_samples": concept.negative_count,
        "concept_samples": len(z), "start": concepts.describe(start),
        "target": concepts.describe(target), "strength": config.strength,
        "start_samples": result.count, "transfer_samples": len(fresh),
        "success_rate": result.success_rate, "random_direction_rate": result.baseline_rate,
        "judge": quality, "figure_rows": ["start", "start + concept", "start + random direction"],
    }
    json_path = os.path.join(folder, stem + ".json")
    write_json_atomically(json_path, report, indent=2)
    npz_path = os.path.join(folder, stem + ".npz")
    _write_npz(npz_path, concept=concept.vector, start=result.latents, edited=result.edited)
    lines = [f"concept {concept.name}: mean latent of {concept.positive_count} minus "
             f"{concept.negative_count} samples judged by {judge.description}, "
             f"|v| = {report['vector_norm']:.2f}",
             f"added x{config.strength:g} to {result.count} fresh samples judged "
             f"{concepts.describe(start)}: {result.success_rate:.1%} are judged "
             f"{concepts.describe(target)} (random direction of the same length: "
             f"{result.baseline_rate:.1%})",
             "figure rows: start | start + concept | start + random direction"]
    if "heldout_accuracy" in quality and (quality["heldout_accuracy"]
                                          < quality["majority_accuracy"] + _RELIABLE_MARGIN):
        lines.append(f"warning: the classifier judges {config.attribute} with "
                     f"{quality['heldout_accuracy']:.1%} held-out accuracy, barely above always "
                     f"answering the majority ({quality['majority_accuracy']:.1%})")
    return GenerateResult((png_path, json_path, npz_path), report, tuple(lines))


def read_image(path: str, image_shape, crop_fraction: float = 1.0) -> np.ndarray:
    """An image file as the generator's uint8 `[h, w, c]`: a centered square of
    side `crop_fraction` x width (at most the height), resized with antialiasing.

    Raises:
        DataError: for a missing or undecodable file.
    """
    if not os.path.isfile(path):
        raise DataError(f"image {path!r} does not exist")
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=image_shape[-1],
                                   expand_animations=False)
    except (tf.errors.OpError, ValueError) as e:
        raise DataError(f"cannot decode image {path!r}: "
                        f"{one_line(e)}") from None
    height, width = int(image.shape[0]), int(image.shape[1])
    side = max(1, min(height, width, round(crop_fraction * width)))
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top:top + side, left:left + side]
    resized = tf.image.resize(square, image_shape[:2], method="bilinear", antialias=True)
    return np.asarray(tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8))


def projection_targets(config: GenerateConfig, source) -> tuple[np.ndarray, list[str]]:
    """The images to project, uint8, and a name for each."""
    shape = tuple(source.spec.output_shape)
    data = source.run_config.data
    if config.images:
        crop = data.crop_fraction if data.dataset == "celeba" else 1.0
        return (np.stack([read_image(p, shape, crop) for p in config.images]),
                [os.path.basename(p) for p in config.images])
    targets, _ = split_arrays(_run_data(source), config.project_split, config.project_count)
    return targets, [f"{config.project_split}[{i}]" for i in range(len(targets))]


def judged_labels(source, judge: concepts.Judge, targets) -> np.ndarray | None:
    """A conditional generator's labels for real images: what the classifier sees in them."""
    spec = source.spec
    if not spec.num_labels:
        return None
    seen = judge.labels(targets)
    columns = [judge.index(name) for name in spec.label_names]
    if spec.label_kind == "class":
        return seen[:, columns].argmax(axis=1).astype(np.int32)
    return seen[:, columns].astype(np.float32)


def project_mode(config: GenerateConfig, source, log=print) -> GenerateResult:
    """Real images -> latents and reconstructions; edited with a concept vector if asked."""
    folder = output_dir(config, source)
    targets, names = projection_targets(config, source)
    judge, classifier_model, quality = dataset_judge(config, source, log)
    labels = (generator_labels(source, len(targets), config.labels) if config.labels is not None
              else judged_labels(source, judge, targets))
    features = (projection.feature_model(classifier_model)
                if config.projection.feature_weight > 0 else None)
    log(f"Projecting {len(targets)} image(s), {config.projection.steps} steps")
    result = projection.project(source.images, targets, source.latent_dim, config.projection,
                                labels, features, config.seed, log)
    rows = [targets, result.images]
    figure_rows = ["target", "reconstruction"]
    report = {
        "source": source.description, "step": source.step, "seed": config.seed,
        "images": names, "pixel_rmse": result.pixel_rmse.tolist(),
        "mean_pixel_rmse": float(result.pixel_rmse.mean()),
        "feature_error": result.feature_error.tolist(), "seconds": result.seconds,
        "projection": dataclasses.asdict(config.projection), "features": quality["classifier"],
    }
    arrays = {"latents": result.latents}
    if config.attribute:
        positive, negative, _, _ = concept_groups(config, judge)
        z = _latents(config, Purpose.CONCEPTS, config.concept_samples, source.latent_dim)
        concept_labels = generator_labels(source, len(z), config.labels)
        judged = concepts.judge_samples(source.generate, judge, z, concept_labels)
        concept = concepts.concept_vector(z, judged, judge, positive, negative)
        edited_z = result.latents + config.strength * concept.vector
        edited = _generate(source, edited_z, labels)
        rows.append(edited)
        figure_rows.append(f"reconstruction + {config.strength:g} x concept")
        index = judge.index(config.attribute)
        report.update(concept=concept.name, strength=config.strength,
                      attribute_before=judge.labels(result.images)[:, index].tolist(),
                      attribute_after=judge.labels(edited)[:, index].tolist())
        arrays.update(concept=concept.vector, edited=edited_z)
    stem = _stem(config, source, "project") + (_edit_suffix(config) if config.attribute else "")
    png_path = os.path.join(folder, stem + ".png")
    images.write_png(png_path, _picture(config, np.concatenate(rows), len(targets)))
    report["figure_rows"] = figure_rows
    json_path = os.path.join(folder, stem + ".json")
    write_json_atomically(json_path, report, indent=2)
    npz_path = os.path.join(folder, stem + ".npz")
    _write_npz(npz_path, **arrays)
    lines = [f"projected {len(targets)} image(s) in {result.seconds:.1f} s: pixel RMSE "
             f"{result.pixel_rmse.mean():.1f} levels (0..255) on average, per image "
             + ", ".join(f"{e:.1f}" for e in result.pixel_rmse),
             "figure rows: " + " | ".join(figure_rows)]
    if config.attribute:
        lines.append(f"{config.attribute} judged present in {sum(report['attribute_before'])} "
                     f"of {len(targets)} reconstructions before the edit, "
                     f"{sum(report['attribute_after'])} after")
    return GenerateResult((png_path, json_path, npz_path), report, tuple(lines))


def progress(config: GenerateConfig, log=print) -> GenerateResult:
    """A GIF of a training run's sample grids, one frame per grid, captioned with its step."""
    if not os.path.isdir(config.source):
        raise RunError(f"{config.source!r} does not exist")
    frames = animation.progress_frames(config.source, log)
    folder = config.output_dir or os.path.join(config.source, "generated")
    path = os.path.join(folder, "progress.gif")
    animation.write_gif(path, animation.upscale(frames, config.scale), config.frame_ms)
    report = {"source": config.source, "frames": len(frames)}
    return GenerateResult((path,), report, (f"{len(frames)} sample grids, one per frame",))


MODES = {"grid": grid, "interpolate": interpolate_mode, "arithmetic": arithmetic,
         "project": project_mode}


def run(config: GenerateConfig, log=print) -> GenerateResult:
    """Runs `config.mode` and returns the files it wrote.

    Raises:
        KganError: (ConfigError, DataError, RunError) for unusable input,
            with a one-line message.
    """
    if config.mode == "progress":
        if config.checkpoint is not None:
            raise ConfigError("progress reads a run's sample grids; --checkpoint does not apply")
        return progress(config, log)
    picture_mode = translation.generate_mode(config.source)
    if picture_mode != config.mode and (picture_mode or config.mode in ("translate", "upscale")):
        raise ConfigError(
            f"{config.source} translates images: use --mode={picture_mode} (or progress)"
            if picture_mode else
            f"--mode={config.mode} needs an image-to-image run (translate: task pix2pix, "
            f"cyclegan or simgan; upscale: srgan); {config.source} samples from noise")
    if picture_mode:
        if config.raw_weights:
            raise ConfigError("--raw_weights applies to runs with a weight average; an "
                              "image-to-image run keeps none")
        return GenerateResult(*translate.translate_mode(config, log))
    source = sampling.load(config.source, config.checkpoint, config.raw_weights)
    if source.spec.kind == "points":
        if config.mode != "grid":
            raise ConfigError(f"--mode={config.mode} works on images; a points generator "
                              f"({source.description}) supports --mode=grid (a scatter plot) "
                              "and --mode=progress")
        return scatter(config, source, log)
    if source.spec.kind != "image":
        raise ConfigError(f"generate.py does not know {source.spec.kind} generators yet "
                          f"({source.description})")
    return MODES[config.mode](config, source, log)
