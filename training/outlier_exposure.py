"""Outlier exposure (Hendrycks et al., 2019) for the softmax model: the loss and a digits-only accuracy."""

from __future__ import annotations

import keras
from keras import ops

from training.outliers import OUTLIER_LABEL, OUTLIER_WEIGHT


class OutlierExposureLoss(keras.losses.Loss):
    """Cross-entropy from logits on digits; on negatives (label -1), cross-entropy to the uniform distribution."""

    def __init__(self, outlier_weight: float = OUTLIER_WEIGHT, name: str = "outlier_exposure") -> None:
        super().__init__(name=name)
        self.outlier_weight = outlier_weight

    def call(self, y_true: keras.KerasTensor, y_pred: keras.KerasTensor) -> keras.KerasTensor:
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        is_digit = labels != OUTLIER_LABEL
        log_p = ops.log_softmax(y_pred, axis=-1)
        digit_nll = -ops.take_along_axis(log_p, ops.expand_dims(ops.maximum(labels, 0), -1), axis=-1)[:, 0]
        to_uniform = -ops.mean(log_p, axis=-1)
        return ops.where(is_digit, digit_nll, self.outlier_weight * to_uniform)

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "outlier_weight": self.outlier_weight}


class DigitAccuracy(keras.metrics.Metric):
    """Top-1 accuracy over the digits of a batch; negatives are not counted."""

    def __init__(self, name: str = "accuracy") -> None:
        super().__init__(name=name)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(
        self, y_true: keras.KerasTensor, y_pred: keras.KerasTensor, sample_weight: keras.KerasTensor | None = None
    ) -> None:
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        is_digit = ops.cast(labels != OUTLIER_LABEL, "float32")
        hits = ops.cast(ops.cast(ops.argmax(y_pred, axis=-1), "int32") == labels, "float32") * is_digit
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(is_digit))

    def result(self) -> keras.KerasTensor:
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self) -> None:
        self.correct.assign(0.0)
        self.total.assign(0.0)
