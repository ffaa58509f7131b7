"""The FID Inception network of TTUR (Heusel et al., 2017), offline.

Reads `inception-2015-12-05-pool3.pb`, the frozen 2015 Inception graph up to
`pool_3` (see `shared/data/inception/README.md`), and turns images into the
2048-d features FID and KID are computed on. Protocol as TTUR: RGB values
0..255 as float32, grayscale fed as three equal channels, resized to 299x299
inside the graph.
"""

import hashlib
import os

import numpy as np
import tensorflow as tf

from kgan.core.progress import batched
from kgan.errors import DataError

INCEPTION_FILE = "inception-2015-12-05-pool3.pb"
PATH_VARIABLE = "KGAN_INCEPTION_PATH"
_INPUT, _OUTPUT = "ExpandDims:0", "pool_3/_reshape:0"


def resolve_path(path: str | None = None) -> str:
    """`path`, else `$KGAN_INCEPTION_PATH`; a clear error if there is no such file."""
    path = path or os.environ.get(PATH_VARIABLE)
    where = (f"the TTUR FID graph {INCEPTION_FILE} (kgan's shared data has it in "
             f"data/inception/; its README says how it was built from Google's 2015 Inception)")
    if not path:
        raise DataError(f"no Inception graph given: pass --inception_path or set "
                        f"${PATH_VARIABLE} to {where}")
    if not os.path.isfile(path):
        raise DataError(f"Inception graph {path!r} not found; it should be {where}")
    return path


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class InceptionFeatures:
    """Callable: images `[n, h, w, 1 or 3]` with values 0..255 -> `[n, 2048]` float32.

    Attributes:
        path: The graph file.
        identity: `inception:<sha256 of the graph>`, for cache keys.
    """

    def __init__(self, path: str | None = None, batch_size: int = 50):
        self.path = resolve_path(path)
        self.batch_size = batch_size
        self.identity = f"inception:{file_sha256(self.path)}"
        graph_def = tf.compat.v1.GraphDef()
        try:
            with open(self.path, "rb") as f:
                graph_def.ParseFromString(f.read())
        except Exception as e:
            raise DataError(f"{self.path!r} is not a TensorFlow GraphDef: {e}") from None
        imported = tf.compat.v1.wrap_function(
            lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
        self._pool3 = imported.prune(feeds=imported.graph.get_tensor_by_name(_INPUT),
                                     fetches=imported.graph.get_tensor_by_name(_OUTPUT))

    def _extract(self, images):
        images = tf.cast(tf.convert_to_tensor(images), tf.float32)
        if images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])
        return self._pool3(images)

    def __call__(self, images, label: str = "Inception features") -> np.ndarray:
        return batched(self._extract, images, self.batch_size, label)
