"""Keras import with TensorFlow's logging quietened, and seeded model building."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from workbench._extras import require

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ logs: errors only


@contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment. TensorFlow's start-up lines (the absl
    notice, oneDNN and CUDA-stub messages) are written by C++ before its log level is read,
    so TF_CPP_MIN_LOG_LEVEL cannot silence them; in a notebook they show as warning boxes.
    Python exceptions still propagate (they are printed after the descriptor is restored)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _quiet_fd2():
    keras = require("keras", "the Keras detectors")


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python, NumPy and TensorFlow for a reproducible model build and fit (on CPU)."""
    keras.utils.set_random_seed(int(seed))
    yield


__all__ = ["keras", "seeded"]
