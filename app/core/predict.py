"""Runs a model on a pixel batch and shapes the answer its task gives (softmax or sigmoid, see app.core.tasks)."""

from typing import Any

import numpy as np

from app.core.explain import occlude, occlusion_masks, sensitivity_maps
from app.core.registry import Model
from app.core.tasks import PredictOptions


async def predict(model: Model, pixels: np.ndarray, options: PredictOptions) -> dict[str, Any]:
    """The response body for a predict request."""
    task = model.spec.task
    logits = await model.infer(pixels)
    probabilities = task.probabilities(logits)
    predictions = task.predictions(probabilities, logits, options)
    if options.explain:
        maps = await explanations(model, pixels, probabilities)
        for prediction, image, explanation in zip(predictions, pixels, maps, strict=True):
            prediction["explanation"], prediction["input"] = explanation, image
    if options.return_logits:
        for prediction, row in zip(predictions, logits, strict=True):
            prediction["logits"] = row
    return {"model": {"name": model.spec.name, "version": model.spec.version}, "predictions": predictions}


async def explanations(model: Model, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Occlusion-sensitivity maps [N, H, W] of each image's top label; each image's occlusions in one batched call."""
    masks = occlusion_masks(model.spec.image_shape)
    # One call per image: tens of rows cost less per row here than a thousand, and memory stays small.
    logits = [await model.infer(occlude(image[None], masks)) for image in pixels]
    occluded = model.spec.task.probabilities(np.concatenate(logits)).reshape(len(pixels), len(masks), -1)
    rows = np.arange(len(pixels))
    labels = probabilities.argmax(axis=1)
    return sensitivity_maps(probabilities[rows, labels], occluded[rows, :, labels], masks)
