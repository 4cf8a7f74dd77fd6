"""Keras -> ONNX export with tf2onnx, the onnxruntime parity check, and the atomic install into models/."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from app.probes import PROBES_KEY
from training.data import LABELS, NUM_CLASSES
from training.probes import make_probes

INPUT_NAME = "pixels"
OUTPUT_NAME = "logits"
BATCH_AXIS = "batch"
OPSET = 17
PARITY_ATOL = 1e-4
MODEL_VERSION = "1.0.0"


class ParityError(RuntimeError):
    """The exported ONNX graph does not reproduce the Keras logits."""


@dataclass(frozen=True)
class Parity:
    """How far onnxruntime's logits are from Keras' on the same inputs."""

    max_abs_diff: float
    decisions_differ: int
    size: int

    @property
    def ok(self) -> bool:
        """True when the export may replace the shipped model."""
        return self.max_abs_diff <= PARITY_ATOL and self.decisions_differ == 0


def export_onnx(model: keras.Model, path: Path) -> None:
    """Write `model` as ONNX with input `pixels` [batch, H, W] float32 and output `logits` [batch, 10]."""
    height, width = model.input_shape[1:]
    signature = [tf.TensorSpec([None, height, width], tf.float32, name=INPUT_NAME)]

    @tf.function(input_signature=signature)
    def serve(pixels: tf.Tensor) -> dict[str, tf.Tensor]:
        return {OUTPUT_NAME: model(pixels, training=False)}

    onnx_model, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=OPSET)
    for value in (*onnx_model.graph.input, *onnx_model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_AXIS  # tf2onnx would call it "unk__<n>"
    onnx.save(onnx_model, str(path))


def onnx_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session with a fixed thread count."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(path: Path, pixels: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Run the ONNX file on uint8 or float pixels and return float32 logits."""
    session = onnx_session(path, threads=os.cpu_count() or 1)
    batches = [
        session.run([OUTPUT_NAME], {INPUT_NAME: pixels[i : i + batch_size].astype(np.float32)})[0]
        for i in range(0, len(pixels), batch_size)
    ]
    return np.concatenate(batches)


def check_parity(
    keras_logits: np.ndarray, runtime_logits: np.ndarray, decide: Callable[[np.ndarray], np.ndarray]
) -> Parity:
    """Compare logits and the decisions the service would take from them."""
    return Parity(
        max_abs_diff=float(np.max(np.abs(keras_logits - runtime_logits))),
        decisions_differ=int(np.sum(np.any(decide(keras_logits) != decide(runtime_logits), axis=-1))),
        size=len(keras_logits),
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def install(staging: Path, target: Path) -> None:
    """Move every file of `staging` into `target`, each with os.replace; model.json goes last."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted(staging.iterdir(), key=lambda p: p.name == "model.json")
    for src in files:
        tmp = target / f".{src.name}.incoming"
        shutil.copyfile(src, tmp)
        os.replace(tmp, target / src.name)


def tool_versions() -> dict[str, str]:
    """Versions of the libraries that produced the ONNX file."""
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
    }


def model_card(
    *, name: str, task: str, activation: str, side: int, calibration: dict[str, object],
    metrics: dict[str, object], training: dict[str, object], onnx_path: Path, probe_pixels: np.ndarray,
) -> dict[str, object]:
    """The model.json contract the service reads, with probe inferences it checks on every load."""
    return {
        "name": name,
        "version": MODEL_VERSION,
        "task": task,
        "activation": activation,
        "input": {"name": INPUT_NAME, "shape": [None, side, side], "dtype": "float32", "pixel_range": [0, 255]},
        "output": {"name": OUTPUT_NAME, "shape": [None, NUM_CLASSES], "dtype": "float32"},
        "labels": LABELS,
        **calibration,
        "onnx_sha256": sha256_of(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        PROBES_KEY: make_probes(onnx_path, INPUT_NAME, OUTPUT_NAME, probe_pixels),
        "metrics": metrics,
        "training": training,
        "tools": tool_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
