"""Turns logits into answers: pure numpy, no web, no model runtime."""

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature; subtracts the row max so it never overflows."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probabilities.astype(np.float32)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function, finite and warning-free for any finite logit."""
    z = np.asarray(logits, dtype=np.float64)
    # exp(-|z|) is in (0, 1]: never overflows, for either sign.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)


def top_k(probabilities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most probable labels per row of [N, labels], most probable first (ties: lower label first)."""
    if not 1 <= k <= probabilities.shape[-1]:
        raise ValueError(f"k must be in 1..{probabilities.shape[-1]}, got {k}")
    order = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
    return order, probabilities[np.arange(len(probabilities))[:, None], order]


def apply_thresholds(probabilities: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """Yes/no flag per label: probability >= that label's threshold."""
    return probabilities >= np.asarray(thresholds, dtype=np.float32)
