"""model.json as the service reads it: the shipped cards round-trip, and a bad card names its problem."""

import hashlib
import json

import pytest

from app.core.model_card import CardError, MulticlassCard, MultilabelCard, read_card, sha256_hex
from app.core.ood import OodRule
from tests.app.conftest import SHIPPED_MODELS, shipped_card

CARD_TYPES = {"mnist-multiclass": MulticlassCard, "mnist-multilabel": MultilabelCard}


@pytest.mark.parametrize("name", sorted(CARD_TYPES))
def test_a_shipped_card_reads_as_its_task_and_writes_back_unchanged(name: str) -> None:
    data = shipped_card(name)
    card = read_card(data)
    assert type(card) is CARD_TYPES[name]
    assert card.input.image_shape == tuple(data["input"]["shape"][1:])
    assert json.loads(card.to_json()) == data


def test_keys_the_service_does_not_know_are_kept() -> None:
    data = shipped_card("mnist-multilabel") | {"dataset_card": {"license": "CC BY-SA 3.0"}}
    assert json.loads(read_card(data).to_json())["dataset_card"] == {"license": "CC BY-SA 3.0"}


def test_the_ood_section_is_the_rule_the_service_applies() -> None:
    card = read_card(shipped_card("mnist-multiclass"))
    assert isinstance(card, MulticlassCard)
    assert card.ood.to_rule() == OodRule("energy", card.ood.temperature, card.ood.threshold)


def test_the_sha256_is_read_in_lower_case_and_matches_hashlib() -> None:
    data = shipped_card("mnist-multiclass")
    assert read_card(data | {"onnx_sha256": data["onnx_sha256"].upper()}).onnx_sha256 == data["onnx_sha256"]
    onnx_bytes = (SHIPPED_MODELS / "mnist-multiclass" / "model.onnx").read_bytes()
    assert sha256_hex(onnx_bytes) == hashlib.sha256(onnx_bytes).hexdigest() == data["onnx_sha256"]


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("mnist-multiclass", lambda card: card.pop("task"), "missing key 'task'"),
        (
            "mnist-multiclass",
            lambda card: card.update(task=["multiclass"]),
            "task must be one of multiclass, multilabel",
        ),
        (
            "mnist-multiclass",
            lambda card: card.update(temperature=float("inf")),
            "temperature: must be a finite number",
        ),
        ("mnist-multiclass", lambda card: card["ood"].pop("temperature"), "missing key 'ood.temperature'"),
        (
            "mnist-multiclass",
            lambda card: card["ood"].update(threshold=float("nan")),
            "ood.threshold: must be a finite",
        ),
        ("mnist-multiclass", lambda card: card["input"].update(shape=[None, 28]), "input: must be [batch, H, W]"),
        ("mnist-multiclass", lambda card: card["input"].update(shape=[None, 0, 28]), "input: must be [batch, H, W]"),
        ("mnist-multiclass", lambda card: card.update(labels=[]), "labels: List should have at least 1 item"),
        ("mnist-multiclass", lambda card: card.update(version=1), "version: Input should be a valid string, got 1"),
        ("mnist-multiclass", lambda card: card.update(onnx_sha256="abc"), "onnx_sha256: must be a sha256 in 64 hex"),
        ("mnist-multilabel", lambda card: card.pop("thresholds"), "missing key 'thresholds'"),
        ("mnist-multilabel", lambda card: card["thresholds"].pop(), "thresholds must be 10 numbers in (0, 1), one per"),
        ("mnist-multilabel", lambda card: card["thresholds"].__setitem__(3, 1.0), "thresholds.3: must be in (0, 1)"),
        ("mnist-multilabel", lambda card: card.update(activation="softmax"), "activation: Input should be 'sigmoid'"),
    ],
)
def test_a_bad_card_names_its_first_problem(name: str, change, reason: str) -> None:
    data = shipped_card(name)
    change(data)
    with pytest.raises(CardError) as raised:
        read_card(data)
    assert reason in str(raised.value)


def test_a_card_must_be_a_json_object() -> None:
    with pytest.raises(CardError, match="must hold a JSON object"):
        read_card(["not", "a", "card"])
