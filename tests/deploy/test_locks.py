"""The locks in requirements/: every package pinned with hashes, agreeing with pyproject.toml, past its advisories;
the image installs from its lock with hashes required."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCKS = {
    "serving.txt": [],
    "run.txt": [],
    "test.txt": ["test"],
    "train.txt": ["train"],
    "dev.txt": ["train", "test", "lint"],
}
PATCHED = {"starlette": "0.49.1", "python-multipart": "0.0.31", "pillow": "12.2"}
"""The first versions past the advisories of issue #20..."""
ADVISED = {"starlette": "0.49.0", "python-multipart": "0.0.30", "pillow": "12.1.1"}
"""...and versions those advisories name."""
PYTHONS = ("3.11", "3.13")


def _entries(lock: Path) -> list[tuple[Requirement, list[str]]]:
    """Each entry of a pip lock: the requirement and its hashes (continuation lines joined)."""
    text = re.sub(r"\s*\\\n\s*", " ", lock.read_text())
    entries = []
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        requirement, *options = re.split(r"\s+(?=--hash=)", line)
        entries.append((Requirement(requirement), [option.removeprefix("--hash=") for option in options]))
    return entries


def _pinned(lock: Path, python: str) -> dict[str, Version]:
    """name -> version of the lock's entries that apply on that Python."""
    pins = {}
    for requirement, _ in _entries(lock):
        if requirement.marker is None or requirement.marker.evaluate(
            {"python_full_version": f"{python}.0", "python_version": python}
        ):
            (specifier,) = requirement.specifier
            pins[requirement.name.lower()] = Version(specifier.version)
    return pins


@pytest.mark.parametrize("lock", [*LOCKS, "kserve.txt"])
def test_every_entry_is_pinned_exactly_with_sha256_hashes(lock: str) -> None:
    entries = _entries(REPO / "requirements" / lock)
    assert entries
    for requirement, hashes in entries:
        assert [spec.operator for spec in requirement.specifier] == ["=="], requirement
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in hashes), requirement


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_each_lock_satisfies_pyproject_for_its_extras(lock: str, extras: list[str], python: str) -> None:
    """A lock older than a change to pyproject.toml fails here: run `make lock`."""
    pins = _pinned(REPO / "requirements" / lock, python)
    wanted = PYPROJECT["project"]["dependencies"] + [
        dependency for extra in extras for dependency in PYPROJECT["project"]["optional-dependencies"][extra]
    ]
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"python_version": python}):
            continue
        name = requirement.name.lower()
        assert name in pins, f"{lock}: {name} is not locked (run make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{lock}: {name} {pins[name]} vs {text}"


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("lock", LOCKS)
def test_no_lock_holds_a_version_with_a_known_advisory(lock: str, python: str) -> None:
    pins = _pinned(REPO / "requirements" / lock, python)
    for name, patched in PATCHED.items():
        assert pins[name] >= Version(patched), f"{lock}: {name} {pins[name]}"


def test_pyproject_floors_exclude_the_advised_versions() -> None:
    requirements = {Requirement(text).name: Requirement(text) for text in PYPROJECT["project"]["dependencies"]}
    for name, advised in ADVISED.items():
        assert name in requirements, f"{name} needs a floor of its own in pyproject.toml"
        assert not requirements[name].specifier.contains(advised), requirements[name]


def test_the_image_installs_its_lock_with_hashes_required_then_the_service_without_dependencies() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY requirements/serving.txt ./requirements.txt" in dockerfile
    install = re.search(
        r"pip install --require-hashes -r requirements.txt \\\s+&& pip install --no-deps \.", dockerfile
    )
    assert install, "the image must install the lock with --require-hashes, then the service with --no-deps"
