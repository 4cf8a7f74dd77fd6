"""Train, calibrate, evaluate, export and install one model."""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.ood import OodRule, energy_score, fit_threshold
from training import calibrate, evaluate, export, outliers
from training.data import CANVAS_SIDE, DIGIT_SIDE, Mnist, make_canvases, shift_digits
from training.models import BUILDERS
from training.outlier_exposure import OUTLIER_WEIGHT, DigitAccuracy, OutlierExposureLoss
from training.probes import probe_pixels

BATCH_SIZE = 128
LEARNING_RATE = 2e-3
EARLY_STOPPING_PATIENCE = 6
TRAIN_SHIFT = {"cnn": 2, "mlp": 0}  # the dense reference net is not shift-invariant; shifts only hurt it
CANVAS_SPLIT_SIZE = 10_000
VALIDATION_STREAM = 1_000_001
TEST_STREAM = 1_000_002
HELD_OUT_STREAM = 1_000_003
NEGATIVES_PER_DIGIT = 0.4  # outlier exposure: fresh negatives per epoch, as a share of the training digits
OOD_KEEP = 0.99  # the threshold keeps this share of the validation digits


@dataclass(frozen=True)
class Task:
    """What distinguishes the two models: name, activation, input side and default epochs."""

    name: str
    activation: str
    side: int
    epochs: int


TASKS = {
    "multiclass": Task("mnist-multiclass", "softmax", DIGIT_SIDE, 15),
    "multilabel": Task("mnist-multilabel", "sigmoid", CANVAS_SIDE, 15),
}


@dataclass(frozen=True)
class RunConfig:
    """One training run as the command line asked for it."""

    task: str
    arch: str
    epochs: int
    seed: int
    limit: int | None
    out: Path
    command: str


@dataclass(frozen=True)
class Split:
    """Inputs and targets of one evaluation split."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class RunResult:
    """Where the model went and its test metrics."""

    name: str
    arch: str
    folder: Path
    card: dict[str, object]


def stream_seed(seed: int, stream: int) -> int:
    """Independent integer seed for one data stream (an epoch, the validation or the test canvases)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


EpochDraw = Callable[[int], tuple[np.ndarray, np.ndarray]]


class EpochData(keras.utils.PyDataset):
    """Batches of a training set that is drawn afresh, from a seed, at every epoch."""

    def __init__(self, draw_epoch: EpochDraw, batch_size: int) -> None:
        super().__init__()
        self.draw_epoch = draw_epoch
        self.batch_size = batch_size
        self.epoch = 0
        self.x, self.y = draw_epoch(self.epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[batch].astype(np.float32), self.y[batch]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.x, self.y = self.draw_epoch(self.epoch)


def shifted_digits_epochs(images: np.ndarray, labels: np.ndarray, max_shift: int, seed: int) -> EpochDraw:
    """Per epoch: the training digits shuffled and each shifted by up to `max_shift` pixels."""

    def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(stream_seed(seed, epoch))
        order = rng.permutation(len(images))
        shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
        return shift_digits(images[order], shifts), labels[order]

    return draw


def with_negatives(draw_digits: EpochDraw, count: int, seed: int) -> EpochDraw:
    """Per epoch: the digits of `draw_digits` mixed with `count` fresh negatives labelled OUTLIER_LABEL."""

    def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        digits, labels = draw_digits(epoch)
        negatives = outliers.make_negatives(count, stream_seed(seed, epoch), digits, labels)
        order = np.random.default_rng(stream_seed(seed, epoch)).permutation(len(digits) + count)
        return (
            np.concatenate([digits, negatives])[order],
            np.concatenate([labels, np.full(count, outliers.OUTLIER_LABEL, dtype=labels.dtype)])[order],
        )

    return draw


def canvas_epochs(images: np.ndarray, labels: np.ndarray, size: int, seed: int) -> EpochDraw:
    """Per epoch: `size` fresh canvases built from the training digits."""

    def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        canvases, targets = make_canvases(images, labels, size, stream_seed(seed, epoch))
        return canvases, targets.astype(np.float32)

    return draw


def prepare(
    task: str, arch: str, mnist: Mnist, seed: int, limit: int | None
) -> tuple[EpochData, Split, Split, dict[str, object]]:
    """Training stream, validation and test splits, and a description of the data for model.json."""
    x_train, y_train = mnist.x_train[:limit], mnist.y_train[:limit]
    if task == "multiclass":
        shift = TRAIN_SHIFT[arch]
        negatives = round(NEGATIVES_PER_DIGIT * len(x_train))
        digits = shifted_digits_epochs(x_train, y_train, shift, seed)
        stream = EpochData(with_negatives(digits, negatives, seed), BATCH_SIZE)
        validation, test = Split(mnist.x_val, mnist.y_val), Split(mnist.x_test, mnist.y_test)
        augmentation = f"random shift up to {shift} px, redrawn every epoch" if shift else "none"
        described: dict[str, object] = {
            "augmentation": augmentation,
            "outlier_exposure": {
                "negatives_per_epoch": negatives, "letters": False,
                "kinds": [*outliers.NEGATIVE_KINDS, *outliers.DIGIT_NEGATIVE_KINDS],
                "loss_on_negatives": f"{OUTLIER_WEIGHT} x cross-entropy to the uniform distribution",
            },
        }
    else:
        stream = EpochData(canvas_epochs(x_train, y_train, len(x_train), seed), BATCH_SIZE)
        seeds = {"validation": stream_seed(seed, VALIDATION_STREAM), "test": stream_seed(seed, TEST_STREAM)}
        validation = Split(*make_canvases(mnist.x_val, mnist.y_val, CANVAS_SPLIT_SIZE, seeds["validation"]))
        test = Split(*make_canvases(mnist.x_test, mnist.y_test, CANVAS_SPLIT_SIZE, seeds["test"]))
        described = {"augmentation": "fresh canvases from the training digits every epoch", "canvas_seeds": seeds}
    return stream, validation, test, described | {"train_size": len(x_train), "validation_size": len(validation.y)}


def compile_model(task: str, arch: str, steps: int) -> keras.Model:
    """Build the network and attach the from-logits loss, a cosine-decayed Adam and a logits-aware metric."""
    model = BUILDERS[(task, arch)]()
    if task == "multiclass":
        loss, metric = OutlierExposureLoss(), DigitAccuracy()
    else:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metric = keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=0.0)  # logit 0 = probability 0.5
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=[metric])
    return model


Decision = Callable[[np.ndarray], np.ndarray]


def calibrate_and_score(
    task: str, val_logits: np.ndarray, validation: Split, test_logits: np.ndarray, test: Split
) -> tuple[dict[str, object], dict[str, object], Decision]:
    """Fit temperature or thresholds on validation, score the test split, and return the decision rule."""
    if task == "multiclass":
        temperature = calibrate.fit_temperature(val_logits, validation.y)
        metrics = evaluate.multiclass_metrics(test_logits, test.y, temperature)
        rule = OodRule("energy", 1.0, fit_threshold(energy_score(val_logits), OOD_KEEP))
        ood = {
            "score": rule.kind, "temperature": rule.temperature, "threshold": rule.threshold,
            "rule": "is_digit = -T * logsumexp(logits / T) <= threshold", "fitted_on": "validation",
            "validation_digits_kept": OOD_KEEP,
        }

        def label_and_is_digit(logits: np.ndarray) -> np.ndarray:
            return np.column_stack([logits.argmax(axis=-1), rule.is_digit(rule.score(logits))])

        return {"temperature": temperature, "ood": ood}, metrics, label_and_is_digit
    thresholds = calibrate.fit_thresholds(calibrate.sigmoid(val_logits), validation.y)

    def flags(logits: np.ndarray) -> np.ndarray:
        return calibrate.sigmoid(logits) >= thresholds

    calibration = {"thresholds": thresholds.tolist(), "threshold_rule": "sigmoid(logit) >= threshold"}
    return calibration, evaluate.multilabel_metrics(flags(test_logits), test.y), flags


def measure_ood(
    model: keras.Model, mnist: Mnist, seed: int, rule: OodRule, test_logits: np.ndarray
) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """The OOD figures on the held-out families (test digits against each), and each family's scores."""
    fonts = outliers.font_files()
    families = outliers.held_out_families(mnist, stream_seed(seed, HELD_OUT_STREAM), fonts)
    scores = {
        name: rule.score(model.predict(images.astype(np.float32), batch_size=1000, verbose=0))
        for name, images in families.items()
    }
    metrics = evaluate.ood_metrics(rule.score(test_logits), scores, rule.is_digit)
    described = {"letter_fonts": [path.stem for path in fonts], "held_out_seed": stream_seed(seed, HELD_OUT_STREAM)}
    return metrics | described, scores


def write_figures(
    task: str, history: dict[str, list[float]], test_logits: np.ndarray, test: Split,
    card: dict[str, object], folder: Path, family_scores: dict[str, np.ndarray],
) -> None:
    """The report PNGs next to the model."""
    title = f"{card['name']} ({card['training']['arch']})"
    evaluate.plot_training_curves(history, title, folder / "training_curves.png")
    if task == "multiclass":
        evaluate.plot_confusion_matrix(test.y, test_logits.argmax(axis=-1), folder / "confusion_matrix.png")
        temperature = card["temperature"]
        evaluate.plot_reliability(
            calibrate.reliability(calibrate.softmax(test_logits), test.y),
            calibrate.reliability(calibrate.softmax(test_logits, temperature), test.y),
            temperature, folder / "reliability.png",
        )
        rule = OodRule.from_metadata(card["ood"])
        evaluate.plot_ood_histograms(
            rule.score(test_logits), family_scores, rule.threshold, card["metrics"]["ood"], folder / "ood_scores.png"
        )
    else:
        evaluate.plot_per_label(card["metrics"], folder / "per_label_f1.png")


def run(config: RunConfig, mnist: Mnist) -> RunResult:
    """Train one model, calibrate on validation, score on test, export, check parity and install it."""
    task = TASKS[config.task]
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    started = time.monotonic()
    stream, validation, test, described = prepare(config.task, config.arch, mnist, config.seed, config.limit)
    model = compile_model(config.task, config.arch, steps=config.epochs * len(stream))
    print(f"== {task.name} ({config.arch}): {model.count_params()} parameters, "
          f"{described['train_size']} training samples per epoch", flush=True)
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True
    )
    history = model.fit(
        stream,
        validation_data=(validation.x.astype(np.float32), validation.y),
        epochs=config.epochs,
        callbacks=[early_stopping],
        verbose=1,
    ).history
    val_logits = model.predict(validation.x.astype(np.float32), batch_size=1000, verbose=0)
    test_logits = model.predict(test.x.astype(np.float32), batch_size=1000, verbose=0)
    calibration, metrics, decide = calibrate_and_score(config.task, val_logits, validation, test_logits, test)
    family_scores: dict[str, np.ndarray] = {}
    if config.task == "multiclass":
        rule = OodRule.from_metadata(calibration["ood"])
        metrics["ood"], family_scores = measure_ood(model, mnist, config.seed, rule, test_logits)
    with tempfile.TemporaryDirectory(prefix=f"{task.name}-") as staging_name:
        staging = Path(staging_name)
        onnx_path = staging / "model.onnx"
        export.export_onnx(model, onnx_path)
        parity = export.check_parity(test_logits, export.onnx_logits(onnx_path, test.x), decide)
        if not parity.ok:
            raise export.ParityError(
                f"{task.name}: ONNX parity failed on {parity.size} test inputs: max |diff| {parity.max_abs_diff:.3g} "
                f"(limit {export.PARITY_ATOL}), {parity.decisions_differ} different decisions; "
                f"{config.out / task.name} left untouched"
            )
        training = {
            "command": config.command, "seed": config.seed, "arch": config.arch, "epochs": config.epochs,
            "epochs_run": len(history["loss"]), "early_stopping_patience": EARLY_STOPPING_PATIENCE,
            "batch_size": BATCH_SIZE,
            "optimizer": f"adam, cosine decay from {LEARNING_RATE}",
            "loss": f"{type(model.loss).__name__}(from_logits=True)", "parameters": model.count_params(),
            "calibrated_on": "validation", **described, "parity_max_abs_diff": parity.max_abs_diff,
            "wall_time_s": round(time.monotonic() - started, 1), "data_source": mnist.source,
        }
        card = export.model_card(
            name=task.name, task=config.task, activation=task.activation, side=task.side,
            calibration=calibration, metrics=metrics, training=training, onnx_path=onnx_path,
            probe_pixels=probe_pixels(config.task, mnist),
        )
        write_figures(config.task, history, test_logits, test, card, staging, family_scores)
        (staging / "model.json").write_text(json.dumps(card, indent=2) + "\n")
        folder = config.out / task.name
        export.install(staging, folder)
    return RunResult(task.name, config.arch, folder, card)
