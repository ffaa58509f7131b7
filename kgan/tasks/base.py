"""The base of every kgan task: a `keras.Model` whose `train_step` plays one game.

A task (a GAN family) owns:

* its networks and players: each player is a set of networks updated by one
  optimizer (`players`); optimizers come in through `compile`;
* its update phases, in order (`phases`): the players' updates, and
  optional regularization phases run every N steps (StyleGAN2's lazy
  regularization, Karras et al. 2020, Sec. 4: the penalty's weight is
  multiplied by N);
* its named, weighted loss terms per player (`player_loss`), each logged on
  its own beside the player's total;
* `checkpoint_items()`: whatever a checkpoint holds (any number of
  networks, optimizers and averaged copies) and `serving_items()`, the part a
  loader restores to sample;
* what a preview shows (`preview`), its serving spec (`serving_spec`), the
  evaluation metrics that apply (`EVALUATION_METRICS`) and its data
  (`load_data`, whose batches are dicts with a declared element spec).

The run loop (`kgan.training`), checkpoints, export, evaluation and
`generate.py` speak only this interface. A family adds a subclass (usually
one file under `kgan/tasks/`) and one line in `kgan.tasks.TASKS`.

Shared mechanics live here once: the step counter that keys all noise
(stateless Philox, so resume needs no random state), each replica's share of
the global batch under a `tf.distribute` strategy (so R replicas compute the
single-device update), loss scaling for float16, the non-finite guard's
counter, and returning rank-1 values to MultiWorkerMirroredStrategy.
"""

import dataclasses
from typing import Any, Callable, ClassVar, Optional

import keras
import numpy as np
import tensorflow as tf

from kgan.config import Config
from kgan.errors import ConfigError

# The metric counting steps with non-finite losses or weights.
NONFINITE_STEPS = "nonfinite_steps"


def all_finite(tensors) -> tf.Tensor:
    """Whether every element of every (floating-point) tensor is finite."""
    checks = [tf.reduce_all(tf.math.is_finite(t)) for t in map(tf.convert_to_tensor, tensors)
              if t.dtype.is_floating]
    return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One part of a training step.

    Attributes:
        name: For logs and errors (`D`, `G`, `Dreg`, ...).
        run: `fn(batch) -> list of scalar losses`; makes its player's update
            and tracks its metrics. The losses feed the non-finite guard.
        every: Run on steps whose number is a multiple of this (1: every
            step). A lazy phase is responsible for weighting its loss by
            `every`, so its average contribution matches an eager one. It
            runs under `tf.cond` in each replica, where a strategy with
            several replicas cannot synchronize them (an optimizer update
            does): such runs refuse lazy phases. A lazy term inside an
            update (`LatentGAN`'s penalties) has no such limit.
    """

    name: str
    run: Callable[[dict], list]
    every: int = 1


@dataclasses.dataclass(frozen=True)
class TaskData:
    """One split of a task's data, held in memory.

    Attributes:
        arrays: Named arrays with the examples along the first axis (e.g.
            uint8 `image` and int64 `label`, or float32 `points`).
        num_examples: Rows in each array.
        source: Where the examples came from, for logs.
        element_spec: `{name: tf.TensorSpec}` of one batch as the task's
            `train_step` reads it (batch dimension None).
        transform: `fn(dict of gathered rows) -> batch dict` (scaling,
            label encoding), run inside the tf.data pipeline.
        noun: What one example is called in logs (`images`, `points`).
    """

    arrays: dict
    num_examples: int
    source: str
    element_spec: dict
    transform: Callable[[dict], dict]
    noun: str = "examples"


@dataclasses.dataclass(frozen=True)
class Preview:
    """What a task shows of its progress: one RGB or grayscale uint8 picture,
    and optional names of its rows (a conditional grid's labels)."""

    image: np.ndarray
    row_names: Optional[list] = None


@dataclasses.dataclass(frozen=True)
class LatentServing:
    """A task served as `latent (+ labels) -> sample`: the noise-to-X families.

    Export builds the SavedModel signatures (`serving_default`: latents;
    `generate_from_seed`: int64 seeds), the TFLite models and their
    verification from this; evaluation and `generate.py` sample through it.

    Attributes:
        network: Name (in `serving_items`) of the network that maps latents
            (and label vectors) to samples.
        latent_dim: Size of the standard-normal latent.
        output_key: Name of the served output (`images`, `points`).
        output_shape: Shape of one served sample.
        output_dtype: Served dtype (`uint8` images, `float32` points).
        to_output: Network output (float) -> served output, built from
            TensorFlow ops (it runs inside the signatures and TFLite).
        unit: What output differences are measured in, for verification.
        tolerance: Largest difference a float32 TFLite conversion may show
            against the SavedModel (in `unit`).
        label_kind: `class` or `multi_hot` for a conditional network, else None.
        label_names: The labels' names, in vector order.
        kind: `image` when outputs are pictures (FID, grids apply), else a
            family-specific word (`points`).
        classifier: A classifier served beside generation (the
            semi-supervised GAN's discriminator), or None.
    """

    network: str
    latent_dim: int
    output_key: str
    output_shape: tuple
    output_dtype: str
    to_output: Callable[[tf.Tensor], tf.Tensor]
    unit: str
    tolerance: float
    label_kind: Optional[str] = None
    label_names: Optional[tuple] = None
    kind: str = "image"
    classifier: Optional["ClassifierServing"] = None

    @property
    def num_labels(self) -> int:
        return len(self.label_names) if self.label_kind else 0


@dataclasses.dataclass(frozen=True)
class ClassifierServing:
    """A classifier a latent task serves beside generation: uint8 images in,
    class probabilities out (the export's `classify` signature).

    Attributes:
        network: Name (in `serving_items`) of the network: images in its
            input range -> class logits `[batch, K]`.
        image_shape: Shape of one input image.
        class_names: The classes' names, in logit order.
        to_input: uint8 images -> the network's input, built from TensorFlow
            ops (it runs inside the signature).
    """

    # The export's signature and its output, by name (part of the export format).
    SIGNATURE: ClassVar[str] = "classify"
    OUTPUT: ClassVar[str] = "probabilities"

    network: str
    image_shape: tuple
    class_names: tuple
    to_input: Callable[[tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Direction:
    """One direction of an image-to-image task's serving.

    Attributes:
        signature: The SavedModel signature serving it (`serving_default`
            for the first direction).
        network: Name (in `serving_items`) of the network that translates.
        source: What its inputs show, for logs and `export.json`
            (`grayscale faces`, `-Male`).
        target: What its outputs show (`colour faces`, `Male`).
    """

    signature: str
    network: str
    source: str
    target: str


@dataclasses.dataclass(frozen=True)
class TranslationServing:
    """A task served as `uint8 image -> uint8 image`: the image-to-image families.

    Every direction takes uint8 RGB images `[batch, *image_shape]` and
    returns uint8 RGB images of the same shape, or `scale` times larger
    (super-resolution). Export builds a signature per
    direction (the first is also `serving_default`), its TFLite models and
    their verification from this; evaluation and `generate.py
    --mode=translate` translate through it.

    Attributes:
        directions: The served directions, the default first.
        image_shape: (height, width, 3) of served inputs; (None, None, 3)
            for inputs of any size.
        to_input: uint8 RGB images -> the network's input (float in
            [-1, 1], the network's channels: one for a grayscale or sketch
            input), built from TensorFlow ops (it runs inside the signatures
            and TFLite).
        to_output: Network output (float in [-1, 1]) -> uint8 RGB images.
        unit: What output differences are measured in, for verification.
        tolerance: Largest difference a float32 TFLite conversion may show
            against the SavedModel (in `unit`).
        scale: Output sides per input side (1: the same size).
        tflite_image_shape: The fixed input shape of the TFLite models when
            `image_shape` has any size (TFLite plans its buffers for one).
        max_input_pixels: The largest input image (height x width) a spec of
            any size takes; larger requests are refused, not attempted (a
            2048x2048 input enlarged 4x is 200 MB of output).
    """

    directions: tuple
    image_shape: tuple
    to_input: Callable[[tf.Tensor], tf.Tensor]
    to_output: Callable[[tf.Tensor], tf.Tensor]
    unit: str = "uint8 pixel levels (0..255)"
    tolerance: float = 1
    scale: int = 1
    tflite_image_shape: Optional[tuple] = None
    max_input_pixels: int = 2048 * 2048
    input_key: ClassVar[str] = "images"
    output_key: ClassVar[str] = "images"
    output_dtype: ClassVar[str] = "uint8"
    kind: ClassVar[str] = "image"
    # Nothing is sampled from noise: a loader or the loop asking for a
    # latent size gets 0.
    latent_dim: ClassVar[int] = 0
    num_labels: ClassVar[int] = 0

    @property
    def network(self) -> str:
        """The default direction's network."""
        return self.directions[0].network

    @property
    def any_size(self) -> bool:
        """Whether inputs may have any height and width."""
        return self.image_shape[0] is None

    @property
    def output_shape(self) -> tuple:
        return self.scaled(self.image_shape)

    def scaled(self, input_shape) -> tuple:
        """The output shape `(height, width, 3)` of inputs of `input_shape`."""
        height, width, channels = input_shape[-3:]
        return (None if height is None else height * self.scale,
                None if width is None else width * self.scale, channels)

    def direction(self, signature: str) -> Direction:
        """The direction served by `signature` (ConfigError listing them otherwise)."""
        for direction in self.directions:
            if direction.signature == signature:
                return direction
        raise ConfigError(f"no direction {signature!r}; this task serves "
                         f"{', '.join(d.signature for d in self.directions)}")


def _tf_variable(variable):
    """The TensorFlow variable under a Keras variable (the distributed one
    under a strategy)."""
    return getattr(variable, "value", variable) if isinstance(variable, keras.Variable) \
        else variable


class PlayerOptimizers:
    """A task's `model.optimizer`: its players' optimizers, in `PLAYERS`
    order, under the `optimizers` attribute that Keras's learning-rate
    callbacks (`LearningRateScheduler`, `ReduceLROnPlateau`) and its
    TensorBoard callback read for a model with several. A schedule is then
    applied to every player's rate, each from its own current value, so a
    multiplicative schedule keeps the players' ratio (TTUR).

    There is no single `learning_rate`: reading or setting one raises
    instead of driving an optimizer that trains nothing. After a non-finite
    rollback, the loop sets every rate to its configured value times the
    rollback scale (`Task.set_learning_rate_scale`), replacing a schedule's.
    """

    built = True

    def __init__(self, task: "Task"):
        self._task = task
        self.optimizers = [task.optimizers[player] for player in task.PLAYERS]

    @property
    def iterations(self):
        """The task's step counter (every optimizer steps at most once per step)."""
        return self._task.step_counter

    @property
    def variables(self) -> list:
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    @property
    def learning_rate(self):
        raise AttributeError(self._no_single_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError(self._no_single_rate())

    def _no_single_rate(self) -> str:
        return (f"{type(self._task).__name__} has one optimizer per player "
                f"({', '.join(self._task.PLAYERS)}): set "
                f"task.optimizers[player].learning_rate, or use a Keras learning-rate "
                f"callback, which drives every player's rate")


class Task(keras.Model):
    """Base class of the GAN families (see the module docstring).

    Subclasses set `NAME`, `PLAYERS` (player -> names of its networks, in
    update order) and `METRICS` (names logged, in console order), build
    their networks before calling `super().__init__`, and implement
    `phases()`. The class methods describe the family without building it.

    Args:
        networks: `{name: keras.Model}`; each becomes an attribute of that name.
        seed: Seed of all of the task's noise.
        **kwargs: Standard `keras.Model` arguments.
    """

    NAME: ClassVar[str] = ""
    PLAYERS: ClassVar[dict] = {}
    METRICS: ClassVar[tuple] = ()
    EVALUATION_METRICS: ClassVar[tuple] = ()
    # Console labels of metrics whose logged name is not what users expect.
    METRIC_LABELS: ClassVar[dict] = {}
    # How the trained task is used: `latent` (sampled from noise:
    # `LatentServing`) or `translation` (images in, images out:
    # `TranslationServing`); tools that load runs choose their path by it
    # without building the task.
    SERVING: ClassVar[str] = "latent"
    # A task that keeps a moving average of a network's weights serves the
    # average unless a loader sets this.
    serve_raw_weights: bool = False

    def __init__(self, networks: dict, seed: int = 0, metric_names: Optional[tuple] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.network_names = tuple(networks)
        for name, network in networks.items():
            setattr(self, name, network)
        self.seed = int(seed)
        # Steps so far: keys the noise and is the step a checkpoint is written
        # at. Updated once per step, by the first replica.
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False,
                                           aggregation="only_first_replica", name="step")
        # What this instance logs, in console order: the class's METRICS, or
        # more when options add loss terms (e.g. a regularizer's `d_r1`).
        self.metric_names = tuple(metric_names or self.METRICS)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        # Steps since the last metrics reset whose losses or updated weights
        # were not all finite (read by the training loop's guard).
        self.nonfinite_tracker = keras.metrics.Sum(name=NONFINITE_STEPS)
        self.optimizers = {}
        self.loss_weights = {}
        # Python runs `train_step` only while tracing it (unless run eagerly),
        # so this counts traces: it must not grow with the number of steps.
        self.train_step_traces = 0

    # ----- the family, described without building it -----

    @classmethod
    def resolve(cls, config: Config) -> Config:
        """Fills in what the data determines and checks the config fits the task.

        Raises:
            ConfigError: for settings the task cannot train.
        """
        raise NotImplementedError

    @classmethod
    def load_data(cls, config: Config, split: str = "train") -> TaskData:
        """One split of the task's data (resolved config)."""
        raise NotImplementedError

    @classmethod
    def evaluation_split(cls, config: Config) -> str:
        """The held-out split samples are compared with by default."""
        raise NotImplementedError

    @classmethod
    def build(cls, config: Config, synchronized_batch_norm: bool = False) -> "Task":
        """The task with fresh networks (under the current strategy scope and
        dtype policy), not yet compiled: loaders restore `serving_items` into it."""
        raise NotImplementedError

    @classmethod
    def describe(cls, config: Config) -> str:
        """What the run trains, for its start-up line."""
        return f"task {cls.NAME} on {config.data.dataset}"

    @classmethod
    def examples_per_step(cls, config: Config) -> int:
        """Examples one training step reads (the pipeline's batch size)."""
        return config.train.batch_size

    @classmethod
    def min_examples_per_step(cls, config: Config) -> int:
        """The smallest final partial batch a step can use."""
        return 1

    # ----- training -----

    def compile(self, *, optimizers: dict, loss_weights: Optional[dict] = None, **kwargs):
        """Configures training.

        Arguments are keyword-only: keras-io's GAN examples take
        `compile(d_optimizer, g_optimizer, loss_fn)`, and a positional call
        in another order would train each player with the other's optimizer.

        Args:
            optimizers: `{player: optimizer}` for every player in `PLAYERS`.
            loss_weights: `{(player, term): weight}`; terms not named weigh 1.
            **kwargs: Passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`); not `optimizer`, `loss` or `metrics`,
                which the task's own players and loss terms replace.
        """
        foreign = sorted({"optimizer", "loss", "metrics"} & set(kwargs))
        if foreign:
            raise TypeError(f"{type(self).__name__}.compile takes no {', '.join(foreign)}: "
                            f"pass optimizers={{player: optimizer}} for players "
                            f"{', '.join(self.PLAYERS)}; the losses are the task's own")
        if not isinstance(optimizers, dict):
            raise TypeError(f"optimizers must be a dict {{player: optimizer}} for players "
                            f"{', '.join(self.PLAYERS)}, got {type(optimizers).__name__}")
        unknown = sorted(set(optimizers) - set(self.PLAYERS))
        if unknown:
            raise ValueError(f"optimizers for unknown player(s) {', '.join(unknown)} "
                             f"(players: {', '.join(self.PLAYERS)})")
        missing = sorted(set(self.PLAYERS) - set(optimizers))
        if missing:
            raise ValueError(f"no optimizer for player(s) {', '.join(missing)}")
        # Keras's compile reads `self.optimizer` (to wrap it for float16):
        # until this compile is done there is none.
        self.optimizers = {}
        super().compile(**kwargs)
        self.optimizers = dict(optimizers)
        self.loss_weights = dict(loss_weights or {})
        # Optimizer slots are created now, eagerly: created lazily inside the
        # traced step they break under tf.distribute, and they must exist
        # before a checkpoint can be restored into them.
        for player, optimizer in self.optimizers.items():
            optimizer.build(self.player_variables(player))
        # The networks are built; without this, `fit` under a strategy
        # would trace `call` on a data batch to build the model.
        self.built = True

    @property
    def optimizer(self):
        """Every player's optimizer, as Keras's callbacks expect of a model
        with several (`PlayerOptimizers`); None before `compile`."""
        return PlayerOptimizers(self) if getattr(self, "optimizers", None) else None

    @optimizer.setter
    def optimizer(self, value):
        # keras.Model sets its single optimizer (compile's default RMSprop);
        # a task has one per player, so that one is never built or stepped.
        pass

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a strategy, Keras's `fit` first reduces one distributed batch
        # to build the model symbolically; its reduce takes one tensor, not a
        # dict of them (MultiWorkerMirroredStrategy fails on a batch dict).
        # `compile` has built every network and optimizer slot: nothing is
        # left to build, so the batch is not needed.
        if self.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def player_variables(self, player: str) -> list:
        return [v for name in self.PLAYERS[player]
                for v in getattr(self, name).trainable_variables]

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def learning_rates(self) -> dict:
        """`{player: learning rate}` from the config, before any rollback scaling."""
        raise NotImplementedError

    def set_learning_rate_scale(self, scale: float) -> None:
        """Sets every optimizer's learning rate to its configured rate x `scale`.

        Learning rates are part of a checkpoint's optimizer state; after a
        restore they are set again, so a resumed run trains with the rates
        its config (and its rollbacks) say.
        """
        for player, rate in self.learning_rates().items():
            self.optimizers[player].learning_rate = rate * scale

    @property
    def metrics(self):
        return [*self.trackers.values(), self.nonfinite_tracker]

    def track(self, name: str, value) -> None:
        self.trackers[name].update_state(value)

    def replica_share(self, batch_size):
        """(this replica's first row in the global batch, global batch size)."""
        context = tf.distribute.get_replica_context()
        batch_size = tf.cast(batch_size, tf.int64)
        if context is None or context.num_replicas_in_sync == 1:
            return tf.constant(0, tf.int64), batch_size
        sizes = context.all_gather(tf.reshape(batch_size, [1]), axis=0)
        return tf.reduce_sum(sizes[:context.replica_id_in_sync_group]), tf.reduce_sum(sizes)

    def noise_seed(self, key, stream: int = 0) -> tf.Tensor:
        """The Philox seed of noise `key` of one of the task's independent
        noise streams (latents are stream 0; a family numbers its others)."""
        return tf.stack([tf.constant(self.seed + (stream << 32), tf.int64),
                         tf.cast(key, tf.int64)])

    def noise(self, batch_size, shape: tuple, key, stream: int = 0,
              distribution: str = "normal") -> tf.Tensor:
        """`[batch_size, *shape]` noise (standard `normal` or `uniform` in
        [0, 1)) keyed by (`seed`, `stream`, `key`); under a strategy, this
        replica's rows of the global batch's noise."""
        seed = self.noise_seed(key, stream)
        offset, total = self.replica_share(batch_size)
        full_shape = tf.concat([[total], tf.constant(shape, tf.int64)], 0)
        draw = (tf.random.stateless_normal if distribution == "normal"
                else tf.random.stateless_uniform)
        values = draw(full_shape, seed=seed, alg="philox")
        return values[offset:offset + tf.cast(batch_size, tf.int64)]

    def player_loss(self, player: str, terms: dict, batch_size, track_terms=None):
        """A player's total loss and what to differentiate; call inside the tape.

        The total is the weighted sum of the named terms. What is
        differentiated is the total weighted by this replica's share of the
        global batch (gradients are summed across replicas, so the sum is the
        global mean) and scaled by the optimizer (loss scaling under float16).
        The total is tracked as `<player>_loss` and each term as
        `<player>_<term>`: all of them when there are several, or those
        `track_terms` names (a collection of term names).

        Returns:
            (total, differentiated).
        """
        total = None
        for name, value in terms.items():
            weight = self.loss_weights.get((player, name), 1.0)
            weighted = value if weight == 1.0 else value * weight
            total = weighted if total is None else total + weighted
        _, global_size = self.replica_share(batch_size)
        share = tf.cast(batch_size, tf.float32) / tf.cast(global_size, tf.float32)
        differentiated = self.optimizers[player].scale_loss(total * share)
        self.track(f"{player}_loss", total)
        if track_terms is None:
            track_terms = terms if len(terms) > 1 else ()
        for name in track_terms:
            self.track(f"{player}_{name}", terms[name])
        return total, differentiated

    def update_average(self, average: keras.Model, source: keras.Model, decay) -> None:
        """`average <- source + decay * (average - source)` for every weight
        (trainable and not: BatchNorm statistics are averaged too).

        Written from the cross-replica context, as optimizers write their
        variables, so it works in a replica under any strategy; every
        replica holds the same `source` after a synchronous update.
        """
        pairs = list(zip(average.weights, source.weights))

        def assign_all(strategy, decay):
            for target, value in pairs:
                strategy.extended.update(
                    _tf_variable(target),
                    lambda t, v, d: t.assign(v + tf.cast(d, t.dtype) * (t - v)),
                    args=(_tf_variable(value), decay))

        tf.distribute.get_replica_context().merge_call(assign_all, args=(decay,))

    def apply_update(self, player: str, tape: tf.GradientTape, differentiated) -> None:
        variables = self.player_variables(player)
        gradients = tape.gradient(differentiated, variables)
        # A term may not reach every variable (R1 never reaches the logit's
        # bias); those variables are left alone instead of warned about.
        self.optimizers[player].apply_gradients(
            [(g, v) for g, v in zip(gradients, variables) if g is not None])

    def train_step(self, data):
        self.train_step_traces += 1
        step_losses = []
        for phase in self.phases():
            if phase.every == 1:
                step_losses.extend(phase.run(data))
                continue

            if self.distribute_strategy.num_replicas_in_sync > 1:
                raise ValueError(
                    f"phase {phase.name} runs every {phase.every} steps under tf.cond, where "
                    f"{self.distribute_strategy.num_replicas_in_sync} replicas cannot "
                    f"synchronize; compute the lazy term under tf.cond inside an every-step "
                    f"update instead")

            def run_phase(phase=phase):
                losses = phase.run(data)
                return tf.add_n([tf.cast(loss, tf.float32) for loss in losses])

            step_losses.append(tf.cond(tf.equal(self.step_counter % phase.every, 0), run_phase,
                                       lambda: tf.constant(0.0)))
        self.step_counter.assign_add(1)
        weights = [w for name in self.network_names for w in getattr(self, name).weights]
        finite = tf.logical_and(all_finite(step_losses), all_finite(weights))
        self.nonfinite_tracker.update_state(1.0 - tf.cast(finite, "float32"))
        results = {m.name: m.result() for m in self.metrics}
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages each returned value across workers along axis 0,
            # which a scalar lacks; callbacks still receive plain numbers.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    # ----- what is saved, shown and served -----

    def checkpoint_items(self) -> dict:
        """Everything a checkpoint holds, by name: networks, optimizers
        (`<player>_optimizer`) and the step. Names are part of the checkpoint
        format: a family must keep them to read its older checkpoints."""
        items = {name: getattr(self, name) for name in self.network_names}
        items.update({f"{player}_optimizer": optimizer
                      for player, optimizer in self.optimizers.items()})
        items["step"] = self.step_counter
        return items

    def start_added_items(self, names) -> None:
        """Starts checkpoint items a resumed run's checkpoint lacks (settings
        that add state, e.g. a weight average, were turned on when resuming).
        By default they keep their fresh initial values."""

    def serving_items(self) -> dict:
        """The part of a checkpoint a loader needs to sample."""
        raise NotImplementedError

    def serving_spec(self) -> Any:
        """How the trained task is served (e.g. a `LatentServing`)."""
        raise NotImplementedError

    def preview(self) -> Preview:
        """The run's progress picture, from inputs fixed by the seed."""
        raise NotImplementedError

    def digest_weights(self) -> list:
        """The variables a run's weights digest covers."""
        return [w for name in self.network_names for w in getattr(self, name).weights]

    def call(self, inputs, training=None):
        spec = self.serving_spec()
        return getattr(self, spec.network)(inputs, training=training)
