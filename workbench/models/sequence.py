"""LSTM and GRU detectors over sequence datasets (a customer's last k transactions).

Inputs are :class:`workbench.features.sequences.Sequences`: x (n, k, f) and a mask of real
steps; padded steps are masked out of the recurrent layer, so short histories are not read
as zeros. Optionally an attention layer pools all steps instead of taking the last state.
Features are standardised with the training rows' mean and deviation; the fraud class is
weighted by the inverse prevalence; early stopping watches the validation loss.

Memory: the sequences are never copied whole. The statistics are accumulated over row
chunks, and training and scoring read shuffled batches from ``Sequences.x`` (in memory or
memory-mapped ``.npy`` files from ``build_sequences(out_dir=...)``) and transform each batch
on the fly (``_Batches``), so peak memory is the sequences themselves plus a few batches.
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

    def build(self, input_shape) -> None:
        # the Dense sub-layers get their weights here, so a loaded model restores them into
        # built layers (Keras warns and marks an unbuilt layer built otherwise)
        self.hidden.build(input_shape)
        self.logit.build((*input_shape[:-1], self.units))
        self.built = True

    def call(self, h, mask_steps):
        logits = keras.ops.squeeze(self.logit(self.hidden(h)), axis=-1)
        logits = keras.ops.where(mask_steps, logits, -1e9)
        weights = keras.ops.softmax(logits, axis=-1)
        return keras.ops.sum(h * keras.ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None  # the pooled output has no time axis left to mask

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


CHUNK_ROWS = 65_536  # rows per chunk for the statistics and for scoring


class _Batches(keras.utils.PyDataset):
    """Batches of transformed sequences read from ``seqs`` at the row positions ``rows``,
    with labels and class weights when ``y`` is given; reshuffled every epoch from ``seed``
    when ``shuffle`` (deterministic)."""

    def __init__(self, det: SequenceDetector, seqs: Sequences, rows: np.ndarray, batch_size: int, y: np.ndarray | None = None,
                 weights: tuple[float, float] = (1.0, 1.0), shuffle: bool = False, seed: int = 0) -> None:
        super().__init__()
        self.det, self.seqs, self.rows, self.batch_size = det, seqs, np.asarray(rows), batch_size
        self.y, self.weights, self.shuffle, self.seed, self.epoch = y, np.asarray(weights, np.float32), shuffle, seed, 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return self.rows
        return self.rows[np.random.default_rng([self.seed, self.epoch]).permutation(len(self.rows))]

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, i: int):
        idx = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])  # sorted reads are faster on a memmap
        inputs = tuple(self.det._transform(self.seqs.x[idx], self.seqs.mask[idx]))
        if self.y is None:
            return (inputs,)
        y = self.y[idx]
        return inputs, y, self.weights[y.astype(np.int64)]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


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
        self.attention = attention
        self.epochs = check_int("epochs", epochs, 1, 1000)
        self.batch_size = check_int("batch_size", batch_size, 1, 1 << 20)
        self.patience = check_int("patience", patience, 0, 1000)
        self.seed = check_int("seed", seed, 0)

    @property
    def name(self) -> str:
        return f"{self.cell}{'+attention' if self.attention else ''}"

    @staticmethod
    def _squash(x: np.ndarray) -> np.ndarray:
        """sign(x) * log1p(|x|): seconds since the previous row, distances and counts are
        heavy-tailed; standardising them raw leaves most rows near zero."""
        return np.sign(x) * np.log1p(np.abs(x))

    def _transform(self, x: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """Model inputs for a block of sequences: squashed, standardised, clipped, padding zeroed."""
        mask = np.asarray(mask, bool)
        x = (self._squash(np.asarray(x, np.float32)) - self.mean_) / self.std_
        return [np.where(mask[..., None], np.clip(x, -10, 10), 0.0).astype(np.float32), mask]

    def _statistics(self, seqs: Sequences) -> None:
        """Mean and deviation of the squashed real steps, in float64 over row chunks (two
        passes: the mean, then the squared deviations from it)."""
        n = len(seqs.x)
        total, count = 0.0, 0
        for a in range(0, n, CHUNK_ROWS):
            steps = self._squash(np.asarray(seqs.x[a:a + CHUNK_ROWS], np.float64)[np.asarray(seqs.mask[a:a + CHUNK_ROWS], bool)])
            total, count = total + steps.sum(axis=0), count + len(steps)
        mean = total / max(count, 1)
        sq = 0.0
        for a in range(0, n, CHUNK_ROWS):
            steps = self._squash(np.asarray(seqs.x[a:a + CHUNK_ROWS], np.float64)[np.asarray(seqs.mask[a:a + CHUNK_ROWS], bool)])
            sq = sq + ((steps - mean) ** 2).sum(axis=0)
        self.mean_ = np.asarray(mean, np.float32)
        self.std_ = (np.sqrt(sq / max(count, 1)) + 1e-6).astype(np.float32)

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
        the last 10% of the training rows, which are then not trained on)."""
        X = _check(X, "X")
        if y is None or len(y) != len(X.x) or len(np.unique(y)) != 2:
            raise InputError("y", None if y is None else len(y), f"{len(X.x)} labels with both classes")
        self._statistics(X)
        self.features_ = list(X.columns)
        y = np.asarray(y, np.float32)
        rows = np.arange(len(y))
        if validation is None:
            cut = int(len(y) * 0.9)
            rows, val = rows[:cut], _Batches(self, X, rows[cut:], self.batch_size, y)
            if len(np.unique(y[:cut])) != 2:
                raise InputError("y", len(y), "labels with both classes in the first 90% of rows (or a validation set)")
        else:
            vx, vy = _check(validation[0], "validation"), np.asarray(validation[1], np.float32)
            val = _Batches(self, vx, np.arange(len(vy)), self.batch_size, vy)
        pos = max(float(y[rows].mean()), 1e-6)
        train = _Batches(self, X, rows, self.batch_size, y, weights=(1.0, 0.5 / pos), shuffle=True, seed=self.seed)
        with seeded(self.seed):
            self.model_ = self._build(X.x.shape[1], X.x.shape[2])
            stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience, restore_best_weights=True)
            self.history_ = self.model_.fit(train, validation_data=val, epochs=self.epochs, callbacks=[stop], verbose=0).history
        self.threshold_ = 0.5
        return self

    def score(self, X: Sequences) -> np.ndarray:
        """Fraud score in [0, 1] per sequence (per transaction, at its last step)."""
        X = _check(X, "X")
        if list(X.columns) != self.features_:
            raise InputError("X.columns", list(X.columns), f"the training features {self.features_}")
        out = np.empty(len(X.x), np.float64)
        for a in range(0, len(X.x), CHUNK_ROWS):
            inputs = self._transform(X.x[a:a + CHUNK_ROWS], X.mask[a:a + CHUNK_ROWS])
            out[a:a + CHUNK_ROWS] = self.model_.predict(inputs, batch_size=8192, verbose=0).ravel()
        return out
