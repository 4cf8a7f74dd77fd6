"""Assertions on one model folder against the model repository contract the service reads (app.core.model_card)."""

import json
import math
from pathlib import Path

import numpy as np

from app.core.model_card import CARD_FILE, ONNX_FILE, ModelCard, MulticlassCard, MultilabelCard, read_card, sha256_hex
from app.core.probes import PROBE_ATOL, decode_probes
from app.core.runtime import open_session
from training.tasks import TRAINING_TASKS

FIGURES = {
    "mnist-multiclass": ["training_curves.png", "confusion_matrix.png", "reliability.png", "ood_scores.png"],
    "mnist-multilabel": ["training_curves.png", "per_label_f1.png"],
}
OOD_FAMILIES = {"uniform_noise", "gaussian_noise", "strokes", "blank", "inverted_digits"}
TOOLS = ["tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy"]
MAX_ONNX_BYTES = 2 * 1024 * 1024


def check_model_folder(folder: Path, name: str) -> ModelCard:
    """Every file and model.json key the contract promises; returns the card."""
    card = read_card(json.loads((folder / CARD_FILE).read_text()))
    onnx_path = folder / ONNX_FILE
    (task,) = [task for task in TRAINING_TASKS.values() if task.model_name == name]
    side = task.side
    assert type(card) is task.card and card.name == name and card.activation == task.serving.activation
    assert card.input.model_dump() == {
        "name": "pixels",
        "shape": [None, side, side],
        "dtype": "float32",
        "pixel_range": (0, 255),
    }
    assert card.output.model_dump() == {"name": "logits", "shape": [None, 10], "dtype": "float32"}
    assert card.labels == [str(k) for k in range(10)]
    assert card.onnx_sha256 == sha256_hex(onnx_path.read_bytes())
    assert card.onnx_bytes == onnx_path.stat().st_size <= MAX_ONNX_BYTES
    assert card.metrics["test_size"] == 10_000
    if isinstance(card, MulticlassCard):
        assert all(0 <= card.metrics[metric] <= 1 for metric in ["accuracy", "ece_before", "ece_after"])
        assert card.metrics["nll_before"] > 0 and card.metrics["nll_after"] > 0
        check_ood(card)
    if isinstance(card, MultilabelCard):
        assert all(0 <= card.metrics[metric] <= 1 for metric in ["micro_f1", "exact_match"])
        assert [row["label"] for row in card.metrics["per_label"]] == card.labels
    assert card.training["command"].startswith("python -m training")
    assert {"seed", "arch", "epochs"} <= card.training.keys()
    assert card.training["parity_max_abs_diff"] <= 1e-4
    assert set(TOOLS) <= card.tools.keys()
    assert card.created is not None and card.created.endswith("+00:00")
    for figure in FIGURES[name]:
        assert (folder / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    session = open_session(onnx_path)
    (graph_input,), (graph_output,) = session.get_inputs(), session.get_outputs()
    assert graph_input.name == "pixels" and graph_input.type == "tensor(float)"
    assert graph_input.shape == ["batch", side, side]  # a named, dynamic batch axis
    assert graph_output.name == "logits" and graph_output.shape == ["batch", 10]
    probe_pixels, probe_logits = decode_probes(card.probes, (side, side), 10)
    assert len(probe_pixels) >= 3 and probe_pixels.max() == 255  # real ink, not only blanks
    np.testing.assert_allclose(onnx_logits(folder, probe_pixels), probe_logits, atol=PROBE_ATOL)
    return card


def check_ood(card: MulticlassCard) -> None:
    """The multiclass OOD rule the service reads, and the held-out figures the training measured."""
    ood = card.ood
    assert ood.score == "energy" and ood.temperature > 0 and math.isfinite(ood.threshold)
    assert ood.rule == "is_digit = -T * logsumexp(logits / T) <= threshold"
    assert ood.fitted_on == "validation" and ood.validation_digits_kept == 0.99
    assert "letters" not in "".join(card.training["outlier_exposure"]["kinds"])
    measured = card.metrics["ood"]
    assert 0.9 <= measured["test_digits_kept"] <= 1
    assert measured["families"].keys() >= OOD_FAMILIES
    for figures in measured["families"].values():
        assert figures["size"] > 0 and 0 <= figures["auroc"] <= 1 and 0 <= figures["fpr_at_threshold"] <= 1


def onnx_logits(folder: Path, pixels: np.ndarray) -> np.ndarray:
    """Logits of the folder's model.onnx for raw uint8 pixels."""
    return open_session(folder / ONNX_FILE).run(["logits"], {"pixels": pixels.astype(np.float32)})[0]
