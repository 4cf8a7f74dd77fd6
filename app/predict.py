"""Runs a model on a pixel batch and shapes the answer: softmax for multiclass, sigmoid for multilabel."""

from typing import Any

import numpy as np

from app.explain import occlude, occlusion_masks, sensitivity_maps
from app.inputs import PredictOptions
from app.postprocess import apply_thresholds, sigmoid, softmax, top_k
from app.registry import Model, ModelSpec


def probabilities(spec: ModelSpec, logits: np.ndarray) -> np.ndarray:
    """The model's activation on its logits: softmax(logits / T) for multiclass, a sigmoid per label for multilabel."""
    if spec.task == "multiclass":
        return softmax(logits, spec.temperature)
    return sigmoid(logits)


def ood_verdict(spec: ModelSpec, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A multiclass model's out-of-distribution score per image (higher = less like a digit), and is_digit."""
    assert spec.ood is not None
    scores = spec.ood.score(logits)
    return scores, spec.ood.is_digit(scores)


async def predict(model: Model, pixels: np.ndarray, options: PredictOptions) -> dict[str, Any]:
    """The response body for a predict request."""
    logits = await model.infer(pixels)
    scores = probabilities(model.spec, logits)
    if model.spec.task == "multiclass":
        predictions = multiclass_predictions(scores, options.top_k, *ood_verdict(model.spec, logits))
        if options.explain:
            maps = await explanations(model, pixels, scores)
            for prediction, image, explanation in zip(predictions, pixels, maps, strict=True):
                prediction["explanation"], prediction["input"] = explanation, image
    else:
        assert options.thresholds is not None
        predictions = multilabel_predictions(scores, options.thresholds)
    if options.return_logits:
        for prediction, row in zip(predictions, logits, strict=True):
            prediction["logits"] = row
    return {"model": {"name": model.spec.name, "version": model.spec.version}, "predictions": predictions}


async def explanations(model: Model, pixels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Occlusion-sensitivity maps [N, H, W] of each image's top class; each image's occlusions in one batched call."""
    masks = occlusion_masks(model.spec.image_shape)
    # One call per image: tens of rows cost less per row here than a thousand, and memory stays small.
    logits = [await model.infer(occlude(image[None], masks)) for image in pixels]
    occluded = probabilities(model.spec, np.concatenate(logits)).reshape(len(pixels), len(masks), -1)
    rows = np.arange(len(pixels))
    labels = scores.argmax(axis=1)
    return sensitivity_maps(scores[rows, labels], occluded[rows, :, labels], masks)


def multiclass_predictions(
    probabilities: np.ndarray, k: int, ood_scores: np.ndarray, is_digit: np.ndarray
) -> list[dict[str, Any]]:
    """One digit per image: the softmax couples the classes so they sum to 1; is_digit says if it is one at all."""
    labels, top_probabilities = top_k(probabilities, k)
    return [
        {
            "label": row_labels[0],
            "probability": row_top[0],
            "probabilities": row,
            "top_k": [{"label": label, "probability": p} for label, p in zip(row_labels, row_top, strict=True)],
            "is_digit": digit,
            "ood_score": score,
        }
        for row, row_labels, row_top, digit, score in zip(
            probabilities, labels, top_probabilities, is_digit, ood_scores, strict=True
        )
    ]


def multilabel_predictions(probabilities: np.ndarray, thresholds: np.ndarray) -> list[dict[str, Any]]:
    """Any number of digits per image: an independent sigmoid per label, then its threshold."""
    flags = apply_thresholds(probabilities, thresholds)
    return [
        {"labels": np.flatnonzero(row_flags), "flags": row_flags, "probabilities": row}
        for row, row_flags in zip(probabilities, flags, strict=True)
    ]
