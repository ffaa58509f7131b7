"""Pictures from a trained generator: `python generate.py --mode=grid --workdir=runs/mnist`.

The command lives in `kgan.commands.generate` (installed as `kgan-generate`); see
its docstring and `--help`.
"""

from kgan.commands.generate import run

if __name__ == "__main__":
    run()
