"""A CelebA attribute classifier that kgan trains once and caches: it judges faces.

The latent tools label generated faces with it (which samples smile, which
are male), so concept vectors need no hand-picked examples, and it judges
whether an edit produced the attribute it aimed at. Its convolutions, on
faces of any size, give `srgan`'s content loss (`feature_network`). One sigmoid output per
CelebA attribute (all 40 of `list_attr_celeba.txt`), trained seeded on the
`train` partition of one or more CelebA folders (through `kgan.data`, so the
64x64 crop is the generators' own) with horizontal flips, and measured on
the identity-disjoint `heldout` partition (validation + test): accuracy per
attribute, next to the accuracy of always answering an attribute's majority
value, since many attributes are rare (5% of faces wear glasses). The weights
and those figures are cached in `<kgan cache>/attribute_classifier/` under a
key of the recipe and the data; a classifier that does not beat the
majority answer on average is refused rather than cached.
"""

import hashlib
import json
import os
from typing import Sequence

import keras
import numpy as np

from kgan import data
from kgan.config import DataConfig, cache_dir
from kgan.core.progress import batched
from kgan.errors import DataError
from kgan.features import weights_cache

VERSION = 1  # bump when the architecture or training recipe changes: a new cache entry
EPOCHS = 8
SEED = 0
BATCH_SIZE = 64
IMAGE_SHAPE = (64, 64, 3)
# Where each convolution block ends: the layers `feature_network` can stop at.
FEATURE_LAYERS = ("conv0_relu", "conv1_relu", "conv2_relu", "conv3_relu")
ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup",
    "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns",
    "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young")


def build_classifier() -> keras.Model:
    """The CNN: uint8-range faces `[n, 64, 64, 3]` -> one logit per attribute.

    Four stride-2 convolutions (64 -> 4 pixels) with BatchNorm, global
    average pooling and a 128-wide penultimate layer: 0.4 M parameters,
    about 600 training images/s on two busy CPU cores.
    """
    layers = keras.layers
    inputs = keras.Input(IMAGE_SHAPE)
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = layers.RandomFlip("horizontal")(x)  # every attribute is mirror-symmetric; only in training
    x = _convolutions(x, FEATURE_LAYERS[-1])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu", name="penultimate")(x)
    outputs = layers.Dense(len(ATTRIBUTES), name="logits")(x)
    return keras.Model(inputs, outputs, name="attribute_classifier")


def _convolutions(x, last: str):
    """The stride-2 convolution blocks on [-1, 1] faces, up to the block ending in `last`."""
    layers = keras.layers
    for index, filters in enumerate((32, 64, 128, 256)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False,
                          name=f"conv{index}")(x)
        x = layers.BatchNormalization(name=f"conv{index}_norm")(x)
        x = layers.ReLU(name=FEATURE_LAYERS[index])(x)
        if FEATURE_LAYERS[index] == last:
            return x
    raise ValueError(f"no feature layer {last!r}; choose from {', '.join(FEATURE_LAYERS)}")


class AttributeClassifier:
    """A trained classifier. Calling it gives penultimate features.

    Attributes:
        model: The Keras model (logits, one per name in `names`).
        names: The attributes, in output order (`ATTRIBUTES`).
        heldout_accuracy: Accuracy per attribute on the held-out faces.
        majority_accuracy: Per attribute, the held-out accuracy of always
            answering its more frequent value (what a useless classifier gets).
        heldout_images: How many held-out faces those figures come from.
        identity: `attribute-classifier:v<VERSION>:<sha256 of the weights>`.
        weights_path: The weights file it was loaded from.
    """

    def __init__(self, model: keras.Model, info: dict, weights_sha256: str, weights_path: str):
        self.model = model
        self.names = ATTRIBUTES
        self.heldout_accuracy = dict(info["heldout_accuracy"])
        self.majority_accuracy = dict(info["majority_accuracy"])
        self.heldout_images = info["heldout_images"]
        self.identity = f"attribute-classifier:v{VERSION}:{weights_sha256}"
        self.weights_path = weights_path
        self._features = keras.Model(model.inputs[0], model.get_layer("penultimate").output)

    def index(self, name: str) -> int:
        """The output index of attribute `name`.

        Raises:
            DataError: naming the known attributes, for an unknown one.
        """
        if name not in self.names:
            raise DataError(f"unknown CelebA attribute {name!r}; known: {', '.join(self.names)}")
        return self.names.index(name)

    def probabilities(self, images, batch_size: int = 500) -> np.ndarray:
        """Probability of each attribute, `[n, 40]`, for uint8-range faces."""
        logits = batched(lambda b: self.model(np.asarray(b, np.float32), training=False),
                         images, batch_size, "attribute classifier")
        return 1.0 / (1.0 + np.exp(-logits))

    def __call__(self, images, label: str = "attribute classifier features",
                 batch_size: int = 500) -> np.ndarray:
        return batched(lambda b: self._features(np.asarray(b, np.float32), training=False),
                       images, batch_size, label).astype(np.float32)


def _celeba(data_dir: str) -> DataConfig:
    return DataConfig(dataset="celeba", data_dir=data_dir, attributes=ATTRIBUTES)


def _train_arrays(data_dirs: Sequence[str], max_images: int | None):
    parts = [data.split_arrays(_celeba(d), "train") for d in data_dirs]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts]).astype(np.float32)
    if max_images is not None:
        images, labels = images[:max_images], labels[:max_images]
    return images, labels


def heldout_accuracy(model: keras.Model, images, labels) -> tuple[np.ndarray, np.ndarray]:
    """Per-attribute accuracy of `model` on labelled faces, and of the majority answer."""
    logits = model.predict(np.asarray(images, np.float32), batch_size=500, verbose=0)
    truth = np.asarray(labels) > 0.5
    accuracy = np.mean((logits > 0) == truth, axis=0)
    rate = truth.mean(axis=0)
    return accuracy, np.maximum(rate, 1.0 - rate)


def train_classifier(data_dirs: Sequence[str], heldout_dir: str, epochs: int = EPOCHS,
                     max_train_images: int | None = None, log=print) -> tuple[keras.Model, dict]:
    """Trains the classifier (seeded) and measures it on the held-out faces.

    Returns:
        The model and a dict of its figures (`heldout_accuracy`,
        `majority_accuracy` by attribute, `train_images`, `heldout_images`).
    """
    keras.utils.set_random_seed(SEED)
    # The held-out faces first: a folder without them fails before any training.
    heldout_images, heldout_labels = data.split_arrays(_celeba(heldout_dir), "heldout")
    images, labels = _train_arrays(data_dirs, max_train_images)
    model = build_classifier()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    log(f"Training the CelebA attribute classifier on {len(images)} faces ({epochs} epochs, "
        "once; cached afterwards)")
    model.fit(images.astype(np.float32), labels, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
              shuffle=True)
    accuracy, majority = heldout_accuracy(model, heldout_images, heldout_labels)
    return model, {
        "heldout_accuracy": dict(zip(ATTRIBUTES, map(float, accuracy))),
        "majority_accuracy": dict(zip(ATTRIBUTES, map(float, majority))),
        "train_images": int(len(images)), "heldout_images": int(len(heldout_images)),
    }


def _cache_key(data_dirs, heldout_dir, epochs, max_train_images) -> str:
    recipe = json.dumps({"version": VERSION, "seed": SEED, "epochs": epochs,
                         "max_train_images": max_train_images,
                         "train": [os.path.abspath(d) for d in data_dirs],
                         "heldout": os.path.abspath(heldout_dir)}, sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:24]


def _record_problem(record: dict) -> str | None:
    figures = [record[key][name] for key in ("heldout_accuracy", "majority_accuracy")
               for name in ATTRIBUTES]
    if not isinstance(record["heldout_images"], int) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
            for v in figures):
        return "accuracies that are not numbers in [0, 1]"
    return None


def load_classifier(data_dirs: Sequence[str], heldout_dir: str | None = None,
                    epochs: int = EPOCHS, max_train_images: int | None = None,
                    cache_root: str | None = None, log=print) -> AttributeClassifier:
    """The cached classifier for these folders, training and caching it first if needed.

    Args:
        data_dirs: CelebA folders whose `train` faces it learns from
            (e.g. the shared 178x218 and 89x109 folders together).
        heldout_dir: The CelebA folder whose `heldout` faces measure it;
            default the first of `data_dirs`.
        epochs: Passes over the training faces.
        max_train_images: Learn from only the first this many (quick tests).
        cache_root: The kgan cache; default `$KGAN_CACHE_DIR` or ~/.cache/kgan.
        log: Progress output.

    Raises:
        DataError: if the folders cannot be read, the trained classifier
            does not beat the majority answer on average, or the cached weights
            or their record are damaged.
    """
    if not data_dirs:
        raise DataError("the attribute classifier needs at least one CelebA folder to learn from")
    heldout_dir = heldout_dir or data_dirs[0]
    folder = os.path.join(cache_root or cache_dir(), "attribute_classifier")
    key = _cache_key(data_dirs, heldout_dir, epochs, max_train_images)
    weights = os.path.join(folder, f"v{VERSION}-{key}.weights.h5")
    info_path = weights.replace(".weights.h5", ".json")
    if not (os.path.exists(weights) and os.path.exists(info_path)):
        model, info = train_classifier(data_dirs, heldout_dir, epochs, max_train_images, log)
        mean, floor = (float(np.mean(list(info[k].values())))
                       for k in ("heldout_accuracy", "majority_accuracy"))
        if mean <= floor:
            raise DataError(f"the attribute classifier reached {mean:.3f} mean held-out accuracy, "
                            f"no better than always answering the majority ({floor:.3f})")
        weights_cache.store(model, weights, info_path, {
            **info, "version": VERSION, "epochs": epochs, "seed": SEED,
            "train": [os.path.abspath(d) for d in data_dirs],
            "heldout": os.path.abspath(heldout_dir)})
        log(f"Attribute classifier: {mean:.3f} mean held-out accuracy over {len(ATTRIBUTES)} "
            f"attributes (majority answer {floor:.3f}), cached in {folder}")
    return from_weights(weights)


def from_weights(weights_path: str) -> AttributeClassifier:
    """The classifier in a weights file `load_classifier` cached (its JSON
    record beside it, `<name>.json` for `<name>.weights.h5`).

    Raises:
        DataError: if the path is not such a file, either file is missing,
            or either is damaged.
    """
    if not weights_path.endswith(".weights.h5"):
        raise DataError(f"{weights_path!r} is not an attribute classifier weights file "
                        "(*.weights.h5, as kgan caches them under attribute_classifier/)")
    record_path = weights_path[:-len(".weights.h5")] + ".json"
    for path in (weights_path, record_path):
        if not os.path.isfile(path):
            raise DataError(f"no attribute classifier file {path}")
    model = build_classifier()
    info, sha = weights_cache.restore(model, weights_path, record_path, "attribute classifier",
                                      _record_problem)
    return AttributeClassifier(model, info, sha, weights_path)


def feature_network(classifier: AttributeClassifier, layer: str) -> keras.Model:
    """The classifier's convolutions up to `layer` (one of `FEATURE_LAYERS`),
    frozen, on [-1, 1] faces of any size: `[n, h, w, 3]` -> `[n, h/2^k, w/2^k, c]`.

    The same weights as the classifier (which sees uint8-range 64x64 faces
    and rescales them to [-1, 1] first); at other sizes the filters respond
    to the same edges and textures at another scale of the face.

    Raises:
        ValueError: for an unknown `layer`.
    """
    inputs = keras.Input((None, None, 3))
    network = keras.Model(inputs, _convolutions(inputs, layer),
                          name=f"attribute_classifier_{layer}")
    for part in network.layers[1:]:
        part.set_weights(classifier.model.get_layer(part.name).get_weights())
    network.trainable = False
    return network
