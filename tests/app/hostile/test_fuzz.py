"""Property-based fuzzing of the /predict JSON parser and the V2 parser: documented outcomes only."""

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import InvalidInput
from app.core.inputs import parse_json_body
from app.core.oip import INPUT_DATATYPES, parse_infer_request
from app.core.registry import ModelRegistry, ModelSpec
from tests.app.conftest import SHIPPED_MODELS, request_budget

DOCUMENTED = {"/predict": {200, 413, 415, 422}, "/v2": {200, 400, 413}}

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
pixel = st.integers(-2, 260) | st.floats(-1, 300, allow_nan=False) | st.booleans() | st.sampled_from([None, "1", [0]])


def rows(side: int) -> st.SearchStrategy[list[Any]]:
    """A picture of about the right shape, flat or nested, with mostly valid pixels."""
    flat = st.lists(st.integers(0, 255), min_size=side * side, max_size=side * side)
    nested = st.lists(st.lists(pixel, min_size=side - 1, max_size=side + 1), min_size=side - 1, max_size=side + 1)
    broken = flat.flatmap(
        lambda values: st.integers(0, len(values) - 1).flatmap(
            lambda index: pixel.map(lambda bad: [*values[:index], bad, *values[index + 1 :]])
        )
    )
    return flat | nested | broken | json_values


def predict_bodies(side: int) -> st.SearchStrategy[dict[str, Any]]:
    options = st.fixed_dictionaries(
        {},
        optional={
            "top_k": json_values | st.integers(-1, 12),
            "threshold": json_values | st.floats(-1, 2) | st.lists(st.floats(0, 1), min_size=9, max_size=11),
            "return_logits": json_values,
            "explain": json_values,
        },
    )
    instances = st.lists(rows(side) | st.fixed_dictionaries({"b64": st.text(max_size=40)}), max_size=4) | json_values
    return st.builds(lambda found, extra: {"instances": found, **extra}, instances, options) | json_values


def v2_bodies(side: int) -> st.SearchStrategy[tuple[dict[str, Any], bytes, int | None]]:
    tensor = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["pixels"]) | st.text(max_size=10),
            "shape": st.sampled_from([[1, side, side], [2, side * side], [1, side * side]])
            | st.lists(st.integers(-3, 2**40), max_size=4)
            | json_values,
            "datatype": st.sampled_from([*INPUT_DATATYPES, "BOOL", "BYTES"]) | json_values,
        },
        optional={
            "data": rows(side),
            "parameters": st.fixed_dictionaries(
                {}, optional={"binary_data_size": st.integers(-1, 50_000) | json_values}
            )
            | json_values,
        },
    )
    outputs = st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["logits", "probabilities", "label", "flags"]) | st.text(max_size=8)},
            optional={"parameters": st.fixed_dictionaries({}, optional={"binary_data": json_values}) | json_values},
        ),
        max_size=5,
    )
    header = st.fixed_dictionaries(
        {"inputs": st.lists(tensor, max_size=2) | json_values},
        optional={"outputs": outputs | json_values, "id": json_values, "parameters": json_values},
    )
    return st.tuples(header, st.binary(max_size=6000), st.none() | st.integers(-5, 10_000))


@pytest.fixture(scope="module")
def specs() -> dict[str, ModelSpec]:
    registry = ModelRegistry(SHIPPED_MODELS, threads=1)
    registry.load()
    return {task: registry.for_task(task).spec for task in ("multiclass", "multilabel")}


def check_pixels(pixels: np.ndarray, spec: ModelSpec) -> None:
    assert pixels.dtype == np.float32 and pixels.shape[1:] == spec.image_shape and len(pixels) >= 1
    assert np.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 255


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_the_predict_parser_accepts_or_names_the_problem(specs: dict[str, ModelSpec], task: str) -> None:
    spec = specs[task]

    @FUZZ
    @given(body=predict_bodies(spec.image_shape[0]))
    def parses(body: Any) -> None:
        try:
            pixels, _ = parse_json_body(json.dumps(body).encode(), spec, request_budget())
        except InvalidInput as error:
            assert error.status_code == 422 and error.detail and len(error.detail) < 400
        else:
            check_pixels(pixels, spec)

    parses()


@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_the_v2_parser_accepts_or_names_the_problem(specs: dict[str, ModelSpec], task: str) -> None:
    spec = specs[task]

    @FUZZ
    @given(request=v2_bodies(spec.image_shape[0]))
    def parses(request: tuple[dict[str, Any], bytes, int | None]) -> None:
        header, binary, length = request
        text = json.dumps(header).encode()
        try:
            parsed = parse_infer_request(text + binary, length, spec, request_budget())
        except InvalidInput as error:
            assert error.detail and len(error.detail) < 400
        else:
            check_pixels(parsed.pixels, spec)

    parses()


@settings(FUZZ, max_examples=40, suppress_health_check=list(HealthCheck))
@given(body=predict_bodies(28), header=v2_bodies(28))
def test_over_http_only_documented_statuses_come_back(client: TestClient, body: Any, header: tuple) -> None:
    response = client.post(
        "/predict/multiclass", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code in DOCUMENTED["/predict"] and response.headers["content-type"] == "application/json"
    fields, binary, length = header
    text = json.dumps(fields).encode()
    headers = {} if length is None else {"inference-header-content-length": str(length)}
    response = client.post("/v2/models/mnist-multiclass/infer", content=text + binary, headers=headers)
    assert response.status_code in DOCUMENTED["/v2"]
