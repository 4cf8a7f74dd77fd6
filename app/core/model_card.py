"""model.json, the contract between training and the service: one pydantic model per task, no TensorFlow, no web.

Training builds a card and writes it next to model.onnx; the registry reads it back with `read_card`,
which names the first problem in words a person fixing the file can act on.
"""

import hashlib
import math
import string
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from app.core.ood import OodRule
from app.core.probes import PROBES_KEY

CARD_FILE = "model.json"
ONNX_FILE = "model.onnx"
PROBES_COMMAND = "python -m training.probes FOLDER"
SHA256_HEX_DIGITS = 64


def sha256_hex(data: bytes) -> str:
    """The hex sha256 a card records for its ONNX file."""
    return hashlib.sha256(data).hexdigest()


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise PydanticCustomError("finite", "must be a finite number, got {value}", {"value": value})
    return value


def _probability(value: float) -> float:
    if not 0 < value < 1:
        raise PydanticCustomError("probability", "must be in (0, 1), got {value}", {"value": value})
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise PydanticCustomError("positive", "must be > 0, got {value}", {"value": value})
    return value


def _hex_digest(value: str) -> str:
    if len(value) != SHA256_HEX_DIGITS or not all(digit in string.hexdigits for digit in value):
        raise PydanticCustomError("sha256", "must be a sha256 in 64 hex digits, got '{value}'", {"value": value})
    return value.lower()


FiniteFloat = Annotated[float, AfterValidator(_finite)]
PositiveFloat = Annotated[FiniteFloat, AfterValidator(_positive)]
Probability = Annotated[float, AfterValidator(_probability)]


class Section(BaseModel):
    """A part of model.json: strict about what the service reads, keeps what it does not know."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TensorCard(Section):
    """A graph input or output: its name in the ONNX graph, its shape (null = any batch size) and dtype."""

    name: str = Field(min_length=1)
    shape: list[int | None]
    dtype: Literal["float32"] = "float32"


class InputCard(TensorCard):
    """The image input: float32 [batch, H, W], raw pixels 0..255 (scaling is inside the graph)."""

    pixel_range: tuple[int, int] = (0, 255)

    @model_validator(mode="after")
    def _batch_of_images(self) -> "InputCard":
        if len(self.shape) != 3 or not all(isinstance(side, int) and side > 0 for side in self.shape[1:]):
            raise PydanticCustomError("image_shape", "must be [batch, H, W], got {shape}", {"shape": self.shape})
        return self

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of one image."""
        height, width = self.shape[1:]
        assert height is not None and width is not None
        return height, width


class OodCard(Section):
    """The 'is it a digit at all?' rule: is_digit = score(logits, temperature) <= threshold."""

    score: Literal["energy"]
    temperature: PositiveFloat
    threshold: FiniteFloat
    rule: str | None = None
    """The rule in words, for a person reading the file."""
    fitted_on: str | None = None
    """The split the threshold was fitted on."""
    validation_digits_kept: float | None = None
    """The share of that split's digits the threshold keeps."""

    def to_rule(self) -> OodRule:
        """The rule as numpy code applies it."""
        return OodRule(self.score, self.temperature, self.threshold)


class ModelCard(Section):
    """What every model.json holds, whatever the task. Each task adds its calibration below."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    task: str
    activation: str
    input: InputCard
    output: TensorCard
    labels: list[str] = Field(min_length=1)
    onnx_sha256: Annotated[str, AfterValidator(_hex_digest)]
    onnx_bytes: PositiveInt | None = None
    probes: dict[str, Any] | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    tools: dict[str, str] = Field(default_factory=dict)
    created: str | None = None

    @model_validator(mode="after")
    def _has_probes(self) -> "ModelCard":
        if self.probes is None:
            raise PydanticCustomError(
                "probes", "has no '{key}': add them with `{command}`", {"key": PROBES_KEY, "command": PROBES_COMMAND}
            )
        return self

    def to_json(self) -> str:
        """The card as model.json text: indented, keys in declaration order, a final newline."""
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


class MulticlassCard(ModelCard):
    """One digit per image: softmax(logits / temperature), and an out-of-distribution rule for 'not a digit'."""

    task: Literal["multiclass"]
    activation: Literal["softmax"]
    temperature: PositiveFloat = 1.0
    ood: OodCard


class MultilabelCard(ModelCard):
    """Any digits per picture: sigmoid per label, and a yes/no threshold per label."""

    task: Literal["multilabel"]
    activation: Literal["sigmoid"]
    thresholds: list[Probability]
    threshold_rule: str = "sigmoid(logit) >= threshold"

    @model_validator(mode="after")
    def _a_threshold_per_label(self) -> "MultilabelCard":
        if len(self.thresholds) != len(self.labels):
            raise PydanticCustomError(
                "thresholds",
                "thresholds must be {labels} numbers in (0, 1), one per label, got {count}",
                {"labels": len(self.labels), "count": len(self.thresholds)},
            )
        return self


CARD_TYPES: dict[str, type[ModelCard]] = {"multiclass": MulticlassCard, "multilabel": MultilabelCard}


class CardError(ValueError):
    """model.json does not hold a valid card; the message names the first problem."""


def read_card(data: object) -> ModelCard:
    """The card of a parsed model.json, of its task's type; CardError naming the first problem."""
    if not isinstance(data, dict):
        raise CardError("must hold a JSON object")
    if "task" not in data:
        raise CardError("missing key 'task'")
    task = data["task"]
    if not isinstance(task, str) or task not in CARD_TYPES:
        raise CardError(f"task must be one of {', '.join(CARD_TYPES)}, got {task!r}")
    try:
        return CARD_TYPES[task].model_validate(data)
    except ValidationError as error:
        raise CardError(describe(error.errors()[0])) from None


def describe(error: ErrorDetails) -> str:
    """One pydantic error as a person editing model.json reads it: `missing key 'x'` or `input.shape: must be ...`."""
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"missing key {where!r}"
    message = error["msg"].removeprefix("Value error, ")
    if not where:
        return message
    if error["type"] in ("string_type", "int_type", "float_type", "list_type", "dict_type", "literal_error"):
        return f"{where}: {message}, got {error['input']!r}"
    return f"{where}: {message}"
