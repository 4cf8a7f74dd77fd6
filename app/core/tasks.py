"""What each task means, one class per task: its activation, the options a caller may set, the image it
expects, the answers it gives (REST and Open Inference Protocol), how its API is documented, and the
decisions training must not change.

An instance holds one model's calibration (its temperature, OOD rule or thresholds), read from its card.
Pure numpy: no web, no model runtime, no TensorFlow. A new task is a new subclass here (and its card in
app.core.model_card).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from app.core.images import to_canvas, to_mnist_digit
from app.core.model_card import ModelCard, MulticlassCard, MultilabelCard
from app.core.ood import OodRule
from app.core.postprocess import apply_thresholds, sigmoid, softmax, top_k
from app.core.schemas import EXPLAIN_DOC, MulticlassRequest, MulticlassResponse, MultilabelRequest, MultilabelResponse

DEFAULT_TOP_K = 3


@dataclass(frozen=True)
class PredictOptions:
    """What a caller may ask besides the images; which of these a task accepts is its `options`."""

    top_k: int = DEFAULT_TOP_K
    return_logits: bool = False
    threshold: np.ndarray | None = None
    explain: bool = False


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor as Open Inference Protocol metadata describes it (-1 = any batch size)."""

    name: str
    datatype: str
    shape: list[int]

    def as_metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": self.shape}


class Task(ABC):
    """One task's behaviour, with one model's calibration."""

    name: ClassVar[str]
    activation: ClassVar[str]
    options: ClassVar[frozenset[str]]
    """The predict options a caller may set for this task (`return_logits` is accepted by every task)."""
    question: ClassVar[str]
    """What /predict/<name> answers, for the API documentation."""
    request_schema: ClassVar[type[BaseModel]]
    response_schema: ClassVar[type[BaseModel]]
    form_fields: ClassVar[dict[str, Any]]
    """The task's options as multipart form fields (JSON schemas)."""

    @classmethod
    @abstractmethod
    def from_card(cls, card: ModelCard) -> "Task":
        """The task of a validated card, with the card's calibration."""

    @abstractmethod
    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The activation on the logits [N, labels]."""

    @abstractmethod
    def model_input(self, gray: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
        """A decoded grayscale image (0..255, ink bright) as this task's model input of image_shape."""

    @abstractmethod
    def predictions(
        self, probabilities: np.ndarray, logits: np.ndarray, options: PredictOptions
    ) -> list[dict[str, Any]]:
        """The /predict answer per image."""

    @abstractmethod
    def answer_tensors(self, labels: int) -> list[TensorSpec]:
        """The Open Inference Protocol outputs this task adds to `logits` and `probabilities`."""

    @abstractmethod
    def answers(self, probabilities: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
        """The values of `answer_tensors`, by name."""

    def decisions(self, logits: np.ndarray) -> np.ndarray:
        """The discrete answers per row (labels, yes/no), as integers: what an export must not change."""
        answers = self.answers(self.probabilities(logits), logits)
        discrete = [value.reshape(len(logits), -1) for value in answers.values() if value.dtype.kind in "biu"]
        return np.concatenate(discrete, axis=1).astype(np.int64)


@dataclass(frozen=True)
class Multiclass(Task):
    """Which digit is it? softmax(logits / T): the classes compete and sum to 1; plus 'is it a digit at all?'."""

    temperature: float
    ood: OodRule

    name: ClassVar[str] = "multiclass"
    activation: ClassVar[str] = "softmax"
    options: ClassVar[frozenset[str]] = frozenset({"return_logits", "top_k", "explain"})
    question = "Which digit is in each 28x28 image? Softmax: the 10 probabilities compete and sum to 1."
    request_schema = MulticlassRequest
    response_schema = MulticlassResponse
    form_fields: ClassVar[dict[str, Any]] = {
        "top_k": {"type": "integer", "minimum": 1, "maximum": 10, "default": DEFAULT_TOP_K},
        "explain": {"type": "boolean", "description": EXPLAIN_DOC},
    }

    @classmethod
    def from_card(cls, card: ModelCard) -> "Multiclass":
        assert isinstance(card, MulticlassCard)
        return cls(card.temperature, card.ood.to_rule())

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits, self.temperature)

    def model_input(self, gray: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
        return to_mnist_digit(gray, image_shape[0])

    def predictions(
        self, probabilities: np.ndarray, logits: np.ndarray, options: PredictOptions
    ) -> list[dict[str, Any]]:
        labels, top_probabilities = top_k(probabilities, options.top_k)
        scores, is_digit = self.ood_verdict(logits)
        return [
            {
                "label": row_labels[0],
                "probability": row_top[0],
                "probabilities": row,
                "top_k": [{"label": label, "probability": p} for label, p in zip(row_labels, row_top, strict=True)],
                "is_digit": digit,
                "ood_score": score,
            }
            for row, row_labels, row_top, digit, score in zip(
                probabilities, labels, top_probabilities, is_digit, scores, strict=True
            )
        ]

    def answer_tensors(self, labels: int) -> list[TensorSpec]:
        return [
            TensorSpec("label", "INT64", [-1]),
            TensorSpec("is_digit", "BOOL", [-1]),
            TensorSpec("ood_score", "FP32", [-1]),
        ]

    def answers(self, probabilities: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
        scores, is_digit = self.ood_verdict(logits)
        return {"label": probabilities.argmax(axis=1).astype(np.int64), "is_digit": is_digit, "ood_score": scores}

    def ood_verdict(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The out-of-distribution score per image (higher = less like a digit), and whether it is a digit."""
        scores = self.ood.score(logits)
        return scores, self.ood.is_digit(scores)


@dataclass(frozen=True, eq=False)
class Multilabel(Task):
    """Which digits appear? A sigmoid per label, each on its own, and a yes/no threshold per label."""

    thresholds: np.ndarray

    name: ClassVar[str] = "multilabel"
    activation: ClassVar[str] = "sigmoid"
    options: ClassVar[frozenset[str]] = frozenset({"return_logits", "threshold"})
    question = "Which digits appear in each 56x56 picture? Sigmoid per label: independent yes/no answers."
    request_schema = MultilabelRequest
    response_schema = MultilabelResponse
    form_fields: ClassVar[dict[str, Any]] = {
        "threshold": {"type": "string", "description": "a number in (0, 1), or a JSON list of 10"}
    }

    @classmethod
    def from_card(cls, card: ModelCard) -> "Multilabel":
        assert isinstance(card, MultilabelCard)
        return cls(np.asarray(card.thresholds, dtype=np.float32))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def model_input(self, gray: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
        return to_canvas(gray, image_shape)

    def predictions(
        self, probabilities: np.ndarray, logits: np.ndarray, options: PredictOptions
    ) -> list[dict[str, Any]]:
        flags = apply_thresholds(probabilities, self.thresholds if options.threshold is None else options.threshold)
        return [
            {"labels": np.flatnonzero(row_flags), "flags": row_flags, "probabilities": row}
            for row, row_flags in zip(probabilities, flags, strict=True)
        ]

    def answer_tensors(self, labels: int) -> list[TensorSpec]:
        return [TensorSpec("flags", "BOOL", [-1, labels])]

    def answers(self, probabilities: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
        return {"flags": apply_thresholds(probabilities, self.thresholds)}


TASKS: dict[str, type[Task]] = {task.name: task for task in (Multiclass, Multilabel)}
