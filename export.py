"""Export a trained generator: `python export.py --workdir=runs/mnist --export_dir=exports`.

The command lives in `kgan.commands.export` (installed as `kgan-export`); see
its docstring and `--help`.
"""

from kgan.commands.export import run

if __name__ == "__main__":
    run()
