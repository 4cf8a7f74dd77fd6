"""Occlusion sensitivity: which regions of an image support the predicted class. Pure numpy, no model here.

Blank one square patch at a time (set it to 0, the background), ask the model again, and credit
each pixel with the mean drop of the class's probability over the patches that covered it.
"""

from functools import cache

import numpy as np

PATCH = 7
STRIDE = 4


@cache
def occlusion_masks(shape: tuple[int, int], patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """Boolean [P, H, W]: True where patch p is blanked; the patches tile the image with overlap, edges included."""
    height, width = shape
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"patch must be in 1..{min(height, width)} and stride >= 1, got {patch} and {stride}")
    tops = _starts(height, patch, stride)
    lefts = _starts(width, patch, stride)
    masks = np.zeros((len(tops) * len(lefts), height, width), dtype=bool)
    for index, (top, left) in enumerate((top, left) for top in tops for left in lefts):
        masks[index, top : top + patch, left : left + patch] = True
    masks.flags.writeable = False
    return masks


def _starts(side: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)
    return starts


def occlude(pixels: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """[N, H, W] images -> [N * P, H, W]: image n with patch p blanked is row n * P + p."""
    kept: np.ndarray = pixels[:, None] * ~masks[None]
    return kept.reshape(-1, *pixels.shape[1:]).astype(np.float32, copy=False)


def sensitivity_maps(base: np.ndarray, occluded: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """[N, H, W] maps: per pixel, the mean of (base - occluded) over the patches covering it.

    base [N] is the class's probability on the intact image, occluded [N, P] with patch p blanked.
    Positive: that region supports the class; negative: it argues against it.
    """
    patches, height, width = masks.shape
    flat = masks.reshape(patches, height * width).astype(np.float32)
    drops = (base[:, None] - occluded).astype(np.float32)
    mean_drops: np.ndarray = (drops @ flat) / flat.sum(axis=0)
    return mean_drops.reshape(len(base), height, width)
