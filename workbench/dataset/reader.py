"""Open a generated dataset: its card, its tables as pandas frames, and DuckDB over it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as pads

from workbench.dataset.schema import TABLES
from workbench.dataset.writer import CARD_JSON, DB_FILE
from workbench.validation import InputError, check_choice


@dataclass(frozen=True)
class Dataset:
    """A dataset directory written by ``workbench.simulate.generate``."""

    path: Path

    @property
    def card(self) -> dict[str, Any]:
        """The dataset card (parameters, seed, versions, row counts, time range)."""
        return json.loads((self.path / CARD_JSON).read_text())

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read one table (all parts) as a pandas frame; strings come back as plain strings."""
        check_choice("table", name, TABLES)
        data = pads.dataset(self.path / name, format="parquet").to_table(columns=columns)
        frame = data.to_pandas()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(str)
        return frame

    def attach(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Create temporary views of this dataset's tables on another (writable) connection."""
        for table in TABLES:
            if (self.path / table).is_dir():
                con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet('{(self.path / table).resolve().as_posix()}/*.parquet')")
        return con

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only DuckDB connection with a view per table (``SELECT * FROM transactions``)."""
        con = duckdb.connect(str(self.path / DB_FILE), read_only=True)
        con.execute(f"SET file_search_path = '{self.path.resolve().as_posix()}'")
        return con


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Open the dataset at ``path``; raise InputError if it is not a complete dataset."""
    p = Path(path)
    if not (p / CARD_JSON).is_file() or not (p / DB_FILE).is_file():
        raise InputError("path", str(p), "a dataset directory written by `workbench generate` (with card.json and workbench.duckdb)")
    return Dataset(p)


def summary(path: str | os.PathLike) -> dict[str, Any]:
    """Headline statistics of a dataset, computed in DuckDB over its Parquet files."""
    ds = open_dataset(path)
    with ds.connect() as con:
        tx = con.sql("""
            SELECT count(*) AS transactions, count(DISTINCT customer_id) AS active_customers,
                   min(timestamp) AS first, max(timestamp) AS last,
                   avg(CASE WHEN status = 'declined' THEN 1 ELSE 0 END) AS decline_rate,
                   avg(CASE WHEN is_fraud THEN 1 ELSE 0 END) AS fraud_rate,
                   median(amount) FILTER (WHERE txn_type = 'purchase') AS median_purchase
            FROM transactions""").df().iloc[0].to_dict()
        by_type = con.sql("SELECT txn_type, count(*) AS n, round(sum(amount), 2) AS total FROM transactions GROUP BY 1 ORDER BY 2 DESC").df()
        modes = con.sql("""SELECT payment_mode, round(count(*) / sum(count(*)) OVER (), 4) AS share FROM transactions
                           WHERE txn_type = 'purchase' GROUP BY 1 ORDER BY 2 DESC""").df()
        events = con.sql("SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC").df()
    card = ds.card
    return {
        "path": str(ds.path), "market": card["market"], "currency": card["currency"], "seed": card["seed"],
        "row_counts": card["row_counts"], **{k: (str(v) if k in ("first", "last") else v) for k, v in tx.items()},
        "by_type": by_type.to_dict("records"), "payment_modes": modes.to_dict("records"), "events": events.to_dict("records"),
    }


def format_summary(stats: dict[str, Any]) -> str:
    """A readable text rendering of :func:`summary`."""
    lines = [f"dataset {stats['path']}  (market {stats['market']}, {stats['currency']}, seed {stats['seed']})",
             f"time range  {stats['first']} .. {stats['last']}", ""]
    lines += [f"{t:<14}{n:>14,}" for t, n in stats["row_counts"].items()]
    lines += ["", f"active customers {int(stats['active_customers']):,}; decline rate {stats['decline_rate']:.2%}; "
              f"fraud rate {stats['fraud_rate']:.3%}; median purchase {stats['median_purchase']:,.2f}", "", "by type:"]
    lines += [f"  {r['txn_type']:<14}{r['n']:>12,}{r['total']:>20,.2f}" for r in stats["by_type"]]
    lines += ["purchase payment modes:"] + [f"  {r['payment_mode']:<14}{r['share']:>8.2%}" for r in stats["payment_modes"]]
    lines += ["events:"] + [f"  {r['event_type']:<16}{r['n']:>10,}" for r in stats["events"]]
    return "\n".join(lines)
