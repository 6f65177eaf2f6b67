"""Sequence datasets for LSTM/GRU models: each transaction with its entity's previous
``k - 1`` transactions, as a float32 tensor with a mask, built in chunks.

Rows are ordered by (entity, time); a chunk carries the last ``k - 1`` rows of the previous
one, so sequences are exact across chunk borders while memory stays bounded by the chunk
size. Output arrays can be NumPy memory maps on disk (``out_dir``) for data larger than RAM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.validation import InputError, check_int


@dataclass
class Sequences:
    """X (n, k, f) float32, mask (n, k) bool (True = a real step), and each row's txn_id."""

    x: np.ndarray
    mask: np.ndarray
    txn_id: np.ndarray
    columns: list[str]

    def __len__(self) -> int:
        return len(self.txn_id)

    def take(self, rows: np.ndarray) -> Sequences:
        """The sequences at ``rows`` (positions or a boolean mask), in that order."""
        return Sequences(self.x[rows], self.mask[rows], self.txn_id[rows], list(self.columns))

    def aligned(self, txn_id: np.ndarray, param: str = "txn_id") -> Sequences:
        """These sequences reordered to the transactions ``txn_id`` (one each, in that order):
        itself when already aligned; an error naming ``param`` when a transaction has no
        sequence or ids repeat, so a misordered set can never be scored against the wrong
        labels."""
        want = np.asarray(txn_id)
        if len(want) == len(self.txn_id) and np.array_equal(want, self.txn_id):
            return self
        index = pd.Index(self.txn_id)
        if not index.is_unique:
            raise InputError(
                param,
                f"{len(index) - index.nunique()} repeated txn_id",
                "sequences with one row per transaction",
            )
        pos = index.get_indexer(want)
        if (pos < 0).any():
            raise InputError(
                param,
                f"{int((pos < 0).sum())} of {len(want)} transactions without a sequence",
                "sequences for every transaction asked for (built from the same rows)",
            )
        return self.take(pos)


def _windows(values: np.ndarray, entity: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k, f) windows ending at each row, within the same entity (left-padded with zeros)."""
    n = len(values)
    idx = np.arange(n)[:, None] - np.arange(k - 1, -1, -1)[None, :]
    valid = idx >= 0
    idx = np.maximum(idx, 0)
    valid &= entity[idx] == entity[:, None]
    x = values[idx]
    x[~valid] = 0.0
    return x, valid


def iter_sequence_chunks(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    k: int = 10,
    entity: str = "customer_id",
    chunk_rows: int = 500_000,
) -> Iterator[Sequences]:
    """Stream sequence chunks from a DuckDB relation (table, view or ``read_parquet(...)``)."""
    k = check_int("k", k, 1, 1000)
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    if not columns:
        raise InputError("columns", columns, "at least one numeric feature column")
    cols = ", ".join(f"CAST(coalesce({c}, 0) AS FLOAT) AS {c}" for c in columns)
    reader = con.sql(
        f"SELECT txn_id, {entity} AS entity, {cols} FROM {relation} ORDER BY {entity}, ts, txn_id"
    ).to_arrow_reader(chunk_rows)
    tail_v, tail_e = np.zeros((0, len(columns)), np.float32), np.zeros(0, np.int64)
    for batch in reader:
        table = pa.Table.from_batches([batch])
        values = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False) for c in columns]
        ).astype(np.float32)
        ent = table.column("entity").to_numpy()
        v, e = np.concatenate([tail_v, values]), np.concatenate([tail_e, ent])
        x, mask = _windows(v, e, k)
        skip = len(tail_v)
        yield Sequences(x[skip:], mask[skip:], table.column("txn_id").to_numpy(), list(columns))
        tail_v, tail_e = v[-(k - 1) :] if k > 1 else v[:0], e[-(k - 1) :] if k > 1 else e[:0]


def build_sequences(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    k: int = 10,
    entity: str = "customer_id",
    chunk_rows: int = 500_000,
    out_dir: str | os.PathLike | None = None,
) -> Sequences:
    """All sequences, in memory or (with ``out_dir``) as memory-mapped ``.npy`` files, in
    (entity, time) order, not the relation's: :func:`frame_sequences` returns a frame's rows
    in its own order, and :meth:`Sequences.aligned` reorders to any list of ``txn_id``."""
    n = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    if out_dir is None:
        parts = list(iter_sequence_chunks(con, relation, columns, k, entity, chunk_rows))
        if not parts:
            return Sequences(
                np.zeros((0, k, len(columns)), np.float32),
                np.zeros((0, k), bool),
                np.zeros(0, np.int64),
                list(columns),
            )
        return Sequences(
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.mask for p in parts]),
            np.concatenate([p.txn_id for p in parts]),
            list(columns),
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = np.lib.format.open_memmap(
        out / "x.npy", mode="w+", dtype=np.float32, shape=(n, k, len(columns))
    )
    mask = np.lib.format.open_memmap(out / "mask.npy", mode="w+", dtype=bool, shape=(n, k))
    ids = np.lib.format.open_memmap(out / "txn_id.npy", mode="w+", dtype=np.int64, shape=(n,))
    pos = 0
    for part in iter_sequence_chunks(con, relation, columns, k, entity, chunk_rows):
        m = len(part.txn_id)
        x[pos : pos + m], mask[pos : pos + m], ids[pos : pos + m] = part.x, part.mask, part.txn_id
        pos += m
    x.flush(), mask.flush(), ids.flush()
    return Sequences(x, mask, ids, list(columns))


def frame_sequences(
    frame: pd.DataFrame, columns: list[str], k: int = 5, entity: str = "card_id"
) -> Sequences:
    """Each row of ``frame`` with its ``entity``'s previous ``k - 1`` rows (ordered by ``ts``
    then ``txn_id``), returned **in the frame's row order** (row i is the sequence ending at
    ``frame`` row i). The frame needs ``txn_id``, ``ts``, ``entity`` and ``columns``."""
    need = ["txn_id", "ts", entity, *columns]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InputError("frame", missing, "a frame with the columns " + ", ".join(need))
    con = duckdb.connect()
    con.register("frame_rows", frame[list(dict.fromkeys(need))])
    seqs = build_sequences(con, "frame_rows", list(columns), k, entity)
    con.close()
    return seqs.aligned(frame["txn_id"].to_numpy(), "frame.txn_id")


class LastRows:
    """The input builder "the last ``k`` rows of each card (or ``entity``)" for the evaluation
    protocols: called with a boolean row mask of ``frame``, it returns the sequences of those
    rows in the frame's order. Histories reach back before the mask (earlier rows of the same
    entity, point in time), never forward. The sequences are built once, at construction."""

    def __init__(
        self, frame: pd.DataFrame, columns: list[str], k: int = 5, entity: str = "card_id"
    ) -> None:
        self.k, self.entity, self.columns = check_int("k", k, 1, 1000), entity, list(columns)
        self.sequences = frame_sequences(frame, self.columns, self.k, entity)

    def __call__(self, mask: np.ndarray) -> Sequences:
        mask = np.asarray(mask)
        if mask.dtype != bool or len(mask) != len(self.sequences):
            raise InputError(
                "mask",
                f"{mask.dtype} of {len(mask)}",
                f"a boolean mask of {len(self.sequences)} rows",
            )
        return self.sequences.take(mask)
