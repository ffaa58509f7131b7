"""Trained classifiers cached as a weights file and a JSON record.

Both files are written beside their final names and renamed into place, so an
interrupted write leaves no half cache. Only weights are stored (HDF5 arrays):
the architecture is the caller's code, so loading runs nothing from the file.
A damaged pair is a one-line `DataError` that says which files to delete.
"""

import hashlib
import json
import os
from typing import Callable

import keras

from kgan.core.files import write_atomically, write_json_atomically
from kgan.core.messages import one_line
from kgan.errors import DataError


def store(model: keras.Model, weights_path: str, record_path: str, record: dict) -> None:
    """Writes `model`'s weights, then `record`, each atomically (a cache entry
    counts only once both exist).

    Raises:
        RunError: if either cannot be written.
    """
    write_atomically(weights_path, model.save_weights, suffix=".partial.weights.h5")
    write_json_atomically(record_path, record, indent=1)


def restore(model: keras.Model, weights_path: str, record_path: str, what: str,
            validate: Callable[[dict], str | None]) -> tuple[dict, str]:
    """Loads cached weights into `model` and reads their record.

    Args:
        model: The freshly built architecture.
        weights_path, record_path: The pair `store` wrote.
        what: The classifier's name in messages ("MNIST classifier").
        validate: `validate(record)`: None if the record's values are sane,
            else what is wrong with them; a missing key or wrong type may
            also raise.

    Returns:
        (the record, sha256 of the weights file).

    Raises:
        DataError: if either file is damaged.
    """
    damaged = (f"the cached {what} in {os.path.dirname(weights_path)} is damaged (%s); delete "
               f"{weights_path} and {record_path} to train it again")
    try:
        model.load_weights(weights_path)
    except Exception as e:  # h5py and Keras raise OSError, KeyError or ValueError
        raise DataError(damaged % f"{type(e).__name__}: {one_line(e)}") from None
    name = os.path.basename(record_path)
    try:
        with open(record_path) as f:
            record = json.load(f)
        problem = validate(record)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(damaged % f"{name}: {type(e).__name__}: {one_line(e)}") from None
    if problem:
        raise DataError(damaged % f"{problem} in {name}")
    with open(weights_path, "rb") as f:
        return record, hashlib.sha256(f.read()).hexdigest()
