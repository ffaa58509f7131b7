"""The serving signatures of an exported generator, and how they treat bad requests.

These are a latent task's (`kgan.tasks.LatentServing`); an image-to-image
task's are in `kgan.export.translation`.

The signatures follow the task's serving spec (`kgan.tasks.LatentServing`):
every signature returns `{spec.output_key: spec.output_dtype [batch,
*spec.output_shape]}`, computed with BatchNorm in inference mode and mapped
by `spec.to_output`. For the image GAN that is `{"images": uint8 [batch,
height, width, channels]}` in 0..255, so a client can encode the images as PNG
directly; for the points task `{"points": float32 [batch, 2]}`. Below,
"images" stands for whatever samples the task serves.

* `serving_default`: `z` float32 `[batch, latent_dim]`, standard-normal latents.
* `generate_from_seed`: `seed` int64 `[batch]`, one sample per seed. The latent
  of seed s is `stateless_normal([latent_dim], seed=[s, 0], alg="philox")`:
  Philox is counter-based and specified bit for bit, so a seed gives the same
  sample on every call, every machine and every device type. Every int64 is a
  valid seed, -2**63 and 2**63 - 1 included.

* `serving_png`, `generate_png_from_seed` (images of 1 or 3 channels): the
  same inputs, returning `{"png_bytes": string [batch]}`, one PNG file per
  image. TF Serving's REST API sends an output named `*_bytes` as
  `{"b64": ...}`; as nested JSON integers, `images` costs about 4 bytes
  per pixel, a PNG a fraction of one byte (BUILD_NOTES, issue 20).

* `classify` (tasks that train a classifier: the semi-supervised GAN):
  `images` uint8 `[batch, height, width, channels]` in 0..255, returning
  `{"probabilities": float32 [batch, num_classes]}` (softmax of the
  classifier's logits, classes in the order `export.json` names them).
  Wrong shapes and more than `max_batch_size` images are refused as below.

A conditional generator takes a `labels` input in every signature, one row
per image: int32 class ids `[batch]` (MNIST digits), or float32 attribute
vectors `[batch, num_attributes]` (CelebA; 1 = present, 0 = absent; any
finite value is accepted, values in between give intermediate strengths).

Bad requests are refused inside the graph, before any image is generated:
TF Serving and a Python caller of `tf.saved_model.load(path).signatures[name]`
get an InvalidArgument error (`tf.errors.InvalidArgumentError`) whose message
names the input, and the process carries on serving (the fresh-process
verification before publishing checks a NaN latent and an empty batch):

* Wrong shape (a latent size other than `latent_dim`, `z` not 2-D, `seed`
  not 1-D, attribute vectors of another width, class ids not 1-D):
  "Shape of tensor z [2,17] is not compatible with expected shape [?,16]".
  A model server's session does not check a fed tensor against the
  declared shape; without this check the request would fail deep inside the
  first layer ("Matrix size-incompatible"). In Python, a NumPy array or list
  of the wrong shape fails earlier, when TensorFlow binds the call
  (TypeError "Can not cast TensorSpec(shape=(2, 17), ..., name='z') to
  TensorSpec(shape=(None, 16), ...)").
* Wrong dtype given as a tensor (int32 `z`, int32 `seed`, int64 class ids):
  refused by TensorFlow before the graph runs ("... input #0(zero-based) was
  expected to be a float tensor but is a int32 tensor"). NumPy arrays and
  lists are converted to the declared dtype (float64 latents become
  float32), as TF Serving converts JSON numbers.
* NaN or Inf in `z` or in attribute `labels`: "z must be finite (no NaN or
  Inf); rows that are not: [1 3]". Garbage images are not returned.
* Class ids outside `0..num_classes-1`: "labels must be class ids < 10",
  instead of `one_hot`'s silent blank label.
* `labels` with another number of rows than `z` or `seed`: "labels must
  have one row per z row; rows of labels, z: [3] [2]".
* More than `max_batch_size` images (default `MAX_BATCH_SIZE`) in one
  request: "a request may ask for at most 10000 images (the limit of this
  export; split the request); rows of seed: [100000]" (`points` for the
  points task: the message names `spec.output_key`), in milliseconds and
  without memory growth. Up to the cap, a batch is generated in chunks of at
  most `chunk_size` images, one after the other, so the activations in
  memory are one chunk's whatever the batch size; only the uint8 output
  grows with it (0.8 KB per MNIST image, 12 KB per 64x64 RGB image). A batch
  that fits in one chunk runs the plain graph.

An empty batch (`[0, latent_dim]` latents, `[0]` seeds) is valid and returns
`[0, *output_shape]` samples (`[0, height, width, channels]` images).

The TFLite models are converted from the bare generator (`output_function`),
without these checks or the chunking (TFLite has no Assert op, and its
runner chunks by itself); `kgan.export.tflite.generate` checks its inputs
in Python instead.
"""

import dataclasses
from typing import Callable

import tensorflow as tf

from kgan.conditioning import label_vectors
from kgan.config import ExportConfig
from kgan.tasks import ClassifierServing, LatentServing

SERVING_SIGNATURE = "serving_default"
SEED_SIGNATURE = "generate_from_seed"
PNG_SIGNATURE = "serving_png"
PNG_SEED_SIGNATURE = "generate_png_from_seed"
# TF Serving's REST API base64-encodes an output whose name ends in `_bytes`.
PNG_OUTPUT = "png_bytes"
CLASSIFY_SIGNATURE = ClassifierServing.SIGNATURE
CLASSIFY_OUTPUT = ClassifierServing.OUTPUT
# A request asking for more images than this is refused (`ExportConfig`'s
# default): 10,000 is enough for an FID sample in one call, and the uint8
# output alone is then 7.8 MB for MNIST and 123 MB for 64x64 CelebA.
MAX_BATCH_SIZE = ExportConfig.max_batch_size
# Images generated at once within one request. Throughput here peaks at
# batches of about 64-256 and falls beyond; larger chunks only add memory
# (about 0.1 MB of activations per MNIST image, 0.6 MB per 64x64 image).
CHUNK_SIZE = 256


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A serving function and the tensor specs it is traced for."""

    fn: Callable
    input_signature: list


def latents_from_seeds(seeds, latent_dim: int) -> tf.Tensor:
    """One standard-normal latent per int64 seed, reproducible anywhere."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    return tf.map_fn(
        lambda seed: tf.random.stateless_normal(
            [latent_dim], seed=tf.stack([seed, tf.zeros_like(seed)]), alg="philox"),
        seeds, fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))


def labels_spec(spec: LatentServing) -> tf.TensorSpec | None:
    """The `labels` input of a conditional generator's signatures (None if unconditional)."""
    if not spec.num_labels:
        return None
    if spec.label_kind == "class":
        return tf.TensorSpec([None], tf.int32, name="labels")
    return tf.TensorSpec([None, spec.num_labels], tf.float32, name="labels")


def describe(tensor_spec: tf.TensorSpec) -> dict:
    """A tensor spec as `export.json` gives it: dtype name and shape (None: any size)."""
    return {"dtype": tensor_spec.dtype.name,
            "shape": [None if d is None else int(d) for d in tensor_spec.shape]}


def output_spec(spec: LatentServing) -> tf.TensorSpec:
    """The served output of every signature: `[batch, *output_shape]` of `output_dtype`."""
    return tf.TensorSpec([None, *spec.output_shape], tf.as_dtype(spec.output_dtype),
                         name=spec.output_key)


def output_function(network, spec: LatentServing, head: Callable | None = None) -> Callable:
    """The bare computation, unchecked: `fn(z)`, or `fn(z, labels)` for a
    conditional generator (labels as users give them), -> served samples.
    With `head`, the samples are instead `head(network.pre_tanh(inputs))`
    (the full-int8 image end, `kgan.export.tflite`)."""
    def forward(inputs):
        if head is None:
            return spec.to_output(network(inputs, training=False))
        return head(network.pre_tanh(inputs, training=False))
    if not spec.num_labels:
        return forward
    return lambda z, labels: forward(
        [z, label_vectors(labels, spec.label_kind, spec.num_labels)])


def require(condition, message: str, *data) -> tf.Operation:
    """An Assert failing the request with InvalidArgument: `message`, then `data`."""
    return tf.debugging.Assert(condition, [message, *data], summarize=8)


def _finite_check(values, name: str) -> tf.Operation:
    finite_rows = tf.reduce_all(tf.math.is_finite(values), axis=-1)
    return require(tf.reduce_all(finite_rows),
                   f"{name} must be finite (no NaN or Inf); rows that are not:",
                   tf.cast(tf.where(tf.logical_not(finite_rows))[:, 0], tf.int32))


def _checked(inputs: dict, specs: dict, spec: LatentServing, max_batch_size: int) -> list:
    """`inputs` (by name, the batch-defining one first) in order, once every check passed."""
    names = list(inputs)
    # A model server feeds whatever shape it was sent: the declared one is not enforced.
    values = {name: tf.ensure_shape(inputs[name], specs[name].shape, name=name)
              for name in names}
    count = tf.shape(values[names[0]])[0]
    checks = [require(count <= max_batch_size,
                      f"a request may ask for at most {max_batch_size} {spec.output_key} (the "
                      f"limit of this export; split the request); rows of {names[0]}:", count)]
    if "z" in values:
        checks.append(_finite_check(values["z"], "z"))
    if "labels" in values:
        labels = values["labels"]
        rows = tf.shape(labels)[0]
        checks.append(require(tf.equal(rows, count), f"labels must have one row per "
                              f"{names[0]} row; rows of labels, {names[0]}:", rows, count))
        if spec.label_kind == "class":
            checks.append(require(tf.reduce_all(labels >= 0),
                                  "labels must be class ids >= 0, got:", labels))
            checks.append(require(tf.reduce_all(labels < spec.num_labels),
                                  f"labels must be class ids < {spec.num_labels}, got:", labels))
        else:
            checks.append(_finite_check(labels, "labels"))
    # Generation waits for the checks: nothing runs on a refused request
    # (without this, the executor could start on 100,000 images beside them).
    with tf.control_dependencies(checks):
        return [tf.identity(values[name]) for name in names]


def in_chunks(generate: Callable, inputs: list, chunk_size: int,
              output: tf.TensorSpec, empty_shape=None) -> tf.Tensor:
    """`generate(*inputs)` on consecutive row chunks of at most `chunk_size`,
    concatenated; an empty batch gets an empty result without running the
    network (TensorFlow's CPU Conv2D returns a wrongly shaped tensor for an
    empty batch, which breaks the layer after it), of `empty_shape` (a
    shape tensor; default `[0, *output.shape[1:]]`, which must be known)."""
    count = tf.shape(inputs[0])[0]

    def chunked():
        chunks = (count + chunk_size - 1) // chunk_size
        samples = tf.TensorArray(output.dtype, size=chunks, infer_shape=False,
                                 element_shape=output.shape)

        def body(i, samples):
            rows = slice(i * chunk_size, (i + 1) * chunk_size)
            return i + 1, samples.write(i, generate(*[x[rows] for x in inputs]))

        # One chunk at a time: parallel iterations would hold several chunks' activations.
        _, samples = tf.while_loop(lambda i, _: i < chunks, body, [0, samples],
                                   parallel_iterations=1)
        return samples.concat()

    def empty():
        return tf.zeros([0, *output.shape[1:]] if empty_shape is None else empty_shape,
                        output.dtype)

    return tf.cond(count == 0, empty,
                   lambda: tf.cond(count <= chunk_size, lambda: generate(*inputs), chunked))


def endpoints(network, spec: LatentServing, max_batch_size: int = MAX_BATCH_SIZE,
              chunk_size: int = CHUNK_SIZE) -> dict[str, Endpoint]:
    """The signatures of `network`, served as `spec` says, by signature name.

    Args:
        network: The Keras network named by `spec.network` (the generator).
        spec: The task's serving spec.
        max_batch_size: The most samples one request may ask for.
        chunk_size: The most samples generated at once within a request.
    """
    latent_dim = spec.latent_dim
    specs = {"z": tf.TensorSpec([None, latent_dim], tf.float32, name="z"),
             "seed": tf.TensorSpec([None], tf.int64, name="seed")}
    label_spec = labels_spec(spec)
    if label_spec is not None:
        specs["labels"] = label_spec
    output = output_spec(spec)
    samples = output_function(network, spec)

    def from_seeds(seed, *labels):
        return samples(latents_from_seeds(seed, latent_dim), *labels)

    def serve(generate, **inputs):
        checked = _checked(inputs, specs, spec, max_batch_size)
        return {spec.output_key: in_chunks(generate, checked, chunk_size, output)}

    def finish(served, png: bool):
        return {PNG_OUTPUT: encode_png(served[spec.output_key])} if png else served

    # Named parameters, not *args: a restored function binds keyword
    # arguments by them (`TFSMLayer(...)(z, labels=...)`).
    def endpoint(generate, first_input: str, png: bool) -> Endpoint:
        if label_spec is None:
            if first_input == "z":
                def fn(z):
                    return finish(serve(generate, z=z), png)
            else:
                def fn(seed):
                    return finish(serve(generate, seed=seed), png)
            return Endpoint(fn, [specs[first_input]])
        if first_input == "z":
            def fn(z, labels):
                return finish(serve(generate, z=z, labels=labels), png)
        else:
            def fn(seed, labels):
                return finish(serve(generate, seed=seed, labels=labels), png)
        return Endpoint(fn, [specs[first_input], label_spec])

    table = {SERVING_SIGNATURE: endpoint(samples, "z", png=False),
             SEED_SIGNATURE: endpoint(from_seeds, "seed", png=False)}
    if serves_png(spec):
        table.update({PNG_SIGNATURE: endpoint(samples, "z", png=True),
                      PNG_SEED_SIGNATURE: endpoint(from_seeds, "seed", png=True)})
    return table


def classify_endpoint(network, classifier: ClassifierServing,
                      max_batch_size: int = MAX_BATCH_SIZE) -> Endpoint:
    """The `classify` signature of `network` (the classifier `classifier` names)."""
    image_spec = tf.TensorSpec([None, *classifier.image_shape], tf.uint8, name="images")

    def fn(images):
        images = tf.ensure_shape(images, image_spec.shape, name="images")
        count = tf.shape(images)[0]
        check = require(count <= max_batch_size,
                        f"a request may classify at most {max_batch_size} images (the limit of "
                        f"this export; split the request); rows of images:", count)
        with tf.control_dependencies([check]):
            logits = network(classifier.to_input(tf.identity(images)))
        return {CLASSIFY_OUTPUT: tf.nn.softmax(tf.cast(logits, tf.float32))}

    return Endpoint(fn, [image_spec])


def classify_output_spec(classifier: ClassifierServing) -> tf.TensorSpec:
    return tf.TensorSpec([None, len(classifier.class_names)], tf.float32, name=CLASSIFY_OUTPUT)


def serves_png(spec: LatentServing) -> bool:
    """Whether the export has the PNG signatures: uint8 images of 1 or 3 channels."""
    return (spec.kind == "image" and spec.output_dtype == "uint8"
            and spec.output_shape[-1] in (1, 3))


def encode_png(images: tf.Tensor) -> tf.Tensor:
    """uint8 `[batch, height, width, channels]` -> string `[batch]` of PNG files."""
    return tf.map_fn(tf.io.encode_png, images,
                     fn_output_signature=tf.TensorSpec([], tf.string))
