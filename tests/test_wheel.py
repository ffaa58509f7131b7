"""The wheel, installed in a fresh venv: its console commands work from any folder."""

import pathlib
import subprocess
import sys
import sysconfig

import pytest

from tests.conftest import REPO

# Each command and a flag its --help must list.
COMMANDS = {"kgan-train": "--batch_size", "kgan-export": "--export_dir",
            "kgan-evaluate": "--num_samples", "kgan-generate": "--mode",
            "kgan-metrics": "--input1"}


def _run(args, cwd, timeout=600):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new venv holding only the kgan wheel; its dependencies are the test
    environment's installed (pinned) packages, reached through a path file
    instead of a second download. Path files add a folder to `sys.path`
    without running that folder's own path files, so the repository's
    editable install stays out of the fresh venv."""
    root = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--wheel-dir", root / "dist", REPO], cwd=root)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("kgan-*.whl"))
    venv = root / "venv"
    created = _run([sys.executable, "-m", "venv", venv], cwd=root)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=root).stdout.strip()
    (pathlib.Path(purelib) / "kgan_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], cwd=root)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.mark.slow
def test_the_wheel_holds_the_package_and_not_the_repository(fresh_venv, tmp_path):
    where = _run([fresh_venv / "bin" / "python", "-c", "import kgan, kgan.presets; "
                  "import importlib.resources as r; print(kgan.__file__); "
                  "print(sorted(p.name for p in r.files('kgan.presets').iterdir()))"],
                 cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    module_path, presets = where.stdout.strip().splitlines()
    assert module_path.startswith(str(fresh_venv)), module_path
    assert "mnist.json" in presets


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_console_command_answers_help(fresh_venv, tmp_path, command):
    result = _run([fresh_venv / "bin" / command, "--help"], cwd=tmp_path, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    assert COMMANDS[command] in result.stdout, result.stdout


@pytest.mark.slow
def test_kgan_train_runs_three_steps_from_another_folder(fresh_venv, tmp_path, mnist_tfds_dir):
    result = _run([fresh_venv / "bin" / "kgan-train", "--workdir=run", f"--data_dir={mnist_tfds_dir}",
                   "--steps=3", "--batch_size=8", "--base_filters=8", "--latent_dim=8",
                   "--checkpoint_every=3", "--sample_every=3"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Done: step 3" in result.stdout
    assert (tmp_path / "run" / "config.json").exists()
    bad = _run([fresh_venv / "bin" / "kgan-train", "--workdir=run2", "--steps=-1"], cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("kgan-train: error: ")
