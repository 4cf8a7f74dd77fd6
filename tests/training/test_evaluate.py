"""The out-of-distribution figures: AUROC and the false-positive rate at the fitted threshold."""

import numpy as np
import pytest

from training.evaluate import auroc, ood_metrics


def test_auroc_of_separated_reversed_and_tied_scores() -> None:
    digits = np.array([0.0, 1.0, 2.0])
    assert auroc(digits, np.array([5.0, 6.0])) == 1.0
    assert auroc(digits, np.array([-5.0, -6.0])) == 0.0
    assert auroc(digits, digits) == pytest.approx(0.5)  # ties count half
    # 1.5 beats 2 of 3 digits: 2/3; 2.0 beats 2 and ties 1: (2 + 0.5) / 3
    assert auroc(digits, np.array([1.5, 2.0])) == pytest.approx((2 / 3 + 2.5 / 3) / 2)


def test_auroc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    digits, outliers = rng.normal(size=300).round(1), rng.normal(1.0, size=200).round(1)
    pairwise = np.mean((outliers[:, None] > digits) + 0.5 * (outliers[:, None] == digits))
    assert auroc(digits, outliers) == pytest.approx(pairwise)


def test_ood_metrics_count_outliers_taken_for_digits() -> None:
    digits = np.arange(100, dtype=np.float32)
    figures = ood_metrics(digits, {"noise": np.array([50.0, 150.0, 200.0, 250.0])}, lambda s: s <= 98.0)
    assert figures["test_digits_kept"] == 0.99
    noise = figures["families"]["noise"]
    assert noise["size"] == 4 and noise["fpr_at_threshold"] == 0.25
    assert noise["auroc"] == pytest.approx((0.505 + 3) / 4)
