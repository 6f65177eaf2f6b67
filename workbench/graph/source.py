"""Where graphs read from: a dataset's tables in DuckDB, limited to a time window.

Every graph of this package is built from the rows of ``[start, end)``: ``end`` is the
"as of" time (nothing at or after it is read), so graph features computed for a moment use
only what was known before it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
import pandas as pd

from workbench.dataset.reader import Dataset, open_dataset
from workbench.validation import InputError

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR


@dataclass
class GraphSource:
    """A writable DuckDB connection with views ``transactions``, ``events``, ``customers``
    and ``accounts``, and the time window graphs are built from (microseconds since epoch)."""

    con: duckdb.DuckDBPyConnection
    start_us: int
    end_us: int

    def window(self, column: str = "timestamp") -> str:
        """SQL condition keeping rows of the window."""
        return f"epoch_us({column}) >= {self.start_us} AND epoch_us({column}) < {self.end_us}"

    def frame(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and return a pandas frame."""
        return self.con.execute(sql).df()

    def within(self, start_us: int | None = None, end_us: int | None = None) -> GraphSource:
        """The same tables over a narrower window (clipped to this one)."""
        lo = self.start_us if start_us is None else max(self.start_us, int(start_us))
        hi = self.end_us if end_us is None else min(self.end_us, int(end_us))
        return GraphSource(self.con, lo, max(lo, hi))


def to_us(param: str, value) -> int:
    """A timestamp-like value as microseconds since the epoch, or InputError naming ``param``."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise InputError(param, value, "a timestamp such as '2025-02-01' or '2025-02-01 12:00'")
    return int(ts.value) // 1000  # Timestamp.value is in nanoseconds whatever the unit


def graph_source(
    data: str | os.PathLike | Dataset,
    start=None,
    end=None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> GraphSource:
    """Open the dataset at ``data`` (a path or an opened Dataset) for graph building over
    ``[start, end)`` (default: the dataset's whole window). ``end`` is the "as of" time of
    point-in-time graphs."""
    ds = data if isinstance(data, Dataset) else open_dataset(data)
    card = ds.card
    con = ds.attach(con or duckdb.connect())
    try:  # no progress bar in terminals: graph building runs many short queries
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass  # Jupyter without ipywidgets refuses the setting and shows no bar anyway
    first = to_us("start", start if start is not None else card["window"][0])
    last = to_us("end", end if end is not None else card["window"][1])
    if last <= first:
        raise InputError("end", end, f"a time after start ({pd.Timestamp(first, unit='us')})")
    return GraphSource(con, first, last)
