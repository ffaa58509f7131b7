"""Fault injection: every writing command against a full disk and a read-only folder.

Each scenario puts what a command writes (the run directory, the export
root, a report, generated files, the decoded-image cache) on a small tmpfs
of its own, with earlier results already there, then injects the fault:

* `full`: the filesystem is filled with a filler file, leaving
  `headroom` bytes: 0 (the first write fails) or a little (small writes such
  as `config.json` succeed, the large one, a checkpoint or a cache, fails midway);
* `read_only`: the filesystem is remounted read-only.

and runs the real command (a fresh Python process). A scenario survives when
the command exits non-zero with one line `<script>: error: ...` and no
traceback, every file that was there before is unchanged (earlier checkpoints,
export versions, reports and generated files), and nothing new is left but
complete files (no staging folder, partial checkpoint, temporary or lock
file); or, when its writes fit in the headroom, it simply succeeds. The table is printed and written to `bench/results/fault_injection.json`.

Needs root (it mounts tmpfs filesystems), as the test suite's other-user tests do.

    python bench/fault_injection.py --data_dir=../shared/data/tensorflow_datasets
"""

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "fault_injection.json"

flags.DEFINE_string("data_dir", None, "MNIST TFDS data_dir.", required=True)
flags.DEFINE_string("celeba_dir", str(REPO.parent / "shared" / "data" / "celeba" /
                                      "img_align_celeba"), "CelebA JPEGs (the image-folder "
                    "scenarios copy 16 of them).")
FLAGS = flags.FLAGS

TINY = ["--batch_size=16", "--base_filters=8", "--latent_dim=16", "--log_every=1",
        "--sample_every=2", "--checkpoint_every=2", "--preset=none"]


def run(script, *args, env=None, timeout=600):
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {})))
    return result, time.perf_counter() - started


def snapshot(root: pathlib.Path) -> dict[str, str]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "filler":
            files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def incomplete(name: str) -> bool:
    """Whether a new file is something a failed write left behind."""
    parts = name.split("/")
    return (any(p.startswith(".") or "tmp" in p or "temp" in p or p.endswith(".part")
                for p in parts)
            or parts[-1] == "run.lock"
            or ("/ckpt-" in f"/{name}" and not parts[-1].endswith((".index", ".data-00000-of-00001"))))


@contextlib.contextmanager
def tmpfs(size: str):
    folder = pathlib.Path(tempfile.mkdtemp(prefix="kgan-fault-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def inject(root: pathlib.Path, fault: str, headroom: int) -> None:
    if fault == "read_only":
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        return
    filler = root / "filler"
    with open(filler, "wb", buffering=0) as f:
        block = b"\0" * (1 << 20)
        with contextlib.suppress(OSError):
            while True:
                f.write(block)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    free = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
    if headroom:
        os.truncate(filler, max(os.path.getsize(filler) - headroom + free, 0))


def scenario(name, fault, headroom, prepare, command, may_change=()):
    """Runs one scenario; `prepare(root)` writes the earlier results, `command(root)`
    returns (script, args, env); `may_change` names earlier files the command may
    legitimately rewrite before its failing write (a resumed run's config)."""
    with tmpfs("64m") as root:
        prepare(root)
        before = snapshot(root)
        inject(root, fault, headroom)
        script, args, env = command(root)
        result, seconds = run(script, *args, env=env)
        after = snapshot(root)
    lines = result.stderr.strip().splitlines()
    last = lines[-1] if lines else ""
    changed = sorted(k for k in before if after.get(k) != before[k] and k not in may_change)
    new = sorted(set(after) - set(before))
    leftovers = [n for n in new if incomplete(n)]
    one_line = (result.returncode != 0 and last.startswith(f"{script}: error:")
                and "Traceback" not in result.stderr)
    # A write small enough for the space left simply succeeds.
    completed = result.returncode == 0 and "Traceback" not in result.stderr
    row = {"scenario": name, "fault": fault, "headroom": headroom,
           "exit": result.returncode, "seconds": round(seconds, 1), "error": last[:300],
           "one_line": one_line, "changed_before": changed, "new_files": new,
           "leftovers": leftovers,
           "outcome": "completed" if completed else "refused" if one_line else "crashed",
           "survived": (one_line or completed) and not changed and not leftovers}
    print(f"{name:20s} {fault:9s} headroom {headroom:>7d}: exit {result.returncode:>3d} "
          f"{row['outcome']:9s} {'SURVIVED' if row['survived'] else 'FAILED'}  "
          f"{last[:150] if not completed else ''}", flush=True)
    if not row["survived"]:
        print(f"    changed {changed} leftovers {leftovers}\n    stderr tail: "
              f"{result.stderr[-1500:]}", flush=True)
    return row


def main(argv):
    del argv
    data_dir = FLAGS.data_dir
    work = pathlib.Path(tempfile.mkdtemp(prefix="kgan-fault-work-"))
    cache = work / "cache"
    env_cache = {"KGAN_CACHE_DIR": str(cache)}
    # A finished tiny run on an ordinary disk, and an export of it, to start from.
    base = work / "run"
    trained, _ = run("train.py", f"--workdir={base}", f"--data_dir={data_dir}", "--steps=2",
                     *TINY, env=env_cache)
    assert trained.returncode == 0, trained.stderr[-2000:]
    exported, _ = run("export.py", f"--workdir={base}", f"--export_dir={work / 'exports'}",
                      env=env_cache)
    assert exported.returncode == 0, exported.stderr[-2000:]
    faces = work / "faces"
    faces.mkdir()
    for path in sorted(pathlib.Path(FLAGS.celeba_dir).glob("*.jpg"))[:16]:
        shutil.copy(path, faces)

    def copy_run(root):
        shutil.copytree(base, root / "run")

    def copy_export(root):
        shutil.copytree(work / "exports", root / "exports")

    def earlier_report(root):
        (root / "reports").mkdir()
        (root / "reports" / "earlier.json").write_text('{"kept": true}\n')

    def earlier_images(root):
        (root / "generated").mkdir()
        (root / "generated" / "earlier.png").write_bytes(b"\x89PNG earlier")

    def nothing(root):
        (root / "earlier.txt").write_text("kept\n")

    # (name, earlier results, command, headroom that lets its small writes through
    # and fails a large one, earlier files it may rewrite)
    commands = [
        ("train: new run", nothing, lambda r: (
            "train.py", [f"--workdir={r / 'new'}", f"--data_dir={data_dir}", "--steps=2",
                         *TINY], env_cache), 200_000, ()),
        ("train: resume", copy_run, lambda r: (
            "train.py", [f"--workdir={r / 'run'}", f"--data_dir={data_dir}", "--steps=4",
                         *TINY], env_cache), 200_000, ("run/config.json",)),
        ("export: new version", copy_export, lambda r: (
            "export.py", [f"--workdir={base}", f"--export_dir={r / 'exports'}",
                          "--tflite=float32"], env_cache), 200_000, ()),
        ("evaluate: report", earlier_report, lambda r: (
            "evaluate.py", [f"--workdir={base}", "--metrics=classifier", "--num_samples=200",
                            "--reference_samples=200",
                            f"--output={r / 'reports' / 'step_2.json'}"], env_cache), 1_000, ()),
        ("generate: grid", earlier_images, lambda r: (
            "generate.py", ["--mode=grid", f"--workdir={base}", "--num_samples=256",
                            f"--output_dir={r / 'generated'}"], env_cache), 20_000, ()),
        ("data: decode cache", nothing, lambda r: (
            "train.py", [f"--workdir={work / 'folder-run'}", "--dataset=folder",
                         f"--data_dir={faces}", "--resolution=128", "--steps=1", *TINY],
            {"KGAN_CACHE_DIR": str(r)}), 200_000, ()),
    ]
    scenarios = []
    for name, prepare, command, midway, may_change in commands:
        for fault, headroom in (("full", 0), ("full", midway), ("read_only", 0)):
            scenarios.append((name, fault, headroom, prepare, command, may_change))
    rows = [scenario(*s) for s in scenarios]
    shutil.rmtree(work, ignore_errors=True)
    survived = sum(r["survived"] for r in rows)
    print(f"\n{survived} of {len(rows)} scenarios survived")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if survived == len(rows) else 1


if __name__ == "__main__":
    app.run(main)
