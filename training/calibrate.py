"""Calibration from logits in pure numpy: temperature scaling, per-label thresholds, ECE.

Probabilities come from the service's own softmax and sigmoid (app.core.postprocess), so what is fitted here is
what the service applies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
LOG_T_RANGE = (np.log(0.05), np.log(20.0))
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels under softmax(z / T)."""
    log_p = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tol: float = 1e-6) -> float:
    """The T > 0 that minimises nll(z / T), by golden-section search on log T (NLL is unimodal in it)."""
    lo, hi = LOG_T_RANGE
    a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    while hi - lo > tol:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - GOLDEN * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + GOLDEN * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2.0))


@dataclass(frozen=True)
class Reliability:
    """Per-bin mean confidence, accuracy and count of the top-class predictions."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: count-weighted mean |accuracy - confidence|."""
        weights = self.count / max(self.count.sum(), 1)
        return float(np.sum(weights * np.abs(self.accuracy - self.confidence)))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    """Bin top-class confidences into equal-width bins (lower edge open, upper closed)."""
    confidence = probs.max(axis=-1)
    correct = (probs.argmax(axis=-1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    safe = np.maximum(count, 1)
    return Reliability(
        edges=edges,
        confidence=np.bincount(which, weights=confidence, minlength=bins) / safe,
        accuracy=np.bincount(which, weights=correct, minlength=bins) / safe,
        count=count,
    )


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top-class confidence with `bins` equal-width bins."""
    return reliability(probs, labels, bins).ece


def best_f1_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """Threshold t for `score >= t` that maximises F1, halfway between the scores either side of the best cut."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_positives = np.cumsum(truth[order].astype(np.float64))
    positives = true_positives[-1]
    if positives == 0:
        return 0.5
    predicted = np.arange(1, len(scores) + 1)
    f1 = 2.0 * true_positives / (predicted + positives)
    distinct_cut = np.append(sorted_scores[:-1] > sorted_scores[1:], True)
    f1 = np.where(distinct_cut, f1, -1.0)
    k = int(np.argmax(f1))
    below = sorted_scores[k + 1] if k + 1 < len(scores) else 0.0
    return float((sorted_scores[k] + below) / 2.0)


def fit_thresholds(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """One decision threshold per label, each maximising that label's F1."""
    return np.array([best_f1_threshold(probs[:, k], targets[:, k]) for k in range(probs.shape[1])])
