"""The images a command line names: files as given, folders searched recursively for PNG and JPEG."""

from collections.abc import Iterable
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


class NoSuchPath(Exception):
    """A path on the command line that does not exist, or a folder without a single image."""


def find_images(paths: Iterable[str]) -> list[Path]:
    """Each file as given, and each folder's PNG and JPEG files (any case, any depth), sorted."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            images = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
            if not images:
                raise NoSuchPath(f"{name}: no PNG or JPEG file in this folder")
            found.extend(images)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise NoSuchPath(f"{name}: no such file or folder")
    return found
