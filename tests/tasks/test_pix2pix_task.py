"""pix2pix meets the task contract on real CelebA pairs, and plays its game as the paper does."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import checkpoints, tasks
from kgan.config import Config, DataConfig, EvalConfig, GenerateConfig, ModelConfig, TrainConfig
from kgan.data import translation as translation_data
from kgan.evaluation import evaluate
from kgan.latent import commands
from kgan.errors import ConfigError
from kgan.tasks.pix2pix import Pix2Pix
from kgan.tasks.translation import mirrored
from kgan.training import train
from tests.conftest import SHARED_DATA
from tests.tasks.harness import TaskContract

CELEBA = str(SHARED_DATA / "celeba" / "img_align_celeba")
TINY = Config(task="pix2pix",
              data=DataConfig(dataset="celeba", data_dir=CELEBA, resolution=64),
              model=ModelConfig(architecture="unet", base_filters=4, patch_layers=2),
              train=TrainConfig(batch_size=2, num_samples=8))


class TestPix2PixTaskContract(TaskContract):
    EXPORT_VARIANTS = ("float32", "full_int8")

    def config(self, request):
        return TINY

    def test_evaluate_translates_every_held_out_face(self, run, tmp_path):
        workdir, _ = run
        report = evaluate(EvalConfig(workdir=workdir, metrics=("classifier",),
                                     output=str(tmp_path / "report.json")), log=lambda m: None)
        result = report["directions"]["serving_default"]
        assert result["inputs"] == 1440 and 5 < result["psnr_db"] < 40 and 0 < result["ssim"] < 1
        colour = result["colourfulness"]
        assert colour["inputs"] == 0.0 and colour["real"] > 20  # grayscale in, faces out
        assert json.loads((tmp_path / "report.json").read_text())["step"] == self.STEPS

    def test_generate_translates_a_users_pictures(self, run, tmp_path):
        workdir, _ = run
        face = os.path.join(CELEBA, "000002.jpg")
        wide = tmp_path / "wide.png"
        keras.utils.save_img(str(wide), np.full([40, 90, 3], 200, np.uint8), scale=False)
        result = commands.run(GenerateConfig(mode="translate", source=workdir,
                                             images=(face, str(wide)),
                                             output_dir=str(tmp_path / "out")),
                              log=lambda m: None)
        figure, report, *outputs = result.files
        assert [os.path.basename(p) for p in outputs] == ["000002.png", "wide.png"]
        # Two rows (picture, translation) of 64x64 tiles with 2-pixel borders.
        assert keras.utils.load_img(figure).size == (2 * 66 + 2, 2 * 66 + 2)
        pictures, _ = translation_data.load_user_images([face], 64, TINY.data.crop_fraction)
        expected = checkpoints.load_task(workdir).task.translate("serving_default", pictures)
        written = np.asarray(keras.utils.load_img(outputs[0]), np.uint8)
        np.testing.assert_array_equal(written, expected[0])


def test_pix2pix_is_registered_with_its_pairs():
    assert tasks.get_task("pix2pix") is Pix2Pix
    data = Pix2Pix.load_data(TINY, "train")
    assert data.arrays["input"].shape[1:] == (64, 64, 1)
    assert data.arrays["target"].shape[1:] == (64, 64, 3)
    assert data.num_examples == 4560  # the shared folder's train partition
    held_out = Pix2Pix.examples(TINY)["serving_default"]
    assert held_out.inputs.shape == held_out.targets.shape == (1440, 64, 64, 3)
    # A colorization input is the target's grayscale, repeated on the served channels.
    assert np.array_equal(held_out.inputs[..., 0], held_out.inputs[..., 2])
    luma = held_out.targets.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert np.abs(held_out.inputs[..., 0] - luma).max() <= 1.0


@pytest.mark.parametrize("change, message", [
    ({"data": DataConfig(dataset="mnist")}, "data.dataset must be 'celeba'"),
    ({"data": DataConfig(dataset="celeba", resolution=32)}, "data.resolution 32"),
    ({"model": ModelConfig(architecture="dcgan")}, "model.architecture 'dcgan'"),
    ({"train": TrainConfig(ema_half_life=100)}, "train.ema_half_life"),
    ({"train": TrainConfig(eval_every=10)}, "evaluate.py"),
    ({"train": TrainConfig(loss="wasserstein")}, "Lipschitz"),
])
def test_configs_pix2pix_cannot_train_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        Pix2Pix.resolve(dataclasses.replace(TINY, **change))


def test_the_paper_weights_are_the_loss_defaults():
    task = Pix2Pix.build(TINY)
    task.configure(TINY)
    assert task.loss_weights[("g", "l1")] == 100.0
    assert task.loss_weights[("g", "adversarial")] == 1.0
    assert task.loss_weights[("d", "adversarial")] == 0.5


def test_mirroring_keeps_pairs_aligned():
    x = tf.reshape(tf.range(2 * 1 * 3 * 1, dtype=tf.float32), [2, 1, 3, 1])
    y = x * 10
    flipped_x, flipped_y = mirrored(tf.constant([True, False]), x, y)
    np.testing.assert_array_equal(flipped_x[0, 0, :, 0], [2, 1, 0])
    np.testing.assert_array_equal(flipped_x[1], x[1])
    np.testing.assert_array_equal(flipped_y, flipped_x * 10)


def test_the_l1_only_baseline_never_touches_the_discriminator(tmp_path):
    config = dataclasses.replace(TINY, train=dataclasses.replace(
        TINY.train, adversarial_weight=0.0, steps=2, checkpoint_every=2, sample_every=2,
        log_every=1))
    workdir = str(tmp_path / "run")
    result = train(config, workdir, stream=open(os.devnull, "w"))
    assert set(result.metrics) == {"g_loss"}
    keras.utils.set_random_seed(config.train.seed)  # as train() does before building
    initial = Pix2Pix.build(config)
    trained = Pix2Pix.build(config)
    tf.train.Checkpoint(discriminator=trained.discriminator, generator=trained.generator).restore(
        checkpoints.latest_checkpoint(workdir)).expect_partial()
    assert all(np.array_equal(a, b) for a, b in zip(initial.discriminator.get_weights(),
                                                    trained.discriminator.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(initial.generator.get_weights(),
                                                        trained.generator.get_weights()))
