"""Test metrics and the PNG report figures written next to each model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from app.core.postprocess import softmax
from training.calibrate import Reliability, nll, reliability
from training.data import LABELS, NUM_CLASSES


def multiclass_metrics(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict[str, float | int]:
    """Accuracy, and ECE / NLL before and after temperature scaling."""
    return {
        "accuracy": float(np.mean(logits.argmax(axis=-1) == labels)),
        "ece_before": reliability(softmax(logits), labels).ece,
        "ece_after": reliability(softmax(logits, temperature), labels).ece,
        "nll_before": nll(logits, labels),
        "nll_after": nll(logits, labels, temperature),
        "test_size": len(labels),
    }


def auroc(digit_scores: np.ndarray, outlier_scores: np.ndarray) -> float:
    """Area under the ROC curve of telling outliers (higher scores) from digits: P(outlier > digit), ties count half."""
    ordered = np.sort(np.asarray(digit_scores, dtype=np.float64))
    outlier_scores = np.asarray(outlier_scores, dtype=np.float64)
    below = np.searchsorted(ordered, outlier_scores, side="left")
    tied = np.searchsorted(ordered, outlier_scores, side="right") - below
    return float(np.mean((below + 0.5 * tied) / len(ordered)))


def ood_metrics(
    digit_scores: np.ndarray, family_scores: dict[str, np.ndarray], accepted: Callable[[np.ndarray], np.ndarray]
) -> dict[str, Any]:
    """Share of test digits kept, and per family its size, AUROC and false-positive rate (outliers taken for digits)."""
    return {
        "test_digits_kept": float(np.mean(accepted(digit_scores))),
        "families": {
            name: {
                "size": len(scores),
                "auroc": auroc(digit_scores, scores),
                "fpr_at_threshold": float(np.mean(accepted(scores))),
            }
            for name, scores in family_scores.items()
        },
    }


def _precision_recall_f1(true_positives: float, predicted: float, actual: float) -> dict[str, float]:
    """Precision, recall and their harmonic mean; each 0 when undefined."""
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def multilabel_metrics(flags: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Micro precision / recall / F1, exact match, and per-label precision / recall / F1."""
    flags, targets = flags.astype(bool), targets.astype(bool)
    true_positives = np.sum(flags & targets, axis=0)
    predicted, actual = flags.sum(axis=0), targets.sum(axis=0)
    micro = _precision_recall_f1(true_positives.sum(), predicted.sum(), actual.sum())
    return {
        **{f"micro_{name}": value for name, value in micro.items()},
        "exact_match": float(np.mean(np.all(flags == targets, axis=1))),
        "per_label": [
            {"label": label, **_precision_recall_f1(true_positives[k], predicted[k], actual[k])}
            for k, label in enumerate(LABELS)
        ],
        "test_size": len(targets),
    }


def _save(fig: plt.Figure, path: Path) -> None:
    """Write and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_training_curves(history: dict[str, list[float]], title: str, path: Path) -> None:
    """Loss (and accuracy if recorded) per epoch, training vs validation."""
    metrics = [m for m in ("loss", "accuracy", "binary_accuracy") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], marker="o", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if metric == "loss":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    _save(fig, path)


def plot_confusion_matrix(labels: np.ndarray, predicted: np.ndarray, path: Path) -> None:
    """Counts of true digit (rows) vs predicted digit (columns) on the test split, log colour scale."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            color = "white" if matrix[row, col] > matrix.max() / 4 else "black"
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(NUM_CLASSES), LABELS)
    ax.set_yticks(range(NUM_CLASSES), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"mnist-multiclass confusion matrix (test, accuracy {np.trace(matrix) / matrix.sum():.4f})")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    _save(fig, path)


def plot_reliability(before: Reliability, after: Reliability, temperature: float, path: Path) -> None:
    """Reliability diagrams of the test split before and after temperature scaling (numbers = samples per bin)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    panels = [(before, "before (T = 1)"), (after, f"after temperature scaling (T = {temperature:.3f})")]
    for ax, (bins, title) in zip(axes, panels, strict=True):
        centres = (bins.edges[:-1] + bins.edges[1:]) / 2
        width = bins.edges[1] - bins.edges[0]
        filled = bins.count > 0
        ax.bar(centres[filled], bins.accuracy[filled], width=width, edgecolor="black", alpha=0.7, label="accuracy")
        gap = bins.confidence[filled] - bins.accuracy[filled]
        ax.bar(
            centres[filled],
            gap,
            bottom=bins.accuracy[filled],
            width=width,
            color="red",
            alpha=0.3,
            edgecolor="red",
            hatch="//",
            label="gap to mean confidence",
        )
        for x, n in zip(centres[filled], bins.count[filled], strict=True):
            ax.text(x, 0.02, f"{int(n)}", ha="center", fontsize=6, rotation=90)
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        ax.set_xlabel("confidence of the top class")
        ax.set_title(f"{title}\nECE = {bins.ece:.4f}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left")
    axes[0].set_ylabel("accuracy")
    _save(fig, path)


def plot_per_label(metrics: dict[str, Any], path: Path) -> None:
    """Grouped precision / recall / F1 bars for each digit label on the test canvases."""
    per_label = metrics["per_label"]
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(per_label))
    for offset, metric in zip((-0.27, 0.0, 0.27), ("precision", "recall", "f1"), strict=True):
        ax.bar(x + offset, [row[metric] for row in per_label], width=0.27, label=metric)
    values = [row[m] for row in per_label for m in ("precision", "recall", "f1")]
    ax.set_ylim(max(0.0, min(values) - 0.02), 1.0)
    ax.set_xticks(x, [row["label"] for row in per_label])
    ax.set_xlabel("digit label")
    ax.set_title(
        f"mnist-multilabel on {metrics['test_size']} test canvases: "
        f"micro-F1 {metrics['micro_f1']:.4f}, exact match {metrics['exact_match']:.4f}"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(fig, path)


def plot_ood_histograms(
    digit_scores: np.ndarray,
    family_scores: dict[str, np.ndarray],
    threshold: float,
    metrics: dict[str, Any],
    path: Path,
) -> None:
    """The OOD score of the test digits against each held-out family, with the threshold marked."""
    columns = 3
    rows = -(-len(family_scores) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.4 * rows), squeeze=False)
    everything = np.concatenate([digit_scores, *family_scores.values()])
    bins = np.linspace(everything.min(), everything.max(), 60)
    for ax, (name, scores) in zip(axes.flat, family_scores.items(), strict=False):  # the grid may have spare cells
        figures = metrics["families"][name]
        ax.hist(digit_scores, bins=bins, density=True, alpha=0.6, label="test digits")
        ax.hist(scores, bins=bins, density=True, alpha=0.6, color="tab:red", label=name.replace("_", " "))
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
        ax.set_title(f"{name.replace('_', ' ')}: AUROC {figures['auroc']:.4f}, FPR {figures['fpr_at_threshold']:.2%}")
        ax.set_xlabel("energy score (higher = less like a digit)")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(family_scores) :]:
        ax.axis("off")
    fig.suptitle(
        f"mnist-multiclass: out-of-distribution score, threshold keeps {metrics['test_digits_kept']:.2%} "
        "of the test digits"
    )
    _save(fig, path)
