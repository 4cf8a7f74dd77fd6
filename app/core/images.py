"""Decodes uploaded PNG/JPEG images into model inputs the way MNIST digits were prepared.

An image's declared size is checked against the request's budget before any pixel is decoded,
and large images are decoded small: JPEG at 1/2, 1/4 or 1/8 scale (draft mode), PNG box-reduced
before the Lanczos resampling.
"""

import io

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from app.core.budgets import ImageRefused, RequestBudget
from app.core.errors import clip

ACCEPTED_FORMATS = ("PNG", "JPEG")
INK_FRACTION = 0.1
MNIST_BOX_FRACTION = 20 / 28
# Decoded images keep at least this many pixels per pixel of the model's input side.
DETAIL_FACTOR = 8
# Every 8x8 block of a JPEG costs at least one bit: fewer bytes than this means the data was cut.
JPEG_PIXELS_PER_BYTE = 8 * 8 * 8
# 16-bit grayscale PNGs: Pillow's convert("L") clips them at 255 (all white), so they are scaled here.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L")
SIXTEEN_TO_EIGHT_BITS = 65535 / 255
# Modes Image.reduce works in; others are converted first.
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA")
# Text and colour-profile chunks are never used here: inflate at most 1 MiB of them (Pillow allows 64).
PngImagePlugin.MAX_TEXT_CHUNK = PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024


class ImageError(ValueError):
    """The bytes are not a PNG or JPEG this service can use."""


def decode_grayscale(data: bytes, budget: RequestBudget, model_side: int) -> np.ndarray:
    """PNG/JPEG bytes -> float32 [H, W] with 0 = background and 255 = ink, at no more detail than needed."""
    image = _open(data)
    width, height = image.size
    try:
        budget.admit_image(width, height)
    except ImageRefused as error:
        raise ImageError(str(error)) from None
    if image.format == "JPEG" and len(data) * JPEG_PIXELS_PER_BYTE < width * height:
        raise ImageError(f"JPEG data is truncated: {len(data)} bytes cannot hold {width}x{height} pixels")
    detail = DETAIL_FACTOR * model_side
    try:
        if image.format == "JPEG":
            image.draft(None, (detail, detail))
        image.load()
        if image.mode in SIXTEEN_BIT_MODES:
            image = _to_8_bits(image)
        if image.mode not in REDUCIBLE_MODES:
            image = image.convert("RGBA" if _has_alpha(image) else "L")
        factor = min(image.width, image.height) // detail
        if factor >= 2:
            image = image.reduce(factor)
        gray = np.asarray(_flatten(image), dtype=np.float32)
    except Exception as error:  # Pillow raises OSError, ValueError, SyntaxError, struct.error... on bad data
        raise ImageError(f"cannot decode image: {_reason(error)}") from None
    return 255.0 - gray if _background_is_light(gray) else gray


def _open(data: bytes) -> Image.Image:
    """Read the image's header (and PNG's chunks before the pixels), not its pixels."""
    try:
        return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise ImageError("not a PNG or JPEG image") from None
    except Image.DecompressionBombError:
        raise ImageError("image declares more pixels than MAX_IMAGE_PIXELS") from None
    except Exception as error:  # malformed chunks: ValueError, SyntaxError, struct.error, OSError...
        raise ImageError(f"cannot decode image: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    return clip(str(error) or type(error).__name__)


def _to_8_bits(image: Image.Image) -> Image.Image:
    """16-bit grayscale as 8-bit: value * 255 / 65535, rounded, as ImageMagick and libpng's png_set_scale_16 do."""
    wide = np.asarray(image, dtype=np.float32)
    return Image.fromarray(np.rint(wide / SIXTEEN_TO_EIGHT_BITS).clip(0, 255).astype(np.uint8))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _flatten(image: Image.Image) -> Image.Image:
    """Grayscale, with any transparency laid on white."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def _background_is_light(gray: np.ndarray) -> bool:
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) > 127.5


def _resize(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32))
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32).clip(0, 255)


def to_mnist_digit(gray: np.ndarray, size: int = 28) -> np.ndarray:
    """Crop to the ink, fit it in 20x20 keeping its aspect, centre by centre of mass in 28x28."""
    canvas = np.zeros((size, size), dtype=np.float32)
    peak = float(gray.max())
    if peak <= 0:
        return canvas
    rows, cols = np.nonzero(gray > INK_FRACTION * peak)
    ink = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = round(size * MNIST_BOX_FRACTION) / max(ink.shape)
    height, width = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    digit = _resize(ink, width, height)
    total = float(digit.sum())
    if total <= 0:
        return canvas
    centre_row = float((digit.sum(axis=1) * np.arange(height)).sum()) / total
    centre_col = float((digit.sum(axis=0) * np.arange(width)).sum()) / total
    top = int(np.clip(round(size / 2 - 0.5 - centre_row), 0, size - height))
    left = int(np.clip(round(size / 2 - 0.5 - centre_col), 0, size - width))
    canvas[top : top + height, left : left + width] = digit
    return canvas


def to_canvas(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a whole picture to the model's canvas (height, width)."""
    if gray.shape == shape:
        return gray
    return _resize(gray, shape[1], shape[0])
