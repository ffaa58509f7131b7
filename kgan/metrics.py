"""`python -m kgan.metrics`: the `kgan-metrics` command (`kgan.commands.metrics`)."""

from kgan.commands.metrics import run

if __name__ == "__main__":
    run()
