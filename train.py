"""Train a GAN: `python train.py --workdir=runs/mnist --data_dir=../shared/data/tensorflow_datasets`.

The command lives in `kgan.commands.train` (installed as `kgan-train`); see
its docstring and `--help`.
"""

from kgan.commands.train import run

if __name__ == "__main__":
    run()
