"""Keras import with TensorFlow's logging quietened, and seeded model building."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ logs: errors only

import keras  # noqa: E402


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python, NumPy and TensorFlow for a reproducible model build and fit (on CPU)."""
    keras.utils.set_random_seed(int(seed))
    yield


__all__ = ["keras", "seeded"]
