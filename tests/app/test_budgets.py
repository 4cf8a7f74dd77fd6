"""Request budgets: instance counts, and error messages that quote client input only briefly."""

import pytest

from app.core.errors import InvalidInput, quote
from tests.app.conftest import request_budget


def test_more_instances_than_the_limit_are_refused_naming_the_setting() -> None:
    budget = request_budget(max_instances=3)
    budget.admit_instances(3, "instances")
    with pytest.raises(InvalidInput, match=r"instances: at most 3 instances per request \(MAX_INSTANCES\), got 4"):
        budget.admit_instances(4, "instances")


def test_quotes_of_client_input_are_cut_near_100_characters() -> None:
    assert quote("short") == "'short'"
    assert len(quote("x" * 2_000_000)) < 150
    assert len(quote(list(range(1_000_000)))) < 150


def test_quoting_deeply_nested_input_is_safe() -> None:
    nested: object = 0
    for _ in range(5000):
        nested = [nested]
    assert quote(nested) == "[[[[...]]]]"
