"""Keras model builders: every network takes raw 0..255 pixels and ends in 10 linear logits."""

from __future__ import annotations

import keras
from keras import layers

from training.data import CANVAS_SIDE, DIGIT_SIDE, NUM_CLASSES


def _logits(x: keras.KerasTensor) -> keras.KerasTensor:
    """Final linear layer: the loss and the service apply softmax/sigmoid, never the graph."""
    return layers.Dense(NUM_CLASSES, activation="linear", name="logits")(x)


def _conv_bn_relu(
    x: keras.KerasTensor, filters: int, kernel: int, strides: int = 1, padding: str = "same"
) -> keras.KerasTensor:
    """Convolution without bias, batch normalisation, ReLU (BN folds into the conv at export)."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _pixels_input(side: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """Raw [N, side, side] pixels in, scaled to 0..1 with a channel axis inside the graph."""
    pixels = keras.Input(shape=(side, side), name="pixels")
    x = layers.Rescaling(1.0 / 255.0)(pixels)
    return pixels, layers.Reshape((side, side, 1))(x)


def build_multiclass_cnn() -> keras.Model:
    """Small LeNet-style CNN for one 28x28 digit: about 1.1 M multiply-adds, ~20 us single-thread inference."""
    pixels, x = _pixels_input(DIGIT_SIDE)
    x = _conv_bn_relu(x, 16, 5, padding="valid")  # 24x24
    x = layers.MaxPooling2D()(x)  # 12x12
    x = _conv_bn_relu(x, 32, 5, padding="valid")  # 8x8
    x = layers.MaxPooling2D()(x)  # 4x4
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(pixels, _logits(x), name="mnist_multiclass_cnn")


def build_multiclass_mlp() -> keras.Model:
    """The reference network: Dense 25 relu, Dense 15 relu, Dense 10 linear."""
    pixels, x = _pixels_input(DIGIT_SIDE)
    x = layers.Flatten()(x)
    x = layers.Dense(25, activation="relu")(x)
    x = layers.Dense(15, activation="relu")(x)
    return keras.Model(pixels, _logits(x), name="mnist_multiclass_mlp")


def build_multilabel_cnn() -> keras.Model:
    """Fully convolutional net over a 56x56 canvas; global max pooling asks 'does digit k appear anywhere'."""
    pixels, x = _pixels_input(CANVAS_SIDE)
    x = _conv_bn_relu(x, 16, 4, strides=2)  # 28x28
    x = layers.MaxPooling2D()(x)  # 14x14
    x = _conv_bn_relu(x, 32, 3)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = _conv_bn_relu(x, 64, 3)
    x = _conv_bn_relu(x, 64, 3)
    x = layers.GlobalMaxPooling2D()(x)
    return keras.Model(pixels, _logits(x), name="mnist_multilabel_cnn")


BUILDERS = {
    ("multiclass", "cnn"): build_multiclass_cnn,
    ("multiclass", "mlp"): build_multiclass_mlp,
    ("multilabel", "cnn"): build_multilabel_cnn,
}
