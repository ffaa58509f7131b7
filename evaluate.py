"""Evaluate a generator: `python evaluate.py --workdir=runs/mnist` (or `--saved_model=exports/mnist/1`).

The command lives in `kgan.commands.evaluate` (installed as `kgan-evaluate`); see
its docstring and `--help`.
"""

from kgan.commands.evaluate import run

if __name__ == "__main__":
    run()
