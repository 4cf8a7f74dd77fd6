"""Each task's behaviour, on the shipped models' calibration: activation, answers, and the decisions training guards."""

import numpy as np
import pytest

from app.core.model_card import read_card
from app.core.oip import OUTPUT_DATATYPES
from app.core.tasks import TASKS, Multiclass, Multilabel, PredictOptions, Task
from tests.app.conftest import shipped_card

LOGITS = np.array([[4.0, 1.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [-9.0] * 10], dtype=np.float32)


@pytest.fixture(scope="module", params=["mnist-multiclass", "mnist-multilabel"])
def task(request: pytest.FixtureRequest) -> Task:
    card = read_card(shipped_card(request.param))
    return TASKS[card.task].from_card(card)


def test_the_tasks_are_known_by_their_card_names() -> None:
    assert {"multiclass": Multiclass, "multilabel": Multilabel} == TASKS
    assert (Multiclass.activation, Multilabel.activation) == ("softmax", "sigmoid")


def test_multiclass_probabilities_compete_and_multilabel_ones_do_not(task: Task) -> None:
    probabilities = task.probabilities(LOGITS)
    if isinstance(task, Multiclass):
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    else:
        np.testing.assert_allclose(probabilities[1], 1 / (1 + np.exp(9.0)), rtol=1e-5)
        assert probabilities.sum(axis=1)[0] > 1


def test_answers_are_the_tensors_the_task_publishes(task: Task) -> None:
    answers = task.answers(task.probabilities(LOGITS), LOGITS)
    published = task.answer_tensors(labels=10)
    assert list(answers) == [tensor.name for tensor in published]
    for tensor in published:
        value = answers[tensor.name]
        assert value.dtype.kind == OUTPUT_DATATYPES[tensor.datatype].kind
        assert [len(LOGITS), *tensor.shape[1:]] == list(value.shape)


def test_decisions_are_the_discrete_answers_only() -> None:
    multiclass = Multiclass.from_card(read_card(shipped_card("mnist-multiclass")))
    assert isinstance(multiclass, Multiclass)
    expected = np.column_stack([LOGITS.argmax(axis=1), multiclass.ood.is_digit(multiclass.ood.score(LOGITS))])
    np.testing.assert_array_equal(multiclass.decisions(LOGITS), expected)
    multilabel = Multilabel.from_card(read_card(shipped_card("mnist-multilabel")))
    assert isinstance(multilabel, Multilabel)
    flags = multilabel.probabilities(LOGITS) >= multilabel.thresholds
    np.testing.assert_array_equal(multilabel.decisions(LOGITS), flags.astype(np.int64))


def test_a_requested_threshold_replaces_the_calibrated_ones() -> None:
    multilabel = Multilabel.from_card(read_card(shipped_card("mnist-multilabel")))
    probabilities = multilabel.probabilities(LOGITS)
    calibrated = multilabel.predictions(probabilities, LOGITS, PredictOptions())
    everything = multilabel.predictions(probabilities, LOGITS, PredictOptions(threshold=np.full(10, 1e-6)))
    assert calibrated[1]["flags"].tolist() == [False] * 10
    assert everything[1]["flags"].tolist() == [True] * 10
