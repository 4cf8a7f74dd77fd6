"""Is it a digit at all? The energy score of the logits and its threshold: pure numpy, no web."""

from dataclasses import dataclass

import numpy as np


def energy_score(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """-T * logsumexp(logits / T) per row (Liu et al., 2020): higher means less like anything seen in training."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64)
    if temperature != 1.0:
        scaled = scaled / temperature
    energy: np.ndarray = -temperature * np.logaddexp.reduce(scaled, axis=-1)
    return energy.astype(np.float32)


def fit_threshold(scores: np.ndarray, keep: float) -> float:
    """The smallest threshold t such that `score <= t` holds for at least `keep` of these in-distribution scores."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    return float(ordered[int(np.ceil(keep * len(ordered))) - 1])


@dataclass(frozen=True)
class OodRule:
    """How a model scores 'not a digit': the score kind, its temperature, and the threshold above which it says no."""

    kind: str
    temperature: float
    threshold: float

    def score(self, logits: np.ndarray) -> np.ndarray:
        """The out-of-distribution score of each row of logits (float32, higher = less like a digit)."""
        return energy_score(logits, self.temperature)

    def is_digit(self, scores: np.ndarray) -> np.ndarray:
        """True where the score is at or below the threshold."""
        return np.asarray(scores) <= np.float32(self.threshold)
