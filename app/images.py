"""Decodes uploaded PNG/JPEG images into model inputs the way MNIST digits were prepared."""

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG")
MAX_PIXELS = 4096 * 4096
INK_FRACTION = 0.1
MNIST_BOX_FRACTION = 20 / 28


class ImageError(ValueError):
    """The bytes are not a PNG or JPEG this service can use."""


def decode_grayscale(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes -> float32 [H, W] with 0 = background and 255 = ink."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageError(f"image is {width}x{height}, more than {MAX_PIXELS} pixels")
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        gray = np.asarray(image.convert("L"), dtype=np.float32)
    except UnidentifiedImageError:
        raise ImageError("not a PNG or JPEG image") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(f"cannot decode image: {error}") from None
    return 255.0 - gray if _background_is_light(gray) else gray


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
