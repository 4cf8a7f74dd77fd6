"""/openapi.json documents the hot routes (predict, V2 infer) from their pydantic models, as FastAPI writes it."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

BINARY = {"type": "string", "format": "binary"}
V2_INFER_PATHS = ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer")


def ref(model: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model}"}


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize(
    ("task", "options"), [("multiclass", {"top_k", "explain", "return_logits"}), ("multilabel", {"threshold"})]
)
def test_predict_is_documented_from_its_models(schema: dict[str, Any], task: str, options: set[str]) -> None:
    operation = schema["paths"][f"/predict/{task}"]["post"]
    assert operation["operationId"] == f"predict_{task}" and operation["tags"] == ["predict"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == ref(f"{task.capitalize()}Request")
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {"type": "array", "items": BINARY} and form["required"] == ["file"]
    assert options <= set(form["properties"])
    responses = operation["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == ref(f"{task.capitalize()}Response")
    assert set(responses) == {"200", "413", "415", "422", "503"}
    for status in ("413", "415", "422", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == ref("ErrorResponse")
    components = schema["components"]["schemas"]
    assert "instances" in components[f"{task.capitalize()}Request"]["required"]
    assert components[f"{task.capitalize()}Response"]["properties"]["predictions"]["items"] == ref(
        f"{task.capitalize()}Prediction"
    )


@pytest.mark.parametrize("path", V2_INFER_PATHS)
def test_v2_infer_is_documented_with_json_and_binary_tensors(schema: dict[str, Any], path: str) -> None:
    operation = schema["paths"][path]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == ref("V2InferRequest")
    assert content["application/octet-stream"]["schema"] == BINARY
    ok = operation["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == ref("V2InferResponse")
    assert ok["application/octet-stream"]["schema"] == BINARY
    for status in ("400", "404", "413", "503"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == ref("V2Error")
    parameters = {(parameter["in"], parameter["name"]) for parameter in operation["parameters"]}
    assert parameters == {("path", name) for name in ("name", "version") if f"{{{name}}}" in path}


def test_operation_ids_are_unique_and_the_api_keys_are_a_bearer_scheme(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for item in schema["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))
    assert {"predict_multiclass", "predict_multilabel", "v2_infer", "v2_infer_version"} <= set(ids)
    assert schema["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert schema["security"] == [{"bearer": []}]
