"""The outlier-exposure loss and the digits-only accuracy, on hand-made logits."""

import keras
import numpy as np
import pytest

from training.calibrate import log_softmax
from training.outlier_exposure import DigitAccuracy, OutlierExposureLoss


def test_digits_get_cross_entropy_and_negatives_cross_entropy_to_uniform() -> None:
    logits = np.random.default_rng(0).normal(scale=3.0, size=(6, 10)).astype(np.float32)
    labels = np.array([3, -1, 0, -1, 9, 7])
    per_sample = np.asarray(OutlierExposureLoss(outlier_weight=0.5).call(labels, logits))
    log_p = log_softmax(logits)
    digits = labels >= 0
    np.testing.assert_allclose(per_sample[digits], -log_p[digits, labels[digits]], rtol=1e-5)
    np.testing.assert_allclose(per_sample[~digits], -0.5 * log_p[~digits].mean(axis=1), rtol=1e-5)
    expected_mean = np.where(digits, -log_p[np.arange(6), np.maximum(labels, 0)], -0.5 * log_p.mean(axis=1)).mean()
    assert float(OutlierExposureLoss(outlier_weight=0.5)(labels, logits)) == pytest.approx(expected_mean, rel=1e-5)


def test_a_negative_costs_least_when_its_softmax_is_uniform() -> None:
    loss = OutlierExposureLoss(outlier_weight=1.0)
    flat = float(loss(np.array([-1]), np.zeros((1, 10), dtype=np.float32)))
    confident = float(loss(np.array([-1]), np.array([[8.0] + [0.0] * 9], dtype=np.float32)))
    assert flat == pytest.approx(np.log(10), rel=1e-6) and confident > flat


def test_accuracy_counts_only_the_digits() -> None:
    metric = DigitAccuracy()
    logits = keras.ops.one_hot(np.array([3, 5, 1, 2]), 10)
    metric.update_state(np.array([3, -1, 1, 7]), logits)  # two of the three digits right; the negative is ignored
    assert float(metric.result()) == pytest.approx(2 / 3)
    metric.reset_state()
    assert float(metric.result()) == 0.0
