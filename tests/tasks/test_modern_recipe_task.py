"""The modern recipe's options, all at once, meet the task contract.

A conditional residual GAN with a spectrally normalized discriminator and a
minibatch-stddev feature, the relativistic loss, lazy R1 and R2, LeCam,
adaptive DiffAugment and a generator weight average: bitwise resume (the
average, LeCam's anchors and the augmentation probability are checkpointed),
export and TFLite of the averaged generator, hostile requests.
"""

from kgan.config import Config, DataConfig, ModelConfig, TrainConfig
from tests.tasks.harness import TaskContract


def modern_config(data_dir) -> Config:
    return Config(
        data=DataConfig(data_dir=data_dir),
        model=ModelConfig(architecture="resnet", latent_dim=8, base_filters=8, conditional=True,
                          label_embedding_dim=4, spectral_norm=True, minibatch_std=2),
        train=TrainConfig(batch_size=8, num_samples=20, loss="relativistic", r1_gamma=1.0,
                          r2_gamma=1.0, reg_every=2, lecam_weight=0.1, ema_half_life=100,
                          augment=("translation", "cutout", "color"), ada_target=0.6,
                          ada_interval=1, ada_speed=1000))


class TestModernRecipeTaskContract(TaskContract):
    def config(self, request):
        return modern_config(request.getfixturevalue("mnist_tfds_dir"))
