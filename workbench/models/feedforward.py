"""Feed-forward network detector (Keras) over the feature columns of each transaction, the
tabular counterpart of the sequence models, with the same training parameters
(:mod:`workbench.models.training`) and the field's reference shape: one hidden ReLU layer of
500 units with dropout 0.2, batches of 64, 20 epochs; Adam at 1e-3 (on the terminal-grid
benchmark it beat the reference's 1e-4 by 0.04 AP). Missing values take the
training median; the columns are standardised (after a sign-log1p with ``transform="log"``).
TensorFlow is imported only when a model is built or scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.models.base import Detector
from workbench.models.training import (
    check_labels,
    check_training,
    class_weights,
    pre_transform,
    training_rows,
)
from workbench.validation import InputError, check_int


class FeedForwardDetector(Detector):
    """A multilayer perceptron classifier; score = fraud probability.

    ``hidden``: the sizes of the ReLU hidden layers, each followed by ``dropout``; the other
    parameters as :class:`workbench.models.sequence.SequenceDetector`'s: ``learning_rate``,
    ``batch_size``, ``epochs``, ``patience``, ``class_weight``, ``transform`` (``"standard"``
    by default here: tabular features usually come scaled for linear models), ``holdout``,
    ``monitor``, ``seed``."""

    name = "feedforward"
    supervised = True
    keras_attr = "model_"

    def __init__(
        self,
        hidden: tuple[int, ...] = (500,),
        dropout: float = 0.2,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        epochs: int = 20,
        patience: int = 3,
        class_weight: str | float = "none",
        transform: str = "standard",
        holdout: float = 0.0,
        monitor: str = "pr_auc",
        seed: int = 0,
    ) -> None:
        if not isinstance(hidden, (tuple, list)) or not hidden:
            raise InputError("hidden", hidden, "a non-empty tuple of layer sizes")
        for i, size in enumerate(hidden):
            check_int(f"hidden[{i}]", size, 1, 16384)
        self.hidden = hidden
        self.dropout, self.learning_rate, self.batch_size = dropout, learning_rate, batch_size
        self.epochs, self.patience, self.class_weight = epochs, patience, class_weight
        self.transform, self.holdout, self.monitor, self.seed = transform, holdout, monitor, seed
        check_training(self)

    def _values(self, X: pd.DataFrame, fitting: bool = False) -> np.ndarray:
        if isinstance(X, pd.DataFrame) and self.transform == "log":
            X = X.apply(lambda c: pre_transform(pd.to_numeric(c, errors="coerce"), "log"))
        values = self._matrix(X, fitting)
        return np.clip(values, -10, 10).astype(np.float32)

    def _build(self, n: int):
        from workbench.models.keras_parts import compile_binary, keras

        inp = keras.Input((n,), name="x")
        h = inp
        for size in self.hidden:
            h = keras.layers.Dense(size, activation="relu")(h)
            if self.dropout:
                h = keras.layers.Dropout(self.dropout)(h)
        out = keras.layers.Dense(1, activation="sigmoid")(h)
        return compile_binary(keras.Model(inp, out), self.learning_rate)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | None = None,
        validation: tuple[pd.DataFrame, np.ndarray] | None = None,
    ) -> FeedForwardDetector:
        """Fit on ``X`` with labels ``y``; early stopping on ``validation`` (a frame of the
        same columns and its labels), else on the held-out last ``holdout`` share of the
        rows, else none."""
        from workbench.models.keras_parts import Batches, train

        if not isinstance(X, pd.DataFrame) or X.empty:
            raise InputError(
                "X", type(X).__name__, "a non-empty pandas DataFrame of numeric features"
            )
        y = check_labels(y, len(X))
        rows, held = training_rows(y, self.holdout, validation is not None)
        if held is not None:
            self._values(X.iloc[rows], fitting=True)  # scaling from the rows trained on
            values = self._values(X)
        else:
            values = self._values(X, fitting=True)
        weights = class_weights(y[rows], self.class_weight)
        read = lambda idx: values[idx]  # noqa: E731
        batches = Batches(read, rows, self.batch_size, y, weights, shuffle=True, seed=self.seed)
        val = None
        if validation is not None:
            vv, vy = (
                self._values(validation[0]),
                check_labels(validation[1], len(validation[0]), "validation"),
            )
            val = Batches(lambda idx: vv[idx], np.arange(len(vy)), 8192, vy, weights)
        elif held is not None:
            val = Batches(read, held, 8192, y, weights)
        self.model_, self.history_ = train(
            lambda: self._build(values.shape[1]),
            batches,
            val,
            self.epochs,
            self.patience,
            self.monitor,
            self.seed,
        )
        self.threshold_ = 0.5
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Fraud probability in [0, 1] per row."""
        from workbench.models.keras_parts import predict

        return predict(self.model_, self._values(X)).astype(np.float64)
