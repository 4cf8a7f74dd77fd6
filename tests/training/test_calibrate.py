"""Calibration math: temperature scaling, ECE, per-label F1 thresholds."""

import numpy as np
import pytest

from app.core.postprocess import sigmoid, softmax
from training.calibrate import (
    best_f1_threshold,
    expected_calibration_error,
    fit_temperature,
    fit_thresholds,
    nll,
    reliability,
)


def sample_labels(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one label per row from softmax(logits)."""
    cumulative = np.cumsum(softmax(logits), axis=1)
    return np.minimum((cumulative < rng.random((len(logits), 1))).sum(axis=1), logits.shape[1] - 1)


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_temperature_recovers_a_known_overconfidence(true_temperature: float) -> None:
    rng = np.random.default_rng(0)
    calibrated_logits = rng.normal(scale=3.0, size=(20_000, 10))
    labels = sample_labels(calibrated_logits, rng)
    temperature = fit_temperature(calibrated_logits * true_temperature, labels)
    assert temperature == pytest.approx(true_temperature, rel=0.05)
    scaled = calibrated_logits * true_temperature
    assert nll(scaled, labels, temperature) <= min(nll(scaled, labels), nll(scaled, labels, true_temperature)) + 1e-9


def test_nll_is_stable_for_huge_logits() -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    assert nll(logits, np.array([0, 1])) == pytest.approx(np.log(3) / 2)


def test_ece_on_a_hand_computed_example() -> None:
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.65, 0.35]])
    labels = np.array([0, 1, 1, 0])
    # bin of 0.95: accuracy 1/2, gap 0.45; bin of 0.65: accuracy 1, gap 0.35; each holds half the samples
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    bins = reliability(probs, labels)
    assert bins.count.sum() == 4 and len(bins.count) == 15
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_threshold_maximises_f1_and_sits_between_scores() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    truth = np.array([1, 1, 0, 1, 0, 0])
    # predicting the top 4 as positive gives F1 = 6/7, the best cut
    assert best_f1_threshold(scores, truth) == pytest.approx(0.35)


def test_threshold_never_splits_tied_scores() -> None:
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    truth = np.array([1, 1, 0, 0])
    assert best_f1_threshold(scores, truth) == pytest.approx(0.3)


def test_fit_thresholds_one_per_label_inside_the_unit_interval() -> None:
    rng = np.random.default_rng(1)
    targets = rng.random((2000, 10)) < 0.3
    probs = sigmoid(np.where(targets, 2.0, -2.0) + rng.normal(size=targets.shape))
    thresholds = fit_thresholds(probs, targets)
    assert thresholds.shape == (10,) and np.all((thresholds > 0) & (thresholds < 1))
    flags = probs >= thresholds
    assert np.mean(flags == targets) > 0.9
