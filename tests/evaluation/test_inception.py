"""The TTUR Inception features on real MNIST, FID behaviour, and the reference cache."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.config import DataConfig
from kgan.errors import DataError
from kgan.evaluation import reference
from kgan.evaluation.distances import frechet_distance, gaussian_stats
from kgan.evaluation.inception import InceptionFeatures, resolve_path
from tests.conftest import SHARED_DATA

GRAPH = SHARED_DATA / "inception" / "inception-2015-12-05-pool3.pb"


@pytest.fixture(scope="module")
def inception():
    if not GRAPH.exists():
        pytest.fail(f"the shared Inception graph is missing at {GRAPH}")
    return InceptionFeatures(str(GRAPH))


@pytest.fixture(scope="module")
def mnist_test(mnist_tfds_dir):
    return DataConfig(data_dir=mnist_tfds_dir)


def test_features_equal_the_ttur_session_protocol(inception, mnist_test):
    images = reference.real_images(mnist_test, "test", 4)
    ours = inception(images)
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(GRAPH.read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="FID_Inception_Net")
    with tf.compat.v1.Session(graph=graph) as session:
        ttur = session.run("FID_Inception_Net/pool_3:0", {
            "FID_Inception_Net/ExpandDims:0": np.repeat(images, 3, axis=-1).astype(np.float32)})
    assert ours.shape == (4, 2048) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ttur.reshape(4, 2048), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_fid_is_zero_for_a_set_and_grows_with_noise(inception, mnist_test):
    images = reference.real_images(mnist_test, "test", 48).astype(np.float32)
    clean = gaussian_stats(inception(images))
    assert frechet_distance(clean, clean) == pytest.approx(0.0, abs=1e-6)
    noise = np.random.default_rng(0).standard_normal(images.shape)
    distances = [frechet_distance(clean, gaussian_stats(inception(
        np.clip(images + sigma * noise, 0, 255)))) for sigma in (10.0, 40.0, 100.0)]
    assert distances[0] > 1.0
    assert distances == sorted(distances), distances


def test_missing_graph_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KGAN_INCEPTION_PATH", raising=False)
    with pytest.raises(DataError, match="no Inception graph given: pass --inception_path or "
                                        "set \\$KGAN_INCEPTION_PATH"):
        resolve_path(None)
    with pytest.raises(DataError, match="not found; it should be the TTUR FID graph"):
        InceptionFeatures(str(tmp_path / "nope.pb"))
    monkeypatch.setenv("KGAN_INCEPTION_PATH", str(GRAPH))
    assert resolve_path(None) == str(GRAPH)


class CountingExtractor:
    """Wraps a real extractor and counts the images it is asked to process."""

    def __init__(self, extractor, identity=None):
        self.extractor, self.images_seen = extractor, 0
        self.identity = identity or extractor.identity

    def __call__(self, images, label=""):
        self.images_seen += len(images)
        return self.extractor(images, label)


def test_reference_features_are_cached_per_split_and_graph(inception, mnist_test, tmp_path):
    counting = CountingExtractor(inception)
    first = reference.reference_features(mnist_test, "test", 6, counting, str(tmp_path))
    again = reference.reference_features(mnist_test, "test", 6, counting, str(tmp_path))
    assert counting.images_seen == 6, "the second call must come from the cache"
    np.testing.assert_array_equal(first, again)

    reference.reference_features(mnist_test, "train", 6, counting, str(tmp_path))
    assert counting.images_seen == 12, "another split is another cache entry"
    other_graph = CountingExtractor(inception, identity="inception:" + "0" * 64)
    reference.reference_features(mnist_test, "test", 6, other_graph, str(tmp_path))
    assert other_graph.images_seen == 6, "another graph is another cache entry"
    assert len(list((tmp_path / "reference_features").glob("*.npz"))) == 3
