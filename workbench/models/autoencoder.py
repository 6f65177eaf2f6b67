"""Autoencoder (Keras on TensorFlow): reconstruction error as the fraud score, trained on
legitimate rows only (an unsupervised detector that uses labels only to pick what is normal).
TensorFlow is imported when a model is fitted (or loaded), not with the module."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.models.base import Detector
from workbench.validation import check_float, check_int


class AutoencoderDetector(Detector):
    """Dense autoencoder ``n -> hidden -> code -> hidden -> n``; the score is the mean squared
    reconstruction error mapped to [0, 1] by ``e / (e + median training error * scale)``,
    and the learned threshold is the training error quantile at 1 - contamination."""

    name = "autoencoder"
    keras_attr = "model_"

    def __init__(
        self,
        hidden: int = 32,
        code: int = 8,
        epochs: int = 20,
        batch_size: int = 512,
        contamination: float = 0.01,
        scale: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.hidden = check_int("hidden", hidden, 1, 4096)
        self.code = check_int("code", code, 1, 1024)
        self.epochs = check_int("epochs", epochs, 1, 1000)
        self.batch_size = check_int("batch_size", batch_size, 1, 1 << 20)
        self.contamination = check_float("contamination", contamination, 1e-4, 0.5)
        self.scale = check_float("scale", scale, 1e-6)
        self.seed = check_int("seed", seed, 0)

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> AutoencoderDetector:
        """Fit on the legitimate rows of ``X`` (all rows when ``y`` is None)."""
        from workbench.models.keras_util import keras, seeded

        if y is not None:
            X = X[np.asarray(y) == 0]
        values = np.clip(self._matrix(X, fitting=True), -10, 10).astype(np.float32)
        with seeded(self.seed):
            n = values.shape[1]
            inp = keras.Input((n,))
            h = keras.layers.Dense(self.hidden, activation="relu")(inp)
            h = keras.layers.Dense(self.code, activation="relu")(h)
            h = keras.layers.Dense(self.hidden, activation="relu")(h)
            self.model_ = keras.Model(inp, keras.layers.Dense(n)(h))
            self.model_.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
            self.history_ = self.model_.fit(
                values,
                values,
                epochs=self.epochs,
                batch_size=self.batch_size,
                shuffle=True,
                verbose=0,
            ).history
        err = self._error(values)
        self.median_error_ = float(np.median(err))
        self.threshold_ = float(np.quantile(self._map(err), 1 - self.contamination))
        return self

    def _error(self, values: np.ndarray) -> np.ndarray:
        recon = self.model_.predict(values, batch_size=8192, verbose=0)
        return np.mean((recon - values) ** 2, axis=1)

    def _map(self, err: np.ndarray) -> np.ndarray:
        return err / (err + self.median_error_ * self.scale)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Reconstruction error in [0, 1); higher = less like the legitimate training rows."""
        return self._map(self._error(np.clip(self._matrix(X), -10, 10).astype(np.float32)))
