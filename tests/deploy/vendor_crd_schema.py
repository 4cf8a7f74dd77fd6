"""Vendors the part of a CRD's schema that our manifests use, as a small JSON Schema file.

    python tests/deploy/vendor_crd_schema.py CRD.yaml SOURCE MANIFEST.yaml... > tests/deploy/schemas/NAME.json

Every field a manifest sets keeps its full upstream schema; a field it does not set keeps only its
type, so its name stays known. Descriptions are dropped. Re-run it after a manifest starts using a new field.
"""

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

SHALLOW_KEYS = ("type", "anyOf", "enum", "format", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")


def union(values: list[Any]) -> Any:
    """One value holding every key path of `values` (objects merged deeply, lists concatenated)."""
    if values and all(isinstance(value, dict) for value in values):
        keys = {key for value in values for key in value}
        return {key: union([value[key] for value in values if key in value]) for key in keys}
    if values and all(isinstance(value, list) for value in values):
        return [item for value in values for item in value]
    return values[0] if values else None


def prune(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The schema of `value` with only the type of every property `value` does not set."""
    if isinstance(value, dict) and "properties" in schema:
        properties = {
            name: prune(sub, value[name]) if name in value else {k: v for k, v in sub.items() if k in SHALLOW_KEYS}
            for name, sub in schema["properties"].items()
        }
        return {**schema, "properties": properties}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return {**schema, "items": prune(schema["items"], union(value))}
    return schema


def without_descriptions(node: Any) -> Any:
    """`node` without its "description" keywords, at any depth."""
    if isinstance(node, dict):
        return {key: without_descriptions(value) for key, value in node.items() if key != "description"}
    if isinstance(node, list):
        return [without_descriptions(value) for value in node]
    return node


def vendor(crd_path: Path, source: str, manifest_paths: list[Path]) -> dict[str, Any]:
    """The pruned openAPIV3Schema of the CRD version the manifests use, with its source named."""
    crd_text = crd_path.read_bytes()
    crd = yaml.safe_load(crd_text)
    manifests = [doc for path in manifest_paths for doc in yaml.safe_load_all(path.read_text()) if doc]
    group, version = manifests[0]["apiVersion"].split("/")
    kind = crd["spec"]["names"]["kind"]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = without_descriptions(prune(served["schema"]["openAPIV3Schema"], union(manifests)))
    return {
        "$comment": (
            f"{kind} {group}/{version} schema from {source} (sha256 {hashlib.sha256(crd_text).hexdigest()}), "
            f"pruned by tests/deploy/vendor_crd_schema.py to the fields of {', '.join(map(str, manifest_paths))}"
        ),
        "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}],
        **schema,
    }


if __name__ == "__main__":
    crd_file, source_name, *manifest_files = sys.argv[1:]
    json.dump(
        vendor(Path(crd_file), source_name, [Path(m) for m in manifest_files]), sys.stdout, indent=1, sort_keys=True
    )
    sys.stdout.write("\n")
