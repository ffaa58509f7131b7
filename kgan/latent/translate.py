"""`generate.py --mode=translate`: a trained translator (pix2pix, CycleGAN)
applied to a user's own pictures; `--mode=upscale`: a super-resolution
model (srgan) enlarging them.

For `translate`, the pictures get the training pipeline's crop and resize
(`kgan.data.translation.load_user_images`), go through the direction's
served function (the checkpoint's networks, or the export's signature) and
are written as one PNG each beside a before/after figure (each row: the
picture as the translator saw it, then its translation). For `upscale`,
each picture keeps its own size (`load_pictures`) and is enlarged alone;
its figure shows the bicubic enlargement beside the model's.
"""

import os

import numpy as np

from kgan import images
from kgan.config import GenerateConfig
from kgan.core.files import write_json_atomically
from kgan.data import super_resolution
from kgan.data import translation as translation_data
from kgan.evaluation import sampling, translation


def load_translator(config: GenerateConfig) -> translation.Translator:
    kind, path = sampling.locate(config.source)
    if kind == "run":
        return translation.from_workdir(path, config.checkpoint)
    return translation.from_saved_model(path)


def translate_mode(config: GenerateConfig, log=print):
    """Translates `config.images` in `config.direction`.

    Returns:
        (files written, report, summary lines), as `kgan.latent.commands.GenerateResult` holds them.
    """
    translator = load_translator(config)
    if translator.spec.any_size:
        return _upscale(config, translator, log)
    direction = translator.spec.direction(config.direction)
    size = translator.spec.image_shape[0]
    pictures, names = translation_data.load_user_images(
        config.images, size, translator.run_config.data.crop_fraction)
    log(f"Translating {len(pictures)} pictures {direction.source} -> {direction.target} with "
        f"{translator.description}")
    translated = translator.translate(direction.signature, pictures)
    folder = config.output_dir or _default_folder(config, translator)
    stem = f"translate_{direction.signature}_step{translator.step}"
    out_dir = os.path.join(folder, stem)
    files = []
    for name, picture in zip(names, translated):
        path = os.path.join(out_dir, os.path.splitext(os.path.basename(name))[0] + ".png")
        images.write_png(path, _scaled(picture, config.scale))
        files.append(path)
    pairs = np.stack([tile for pair in zip(pictures, translated) for tile in pair])
    figure = images.make_grid(pairs.astype(np.float32) / 127.5 - 1.0, columns=2)
    figure_path = os.path.join(folder, f"{stem}_before_after.png")
    images.write_png(figure_path, _scaled(figure, config.scale))
    report = {"source": translator.description, "step": translator.step,
              "direction": {"signature": direction.signature, "source": direction.source,
                            "target": direction.target},
              "pictures": list(names), "outputs": files, "figure": figure_path}
    report_path = os.path.join(folder, f"{stem}.json")
    write_json_atomically(report_path, report, indent=2)
    lines = (f"{len(pictures)} pictures translated {direction.source} -> {direction.target}; "
             f"before/after figure: {figure_path}",)
    return (figure_path, report_path, *files), report, lines


def _upscale(config: GenerateConfig, translator: translation.Translator, log=print):
    """`translate_mode` for a model that takes any size and enlarges it."""
    spec = translator.spec
    direction = spec.direction(config.direction)
    pictures, names = translation_data.load_pictures(config.images, spec.max_input_pixels)
    log(f"Upscaling {len(pictures)} pictures {spec.scale}x with {translator.description}")
    folder = config.output_dir or _default_folder(config, translator)
    stem = f"upscale_step{translator.step}"
    out_dir = os.path.join(folder, stem)
    files, figures = [], []
    for name, picture in zip(names, pictures):
        enlarged = translator.translate(direction.signature, picture[None])[0]
        base = os.path.join(out_dir, os.path.splitext(os.path.basename(name))[0])
        images.write_png(base + ".png", _scaled(enlarged, config.scale))
        bicubic = super_resolution.bicubic_upscale(picture[None], spec.scale).numpy()[0]
        images.write_png(base + "_bicubic_and_model.png",
                         _scaled(np.concatenate([bicubic, enlarged], axis=1), config.scale))
        files.append(base + ".png")
        figures.append(base + "_bicubic_and_model.png")
    report = {"source": translator.description, "step": translator.step, "scale": spec.scale,
              "pictures": list(names), "outputs": files, "figures": figures}
    report_path = os.path.join(folder, f"{stem}.json")
    write_json_atomically(report_path, report, indent=2)
    lines = (f"{len(pictures)} pictures upscaled {spec.scale}x into {out_dir} (each with a "
             f"bicubic-beside-model figure)",)
    return (report_path, *files, *figures), report, lines


def _scaled(image: np.ndarray, scale: int) -> np.ndarray:
    return image if scale == 1 else np.repeat(np.repeat(image, scale, 0), scale, 1)


def _default_folder(config: GenerateConfig, translator: translation.Translator) -> str:
    kind, path = sampling.locate(config.source)
    if kind == "run":
        return os.path.join(path, "generated")
    version_dir = os.path.normpath(path)
    return os.path.join("generated", f"{os.path.basename(os.path.dirname(version_dir))}_v"
                                     f"{os.path.basename(version_dir)}")
