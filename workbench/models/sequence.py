"""LSTM and GRU detectors over sequence datasets (a card's or customer's last k transactions).

Inputs are :class:`workbench.features.sequences.Sequences`: x (n, k, f) and a mask of real
steps; padded steps are masked out of the recurrent layer, so short histories are not read
as zeros. Optionally an attention layer pools all steps instead of taking the last state.

Every training choice is a parameter (see :mod:`workbench.models.training` for the shared
ones and their defaults, the field's reference recipe: an LSTM of 100 units, a dense head of
100 with dropout 0.2, batches of 64, 20 epochs; Adam at 3e-4, tuned on the terminal-grid
benchmark, ``benchmarks/bench_sequence_models.py``, where it beat 1e-4 and 1e-3). Early
stopping runs on a validation block passed to :meth:`SequenceDetector.fit` (the protocols
pass one) or, when ``holdout`` > 0, on the last rows; it watches ``monitor``: the validation PR AUC
(unweighted, like average precision) or the validation loss under the same class weights
as the training loss.

Memory: the sequences are never copied whole. The statistics are accumulated over row
chunks, and training and scoring read shuffled batches from ``Sequences.x`` (in memory or
memory-mapped ``.npy`` files from ``build_sequences(out_dir=...)``) and transform each batch
on the fly, so peak memory is the sequences themselves plus a few batches. TensorFlow is
imported only when a model is built or scored.
"""

from __future__ import annotations

import numpy as np

from workbench.features.sequences import Sequences
from workbench.models.base import Detector
from workbench.models.training import (
    check_labels,
    check_training,
    class_weights,
    pre_transform,
    training_rows,
)
from workbench.validation import InputError, check_choice, check_int

CHUNK_ROWS = 65_536  # rows per chunk for the statistics and for scoring


def _check(seqs, param: str) -> Sequences:
    if not isinstance(seqs, Sequences) or len(seqs.x) == 0:
        raise InputError(
            param, type(seqs).__name__, "a non-empty Sequences set (workbench.features.sequences)"
        )
    return seqs


class SequenceDetector(Detector):
    """LSTM or GRU classifier over sequences; score = fraud probability at the last step.

    ``units``: the recurrent layer's size; ``attention``: pool every step by attention
    instead of the last state; ``head_units``: a ReLU dense layer after it (0: none), followed
    by ``dropout``; ``learning_rate`` (Adam), ``batch_size``, ``epochs``, ``patience`` (epochs
    without improvement before early stopping), ``class_weight`` (``"none"``, ``"balanced"``
    or the fraud rows' weight), ``transform`` (``"standard"``: standardise, the default: on the
    terminal-grid benchmark it beat ``"log"``, sign-log1p then standardise, by 0.06 AP;
    ``"none"``), ``holdout`` (share of the last training rows
    held out for early stopping when no validation block is given; 0: none), ``monitor``
    (``"pr_auc"`` or ``"loss"``), ``seed``."""

    supervised = True
    keras_attr = "model_"

    def __init__(
        self,
        cell: str = "lstm",
        units: int = 100,
        attention: bool = False,
        head_units: int = 100,
        dropout: float = 0.2,
        learning_rate: float = 3e-4,
        batch_size: int = 64,
        epochs: int = 20,
        patience: int = 3,
        class_weight: str | float = "none",
        transform: str = "standard",
        holdout: float = 0.0,
        monitor: str = "pr_auc",
        seed: int = 0,
    ) -> None:
        self.cell = check_choice("cell", cell, ("lstm", "gru"))
        self.units = check_int("units", units, 1, 4096)
        self.attention = attention
        self.head_units = check_int("head_units", head_units, 0, 4096)
        self.dropout, self.learning_rate, self.batch_size = dropout, learning_rate, batch_size
        self.epochs, self.patience, self.class_weight = epochs, patience, class_weight
        self.transform, self.holdout, self.monitor, self.seed = transform, holdout, monitor, seed
        check_training(self)

    @property
    def name(self) -> str:
        return f"{self.cell}{'+attention' if self.attention else ''}"

    def _transform(self, x: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """Model inputs for a block of sequences: transformed, standardised, clipped, padding
        zeroed."""
        mask = np.asarray(mask, bool)
        x = (pre_transform(np.asarray(x, np.float32), self.transform) - self.mean_) / self.std_
        x = np.where(mask[..., None], np.clip(x, -10, 10), 0.0).astype(np.float32)
        return [x, mask]

    def _statistics(self, seqs: Sequences, rows: np.ndarray) -> None:
        """Mean and deviation of the transformed real steps of the training ``rows``, in
        float64 over row chunks (two passes: the mean, then the squared deviations)."""
        f = seqs.x.shape[2]
        if self.transform == "none":
            self.mean_, self.std_ = np.zeros(f, np.float32), np.ones(f, np.float32)
            return

        def steps(a: int) -> np.ndarray:
            idx = rows[a : a + CHUNK_ROWS]
            x = pre_transform(np.asarray(seqs.x[idx], np.float64), self.transform)
            return x[np.asarray(seqs.mask[idx], bool)]

        total, count = np.zeros(f), 0
        for a in range(0, len(rows), CHUNK_ROWS):
            s = steps(a)
            total, count = total + s.sum(axis=0), count + len(s)
        mean = total / max(count, 1)
        sq = np.zeros(f)
        for a in range(0, len(rows), CHUNK_ROWS):
            sq = sq + ((steps(a) - mean) ** 2).sum(axis=0)
        self.mean_ = np.asarray(mean, np.float32)
        self.std_ = (np.sqrt(sq / max(count, 1)) + 1e-6).astype(np.float32)

    def _build(self, k: int, f: int):
        from workbench.models.keras_parts import MaskedAttentionPool, compile_binary, keras

        x_in = keras.Input((k, f), name="x")
        m_in = keras.Input((k,), dtype="bool", name="mask")
        layer = keras.layers.LSTM if self.cell == "lstm" else keras.layers.GRU
        h = layer(self.units, return_sequences=self.attention)(x_in, mask=m_in)
        if self.attention:
            h = MaskedAttentionPool(self.units)(h, m_in)
        if self.head_units:
            h = keras.layers.Dense(self.head_units, activation="relu")(h)
        if self.dropout:
            h = keras.layers.Dropout(self.dropout)(h)
        out = keras.layers.Dense(1, activation="sigmoid")(h)
        return compile_binary(keras.Model([x_in, m_in], out), self.learning_rate)

    def _reader(self, seqs: Sequences):
        return lambda idx: self._transform(seqs.x[idx], seqs.mask[idx])

    def fit(
        self,
        X: Sequences,
        y: np.ndarray | None = None,
        validation: tuple[Sequences, np.ndarray] | None = None,
    ) -> SequenceDetector:
        """Fit on sequences ``X`` with labels ``y``; early stopping on ``validation``
        (sequences and labels), else on the held-out last ``holdout`` share of the rows,
        else none (``epochs`` epochs)."""
        from workbench.models.keras_parts import Batches, train

        X = _check(X, "X")
        y = check_labels(y, len(X.x))
        rows, held = training_rows(y, self.holdout, validation is not None)
        self._statistics(X, rows)
        self.features_ = list(X.columns)
        weights = class_weights(y[rows], self.class_weight)
        batches = Batches(
            self._reader(X), rows, self.batch_size, y, weights, shuffle=True, seed=self.seed
        )
        val = None
        if validation is not None:
            vx = _check(validation[0], "validation")
            if list(vx.columns) != self.features_:
                raise InputError("validation", list(vx.columns), f"sequences of {self.features_}")
            vy = check_labels(validation[1], len(vx.x), "validation")
            val = Batches(self._reader(vx), np.arange(len(vy)), 8192, vy, weights)
        elif held is not None:
            val = Batches(self._reader(X), held, 8192, y, weights)
        self.model_, self.history_ = train(
            lambda: self._build(X.x.shape[1], X.x.shape[2]),
            batches,
            val,
            self.epochs,
            self.patience,
            self.monitor,
            self.seed,
        )
        self.threshold_ = 0.5
        return self

    def score(self, X: Sequences) -> np.ndarray:
        """Fraud score in [0, 1] per sequence (per transaction, at its last step)."""
        from workbench.models.keras_parts import predict

        X = _check(X, "X")
        if list(X.columns) != self.features_:
            raise InputError(
                "X.columns", list(X.columns), f"the training features {self.features_}"
            )
        out = np.empty(len(X.x), np.float64)
        for a in range(0, len(X.x), CHUNK_ROWS):
            inputs = self._transform(X.x[a : a + CHUNK_ROWS], X.mask[a : a + CHUNK_ROWS])
            out[a : a + CHUNK_ROWS] = predict(self.model_, inputs)
        return out
