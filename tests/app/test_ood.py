"""The out-of-distribution score and its threshold: pure numpy."""

import warnings

import numpy as np
import pytest

from app.core.ood import OodRule, energy_score, fit_threshold


def test_energy_is_minus_logsumexp_of_the_logits() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    expected = -np.log(np.exp(logits).sum(axis=1))
    np.testing.assert_allclose(energy_score(logits), expected, rtol=1e-6)
    assert energy_score(logits).dtype == np.float32


def test_energy_with_a_temperature_is_minus_t_logsumexp_of_logits_over_t() -> None:
    logits = np.random.default_rng(0).normal(scale=4.0, size=(5, 10))
    expected = -2.5 * np.log(np.exp(logits / 2.5).sum(axis=1))
    np.testing.assert_allclose(energy_score(logits, 2.5), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        energy_score(logits, 0.0)


def test_energy_is_stable_for_huge_logits() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = energy_score(np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]]))
    np.testing.assert_allclose(scores, [-1000.0 - np.log(2), 1000.0 - np.log(3)], rtol=1e-6)


def test_confident_logits_score_lower_than_flat_small_ones() -> None:
    # A digit: one large logit. Not a digit: small, even logits (little evidence for any class).
    digit = np.array([[12.0, -2.0, 0.5, -1.0, 0.0, -3.0, 1.0, -2.0, 0.0, -1.0]])
    blank = np.full((1, 10), 0.1)
    assert energy_score(digit)[0] < energy_score(blank)[0]


def test_threshold_keeps_exactly_the_asked_share() -> None:
    scores = np.arange(100, dtype=np.float32)[::-1]  # 99 .. 0
    threshold = fit_threshold(scores, 0.99)
    assert threshold == 98.0
    assert np.mean(scores <= threshold) == 0.99
    assert fit_threshold(scores, 1.0) == 99.0
    assert fit_threshold(np.array([3.0, 1.0, 2.0]), 0.5) == 2.0  # at least half kept: 2 of 3
    with pytest.raises(ValueError, match="keep"):
        fit_threshold(scores, 0.0)


def test_rule_says_digit_at_or_below_the_threshold() -> None:
    logits = np.array([[10.0] + [0.0] * 9, [0.0] * 10])
    rule = OodRule("energy", 1.0, float(energy_score(logits[:1])[0]))
    scores = rule.score(logits)
    assert rule.is_digit(scores).tolist() == [True, False]
