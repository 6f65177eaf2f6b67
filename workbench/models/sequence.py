"""LSTM and GRU detectors over sequence datasets (a customer's last k transactions).

Inputs are :class:`workbench.features.sequences.Sequences`: x (n, k, f) and a mask of real
steps; padded steps are masked out of the recurrent layer, so short histories are not read
as zeros. Optionally an attention layer pools all steps instead of taking the last state.
Features are standardised with the training rows' mean and deviation; the fraud class is
weighted by the inverse prevalence; early stopping watches the validation loss.
"""

from __future__ import annotations

import numpy as np

from workbench.features.sequences import Sequences
from workbench.models.base import Detector
from workbench.models.keras_util import keras, seeded
from workbench.validation import InputError, check_choice, check_int


@keras.saving.register_keras_serializable(package="workbench")
class MaskedAttentionPool(keras.layers.Layer):
    """Additive attention pooling over time steps; padded steps get no weight."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True  # it consumes the recurrent layer's mask through ``mask_steps``
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.logit = keras.layers.Dense(1)

    def call(self, h, mask_steps):
        logits = keras.ops.squeeze(self.logit(self.hidden(h)), axis=-1)
        logits = keras.ops.where(mask_steps, logits, -1e9)
        weights = keras.ops.softmax(logits, axis=-1)
        return keras.ops.sum(h * keras.ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None  # the pooled output has no time axis left to mask

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


def _check(seqs, param: str) -> Sequences:
    if not isinstance(seqs, Sequences) or len(seqs.x) == 0:
        raise InputError(param, type(seqs).__name__, "a non-empty Sequences set (workbench.features.sequences)")
    return seqs


class SequenceDetector(Detector):
    """LSTM or GRU classifier over sequences; score = fraud probability of the last step."""

    supervised = True
    keras_attr = "model_"

    def __init__(self, cell: str = "lstm", units: int = 32, attention: bool = False, epochs: int = 10, batch_size: int = 1024,
                 patience: int = 2, seed: int = 0) -> None:
        self.cell = check_choice("cell", cell, ("lstm", "gru"))
        self.units = check_int("units", units, 1, 4096)
        self.attention = bool(attention)
        self.epochs = check_int("epochs", epochs, 1, 1000)
        self.batch_size = check_int("batch_size", batch_size, 1, 1 << 20)
        self.patience = check_int("patience", patience, 0, 1000)
        self.seed = check_int("seed", seed, 0)
        self.name = f"{cell}{'+attention' if attention else ''}"

    @staticmethod
    def _squash(x: np.ndarray) -> np.ndarray:
        """sign(x) * log1p(|x|): seconds since the previous row, distances and counts are
        heavy-tailed; standardising them raw leaves most rows near zero."""
        return np.sign(x) * np.log1p(np.abs(x))

    def _inputs(self, seqs: Sequences) -> list[np.ndarray]:
        x = (self._squash(np.asarray(seqs.x, np.float32)) - self.mean_) / self.std_
        x = np.where(np.asarray(seqs.mask)[..., None], np.clip(x, -10, 10), 0.0).astype(np.float32)
        return [x, np.asarray(seqs.mask, bool)]

    def _build(self, k: int, f: int) -> keras.Model:
        x_in, m_in = keras.Input((k, f), name="x"), keras.Input((k,), dtype="bool", name="mask")
        rnn = (keras.layers.LSTM if self.cell == "lstm" else keras.layers.GRU)(self.units, return_sequences=self.attention)
        h = rnn(x_in, mask=m_in)
        if self.attention:
            h = MaskedAttentionPool(self.units)(h, m_in)
        out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(16, activation="relu")(h))
        model = keras.Model([x_in, m_in], out)
        model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy",
                      metrics=[keras.metrics.AUC(curve="PR", name="pr_auc")])
        return model

    def fit(self, X: Sequences, y: np.ndarray | None = None, validation: tuple[Sequences, np.ndarray] | None = None) -> SequenceDetector:
        """Fit on sequences ``X`` with labels ``y``; early stopping on ``validation`` (else on
        the last 10% of the training rows)."""
        X = _check(X, "X")
        if y is None or len(y) != len(X.x) or len(np.unique(y)) != 2:
            raise InputError("y", None if y is None else len(y), f"{len(X.x)} labels with both classes")
        mask = np.asarray(X.mask, bool)
        steps = self._squash(np.asarray(X.x, np.float64)[mask])
        self.mean_, self.std_ = steps.mean(axis=0).astype(np.float32), (steps.std(axis=0) + 1e-6).astype(np.float32)
        self.features_ = list(X.columns)
        y = np.asarray(y, np.float32)
        pos = max(float(y.mean()), 1e-6)
        with seeded(self.seed):
            self.model_ = self._build(X.x.shape[1], X.x.shape[2])
            val = None
            if validation is not None:
                vx = _check(validation[0], "validation")
                val = (self._inputs(vx), np.asarray(validation[1], np.float32))
            stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience, restore_best_weights=True)
            self.history_ = self.model_.fit(self._inputs(X), y, validation_data=val, validation_split=0.0 if val else 0.1,
                                            epochs=self.epochs, batch_size=self.batch_size, class_weight={0: 1.0, 1: 0.5 / pos},
                                            callbacks=[stop], verbose=0, shuffle=True).history
        self.threshold_ = 0.5
        return self

    def score(self, X: Sequences) -> np.ndarray:
        """Fraud score in [0, 1] per sequence (per transaction, at its last step)."""
        X = _check(X, "X")
        if list(X.columns) != self.features_:
            raise InputError("X.columns", list(X.columns), f"the training features {self.features_}")
        return self.model_.predict(self._inputs(X), batch_size=8192, verbose=0).ravel().astype(np.float64)
