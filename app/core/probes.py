"""Probe inferences in model.json: a few inputs and the logits the exported model gave for them.

Training writes them; the service runs them on every model it loads and refuses one whose
logits differ by more than PROBE_ATOL. Pixels are stored as base64 uint8, so model.json stays small.
"""

import base64
from pathlib import Path
from typing import Any

import numpy as np

from app.core.runtime import open_session

PROBE_ATOL = 1e-4
PROBES_KEY = "probes"


class ProbeError(ValueError):
    """The probes in model.json are malformed."""


def encode_probes(pixels: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """model.json's `probes` entry for uint8 pixels [N, H, W] and their float32 logits [N, labels]."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise ProbeError(f"probe pixels must be uint8 [N, H, W], got {pixels.dtype} {list(pixels.shape)}")
    if len(logits) != len(pixels):
        raise ProbeError(f"{len(pixels)} probe inputs but {len(logits)} rows of logits")
    return {
        "pixels": {
            "dtype": "uint8",
            "shape": list(pixels.shape),
            "base64": base64.b64encode(np.ascontiguousarray(pixels).tobytes()).decode(),
        },
        "logits": np.asarray(logits, dtype=np.float32).tolist(),
    }


def make_probes(onnx_path: Path, input_name: str, output_name: str, pixels: np.ndarray) -> dict[str, Any]:
    """model.json's `probes` entry: uint8 `pixels` and the logits onnxruntime gives for them from onnx_path."""
    logits = open_session(onnx_path).run([output_name], {input_name: pixels.astype(np.float32)})[0]
    return encode_probes(pixels, logits)


def decode_probes(probes: object, image_shape: tuple[int, int], labels: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 pixels [N, H, W] and expected logits [N, labels] from a `probes` entry; ProbeError if malformed."""
    if not isinstance(probes, dict):
        raise ProbeError("probes must be a JSON object")
    try:
        encoded = probes["pixels"]
        shape = tuple(encoded["shape"])
        if encoded["dtype"] != "uint8" or len(shape) != 3 or shape[1:] != image_shape or shape[0] < 1:
            raise ProbeError(f"probe pixels must be uint8 [N, {image_shape[0]}, {image_shape[1]}], got {list(shape)}")
        pixels = np.frombuffer(base64.b64decode(encoded["base64"], validate=True), dtype=np.uint8).reshape(shape)
        logits = np.asarray(probes["logits"], dtype=np.float32)
    except ProbeError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ProbeError(f"malformed probes: {error!r}") from None
    if logits.shape != (shape[0], labels):
        raise ProbeError(f"probe logits must be [{shape[0]}, {labels}], got {list(logits.shape)}")
    return pixels.astype(np.float32), logits


def probe_mismatch(expected: np.ndarray, actual: np.ndarray) -> str | None:
    """None when every logit is within PROBE_ATOL of the expected one, else what differs."""
    difference = np.abs(np.asarray(actual, dtype=np.float32) - expected)
    worst = float(difference.max())
    if worst <= PROBE_ATOL:
        return None
    row = int(np.unravel_index(int(difference.argmax()), difference.shape)[0])
    return f"probe {row} logits differ from model.json by {worst:.3g} (at most {PROBE_ATOL} allowed)"
