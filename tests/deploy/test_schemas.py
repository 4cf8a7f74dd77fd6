"""Every deployment file renders, with old and new kustomize alike, and matches its API's schema."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.deploy.conftest import (
    KUSTOMIZATIONS,
    Manifest,
    find,
    kubectls,
    kustomization_ids,
    render,
    without_name_hashes,
)

# The oldest and the newest Kubernetes whose schemas kubernetes-validate (pinned in pyproject) bundles.
KUBERNETES_VERSIONS = ("1.25", "1.37")
SCHEMAS = Path(__file__).parent / "schemas"
K8S_SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def strict(schema: Any) -> Any:
    """A CRD schema that rejects unknown fields, as the API server does under strict field validation."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        tightened.setdefault("additionalProperties", False)
    return tightened


@cache
def crd_validators() -> dict[tuple[str, str], Draft202012Validator]:
    """The vendored CRD schemas, strict, by (apiVersion, kind)."""
    validators = {}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        for gvk in schema["x-kubernetes-group-version-kind"]:
            validators[(f"{gvk['group']}/{gvk['version']}", gvk["kind"])] = Draft202012Validator(strict(schema))
    return validators


@cache
def kubernetes_validator(version: str, type_name: str) -> Draft202012Validator:
    """kubernetes-validate's strict schema of one Kubernetes type (e.g. podspec-v1) for `version`."""
    (folder,) = K8S_SCHEMAS.glob(f"v{version}.*-local-strict")
    schema = json.loads((folder / f"{type_name}.json").read_text())
    definitions = Resource.from_contents(json.loads((folder / "_definitions.json").read_text()))
    return Draft202012Validator(schema, registry=definitions @ Registry())


def schema_errors(manifest: Manifest, version: str) -> list[str]:
    """Why `manifest` does not match Kubernetes `version`'s schemas or the vendored CRD schemas."""
    crd = crd_validators().get((manifest["apiVersion"], manifest["kind"]))
    if crd is not None:
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in crd.iter_errors(manifest)]
        metadata = kubernetes_validator(version, "objectmeta-meta-v1")
        return errors + [f"metadata.{e.message}" for e in metadata.iter_errors(manifest["metadata"])]
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [error.message]
    return []


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_ids())
def test_every_kubectl_renders_the_same_objects(folder: Path) -> None:
    renderings = {kubectl: without_name_hashes(render(kubectl, folder)) for kubectl in kubectls()}
    first = next(iter(renderings.values()))
    assert all(text == first for text in renderings.values()), f"kustomize versions disagree on {folder}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("folder", kustomization_ids())
def test_every_object_matches_the_kubernetes_schemas(
    rendered: dict[str, list[Manifest]], folder: str, version: str
) -> None:
    for manifest in rendered[folder]:
        assert schema_errors(manifest, version) == [], f"{manifest['kind']} {manifest['metadata']['name']}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_inference_service_matches_kserve_and_kubernetes_schemas(inference_service: Manifest, version: str) -> None:
    assert schema_errors(inference_service, version) == []
    # The predictor is a PodSpec inlined with KServe's own fields: check the pod part with Kubernetes' schema.
    predictor = inference_service["spec"]["predictor"]
    pod_spec = kubernetes_validator(version, "podspec-v1")
    pod_fields = {key: value for key, value in predictor.items() if key in pod_spec.schema["properties"]}
    assert set(pod_fields) >= {"containers", "securityContext", "volumes", "terminationGracePeriodSeconds"}
    assert [e.message for e in pod_spec.iter_errors(pod_fields)] == []


def test_the_validators_reject_what_the_api_server_would(
    rendered: dict[str, list[Manifest]], inference_service: Manifest
) -> None:
    predictor = inference_service["spec"]["predictor"]
    typo = {**inference_service, "spec": {"predictor": {**predictor, "protocolVersion": "v2"}}}
    assert any("protocolVersion" in error for error in schema_errors(typo, "1.37"))
    deployment = find(rendered["base"], "Deployment")
    typo = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert any("'replica' was unexpected" in error for error in schema_errors(typo, "1.37"))
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}
    assert schema_errors(unknown, "1.37") != []
