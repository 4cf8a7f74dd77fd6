"""Request and response shapes as pydantic models: they make the OpenAPI page.

Predict bodies are validated by app.core.inputs with numpy (784 numbers per image are too many to
check one by one); these models publish the same contract.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Pixel = Annotated[float, Field(ge=0, le=255)]
Probability = Annotated[float, Field(ge=0, le=1)]
Threshold = Annotated[float, Field(gt=0, lt=1)]
Label = Annotated[int, Field(ge=0, le=9)]


class EncodedImage(BaseModel):
    """A PNG or JPEG file, base64-encoded."""

    model_config = ConfigDict(extra="forbid")
    b64: str = Field(description="base64 of a PNG or JPEG file")


Digit = (
    Annotated[list[Annotated[list[Pixel], Field(min_length=28, max_length=28)]], Field(min_length=28, max_length=28)]
    | Annotated[list[Pixel], Field(min_length=784, max_length=784)]
    | EncodedImage
)
Canvas = (
    Annotated[list[Annotated[list[Pixel], Field(min_length=56, max_length=56)]], Field(min_length=56, max_length=56)]
    | Annotated[list[Pixel], Field(min_length=3136, max_length=3136)]
    | EncodedImage
)
INSTANCES_DOC = (
    "Images, raw grayscale 0..255 (0 = background, 255 = ink), as nested rows, a flat list, or a "
    "base64 PNG/JPEG. At most MAX_INSTANCES (default 256)."
)


EXPLAIN_DOC = (
    "Also return, per image, `explanation` (a 28x28 occlusion-sensitivity map: how much the top "
    "class's probability drops when each region is blanked) and `input` (the 28x28 image the model saw)"
)


class MulticlassRequest(BaseModel):
    """Which digit is in each 28x28 image?"""

    model_config = ConfigDict(extra="forbid")
    instances: list[Digit] = Field(min_length=1, description=INSTANCES_DOC)
    top_k: int = Field(3, ge=1, le=10, description="How many of the most probable digits to list")
    return_logits: bool = Field(False, description="Also return the raw logits")
    explain: bool = Field(False, description=EXPLAIN_DOC)


class MultilabelRequest(BaseModel):
    """Which digits appear in each 56x56 picture?"""

    model_config = ConfigDict(extra="forbid")
    instances: list[Canvas] = Field(min_length=1, description=INSTANCES_DOC)
    threshold: Threshold | Annotated[list[Threshold], Field(min_length=10, max_length=10)] | None = Field(
        None, description="Replaces the model's per-label decision thresholds for this request"
    )
    return_logits: bool = Field(False, description="Also return the raw logits")


class ModelRef(BaseModel):
    """The model that answered."""

    name: str
    version: str


class LabelProbability(BaseModel):
    label: Label
    probability: Probability


class MulticlassPrediction(BaseModel):
    label: Label = Field(description="The most probable digit")
    probability: Probability = Field(description="Its probability")
    probabilities: list[Probability] = Field(
        min_length=10, max_length=10, description="softmax(logits / T), index = digit; sums to 1"
    )
    top_k: list[LabelProbability] = Field(description="The top_k most probable digits, most probable first")
    is_digit: bool = Field(description="False when the image does not look like a digit at all (ood_score > threshold)")
    ood_score: float = Field(
        description="Out-of-distribution score, -logsumexp(logits): higher = less like a digit; the threshold is in "
        "the model's metadata (ood.threshold)"
    )
    logits: list[float] | None = Field(None, description="Raw logits, when return_logits is true")
    explanation: list[list[float]] | None = Field(
        None, description="When explain is true: 28x28, drop of the top class's probability when that region is blanked"
    )
    input: list[list[Pixel]] | None = Field(
        None, description="When explain is true: the 28x28 image the model saw, after MNIST-style preparation"
    )


class MultilabelPrediction(BaseModel):
    labels: list[Label] = Field(description="Digits judged present, ascending")
    flags: list[bool] = Field(min_length=10, max_length=10, description="probability >= threshold, index = digit")
    probabilities: list[Probability] = Field(
        min_length=10, max_length=10, description="sigmoid(logits), one independent probability per digit"
    )
    logits: list[float] | None = Field(None, description="Raw logits, when return_logits is true")


class MulticlassResponse(BaseModel):
    model: ModelRef
    predictions: list[MulticlassPrediction]


class MultilabelResponse(BaseModel):
    model: ModelRef
    predictions: list[MultilabelPrediction]


class ErrorResponse(BaseModel):
    detail: str = Field(description="What is wrong, naming the field")
    request_id: str | None = Field(None, description="The request's X-Request-ID")


class PublicReloadRecord(BaseModel):
    time: str = Field(description="When the reload finished (UTC, ISO 8601)")
    trigger: str = Field(description="What asked for it: POST /admin/reload or SIGHUP")
    result: str = Field(description="ok, or failed (then what failed, models or keys, is unchanged)")
    models: dict[str, str] = Field(description="Name and version of each model serving after it")


class ReloadRecord(PublicReloadRecord):
    error: str | None = Field(description="What failed, naming the file (admin answer and log only)")


class ModelList(BaseModel):
    models: list[dict[str, Any]] = Field(description="model.json of every loaded model")
    last_reload: PublicReloadRecord | None = Field(
        description="The last reload since start, if any: when, and whether it failed (not what failed)"
    )


class Status(BaseModel):
    status: str


def form_schema(task_fields: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI schema of the multipart form: `file` parts plus the task's options as form fields."""
    return {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "return_logits": {"type": "boolean"},
            **task_fields,
        },
    }


class V2Error(BaseModel):
    """Open Inference Protocol error body."""

    error: str
    request_id: str | None = Field(None, description="The request's X-Request-ID")


class V2TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 stands for any batch size")


class V2ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class V2ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[V2TensorMetadata]
    outputs: list[V2TensorMetadata]


class V2Ready(BaseModel):
    ready: bool


class V2Live(BaseModel):
    live: bool


class V2RequestInput(BaseModel):
    name: str = Field(description="The model's input name, 'pixels'")
    shape: list[int] = Field(description="[N, H, W] or [N, H*W]")
    datatype: str = Field(description="FP32, FP64, UINT8, INT32 or INT64; raw pixels 0..255")
    data: list[Any] | None = Field(None, description="Flat or nested values; omitted when sent as binary")
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size: bytes of this tensor after the JSON")


class V2RequestOutput(BaseModel):
    name: str = Field(
        description="logits, probabilities, then label, is_digit, ood_score (multiclass) or flags (multilabel)"
    )
    parameters: dict[str, Any] | None = Field(None, description="binary_data: answer this output as raw bytes")


class V2InferRequest(BaseModel):
    """Open Inference Protocol infer request (the JSON part, when binary tensors follow it)."""

    id: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="binary_data_output: every output as raw bytes")
    inputs: list[V2RequestInput]
    outputs: list[V2RequestOutput] | None = Field(None, description="Which outputs to return; all when omitted")


class V2ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size when sent as raw bytes")


class V2InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[V2ResponseOutput]
