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
import pyarrow as pa

from workbench.validation import InputError, check_int


@dataclass
class Sequences:
    """X (n, k, f) float32, mask (n, k) bool (True = a real step), and each row's txn_id."""

    x: np.ndarray
    mask: np.ndarray
    txn_id: np.ndarray
    columns: list[str]


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


def iter_sequence_chunks(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], k: int = 10,
                         entity: str = "customer_id", chunk_rows: int = 500_000) -> Iterator[Sequences]:
    """Stream sequence chunks from a DuckDB relation (table, view or ``read_parquet(...)``)."""
    k = check_int("k", k, 1, 1000)
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    if not columns:
        raise InputError("columns", columns, "at least one numeric feature column")
    cols = ", ".join(f"CAST(coalesce({c}, 0) AS FLOAT) AS {c}" for c in columns)
    reader = con.sql(f"SELECT txn_id, {entity} AS entity, {cols} FROM {relation} ORDER BY {entity}, ts, txn_id").to_arrow_reader(chunk_rows)
    tail_v, tail_e = np.zeros((0, len(columns)), np.float32), np.zeros(0, np.int64)
    for batch in reader:
        table = pa.Table.from_batches([batch])
        values = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in columns]).astype(np.float32)
        ent = table.column("entity").to_numpy()
        v, e = np.concatenate([tail_v, values]), np.concatenate([tail_e, ent])
        x, mask = _windows(v, e, k)
        skip = len(tail_v)
        yield Sequences(x[skip:], mask[skip:], table.column("txn_id").to_numpy(), list(columns))
        tail_v, tail_e = v[-(k - 1):] if k > 1 else v[:0], e[-(k - 1):] if k > 1 else e[:0]


def build_sequences(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], k: int = 10, entity: str = "customer_id",
                    chunk_rows: int = 500_000, out_dir: str | os.PathLike | None = None) -> Sequences:
    """All sequences, in memory or (with ``out_dir``) as memory-mapped ``.npy`` files."""
    n = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    if out_dir is None:
        parts = list(iter_sequence_chunks(con, relation, columns, k, entity, chunk_rows))
        if not parts:
            return Sequences(np.zeros((0, k, len(columns)), np.float32), np.zeros((0, k), bool), np.zeros(0, np.int64), list(columns))
        return Sequences(np.concatenate([p.x for p in parts]), np.concatenate([p.mask for p in parts]),
                         np.concatenate([p.txn_id for p in parts]), list(columns))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = np.lib.format.open_memmap(out / "x.npy", mode="w+", dtype=np.float32, shape=(n, k, len(columns)))
    mask = np.lib.format.open_memmap(out / "mask.npy", mode="w+", dtype=bool, shape=(n, k))
    ids = np.lib.format.open_memmap(out / "txn_id.npy", mode="w+", dtype=np.int64, shape=(n,))
    pos = 0
    for part in iter_sequence_chunks(con, relation, columns, k, entity, chunk_rows):
        m = len(part.txn_id)
        x[pos:pos + m], mask[pos:pos + m], ids[pos:pos + m] = part.x, part.mask, part.txn_id
        pos += m
    x.flush(), mask.flush(), ids.flush()
    return Sequences(x, mask, ids, list(columns))
