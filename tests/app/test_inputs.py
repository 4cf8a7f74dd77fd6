"""Predict bodies read by simdjson (the usual ones) give exactly what the general orjson reading gives, and any
other body is left to the general reading, whose message names the problem."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import inputs
from app.core.errors import InvalidInput
from app.core.registry import ModelRegistry
from tests.app.conftest import SHIPPED_MODELS, request_budget

FLAT = [7] * 783 + [255]
ROWS = [[0.5] * 28] * 27 + [[0] * 27 + [255.0]]


@pytest.fixture(scope="module")
def specs():
    registry = ModelRegistry(SHIPPED_MODELS, threads=1)
    registry.load()
    return {task: registry.for_task(task).spec for task in ("multiclass", "multilabel")}


def general(body: bytes, spec) -> tuple | str:
    """What the orjson reading gives: pixels and options, or its error message."""
    try:
        return inputs._json_body(body, spec, request_budget(max_instances=8))
    except InvalidInput as error:
        return error.detail


def assert_same_as_general(body: bytes, spec) -> None:
    plain = inputs._plain_json_body(body, spec, request_budget(max_instances=8))
    if plain is None:
        return
    expected = general(body, spec)
    assert not isinstance(expected, str), f"simdjson took a body the general reading refuses: {expected}"
    np.testing.assert_array_equal(plain[0], expected[0])
    assert plain[0].dtype == np.float32 and plain[0].shape == expected[0].shape
    assert repr(plain[1]) == repr(expected[1])


@pytest.mark.parametrize(
    ("task", "payload"),
    [
        ("multiclass", {"instances": [FLAT]}),
        ("multiclass", {"instances": [ROWS, FLAT], "top_k": 2, "return_logits": True}),
        ("multilabel", {"instances": [[1] * 3136], "threshold": [0.5] * 10}),
        ("multilabel", {"instances": [[1] * 3136], "threshold": 0.25}),
    ],
)
def test_the_usual_bodies_are_read_by_simdjson_exactly_as_by_orjson(specs, task: str, payload: dict) -> None:
    body = json.dumps(payload).encode()
    assert inputs._plain_json_body(body, specs[task], request_budget()) is not None
    assert_same_as_general(body, specs[task])


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [[*FLAT[:-1], [5]]]},  # one value nested a level deeper: flattened, the same count
        {"instances": [[*FLAT[:-2], [1, 2]]]},
        {"instances": [[[0] * 27 + [[1]]] + [[0] * 28] * 27]},
        {"instances": [[[0] * 27] + [[0] * 29] + [[0] * 28] * 26]},  # rows of 27 and 29: 784 in all
        {"instances": [[*FLAT[:-1], True]]},
        {"instances": [[*FLAT[:-1], None]]},
        {"instances": [[*FLAT[:-1], "1"]]},
        {"instances": [[*FLAT[:-1], 256]]},
        {"instances": [[*FLAT[:-1], 255.00000001]]},
        {"instances": [[*FLAT[:-1], 2**70]]},
        {"instances": [{"b64": "AAAA"}]},
        {"instances": FLAT},
        {"instances": []},
        {"instances": [FLAT] * 9},  # past max_instances
        {"instances": [FLAT], "top_k": "[3]"},
        {"instances": [FLAT], "unknown": [1]},
        {"pixels": [FLAT]},
    ],
)
def test_anything_else_is_left_to_the_general_reading(specs, body: dict) -> None:
    assert (
        inputs._plain_json_body(json.dumps(body).encode(), specs["multiclass"], request_budget(max_instances=8)) is None
    )


def test_duplicate_keys_and_non_objects_are_left_to_orjson(specs) -> None:
    flat = json.dumps(FLAT)
    for body in (f'{{"instances": [{flat}], "instances": [[1]]}}', f"[{flat}]", "[", '{"instances": [[1e400]]}'):
        assert inputs._plain_json_body(body.encode(), specs["multiclass"], request_budget()) is None


ODD_VALUES = st.one_of(st.integers(-2, 300), st.floats(-1, 256), st.booleans(), st.none(), st.just("7"), st.just([3]))


def instance(base: float, nested: bool, changes: list[tuple[int, object]], length: int) -> list:
    """A flat or row-by-row image of `base`, `length` values long, with a few values changed (maybe to odd ones)."""
    values: list = [base] * length
    for index, value in changes:
        values[index % length] = value
    return [values[row * 28 : row * 28 + 28] for row in range(28)] if nested and length == 784 else values


@settings(max_examples=300, deadline=None)
@given(
    images=st.lists(
        st.tuples(
            st.one_of(st.integers(0, 255), st.floats(0, 255)),
            st.booleans(),
            st.lists(st.tuples(st.integers(0, 783), ODD_VALUES), max_size=2),
            st.sampled_from([784, 784, 784, 783]),
        ),
        min_size=1,
        max_size=3,
    ),
    top_k=st.one_of(st.none(), st.integers(0, 11)),
)
def test_whatever_simdjson_takes_it_reads_as_orjson_does(specs, images: list, top_k: int | None) -> None:
    payload = {"instances": [instance(*image) for image in images]} | ({} if top_k is None else {"top_k": top_k})
    assert_same_as_general(json.dumps(payload).encode(), specs["multiclass"])
