"""The parity rule that gates an export, and the install into a model folder."""

from pathlib import Path

import numpy as np

from training.export import PARITY_ATOL, check_parity, install


def argmax_decision(logits: np.ndarray) -> np.ndarray:
    return logits.argmax(axis=-1)[:, None]


def test_parity_accepts_float_noise_and_rejects_drift_or_flipped_decisions() -> None:
    logits = np.random.default_rng(0).normal(size=(100, 10)).astype(np.float32)
    assert check_parity(logits, logits + PARITY_ATOL / 2, argmax_decision).ok
    drifted = check_parity(logits, logits + 10 * PARITY_ATOL, argmax_decision)
    assert not drifted.ok and drifted.max_abs_diff > PARITY_ATOL and drifted.size == 100
    flipped_logits = logits.copy()
    flipped_logits[0] = flipped_logits[0, ::-1]
    flipped = check_parity(logits, flipped_logits, argmax_decision)
    assert not flipped.ok and flipped.decisions_differ == 1


def test_install_replaces_files_and_keeps_others(tmp_path: Path) -> None:
    staging, target = tmp_path / "staging", tmp_path / "models" / "m"
    staging.mkdir()
    target.mkdir(parents=True)
    (target / "model.onnx").write_text("old")
    (target / "notes.txt").write_text("kept")
    (staging / "model.onnx").write_text("new")
    (staging / "model.json").write_text("{}")
    install(staging, target)
    assert sorted(p.name for p in target.iterdir()) == ["model.json", "model.onnx", "notes.txt"]
    assert (target / "model.onnx").read_text() == "new" and (target / "notes.txt").read_text() == "kept"
