"""Vector arithmetic on the latent space, with samples labelled by a classifier.

Radford et al. 2016 (DCGAN, section 6.3) showed that averaged latents
behave like concepts: "smiling woman - neutral woman + neutral man" gives a
smiling man. Here a concept vector is the mean latent of generated samples a
classifier judges to have an attribute minus the mean latent of those it
judges not to, optionally within a group ("smiling woman - neutral woman":
the attribute `Smiling` measured on the group `-Male`). So nothing is picked
by hand, and the same classifier then judges the result: adding the vector to
fresh samples of another group ("neutral man") should give that group with
the attribute ("smiling man"). The success rate is reported against adding a
random direction of the same length, which shows how much of the change the
concept vector itself explains.

If the generator were linear in an attribute (the attribute present exactly
when `z . u > 0` for a unit `u`), the concept vector would be
`2 E|z . u| u = 2 sqrt(2 / pi) u`, about `1.6 u`, for standard-normal
latents; the tests plant such a direction in a toy generator and recover it.
"""

import dataclasses
from typing import Callable

import numpy as np

from kgan.errors import ConfigError
from kgan.latent.seeds import generate_in_batches

# Fewer samples than this in a group make its mean latent mostly noise.
MIN_GROUP_SAMPLES = 10

Condition = tuple[tuple[str, bool], ...]  # (("Smiling", True), ("Male", False)): all must hold


def parse_condition(text: str) -> Condition:
    """`"Smiling,-Male"` -> `(("Smiling", True), ("Male", False))`; `""` -> `()` (everyone)."""
    condition = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        present = not item.startswith("-")
        name = item.lstrip("+-")
        if not name:
            raise ConfigError(f"condition {text!r} has an empty attribute name")
        condition.append((name, present))
    return tuple(condition)


def describe(condition: Condition) -> str:
    """The text form `parse_condition` reads; `everyone` for the empty condition."""
    return ",".join(name if present else f"-{name}" for name, present in condition) or "everyone"


@dataclasses.dataclass(frozen=True)
class Judge:
    """Labels images with a classifier, by name.

    Attributes:
        names: What it recognizes (attributes, or classes).
        exclusive: Classes, one per image (the most probable counts as
            present), rather than independent attributes (each present at a
            probability above 0.5).
        probabilities: images -> `[n, len(names)]` probabilities.
        description: What the classifier is, for reports.
    """

    names: tuple[str, ...]
    exclusive: bool
    probabilities: Callable[[np.ndarray], np.ndarray]
    description: str

    def index(self, name: str) -> int:
        if name not in self.names:
            raise ConfigError(f"{self.description} does not know {name!r}; known: "
                              f"{', '.join(self.names)}")
        return self.names.index(name)

    def labels(self, images) -> np.ndarray:
        """bool `[n, len(names)]`: which attributes (or the one class) each image has."""
        p = np.asarray(self.probabilities(images))
        if self.exclusive:
            return np.eye(len(self.names), dtype=bool)[p.argmax(axis=1)]
        return p > 0.5

    def matches(self, judged: np.ndarray, condition: Condition) -> np.ndarray:
        """bool `[n]`: the rows of `judged` (from `labels`) that meet every part of `condition`."""
        keep = np.ones(len(judged), bool)
        for name, present in condition:
            keep &= judged[:, self.index(name)] == present
        return keep


def judge_samples(generate, judge: Judge, latents: np.ndarray, labels=None,
                  batch_size: int = 256) -> np.ndarray:
    """`judge.labels` of the images `generate` makes from `latents` (and `labels`)."""
    return generate_in_batches(lambda *inputs: judge.labels(generate(*inputs)), latents, labels,
                               batch_size)


@dataclasses.dataclass(frozen=True)
class Concept:
    """A direction in the latent space, and the samples it was measured on.

    Attributes:
        vector: mean latent of `positive` samples minus that of `negative` ones.
        positive, negative: The two groups.
        positive_count, negative_count: Samples in each.
    """

    vector: np.ndarray
    positive: Condition
    negative: Condition
    positive_count: int
    negative_count: int

    @property
    def name(self) -> str:
        return f"({describe(self.positive)}) - ({describe(self.negative)})"


def concept_vector(latents: np.ndarray, judged: np.ndarray, judge: Judge, positive: Condition,
                   negative: Condition, min_samples: int = MIN_GROUP_SAMPLES) -> Concept:
    """The mean latent of the samples meeting `positive` minus that of those meeting `negative`.

    Args:
        latents: `[n, latent_dim]` latents of generated samples.
        judged: `judge.labels` of their images.
        judge: The classifier that judged them (for the names).
        positive, negative: The two groups, e.g. smiling women
            `(("Smiling", True), ("Male", False))` and neutral women.
        min_samples: Fewest samples each group must have.

    Raises:
        ConfigError: if a group has fewer than `min_samples` samples.
    """
    means, counts = [], []
    for condition in (positive, negative):
        rows = judge.matches(judged, condition)
        if rows.sum() < min_samples:
            raise ConfigError(
                f"only {int(rows.sum())} of {len(latents)} samples are judged "
                f"{describe(condition)} (need {min_samples}); draw more samples, or choose a "
                "more common attribute")
        means.append(latents[rows].astype(np.float64).mean(axis=0))
        counts.append(int(rows.sum()))
    return Concept((means[0] - means[1]).astype(np.float32), positive, negative, *counts)


def random_directions(seed: int, count: int, latent_dim: int, length: float) -> np.ndarray:
    """`count` directions uniform on the sphere of radius `length`, seeded."""
    directions = np.random.default_rng([seed, 0x5EED]).standard_normal((count, latent_dim))
    directions *= length / np.linalg.norm(directions, axis=1, keepdims=True)
    return directions.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Transfer:
    """What adding a concept vector did to fresh samples.

    Attributes:
        latents: The start latents, `[n, latent_dim]` (all judged `start`).
        labels: Their generator labels (conditional generators), or None.
        edited: `latents + strength * vector`.
        randomized: `latents` plus random directions of the same length.
        success_rate: Fraction of `edited` samples judged `target`.
        baseline_rate: Fraction of `randomized` samples judged `target`.
        start, target: The group edited and the group aimed at.
        strength: The multiple of the concept vector added.
    """

    latents: np.ndarray
    labels: np.ndarray | None
    edited: np.ndarray
    randomized: np.ndarray
    success_rate: float
    baseline_rate: float
    start: Condition
    target: Condition
    strength: float

    @property
    def count(self) -> int:
        return len(self.latents)


def transfer(generate, judge: Judge, concept: Concept, latents: np.ndarray, start: Condition,
             target: Condition, labels=None, strength: float = 1.0, seed: int = 0,
             min_samples: int = MIN_GROUP_SAMPLES) -> Transfer:
    """Adds `strength * concept.vector` to the samples of `latents` judged `start`.

    Args:
        generate: `generate(z)` or `generate(z, labels)` -> images.
        judge: The classifier that judges start and result.
        concept: The vector to add.
        latents: Fresh latents (not the ones the concept was measured on);
            those whose samples are judged `start` are edited.
        start: The group edited, e.g. neutral men.
        target: The group the edit should give, e.g. smiling men.
        labels: Generator labels matching `latents`, or None.
        strength: Multiple of the vector to add.
        seed: Seed of the random directions of the baseline.
        min_samples: Fewest start samples needed for a meaningful rate.

    Raises:
        ConfigError: if fewer than `min_samples` samples are judged `start`.
    """
    judged = judge_samples(generate, judge, latents, labels)
    rows = judge.matches(judged, start)
    if rows.sum() < min_samples:
        raise ConfigError(f"only {int(rows.sum())} of {len(latents)} samples are judged "
                          f"{describe(start)} (need {min_samples}); draw more samples")
    chosen = latents[rows]
    chosen_labels = None if labels is None else np.asarray(labels)[rows]
    step = strength * concept.vector
    edited = (chosen + step).astype(np.float32)
    randomized = (chosen + random_directions(seed, len(chosen), chosen.shape[1],
                                             float(np.linalg.norm(step)))).astype(np.float32)
    rates = [float(judge.matches(judge_samples(generate, judge, z, chosen_labels), target).mean())
             for z in (edited, randomized)]
    return Transfer(chosen, chosen_labels, edited, randomized, rates[0], rates[1], start, target,
                    strength)
