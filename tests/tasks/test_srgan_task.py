"""SRGAN meets the task contract on real CelebA faces, plays the paper's game,
and enlarges a user's pictures at their own size."""

import hashlib
import io
import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import images
from kgan.config import Config, DataConfig, EvalConfig, GenerateConfig, ModelConfig, TrainConfig
from kgan.data import super_resolution
from kgan.errors import ConfigError, DataError
from kgan.evaluation import evaluate
from kgan.latent import commands
from kgan.tasks.srgan import SRGAN
from kgan.training import train
from tests.conftest import SHARED_DATA
from tests.tasks.harness import TaskContract, assert_resolve_refuses

CELEBA = str(SHARED_DATA / "celeba" / "img_align_celeba")


def tiny(**train_changes):
    return Config(task="srgan",
                  data=DataConfig(dataset="celeba", data_dir=CELEBA, scale=2, crop_size=32),
                  model=ModelConfig(architecture="srresnet", base_filters=4, generator_blocks=1),
                  train=TrainConfig(**{"batch_size": 2, "num_samples": 8,
                                       "adversarial_weight": 1e-3, **train_changes}))


def _optimizer_iterations(checkpoint):
    reader = tf.train.load_checkpoint(checkpoint)
    return {name.split("/")[0]: int(reader.get_tensor(name))
            for name in reader.get_variable_to_shape_map()
            if name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")}


class TestSRGANTaskContract(TaskContract):
    EXPORT_VARIANTS = ("float32", "full_int8")

    def config(self, request):
        return tiny()

    def test_the_export_takes_any_size_and_its_tflite_the_held_out_size(self, exported):
        generator = exported.metadata["generator"]
        assert generator["input"]["shape"] == [None, None, None, 3]
        assert generator["scale"] == 2 and generator["tflite_image_shape"] == [108, 88, 3]
        saved_model = exported.metadata["verification"]["saved_model"]["serving_default"]
        assert saved_model["empty_batch_shape"] == [0, 216, 176, 3]
        assert saved_model["refuses_wrong_size"] and saved_model["refuses_wrong_channels"]

    def test_evaluate_reports_the_model_beside_bicubic(self, run, tmp_path):
        workdir, _ = run
        # Without Inception (metrics: classifier), on the first 64 held-out faces.
        report = evaluate(EvalConfig(workdir=workdir, metrics=("classifier",), num_samples=64,
                                     output=str(tmp_path / "report.json")), log=lambda m: None)
        entry = report["directions"]["serving_default"]
        assert entry["inputs"] == 64
        model, bicubic = entry["model"], entry["bicubic"]
        assert model["border"] == bicubic["border"] == 2
        # A near-identity network after 4 steps is bilinear upscaling, a few dB
        # from bicubic's figure on the same faces, not another image.
        assert 25 < bicubic["psnr_y_db"] < 40 and abs(model["psnr_y_db"] -
                                                      bicubic["psnr_y_db"]) < 3
        assert 0.7 < model["ssim_y"] < 1
        external = entry["external_2x"]
        assert external["faces"] == 277 and 25 < external["bicubic"]["psnr_y_db"] < 40

    def test_bicubic_realism_is_computed_once_and_then_read_from_the_cache(self, run, tmp_path):
        workdir, _ = run
        graph = SHARED_DATA / "inception" / "inception-2015-12-05-pool3.pb"
        config = EvalConfig(workdir=workdir, metrics=("kid",), num_samples=8,
                            inception_path=str(graph), output=str(tmp_path / "report.json"))
        first, second = (evaluate(config, log=lambda m: None)["directions"]["serving_default"]
                         for _ in range(2))
        assert first["bicubic"]["fid"] == second["bicubic"]["fid"]
        assert first["bicubic"]["kid"] == second["bicubic"]["kid"]
        assert first["fid"] > 0 and first["bicubic"]["fid"] > 0
        low = super_resolution.downscale(super_resolution.faces(
            DataConfig(dataset="celeba", data_dir=CELEBA), "heldout")[:8], 2).numpy()
        bicubic = super_resolution.bicubic_upscale(low, 2).numpy()
        digest = hashlib.sha256(np.ascontiguousarray(bicubic).tobytes()).hexdigest()[:24]
        cached = os.listdir(os.path.join(os.environ["KGAN_CACHE_DIR"], "reference_features"))
        assert any(name.startswith(f"translation_{digest}_") for name in cached)

    def test_upscale_mode_enlarges_pictures_of_any_size(self, run, exported, tmp_path):
        workdir, _ = run
        pictures = tmp_path / "pictures"
        images.write_png(str(pictures / "a.png"), np.full([20, 13, 3], 120, np.uint8))
        images.write_png(str(pictures / "b.png"), np.full([9, 30, 3], 30, np.uint8))
        for source in (workdir, exported.path):
            result = commands.run(GenerateConfig(
                mode="upscale", images=(str(pictures),), output_dir=str(tmp_path / "out"),
                source=source), log=lambda message: None)
            enlarged = [tf.io.decode_png(tf.io.read_file(path)).numpy()
                        for path in result.report["outputs"]]
            assert [e.shape for e in enlarged] == [(40, 26, 3), (18, 60, 3)]
            # A flat picture stays flat through the near-identity tiny network.
            assert abs(float(enlarged[0].mean()) - 120) < 8
        with pytest.raises(ConfigError, match="use --mode=upscale"):
            commands.run(GenerateConfig(mode="translate", images=(str(pictures),),
                                        source=workdir), log=lambda message: None)


def test_examples_are_whole_held_out_faces_and_their_downscaled_copies():
    config = SRGAN.resolve(tiny())
    examples = SRGAN.examples(config)["serving_default"]
    assert examples.inputs.shape == (1440, 108, 88, 3)
    assert examples.targets.shape == (1440, 216, 176, 3)
    np.testing.assert_array_equal(examples.inputs[:4],
                                  super_resolution.downscale(examples.targets[:4], 2))


@pytest.mark.parametrize("changes, message", [
    ({"data": {"dataset": "mnist"}}, "data.dataset must be 'celeba'"),
    ({"model": {"architecture": "unet"}}, "model.architecture must be 'srresnet'"),
    ({"data": {"scale": 3}}, "data.scale 3"),
    ({"data": {"crop_size": 40}}, "data.crop_size=40 must be a multiple of 16"),
    ({"train": {"loss": "wasserstein"}}, "needs a Lipschitz constraint"),
    ({"train": {"r1_gamma": 1.0}}, "train.r1_gamma is an option"),
])
def test_settings_outside_the_game_are_refused(changes, message):
    assert_resolve_refuses(tiny(), changes, message)


def test_srresnet_first_then_the_discriminator_joins_on_resume(tmp_path):
    workdir = str(tmp_path / "run")
    steps = dict(log_every=2, sample_every=2, checkpoint_every=2)
    first = train(tiny(**steps, steps=2, adversarial_weight=0.0), workdir, stream=io.StringIO())
    assert set(first.metrics) == {"g_loss"}
    assert _optimizer_iterations(first.checkpoint) == {"g_optimizer": 2, "d_optimizer": 0}
    second = train(tiny(**steps, steps=4), workdir, stream=io.StringIO())
    assert second.start_step == 2
    assert set(second.metrics) == {"d_loss", "g_loss", "g_adversarial", "g_pixel"}
    assert _optimizer_iterations(second.checkpoint) == {"g_optimizer": 4, "d_optimizer": 2}
    assert os.path.isfile(os.path.join(workdir, "config_history.jsonl"))


def test_the_content_loss_learns_through_the_attribute_classifiers_features(
        tmp_path, quick_attribute_classifier):
    steps = dict(steps=2, log_every=2, sample_every=2, checkpoint_every=2)
    weights = quick_attribute_classifier.weights_path
    result = train(tiny(**steps, content_weight=1.0, content_classifier=weights),
                   str(tmp_path / "content"), stream=io.StringIO())
    assert set(result.metrics) == {"d_loss", "g_loss", "g_adversarial", "g_pixel", "g_content"}
    metrics = result.metrics
    assert 0 < metrics["g_content"] < np.inf
    # The total is the weighted sum: 1 x pixel + 1e-3 x adversarial + 1 x content.
    assert metrics["g_loss"] == pytest.approx(
        metrics["g_pixel"] + 1e-3 * metrics["g_adversarial"] + metrics["g_content"], rel=1e-4)
    # The classifier only trains the generator: it is neither saved nor served.
    reader = tf.train.load_checkpoint(result.checkpoint)
    assert not [name for name in reader.get_variable_to_shape_map() if "conv2_norm" in name]

    missing = tmp_path / "gone.weights.h5"
    workdir = tmp_path / "refused"
    with pytest.raises(DataError, match=f"no attribute classifier file {missing}"):
        train(tiny(**steps, content_weight=1.0, content_classifier=str(missing)), str(workdir),
              stream=io.StringIO())
    assert not (workdir / "checkpoints").exists()
