"""CycleGAN meets the task contract on real CelebA domains; its history buffer resumes exactly."""

import dataclasses
import os

import keras
import numpy as np
import pytest

from kgan import checkpoints, tasks
from kgan.config import Config, DataConfig, GenerateConfig, ModelConfig, TrainConfig
from kgan.data import translation as translation_data
from kgan.evaluation import translation
from kgan.latent import commands
from kgan.errors import ConfigError
from kgan.tasks.cyclegan import CycleGAN
from tests.conftest import SHARED_DATA
from tests.tasks.harness import TaskContract

CELEBA = str(SHARED_DATA / "celeba" / "img_align_celeba")
# A history of 3 at batch 2 is full after two steps: the contract's 4-step
# run and its 2 + 2 resume exercise the swaps.
TINY = Config(task="cyclegan",
              data=DataConfig(dataset="celeba", data_dir=CELEBA, resolution=64,
                              domain_a="-Male", domain_b="Male"),
              model=ModelConfig(architecture="resnet", base_filters=4, generator_blocks=1,
                                patch_layers=2),
              train=TrainConfig(batch_size=2, num_samples=8, loss="least_squares",
                                history_size=3))


class TestCycleGANTaskContract(TaskContract):
    def config(self, request):
        return TINY

    def test_history_buffers_are_checkpointed(self, run):
        workdir, _ = run
        items = checkpoints.saved_item_names(checkpoints.latest_checkpoint(workdir))
        assert {"history_a", "history_b", "history_filled"} <= items

    def test_both_directions_are_served(self, run, exported):
        table = exported.metadata["signatures"]
        assert {"serving_default", "b_to_a"} <= set(table)
        faces = CycleGAN.examples(TINY)["b_to_a"].inputs[:5]
        from_export = translation.from_saved_model(exported.path).translate("b_to_a", faces)
        from_run = checkpoints.load_task(run[0]).task.translate("b_to_a", faces)
        assert np.abs(from_export.astype(int) - from_run.astype(int)).max() <= 1

    def test_generate_translates_with_the_export_in_either_direction(self, exported, tmp_path):
        face = os.path.join(CELEBA, "000002.jpg")
        figures = {}
        for direction in ("serving_default", "b_to_a"):
            result = commands.run(GenerateConfig(mode="translate", source=exported.path,
                                                 images=(face,), direction=direction,
                                                 output_dir=str(tmp_path)), log=lambda m: None)
            assert result.report["direction"]["signature"] == direction
            figures[direction] = np.asarray(keras.utils.load_img(result.files[0]))
        assert not np.array_equal(figures["serving_default"], figures["b_to_a"])
        with pytest.raises(ConfigError, match="no direction 'a_to_c'"):
            commands.run(GenerateConfig(mode="translate", source=exported.path, images=(face,),
                                        direction="a_to_c", output_dir=str(tmp_path)))


def test_cyclegan_is_registered_and_reads_two_domains():
    assert tasks.get_task("cyclegan") is CycleGAN
    data = CycleGAN.load_data(TINY, "train")
    a, b = data.arrays["a"], data.arrays["b"]
    assert a.shape == b.shape and a.shape[1:] == (64, 64, 3) and len(a) == data.num_examples
    held_out = CycleGAN.examples(TINY)
    women, men = held_out["serving_default"], held_out["b_to_a"]
    male = list(women.attribute_names).index("Male")
    assert not women.attributes[:, male].any() and men.attributes[:, male].all()
    assert len(women.inputs) + len(men.inputs) == 1440
    # The larger domain sets the count; the smaller is repeated, every face of it shown.
    domains = translation_data.domain_split(TINY.data, "train")
    assert len(a) == max(len(domains.a), len(domains.b))
    smaller, faces = (a, domains.a) if len(domains.a) < len(domains.b) else (b, domains.b)
    assert {row.tobytes() for row in smaller} == {face.tobytes() for face in faces}


@pytest.mark.parametrize("change, message", [
    ({"data": DataConfig(dataset="celeba", data_dir=CELEBA, domain_a="-Mael", domain_b="Male")},
     "Mael"),
    ({"model": ModelConfig(architecture="mlp")}, "model.architecture 'mlp'"),
    ({"train": TrainConfig(r1_gamma=1.0)}, "train.r1_gamma"),
])
def test_configs_cyclegan_cannot_train_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        CycleGAN.resolve(dataclasses.replace(TINY, **change))


def test_equal_domains_are_refused():
    with pytest.raises(ConfigError, match="must differ"):
        DataConfig(dataset="celeba", domain_a="Male", domain_b="Male")
