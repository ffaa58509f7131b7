"""The points family through the command line: preset, train, evaluate, generate.

(Its export is checked by the task contract and tests/export/test_point_export.py.)"""

import json

import pytest

from kgan.config import GenerateConfig
from kgan.errors import ConfigError
from kgan.latent import commands
from tests.conftest import run_script


def test_a_points_run_from_preset_to_export(tmp_path):
    workdir = tmp_path / "ring"
    trained = run_script("train.py", "--preset=ring8", f"--workdir={workdir}", "--steps=300",
                         "--log_every=100", "--sample_every=300", "--checkpoint_every=300")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "points GAN (MLP 128x128x128x128, latent 2) on ring8 (100000 points" in trained.stdout
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["task"] == "points" and saved["model"]["latent_dim"] == 2
    assert saved["train"]["steps"] == 300 and saved["train"]["batch_size"] == 256
    assert (workdir / "samples" / "step_00000300.png").exists()

    evaluated = run_script("evaluate.py", f"--workdir={workdir}", "--num_samples=2500")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "ring8: " in evaluated.stdout and "modes recovered" in evaluated.stdout
    report = json.loads((workdir / "eval" / "step_00000300.json").read_text())
    modes = report["modes"]
    assert modes["num_modes"] == 8 and modes["samples"] == 2500
    assert 0 <= modes["modes_recovered"] <= 8 and 0.0 <= modes["high_quality_share"] <= 1.0
    assert "fid" not in report

    generated = run_script("generate.py", "--mode=grid", f"--workdir={workdir}",
                           "--num_samples=500")
    assert generated.returncode == 0, generated.stderr[-2000:]
    assert list((workdir / "generated").glob("scatter_step300_seed0*.png"))
    # Other modes are refused in one line (in process: the CLI's error path is the same).
    with pytest.raises(ConfigError, match="a points generator .* supports --mode=grid"):
        commands.run(GenerateConfig(mode="interpolate", source=str(workdir)))


def test_dry_run_of_a_preset_prints_the_points_config(tmp_path):
    result = run_script("train.py", "--preset=grid25", "--dry_run", "--steps=7")
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads(result.stdout)
    assert config["task"] == "points" and config["data"]["dataset"] == "grid25"
    assert config["train"]["steps"] == 7 and config["model"]["hidden_units"] == [128] * 4
