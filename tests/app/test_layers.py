"""The layout's arrows point down: transports -> operations -> core, and training uses only the core."""

import ast
from pathlib import Path

import pytest

from tests.app.conftest import REPO

CORE_FORBIDDEN = ("fastapi", "starlette", "uvicorn", "grpc", "google.protobuf", "prometheus_client", "httptools")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute names (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    """'core', 'operations', 'transports.http', 'transports.grpc', 'top' or None (not part of app)."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    if len(parts) == 1 or parts[1] in ("main", "__main__"):
        return "top"
    if parts[1] == "transports":
        return ".".join(parts[1:3]) if len(parts) > 2 else "transports"
    return parts[1]


ALLOWED = {
    "core": {"core"},
    "operations": {"core", "operations"},
    "transports.http": {"core", "operations", "transports.http"},
    "transports.grpc": {"core", "operations", "transports.grpc"},
}


def files_of(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", files_of("app"), ids=lambda p: str(p.relative_to(REPO)))
def test_app_imports_point_down(path: Path) -> None:
    own = layer_of(".".join(path.relative_to(REPO).with_suffix("").parts))
    if own not in ALLOWED:
        return
    imports = imported_modules(path)
    wrong = sorted(
        m for m in imports if (layer := layer_of(m)) is not None and layer not in ALLOWED[own] and m != "app"
    )
    assert not wrong, f"{own} must not import {wrong}"
    if own == "core":
        web = sorted(m for m in imports if m.startswith(CORE_FORBIDDEN))
        assert not web, f"the core is protocol-neutral, yet imports {web}"


@pytest.mark.parametrize("path", files_of("training"), ids=lambda p: str(p.relative_to(REPO)))
def test_training_uses_only_the_core(path: Path) -> None:
    wrong = sorted(m for m in imported_modules(path) if layer_of(m) not in (None, "core"))
    assert not wrong, f"training imports {wrong}: it may use app.core only"
