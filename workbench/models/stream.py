"""Stream scoring: replay a dataset's transactions in time order through an online feature
state and a model package, producing a score and a latency per transaction.

The replay merges three time-ordered streams, as a bank's scoring service would see them:
the transactions, the label confirmations (a fraud's label arrives at its ``confirmed_at``)
and the account events (email and phone changes, bank links). The online state
(``workbench.features.online``, compiled with numba) keeps per customer, card, device,
IP and merchant the history a feature needs and computes every catalogue feature
(``workbench.features.catalogue``, the registry) with the batch definitions: windows
ending at the current row include rows at the same instant (the rows of one instant are
added before any of them is computed), "strictly preceding" windows exclude them, sequence
features follow (time, txn_id) order, label-derived features count only labels known
before the transaction, account events count at or before it; registered features are not
computed online (a package using them is refused, naming them). A parity test checks online
against batch features on a generated dataset (exact for counts, within 1e-9 for floats).

Any package whose features are catalogue features (``ONLINE_FEATURES``, in any subset and
order) can be replayed; its columns are taken from the state's.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from workbench.features.online import (
    ONLINE_FEATURES,
    OnlineState,
    Stream,
    source_stream,
    stream_inputs,
)
from workbench.features.store import dataset_source
from workbench.models.package import load_package
from workbench.validation import InputError, check_int

__all__ = ["ONLINE_FEATURES", "parity", "replay", "stream_model", "stream_rows"]


def stream_rows(data: str | os.PathLike, limit: int | None = None) -> Stream:
    """The :class:`~workbench.features.online.Stream` of a dataset (its first ``limit``
    transactions, and the labels and events up to the last of them)."""
    return source_stream(dataset_source(data), limit)


def stream_model(package: str | os.PathLike) -> tuple[object, np.ndarray | None]:
    """Load a package for the stream: the detector and the state's columns of its features
    (``None`` when they are all of ONLINE_FEATURES in order). Its features must be catalogue
    features; the error names the others."""
    model = load_package(package)
    features = list(model.features_ or [])
    unknown = [f for f in features if f not in ONLINE_FEATURES]
    if not features or unknown:
        raise InputError(
            "package",
            f"features {unknown[:5] or features}",
            "a package trained on catalogue features (ONLINE_FEATURES; registered "
            "features are not computed online)",
        )
    return model, None if features == ONLINE_FEATURES else np.array(
        [ONLINE_FEATURES.index(f) for f in features]
    )


def replay(
    data: str | os.PathLike,
    package: str | os.PathLike | None = None,
    max_batch: int = 64,
    limit: int | None = None,
) -> pd.DataFrame:
    """Replay the dataset through the online state (and a model package trained on
    catalogue features): per transaction its online features (float64, NaN for missing),
    score and latency. Rows are scored in micro-batches of ``max_batch`` rows (more when the
    last instant would be split: the rows of one instant enter together); a row's latency
    runs from the moment the replay began its micro-batch (read the batch's first row) to
    the batch's scores, an upper bound for every row but the first. The first replay in a
    fresh installation compiles the state (numba, cached on disk afterwards)."""
    check_int("max_batch", max_batch, 1, 100_000)
    if limit is not None:
        check_int("limit", limit, 1)
    model, columns = stream_model(package) if package is not None else (None, None)
    stream = stream_rows(data, limit)
    state = OnlineState(stream_inputs(stream))
    n = len(stream)
    scores, latency = np.full(n, np.nan), np.zeros(n)
    i, clock = 0, time.perf_counter
    while i < n:
        began = clock()
        j = state.advance(i, max_batch)
        if model is not None:
            values = state.features[i:j]
            scores[i:j] = model.score_values(values if columns is None else values[:, columns])
        latency[i:j] = clock() - began
        i = j
    result = pd.DataFrame(state.features, columns=ONLINE_FEATURES)
    result.insert(0, "txn_id", stream.rows["txn_id"])
    if model is not None:
        result["score"] = scores
    result["latency_s"] = latency
    return result


def parity(online: pd.DataFrame, batch: pd.DataFrame, rtol: float = 1e-9) -> pd.DataFrame:
    """Per feature: rows compared and rows differing (counts exactly, floats within ``rtol``
    relative and 1e-9 absolute; both null counts as equal)."""
    if "txn_id" not in online or "txn_id" not in batch:
        raise InputError("online", list(online.columns)[:3], "frames with a txn_id column")
    m = online.merge(batch, on="txn_id", suffixes=("_online", "_batch"))
    rows = []
    for f in ONLINE_FEATURES:
        a, b = m[f"{f}_online"].astype(float).to_numpy(), m[f"{f}_batch"].astype(float).to_numpy()
        both_null = np.isnan(a) & np.isnan(b)
        if pd.api.types.is_integer_dtype(batch[f]):
            bad = ~(both_null | (a == b))
        else:
            bad = ~(both_null | np.isclose(a, b, rtol=rtol, atol=1e-9))
        rows.append({"feature": f, "rows": len(m), "differing": int(bad.sum())})
    return pd.DataFrame(rows)
