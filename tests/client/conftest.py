"""Fixtures for the client's tests: folders of real MNIST scans, and real `python -m app` services."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import service
from training.data import Mnist, load_mnist

DIGITS = Path(sys.executable).parent / "digits"
"""The console script the project's install puts next to its Python."""


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with service() as url:
        yield url


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


def scan(pixels: np.ndarray) -> Image.Image:
    """An MNIST digit as a scan: dark ink on white paper, 112x112."""
    return Image.fromarray(255 - pixels).resize((112, 112))


def write_scans(mnist: Mnist, folder: Path) -> dict[str, int]:
    """A folder of scans of MNIST test digits: PNG at the top, JPEG (.jpg, .JPEG) in nested folders, plus a
    broken PNG, a dangling link named like a PNG, and a text file (not an image: skipped). Returns the
    expected label of each image by its path (None for the broken ones)."""
    labels: dict[str, int] = {}
    places = [(folder, "png", "PNG"), (folder / "box2", "jpg", "JPEG"), (folder / "box2" / "old", "JPEG", "JPEG")]
    for place, (where, suffix, kind) in enumerate(places):
        where.mkdir(parents=True, exist_ok=True)
        for n in range(12):
            index = 100 * place + 7 * n
            path = where / f"scan{n:02d}.{suffix}"
            scan(mnist.x_test[index]).save(path, format=kind)
            labels[str(path)] = int(mnist.y_test[index])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a PNG")
    os.symlink(folder / "moved-away.png", folder / "box2" / "gone.png")
    (folder / "notes.txt").write_text("not an image")
    return labels


@pytest.fixture(scope="session")
def scans(mnist: Mnist, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A folder of 36 scans (and 2 broken files) and the label of each scan by its path."""
    folder = tmp_path_factory.mktemp("scans")
    return folder, write_scans(mnist, folder)


def digits(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `digits` command; stdout and stderr captured as text."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    return subprocess.run(
        [str(DIGITS), *args], env={**environ, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=300
    )
