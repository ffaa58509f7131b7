"""Frozen configuration records, one module per stage.

- `kgan.config.base`: `cache_dir`, and strict reading of any record from
  dicts and JSON (`from_dict`, `check_partial`, `strict_json`).
- `kgan.config.run`: a training run (`Config`: `DataConfig`, `ModelConfig`,
  `TrainConfig`), as `train.py` builds it and `config.json` holds it.
- `kgan.config.export`, `.evaluation`, `.generate`: the other commands.
- `kgan.config.flags`: the one adapter between these records and absl flags
  (imported by the scripts only).
- `kgan.config.presets`: named recipes (`kgan/presets/*.json`) and saved
  config files, as partial dicts to merge.

Every name importable from the former `kgan/config.py` is re-exported here.
"""

from kgan.config.base import cache_dir
from kgan.config.evaluation import EVAL_METRICS, MIN_FID_SAMPLES, EvalConfig
from kgan.config.export import TFLITE_VARIANTS, ExportConfig
from kgan.config.generate import (GENERATE_MODES, INTERPOLATIONS, GenerateConfig,
                                  ProjectionConfig)
from kgan.config.run import (CELEBA_DEFAULT_ATTRIBUTES, LABEL_KINDS, ON_NAN_ACTIONS, PRECISIONS,
                             STRATEGIES, TRAINING_EVAL_METRICS, Config, DataConfig, ModelConfig,
                             TrainConfig)

__all__ = [
    "CELEBA_DEFAULT_ATTRIBUTES", "Config", "DataConfig", "EVAL_METRICS", "EvalConfig",
    "ExportConfig", "GENERATE_MODES", "GenerateConfig", "INTERPOLATIONS", "LABEL_KINDS",
    "MIN_FID_SAMPLES", "ModelConfig", "ON_NAN_ACTIONS", "PRECISIONS", "ProjectionConfig",
    "STRATEGIES", "TFLITE_VARIANTS", "TRAINING_EVAL_METRICS", "TrainConfig", "cache_dir",
]
