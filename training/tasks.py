"""How each task is trained, calibrated, scored and reported: one class per task, beside its serving behaviour
(app.core.tasks) and its card (app.core.model_card).

TensorFlow is imported only where a loss is built, so `python -m training.probes` runs without it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from app.core.model_card import ModelCard, MulticlassCard, MultilabelCard, OodCard
from app.core.ood import energy_score, fit_threshold
from app.core.postprocess import sigmoid, softmax
from app.core.tasks import Multiclass, Multilabel, Task
from training import calibrate, evaluate, outliers
from training.data import CANVAS_SIDE, DIGIT_SIDE, Mnist, make_canvases, shift_digits

if TYPE_CHECKING:
    import keras

EpochDraw = Callable[[int], tuple[np.ndarray, np.ndarray]]
Logits = Callable[[np.ndarray], np.ndarray]
"""A trained network: float32 pixels [N, H, W] -> logits [N, labels]."""

TRAIN_SHIFT = {"cnn": 2, "mlp": 0}  # the dense reference net is not shift-invariant; shifts only hurt it
CANVAS_SPLIT_SIZE = 10_000
VALIDATION_STREAM = 1_000_001
TEST_STREAM = 1_000_002
HELD_OUT_STREAM = 1_000_003
NEGATIVES_PER_DIGIT = 0.4  # outlier exposure: fresh negatives per epoch, as a share of the training digits
OOD_KEEP = 0.99  # the threshold keeps this share of the validation digits
PROBE_COUNT = 4
PROBE_SEED = 20_240_601  # canvases of their own, not the scored test canvases


def stream_seed(seed: int, stream: int) -> int:
    """Independent integer seed for one data stream (an epoch, the validation or the test canvases)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@dataclass(frozen=True)
class Split:
    """Inputs and targets of one evaluation split."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class TrainingData:
    """What a run trains on: a training set drawn afresh each epoch, the validation and test splits, and how
    model.json describes them."""

    draw_epoch: EpochDraw
    validation: Split
    test: Split
    described: dict[str, Any]


@dataclass(frozen=True)
class Calibrated:
    """A task fitted on the validation split: the serving behaviour with its calibration, and the card's fields."""

    task: Task
    card_fields: dict[str, Any]


class TrainingTask(ABC):
    """One task's training recipe."""

    serving: ClassVar[type[Task]]
    card: ClassVar[type[ModelCard]]
    model_name: ClassVar[str]
    side: ClassVar[int]
    architectures: ClassVar[tuple[str, ...]]
    epochs: ClassVar[int] = 15

    @abstractmethod
    def data(self, arch: str, mnist: Mnist, seed: int, limit: int | None) -> TrainingData:
        """The training stream and the evaluation splits."""

    @abstractmethod
    def loss_and_metric(self) -> tuple[keras.losses.Loss, keras.metrics.Metric]:
        """The from-logits loss and a metric that reads logits."""

    @abstractmethod
    def calibrate(self, val_logits: np.ndarray, validation: Split) -> Calibrated:
        """Fit the decision rule on validation logits."""

    @abstractmethod
    def score(
        self, calibrated: Calibrated, test_logits: np.ndarray, test: Split, logits: Logits, mnist: Mnist, seed: int
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Test metrics for model.json, and any per-family scores the figures draw."""

    @abstractmethod
    def write_figures(
        self, card: ModelCard, test_logits: np.ndarray, test: Split, scores: dict[str, np.ndarray], folder: Path
    ) -> None:
        """The report PNGs beside the model, besides the training curves."""

    @abstractmethod
    def probe_inputs(self, mnist: Mnist) -> np.ndarray:
        """uint8 inputs [N, side, side] whose logits model.json records as probes."""


class MulticlassTraining(TrainingTask):
    """One digit per image: shifted digits plus outlier exposure, temperature scaling, and the energy OOD rule."""

    serving = Multiclass
    card = MulticlassCard
    model_name = "mnist-multiclass"
    side = DIGIT_SIDE
    architectures = ("cnn", "mlp")

    def data(self, arch: str, mnist: Mnist, seed: int, limit: int | None) -> TrainingData:
        images, labels = mnist.x_train[:limit], mnist.y_train[:limit]
        shift = TRAIN_SHIFT[arch]
        negatives = round(NEGATIVES_PER_DIGIT * len(images))

        def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            rng = np.random.default_rng(stream_seed(seed, epoch))
            order = rng.permutation(len(images))
            shifts = rng.integers(-shift, shift + 1, size=(len(images), 2))
            digits, digit_labels = shift_digits(images[order], shifts), labels[order]
            outliers_drawn = outliers.make_negatives(negatives, stream_seed(seed, epoch), digits, digit_labels)
            mixed = np.random.default_rng(stream_seed(seed, epoch)).permutation(len(digits) + negatives)
            outlier_labels = np.full(negatives, outliers.OUTLIER_LABEL, dtype=digit_labels.dtype)
            return (
                np.concatenate([digits, outliers_drawn])[mixed],
                np.concatenate([digit_labels, outlier_labels])[mixed],
            )

        return TrainingData(
            draw,
            Split(mnist.x_val, mnist.y_val),
            Split(mnist.x_test, mnist.y_test),
            {
                "augmentation": f"random shift up to {shift} px, redrawn every epoch" if shift else "none",
                "outlier_exposure": {
                    "negatives_per_epoch": negatives,
                    "letters": False,
                    "kinds": [*outliers.NEGATIVE_KINDS, *outliers.DIGIT_NEGATIVE_KINDS],
                    "loss_on_negatives": f"{outliers.OUTLIER_WEIGHT} x cross-entropy to the uniform distribution",
                },
                "train_size": len(images),
            },
        )

    def loss_and_metric(self) -> tuple[keras.losses.Loss, keras.metrics.Metric]:
        from training.outlier_exposure import DigitAccuracy, OutlierExposureLoss

        return OutlierExposureLoss(), DigitAccuracy()

    def calibrate(self, val_logits: np.ndarray, validation: Split) -> Calibrated:
        ood = OodCard(
            score="energy",
            temperature=1.0,
            threshold=fit_threshold(energy_score(val_logits), OOD_KEEP),
            rule="is_digit = -T * logsumexp(logits / T) <= threshold",
            fitted_on="validation",
            validation_digits_kept=OOD_KEEP,
        )
        temperature = calibrate.fit_temperature(val_logits, validation.y)
        return Calibrated(Multiclass(temperature, ood.to_rule()), {"temperature": temperature, "ood": ood})

    def score(
        self, calibrated: Calibrated, test_logits: np.ndarray, test: Split, logits: Logits, mnist: Mnist, seed: int
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        assert isinstance(calibrated.task, Multiclass)
        rule = calibrated.task.ood
        metrics = evaluate.multiclass_metrics(test_logits, test.y, calibrated.task.temperature)
        fonts = outliers.font_files()
        families = outliers.held_out_families(mnist, stream_seed(seed, HELD_OUT_STREAM), fonts)
        scores = {name: rule.score(logits(images.astype(np.float32))) for name, images in families.items()}
        ood = evaluate.ood_metrics(rule.score(test_logits), scores, rule.is_digit)
        described = {"letter_fonts": [path.stem for path in fonts], "held_out_seed": stream_seed(seed, HELD_OUT_STREAM)}
        return metrics | {"ood": ood | described}, scores

    def write_figures(
        self, card: ModelCard, test_logits: np.ndarray, test: Split, scores: dict[str, np.ndarray], folder: Path
    ) -> None:
        assert isinstance(card, MulticlassCard)
        evaluate.plot_confusion_matrix(test.y, test_logits.argmax(axis=-1), folder / "confusion_matrix.png")
        evaluate.plot_reliability(
            calibrate.reliability(softmax(test_logits), test.y),
            calibrate.reliability(softmax(test_logits, card.temperature), test.y),
            card.temperature,
            folder / "reliability.png",
        )
        rule = card.ood.to_rule()
        evaluate.plot_ood_histograms(
            rule.score(test_logits), scores, rule.threshold, card.metrics["ood"], folder / "ood_scores.png"
        )

    def probe_inputs(self, mnist: Mnist) -> np.ndarray:
        return mnist.x_test[:PROBE_COUNT]


class MultilabelTraining(TrainingTask):
    """Any digits per picture: fresh canvases every epoch, binary cross-entropy, and per-label F1 thresholds."""

    serving = Multilabel
    card = MultilabelCard
    model_name = "mnist-multilabel"
    side = CANVAS_SIDE
    architectures = ("cnn",)

    def data(self, arch: str, mnist: Mnist, seed: int, limit: int | None) -> TrainingData:
        images, labels = mnist.x_train[:limit], mnist.y_train[:limit]

        def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            canvases, targets = make_canvases(images, labels, len(images), stream_seed(seed, epoch))
            return canvases, targets.astype(np.float32)

        seeds = {"validation": stream_seed(seed, VALIDATION_STREAM), "test": stream_seed(seed, TEST_STREAM)}
        return TrainingData(
            draw,
            Split(*make_canvases(mnist.x_val, mnist.y_val, CANVAS_SPLIT_SIZE, seeds["validation"])),
            Split(*make_canvases(mnist.x_test, mnist.y_test, CANVAS_SPLIT_SIZE, seeds["test"])),
            {
                "augmentation": "fresh canvases from the training digits every epoch",
                "canvas_seeds": seeds,
                "train_size": len(images),
            },
        )

    def loss_and_metric(self) -> tuple[keras.losses.Loss, keras.metrics.Metric]:
        import keras

        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        return loss, keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=0.0)  # logit 0 = probability 0.5

    def calibrate(self, val_logits: np.ndarray, validation: Split) -> Calibrated:
        thresholds = calibrate.fit_thresholds(sigmoid(val_logits), validation.y)
        return Calibrated(Multilabel(thresholds.astype(np.float32)), {"thresholds": thresholds.tolist()})

    def score(
        self, calibrated: Calibrated, test_logits: np.ndarray, test: Split, logits: Logits, mnist: Mnist, seed: int
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return evaluate.multilabel_metrics(calibrated.task.decisions(test_logits), test.y), {}

    def write_figures(
        self, card: ModelCard, test_logits: np.ndarray, test: Split, scores: dict[str, np.ndarray], folder: Path
    ) -> None:
        evaluate.plot_per_label(card.metrics, folder / "per_label_f1.png")

    def probe_inputs(self, mnist: Mnist) -> np.ndarray:
        return make_canvases(mnist.x_test, mnist.y_test, PROBE_COUNT, PROBE_SEED)[0]


TRAINING_TASKS: dict[str, TrainingTask] = {
    task.serving.name: task for task in (MulticlassTraining(), MultilabelTraining())
}
