import warnings

import numpy as np
import pytest

from app.core.postprocess import apply_thresholds, sigmoid, softmax, top_k


def test_softmax_rows_sum_to_one_and_keep_order() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]], dtype=np.float32)
    probabilities = softmax(logits)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert (np.argsort(probabilities, axis=1) == np.argsort(logits, axis=1)).all()
    np.testing.assert_allclose(probabilities[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)


def test_softmax_is_shift_invariant() -> None:
    logits = np.random.default_rng(0).normal(size=(4, 10))
    np.testing.assert_allclose(softmax(logits), softmax(logits + 123.0), rtol=1e-5)


def test_softmax_is_stable_for_huge_logits() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities = softmax(np.array([[1000.0, 999.0, -1000.0]]))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities[0], [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0], atol=1e-6)


def test_temperature_softens_without_changing_the_winner() -> None:
    logits = np.array([[2.0, 1.0, 0.0]])
    sharp, soft = softmax(logits, 1.0), softmax(logits, 3.0)
    assert soft.max() < sharp.max()
    assert soft.argmax() == sharp.argmax()
    with pytest.raises(ValueError):
        softmax(logits, 0.0)


def test_sigmoid_is_finite_for_extreme_logits_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities = sigmoid(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_sigmoid_labels_are_independent() -> None:
    logits = np.array([[3.0, -2.0, 0.5]])
    changed = logits.copy()
    changed[0, 0] = -9.0
    before, after = sigmoid(logits), sigmoid(changed)
    np.testing.assert_array_equal(before[0, 1:], after[0, 1:])
    assert before.sum() != pytest.approx(1.0)


def test_top_k_orders_by_probability_and_breaks_ties_by_label() -> None:
    probabilities = np.array([[0.1, 0.4, 0.1, 0.4]], dtype=np.float32)
    labels, values = top_k(probabilities, 3)
    assert labels.tolist() == [[1, 3, 0]]
    np.testing.assert_allclose(values, [[0.4, 0.4, 0.1]])
    with pytest.raises(ValueError):
        top_k(probabilities, 5)


def test_thresholds_are_per_label_and_inclusive() -> None:
    probabilities = np.array([[0.5, 0.5, 0.9]], dtype=np.float32)
    flags = apply_thresholds(probabilities, np.array([0.5, 0.6, 0.95], dtype=np.float32))
    assert flags.tolist() == [[True, False, False]]
    assert apply_thresholds(probabilities, 0.7).tolist() == [[False, False, True]]
