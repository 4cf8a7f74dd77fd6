"""Assertions on one model folder against the model repository contract the service reads."""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.probes import PROBE_ATOL, decode_probes

SIDES = {"mnist-multiclass": 28, "mnist-multilabel": 56}
TASKS = {"mnist-multiclass": ("multiclass", "softmax"), "mnist-multilabel": ("multilabel", "sigmoid")}
FIGURES = {
    "mnist-multiclass": ["training_curves.png", "confusion_matrix.png", "reliability.png", "ood_scores.png"],
    "mnist-multilabel": ["training_curves.png", "per_label_f1.png"],
}
OOD_FAMILIES = {"uniform_noise", "gaussian_noise", "strokes", "blank", "inverted_digits"}
TOOLS = ["tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy"]
MAX_ONNX_BYTES = 2 * 1024 * 1024


def check_model_folder(folder: Path, name: str) -> dict:
    """Every file and model.json key the contract promises; returns the parsed model.json."""
    card = json.loads((folder / "model.json").read_text())
    onnx_path = folder / "model.onnx"
    side = SIDES[name]
    task, activation = TASKS[name]
    assert (card["name"], card["task"], card["activation"]) == (name, task, activation)
    assert isinstance(card["version"], str) and card["version"]
    assert card["input"] == {"name": "pixels", "shape": [None, side, side], "dtype": "float32", "pixel_range": [0, 255]}
    assert card["output"] == {"name": "logits", "shape": [None, 10], "dtype": "float32"}
    assert card["labels"] == [str(k) for k in range(10)]
    if task == "multiclass":
        assert card["temperature"] > 0 and "thresholds" not in card
    else:
        assert len(card["thresholds"]) == 10 and all(0 < t < 1 for t in card["thresholds"])
    assert card["onnx_sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert onnx_path.stat().st_size <= MAX_ONNX_BYTES
    assert card["metrics"]["test_size"] == 10_000
    fractions = ["accuracy", "ece_before", "ece_after"] if task == "multiclass" else ["micro_f1", "exact_match"]
    assert all(0 <= card["metrics"][metric] <= 1 for metric in fractions)
    if task == "multiclass":
        assert card["metrics"]["nll_before"] > 0 and card["metrics"]["nll_after"] > 0
        check_ood(card)
    if task == "multilabel":
        assert [row["label"] for row in card["metrics"]["per_label"]] == card["labels"]
    assert card["training"]["command"].startswith("python -m training")
    assert {"seed", "arch", "epochs"} <= card["training"].keys()
    assert card["training"]["parity_max_abs_diff"] <= 1e-4
    assert set(TOOLS) <= card["tools"].keys()
    assert card["created"].endswith("+00:00")
    for figure in FIGURES[name]:
        assert (folder / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (graph_input,), (graph_output,) = session.get_inputs(), session.get_outputs()
    assert graph_input.name == "pixels" and graph_input.type == "tensor(float)"
    assert graph_input.shape == ["batch", side, side]  # a named, dynamic batch axis
    assert graph_output.name == "logits" and graph_output.shape == ["batch", 10]
    probe_pixels, probe_logits = decode_probes(card["probes"], (side, side), 10)
    assert len(probe_pixels) >= 3 and probe_pixels.max() == 255  # real ink, not only blanks
    np.testing.assert_allclose(onnx_logits(folder, probe_pixels), probe_logits, atol=PROBE_ATOL)
    return card


def check_ood(card: dict) -> None:
    """The multiclass OOD rule the service reads, and the held-out figures the training measured."""
    ood = card["ood"]
    assert ood["score"] == "energy" and ood["temperature"] > 0 and math.isfinite(ood["threshold"])
    assert ood["fitted_on"] == "validation" and ood["validation_digits_kept"] == 0.99
    assert "letters" not in "".join(card["training"]["outlier_exposure"]["kinds"])
    measured = card["metrics"]["ood"]
    assert 0.9 <= measured["test_digits_kept"] <= 1
    assert OOD_FAMILIES <= measured["families"].keys()
    for figures in measured["families"].values():
        assert figures["size"] > 0 and 0 <= figures["auroc"] <= 1 and 0 <= figures["fpr_at_threshold"] <= 1


def onnx_logits(folder: Path, pixels: np.ndarray) -> np.ndarray:
    """Logits of the folder's model.onnx for raw uint8 pixels."""
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"pixels": pixels.astype(np.float32)})[0]
