"""The Open Inference Protocol's data plane: what REST V2 and gRPC both answer, in no transport's types.

A transport decodes its request into checked pixels and output names (with app.core.oip's checks), calls
these, and encodes what they return. Errors are the ServiceError family; each transport maps their status.
"""

from typing import Any

import numpy as np

from app.core.errors import ModelNotFound, ModelNotReady, ShuttingDown, quote
from app.core.oip import OutputTensor, compute_outputs, input_tensor, output_tensors, select_outputs
from app.core.registry import Model, ModelRegistry

SERVER_NAME = "digit-inference-service"
PLATFORM = "onnxruntime_onnx"


def find_model(registry: ModelRegistry, name: str, version: str | None = None) -> Model:
    """The loaded model of that name, and of that version when one is named (an empty version: any)."""
    model = registry.get(name)
    if version and version != model.spec.version:
        raise ModelNotFound(f"model {quote(name)} has no version {quote(version)}; it has {model.spec.version!r}")
    return model


def check_ready(registry: ModelRegistry, draining: bool) -> None:
    """Raise ShuttingDown once a stop signal has arrived, ModelNotReady until every model is loaded and verified."""
    if draining:
        raise ShuttingDown("shutting down: finishing requests in flight")
    if not registry.ready:
        raise ModelNotReady("models are not loaded yet")


def is_ready(registry: ModelRegistry, draining: bool) -> bool:
    """True when check_ready would pass."""
    return registry.ready and not draining


def model_metadata(model: Model) -> dict[str, Any]:
    """The model's name, versions, platform, input and outputs."""
    spec = model.spec
    return {
        "name": spec.name,
        "versions": [spec.version],
        "platform": PLATFORM,
        "inputs": [input_tensor(spec).as_metadata()],
        "outputs": [tensor.as_metadata() for tensor in output_tensors(spec)],
    }


async def infer(model: Model, pixels: np.ndarray, outputs: list[str]) -> list[OutputTensor]:
    """Run the model on checked float32 pixels [N, H, W]; the named outputs (all when none), in that order."""
    return select_outputs(model.spec, compute_outputs(model.spec, await model.infer(pixels)), outputs)
