"""The Keras pieces of the deep detectors: the batch reader, the attention layer and the
training loop with early stopping. Importing this module imports TensorFlow, so the
detectors import it only when they build or load a model (``workbench.models`` itself loads
without TensorFlow)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.models.keras_util import keras, seeded

MONITORS = {"loss": "min", "pr_auc": "max"}  # early-stopping metric -> direction
IN_MEMORY_BYTES = 256 * 2**20  # training inputs up to this size are transformed at once
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices per new model


@keras.saving.register_keras_serializable(package="workbench")
class MaskedAttentionPool(keras.layers.Layer):
    """Additive attention pooling over time steps; padded steps get no weight."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        # it consumes the recurrent layer's mask through ``mask_steps``
        self.supports_masking = True
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


class Batches(keras.utils.PyDataset):
    """Batches of model inputs ``read(rows)`` at the row positions ``rows``, with labels and
    per-class sample weights when ``y`` is given; reshuffled every epoch from ``seed`` when
    ``shuffle`` (deterministic). Rows are read in sorted order within a batch (faster on a
    memory map), so a batch is never copied from a shuffled whole."""

    def __init__(
        self,
        read: Callable[[np.ndarray], Any],
        rows: np.ndarray,
        batch_size: int,
        y: np.ndarray | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.read, self.rows, self.batch_size = read, np.asarray(rows), batch_size
        self.y, self.weights = y, np.asarray(weights, np.float32)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return self.rows
        rng = np.random.default_rng([self.seed, self.epoch])
        return self.rows[rng.permutation(len(self.rows))]

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, i: int):
        idx = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        inputs = self.read(idx)  # an array (one model input) or a list of them
        inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else inputs
        if self.y is None:
            return (inputs,)
        y = self.y[idx]
        return inputs, y, self.weights[y.astype(np.int64)]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def arrays(self, limit: int = IN_MEMORY_BYTES) -> tuple | None:
        """All rows at once as (inputs, labels, weights) when their model inputs take at most
        ``limit`` bytes (else None): Keras then batches and shuffles them itself (seeded),
        about twice as fast per step as reading each batch through Python."""
        one = self.read(self.rows[:1])
        parts = list(one) if isinstance(one, (list, tuple)) else [one]
        if sum(np.asarray(p).nbytes for p in parts) * len(self.rows) > limit or self.y is None:
            return None
        inputs = self.read(self.rows)
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else inputs
        y = self.y[self.rows]
        return inputs, y, self.weights[y.astype(np.int64)]


def compile_binary(model: keras.Model, learning_rate: float) -> keras.Model:
    """Adam at ``learning_rate`` on the binary cross-entropy (weighted by the batches'
    sample weights); the PR AUC metric is unweighted (Keras 3 applies sample weights only to
    ``weighted_metrics``), so it ranks as average precision does."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(curve="PR", name="pr_auc")],
    )
    return model


def train(
    build: Callable[[], keras.Model],
    train_batches: Batches,
    val_batches: Batches | None,
    epochs: int,
    patience: int,
    monitor: str,
    seed: int,
) -> tuple[keras.Model, dict]:
    """Build (seeded) and fit a model; with validation batches, early stopping on the
    validation ``monitor`` restores the best epoch's weights. Inputs that fit in
    :data:`IN_MEMORY_BYTES` are handed to Keras whole (:meth:`Batches.arrays`), larger ones
    batch by batch. (model, history)."""
    with seeded(seed):
        model = build()
        callbacks = []
        if val_batches is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=f"val_{monitor}",
                    mode=MONITORS[monitor],
                    patience=patience,
                    restore_best_weights=True,
                )
            )
        data = train_batches.arrays()
        val = None if val_batches is None else val_batches.arrays()
        if data is not None and (val_batches is None or val is not None):
            history = model.fit(
                *data[:2],
                sample_weight=data[2],
                batch_size=train_batches.batch_size,
                shuffle=True,
                validation_data=val,
                epochs=epochs,
                callbacks=callbacks,
                verbose=0,
            ).history
        else:  # larger than memory allows (memory-mapped sequences): batch by batch
            history = model.fit(
                train_batches,
                validation_data=val_batches,
                epochs=epochs,
                callbacks=callbacks,
                verbose=0,
            ).history
    return model, history


def predict(model: keras.Model, inputs: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Fraud probabilities of a block of model inputs."""
    return model.predict(inputs, batch_size=8192, verbose=0).ravel()
