"""Typed answers, one per image: a result of the task, or a `Failure` saying why there is none."""

from dataclasses import dataclass
from typing import Any, Literal

Task = Literal["multiclass", "multilabel"]


@dataclass(frozen=True)
class TopK:
    """One of the most likely labels."""

    label: int
    probability: float


@dataclass(frozen=True)
class MulticlassResult:
    """Which digit an image shows (softmax: the ten probabilities sum to 1), and whether it is a digit at all."""

    source: str
    label: int
    probability: float
    is_digit: bool
    ood_score: float
    probabilities: tuple[float, ...]
    top_k: tuple[TopK, ...]

    @classmethod
    def from_prediction(cls, source: str, prediction: dict[str, Any]) -> "MulticlassResult":
        return cls(
            source=source,
            label=int(prediction["label"]),
            probability=float(prediction["probability"]),
            is_digit=bool(prediction["is_digit"]),
            ood_score=float(prediction["ood_score"]),
            probabilities=tuple(float(p) for p in prediction["probabilities"]),
            top_k=tuple(TopK(int(k["label"]), float(k["probability"])) for k in prediction["top_k"]),
        )


@dataclass(frozen=True)
class MultilabelResult:
    """Which digits a picture holds (a sigmoid per label: independent yes/no answers)."""

    source: str
    labels: tuple[int, ...]
    flags: tuple[bool, ...]
    probabilities: tuple[float, ...]

    @classmethod
    def from_prediction(cls, source: str, prediction: dict[str, Any]) -> "MultilabelResult":
        return cls(
            source=source,
            labels=tuple(int(label) for label in prediction["labels"]),
            flags=tuple(bool(flag) for flag in prediction["flags"]),
            probabilities=tuple(float(p) for p in prediction["probabilities"]),
        )


@dataclass(frozen=True)
class Failure:
    """An image without an answer: it could not be read, or the service refused it (and why)."""

    source: str
    error: str


Result = MulticlassResult | MultilabelResult | Failure
"""What a task's call returns per image."""


def parse_prediction(task: Task, source: str, prediction: dict[str, Any]) -> MulticlassResult | MultilabelResult:
    """The service's answer for one image as the task's result."""
    if task == "multiclass":
        return MulticlassResult.from_prediction(source, prediction)
    return MultilabelResult.from_prediction(source, prediction)
