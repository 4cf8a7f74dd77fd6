"""The committed models/ folder: contract, sha256, size, and test metrics that meet the targets and reproduce."""

from pathlib import Path

import numpy as np
import pytest
from contract_checks import check_model_folder, onnx_logits

from training.calibrate import expected_calibration_error, sigmoid, softmax
from training.data import Mnist, make_canvases
from training.evaluate import multilabel_metrics

SHIPPED = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", ["mnist-multiclass", "mnist-multilabel"])
def test_shipped_model_honours_the_contract(name: str) -> None:
    card = check_model_folder(SHIPPED / name, name)
    assert card["training"]["arch"] == "cnn" and card["training"]["train_size"] == 50_000


def test_shipped_multiclass_meets_targets_and_its_numbers_are_reproducible(mnist: Mnist) -> None:
    card = check_model_folder(SHIPPED / "mnist-multiclass", "mnist-multiclass")
    metrics = card["metrics"]
    assert metrics["accuracy"] >= 0.992
    assert metrics["ece_after"] <= 0.010
    logits = onnx_logits(SHIPPED / "mnist-multiclass", mnist.x_test)
    assert np.mean(logits.argmax(axis=1) == mnist.y_test) == metrics["accuracy"]
    ece = expected_calibration_error(softmax(logits, card["temperature"]), mnist.y_test)
    assert ece == pytest.approx(metrics["ece_after"], abs=1e-4)


def test_shipped_multilabel_meets_targets_and_its_numbers_are_reproducible(mnist: Mnist) -> None:
    card = check_model_folder(SHIPPED / "mnist-multilabel", "mnist-multilabel")
    metrics = card["metrics"]
    assert metrics["micro_f1"] >= 0.98 and metrics["exact_match"] >= 0.92
    canvases, targets = make_canvases(mnist.x_test, mnist.y_test, 10_000, card["training"]["canvas_seeds"]["test"])
    flags = sigmoid(onnx_logits(SHIPPED / "mnist-multilabel", canvases)) >= np.asarray(card["thresholds"])
    recomputed = multilabel_metrics(flags, targets)
    assert recomputed["exact_match"] == pytest.approx(metrics["exact_match"], abs=1e-9)
    assert recomputed["micro_f1"] == pytest.approx(metrics["micro_f1"], abs=1e-9)
