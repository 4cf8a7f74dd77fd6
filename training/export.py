"""Keras -> ONNX export with tf2onnx, the onnxruntime parity check, and the atomic install into models/."""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from app.core.model_card import CARD_FILE, ModelCard, sha256_hex
from app.core.probes import PROBES_KEY, make_probes
from app.core.runtime import open_session
from training.data import LABELS, NUM_CLASSES
from training.tasks import TrainingTask

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


def onnx_logits(path: Path, pixels: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Run the ONNX file on uint8 or float pixels and return float32 logits."""
    session = open_session(path, threads=os.cpu_count() or 1)
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


def install(staging: Path, target: Path) -> None:
    """Move every file of `staging` into `target`, each with os.replace; model.json goes last."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted(staging.iterdir(), key=lambda p: p.name == CARD_FILE)
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
    task: TrainingTask,
    *,
    calibration: dict[str, object],
    metrics: dict[str, object],
    training: dict[str, object],
    onnx_path: Path,
    probe_pixels: np.ndarray,
) -> ModelCard:
    """The task's model.json card, with the probe inferences the service checks on every load."""
    return task.card.model_validate(
        {
            "name": task.model_name,
            "version": MODEL_VERSION,
            "task": task.serving.name,
            "activation": task.serving.activation,
            "input": {
                "name": INPUT_NAME,
                "shape": [None, task.side, task.side],
                "dtype": "float32",
                "pixel_range": [0, 255],
            },
            "output": {"name": OUTPUT_NAME, "shape": [None, NUM_CLASSES], "dtype": "float32"},
            "labels": LABELS,
            **calibration,
            "onnx_sha256": sha256_hex(onnx_path.read_bytes()),
            "onnx_bytes": onnx_path.stat().st_size,
            PROBES_KEY: make_probes(onnx_path, INPUT_NAME, OUTPUT_NAME, probe_pixels),
            "metrics": metrics,
            "training": training,
            "tools": tool_versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
