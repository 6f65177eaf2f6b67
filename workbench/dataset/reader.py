"""Open a generated dataset: its card, its tables as pandas frames, and DuckDB over it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from workbench.dataset.schema import TABLES
from workbench.dataset.writer import CARD_JSON, DB_FILE, content_hash
from workbench.products import sha256_file
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
        parts = pads.dataset(self.path / name, format="parquet")
        unknown = sorted(set(columns or ()) - set(parts.schema.names))
        if unknown:
            raise InputError(
                "columns", unknown, f"columns of {name}: " + ", ".join(parts.schema.names)
            )
        data = parts.to_table(columns=columns)
        frame = data.to_pandas()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(str)
        return frame

    def attach(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Create temporary views of this dataset's tables on another (writable) connection."""
        for table in TABLES:
            if (self.path / table).is_dir():
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet("
                    f"'{(self.path / table).resolve().as_posix()}/*.parquet')"
                )
        return con

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only DuckDB connection with a view per table (``SELECT * FROM transactions``)."""
        con = duckdb.connect(str(self.path / DB_FILE), read_only=True)
        con.execute(f"SET file_search_path = '{self.path.resolve().as_posix()}'")
        return con


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Open the dataset at ``path``; raise InputError if it is not a complete dataset: the
    parts on disk must be exactly those of the card, with the row counts it records."""
    p = Path(path)
    if not (p / CARD_JSON).is_file() or not (p / DB_FILE).is_file():
        raise InputError(
            "path",
            str(p),
            "a dataset directory written by `workbench generate` "
            "(with card.json and workbench.duckdb)",
        )
    ds = Dataset(p)
    try:
        card = ds.card
    except (OSError, ValueError):
        raise InputError("path", str(p), f"a dataset whose {CARD_JSON} is readable JSON") from None
    _check_parts(p, card)
    return ds


def _recorded(root: Path, card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parts = card.get("parts") if isinstance(card, dict) else None
    if not isinstance(parts, dict) or not parts:
        raise InputError(
            "path",
            str(root),
            "a dataset whose card lists its parts with row counts and SHA-256 "
            "(written by this version of the workbench; generate it again)",
        )
    return parts


def _check_parts(root: Path, card: dict[str, Any]) -> None:
    """Raise InputError naming the first part that is missing, extra, unreadable or holds
    another row count than the card records (reads only the Parquet footers)."""
    parts = _recorded(root, card)
    present = {
        f"{t}/{f.name}"
        for t in TABLES
        if (root / t).is_dir()
        for f in (root / t).glob("*.parquet")
    }
    for name in sorted(set(parts) - present):
        raise InputError(
            f"part {name}", str(root / name), "a part the dataset card lists (it is missing)"
        )
    for name in sorted(present - set(parts)):
        raise InputError(
            f"part {name}",
            str(root / name),
            "only parts the dataset card lists (this one is extra)",
        )
    for name in sorted(parts):
        try:
            rows = pq.read_metadata(root / name).num_rows
        except (OSError, pa.ArrowException) as exc:
            raise InputError(
                f"part {name}", str(root / name), f"a readable Parquet part ({str(exc).strip()})"
            ) from None
        if rows != parts[name]["rows"]:
            raise InputError(
                f"part {name}",
                f"{rows} rows",
                f"the {parts[name]['rows']} rows the dataset card records",
            )


def verify(path: str | os.PathLike) -> dict[str, Any]:
    """Check every part of the dataset at ``path`` against the SHA-256 its card records (and
    the row counts, see :func:`open_dataset`); raise InputError naming the first part that
    does not match. Returns the number of parts and bytes checked and the content hash."""
    ds = open_dataset(path)
    parts = ds.card["parts"]
    size = 0
    for name in sorted(parts):
        if sha256_file(ds.path / name) != parts[name]["sha256"]:
            raise InputError(
                f"part {name}",
                str(ds.path / name),
                "a part whose SHA-256 matches the dataset card (its bytes changed after writing)",
            )
        size += (ds.path / name).stat().st_size
    return {
        "path": str(ds.path),
        "parts": len(parts),
        "bytes": size,
        "content_hash": content_hash(parts),
    }


def summary(path: str | os.PathLike) -> dict[str, Any]:
    """Headline statistics of a dataset, computed in DuckDB over its Parquet files."""
    ds = open_dataset(path)
    card = ds.card
    with ds.connect() as con:
        tx = (
            con.sql("""
            SELECT count(*) AS transactions, count(DISTINCT customer_id) AS active_customers,
                   min(timestamp) AS first, max(timestamp) AS last,
                   avg(CASE WHEN status = 'declined' THEN 1 ELSE 0 END) AS decline_rate,
                   avg(CASE WHEN is_fraud THEN 1 ELSE 0 END) AS fraud_rate,
                   median(amount) FILTER (WHERE txn_type = 'purchase') AS median_purchase
            FROM transactions""")
            .df()
            .iloc[0]
            .to_dict()
        )
        by_type = con.sql(
            "SELECT txn_type, count(*) AS n, round(sum(amount), 2) AS total FROM transactions "
            "GROUP BY 1 ORDER BY 2 DESC"
        ).df()
        modes = con.sql("""SELECT payment_mode, round(count(*) / sum(count(*)) OVER (), 4) AS share
                           FROM transactions
                           WHERE txn_type = 'purchase' GROUP BY 1 ORDER BY 2 DESC""").df()
        events = con.sql(
            "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC"
        ).df()
        # what is on disk, not what the card says
        on_disk = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in card["row_counts"]
            if (ds.path / t).is_dir()
        }

    return {
        "path": str(ds.path),
        "market": card["market"],
        "currency": card["currency"],
        "seed": card["seed"],
        "row_counts": on_disk,
        **{k: (str(v) if k in ("first", "last") else v) for k, v in tx.items()},
        "by_type": by_type.to_dict("records"),
        "payment_modes": modes.to_dict("records"),
        "events": events.to_dict("records"),
    }


def format_summary(stats: dict[str, Any]) -> str:
    """A readable text rendering of :func:`summary`."""
    lines = [
        f"dataset {stats['path']}  "
        f"(market {stats['market']}, {stats['currency']}, seed {stats['seed']})",
        f"time range  {stats['first']} .. {stats['last']}",
        "",
    ]
    lines += [f"{t:<14}{n:>14,}" for t, n in stats["row_counts"].items()]
    lines += [
        "",
        f"active customers {int(stats['active_customers']):,}; "
        f"decline rate {stats['decline_rate']:.2%}; "
        f"fraud rate {stats['fraud_rate']:.3%}; median purchase {stats['median_purchase']:,.2f}",
        "",
        "by type:",
    ]
    lines += [f"  {r['txn_type']:<14}{r['n']:>12,}{r['total']:>20,.2f}" for r in stats["by_type"]]
    lines += ["purchase payment modes:"] + [
        f"  {r['payment_mode']:<14}{r['share']:>8.2%}" for r in stats["payment_modes"]
    ]
    lines += ["events:"] + [f"  {r['event_type']:<16}{r['n']:>10,}" for r in stats["events"]]
    return "\n".join(lines)
