"""The deployment files, rendered: every kustomization under deploy/kubernetes and the InferenceService."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUSTOMIZATIONS = sorted(path.parent for path in (DEPLOY / "kubernetes").rglob("kustomization.yaml"))
INFERENCE_SERVICE = DEPLOY / "kserve" / "inferenceservice.yaml"

Manifest = dict[str, Any]


def kubectls() -> list[str]:
    """Debian's kubectl 1.20 (KUBECTL, unpacked by `make test`), then any other kubectl on PATH."""
    found = [os.environ.get("KUBECTL") or "", shutil.which("kubectl") or ""]
    unique = [str(Path(k).resolve()) for k in found if k]
    if not unique:
        pytest.fail("no kubectl: run `make test`, which unpacks Debian's kubectl 1.20 into .tools/")
    return list(dict.fromkeys(unique))


def render(kubectl: str, folder: Path) -> list[Manifest]:
    """`kubectl kustomize folder`, parsed."""
    run = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"{kubectl} kustomize {folder}: {run.stderr}"
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


def without_name_hashes(manifests: list[Manifest]) -> str:
    """The manifests as YAML with generated names' content hashes cut (each kustomize hashes its own way)."""
    text = yaml.safe_dump_all(manifests, sort_keys=True)
    return re.sub(r"(digit-service-[a-z-]+)-[a-z0-9]{10}\b", r"\1", text)


def find(manifests: list[Manifest], kind: str) -> Manifest:
    """The one object of `kind`."""
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every kustomization rendered by the first kubectl, by path relative to deploy/kubernetes."""
    kubectl = kubectls()[0]
    return {str(folder.relative_to(DEPLOY / "kubernetes")): render(kubectl, folder) for folder in KUSTOMIZATIONS}


@pytest.fixture(scope="session")
def inference_service() -> Manifest:
    (manifest,) = [doc for doc in yaml.safe_load_all(INFERENCE_SERVICE.read_text()) if doc]
    return manifest


def kustomization_ids() -> list[str]:
    return [str(folder.relative_to(DEPLOY / "kubernetes")) for folder in KUSTOMIZATIONS]
