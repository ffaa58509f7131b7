"""evaluate.py and kgan.evaluation.evaluate on a briefly trained generator."""

import json
import pathlib
import shutil

import pytest

from kgan import export as kgan_export
from kgan.config import Config, DataConfig, EvalConfig, ExportConfig, ModelConfig, TrainConfig
from kgan.errors import ConfigError
from kgan.evaluation import evaluate
from kgan.training import train
from tests.conftest import SHARED_DATA, run_script

GRAPH = str(SHARED_DATA / "inception" / "inception-2015-12-05-pool3.pb")


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_tfds_dir):
    workdir = tmp_path_factory.mktemp("eval-run") / "mnist"
    train(Config(data=DataConfig(data_dir=mnist_tfds_dir),
                 model=ModelConfig(latent_dim=16, base_filters=8),
                 train=TrainConfig(batch_size=16, steps=5, checkpoint_every=5)), str(workdir))
    return workdir


@pytest.mark.slow
def test_evaluate_cli_reports_every_metric(run):
    # Generated samples at FID's floor; a smaller real set (Inception is this test's cost)
    # is allowed with a warning, and KID then draws subsets of its size.
    result = run_script("evaluate.py", f"--workdir={run}", "--num_samples=2048",
                        "--reference_samples=512", f"--inception_path={GRAPH}", timeout=900)
    assert result.returncode == 0, result.stderr
    assert "FID" in result.stdout and "classes covered" in result.stdout
    report = json.loads((run / "eval" / "step_00000005.json").read_text())
    assert report["step"] == 5 and report["num_samples"] == 2048
    assert report["fid"] > 50, "five training steps cannot give MNIST-like digits"
    assert any("FID against 512 < 2048 real images" in w for w in report["warnings"])
    assert set(report["kid"]) == {"mean", "std", "subsets", "subset_size"}
    assert report["kid"]["subset_size"] == 512
    assert report["kid"]["mean"] > 0
    classifier = report["classifier"]
    assert sum(classifier["histogram"]) == 2048 and 0 <= classifier["classes_covered"] <= 10
    assert classifier["classifier_test_accuracy"] >= 0.99
    assert report["inception_images_per_second"] > 0


def test_saved_model_and_workdir_give_the_same_metrics(run, tmp_path):
    exported = kgan_export.export(ExportConfig(workdir=str(run), export_dir=str(tmp_path),
                                               tflite_variants=(), verify=False),
                                  log=lambda message: None)
    common = dict(num_samples=300, reference_samples=300, metrics=("classifier",))
    from_run = evaluate(EvalConfig(workdir=str(run), output=str(tmp_path / "a.json"), **common),
                        log=lambda message: None)
    from_export = evaluate(EvalConfig(saved_model=exported.path, output=str(tmp_path / "b.json"),
                                      **common), log=lambda message: None)
    assert from_export["step"] == from_run["step"] == 5
    assert from_export["classifier"]["histogram"] == from_run["classifier"]["histogram"]
    assert from_export["classifier"]["frechet_distance"] == pytest.approx(
        from_run["classifier"]["frechet_distance"], rel=1e-6)


@pytest.mark.parametrize("changes, message", [
    ({"num_samples": 2047}, "eval.num_samples must be >= 2048 for FID"),
    ({"num_samples": 100, "metrics": ("classifier",)}, None),
    ({"metrics": ("fid", "inception_score")}, "eval.metrics must name one or more of"),
    ({"saved_model": "exports/x/1"}, "evaluate exactly one of a workdir and a saved_model"),
])
def test_eval_config_validation(changes, message):
    values = {"workdir": "runs/x", **changes}
    if message is None:
        EvalConfig(**values)
    else:
        with pytest.raises(ConfigError, match=message):
            EvalConfig(**values)


@pytest.mark.parametrize("flags, message", [
    (["--num_samples=1000"], "eval.num_samples must be >= 2048 for FID"),
    (["--metrics=fid", "--num_samples=2048", "--reference_samples=2048"],
     "no Inception graph given: pass --inception_path or set $KGAN_INCEPTION_PATH"),
])
def test_evaluate_cli_bad_input(run, flags, message):
    result = run_script("evaluate.py", f"--workdir={run}", *flags,
                        env={"KGAN_INCEPTION_PATH": ""})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("evaluate.py: error: ") and message in last_line


def test_a_report_made_with_other_settings_is_kept_not_overwritten(run, tmp_path):
    run = pathlib.Path(shutil.copytree(run, tmp_path / "run", ignore=shutil.ignore_patterns(
        "eval")))  # the module's other tests write reports into the shared run

    def evaluate_with(num_samples):
        messages = []
        report = evaluate(EvalConfig(workdir=str(run), num_samples=num_samples,
                                     reference_samples=100, metrics=("classifier",)),
                          log=messages.append)
        return report, [m for m in messages if m.startswith("Note:")]

    eval_dir = run / "eval"
    first, notes = evaluate_with(60)
    assert first["output"] == str(eval_dir / "step_00000005.json") and not notes
    assert first["settings"]["num_samples"] == 60
    written = (eval_dir / "step_00000005.json").read_text()

    second, notes = evaluate_with(20)
    assert second["output"] == str(eval_dir / "step_00000005.2.json")
    assert notes == [f"Note: kept {eval_dir / 'step_00000005.json'}, a report made with other "
                     f"settings (num_samples 60 -> 20); this one is {second['output']}"]
    assert (eval_dir / "step_00000005.json").read_text() == written

    again, notes = evaluate_with(20)  # the same settings replace their own report
    assert again["output"] == second["output"] and len(notes) == 1
    assert json.loads((eval_dir / "step_00000005.2.json").read_text())["settings"] == \
        second["settings"]
    same, notes = evaluate_with(60)
    assert same["output"] == first["output"] and not notes
    assert sorted(p.name for p in eval_dir.glob("step_00000005*")) == [
        "step_00000005.2.json", "step_00000005.json"]
