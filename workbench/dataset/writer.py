"""Atomic dataset writing: a temporary directory, renamed into place when complete.

A dataset directory holds one folder of Parquet parts per table, ``workbench.duckdb`` with
a view per table, and the dataset card (``card.json`` and ``card.md``). Nothing appears at
the destination until everything is written (see :mod:`workbench.products`: a locked,
per-run temporary beside it, which a rerun removes after a crash). The card lists every
part with its row count and SHA-256, which readers verify.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.dataset.schema import TABLES
from workbench.products import Kind, check_target, register_kind, sha256_file, writing

DB_FILE = "workbench.duckdb"
CARD_JSON, CARD_MD = "card.json", "card.md"


def _entries(root: Path) -> set[str]:
    return {DB_FILE, CARD_JSON, CARD_MD, *TABLES}


DATASET = register_kind(Kind("dataset", CARD_JSON, _entries))


def check_destination(out: str | os.PathLike, overwrite: bool) -> Path:
    """Validate an output path before any work: not empty, its parent writable, and an
    existing target only with ``overwrite`` and only a dataset the workbench wrote."""
    return check_target(out, overwrite, DATASET.name)


def write_part(root: Path, table: str, part: str, data: pa.Table) -> Path:
    """Write one Parquet part of ``table`` under ``root`` (deterministic bytes for equal data)."""
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{part}.parquet"
    # dictionary-encode only string columns: trying it on ids, floats and times costs time for
    # nothing
    strings = [
        f.name for f in data.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
    ]
    pq.write_table(data, path, compression="zstd", row_group_size=256_000, use_dictionary=strings)
    return path


def create_views(root: Path) -> None:
    """Create ``workbench.duckdb`` with one view per table over its Parquet parts (relative
    paths)."""
    con = duckdb.connect(str(root / DB_FILE))
    try:
        con.execute(f"SET file_search_path = '{root.as_posix()}'")
        for table in TABLES:
            if (root / table).is_dir():
                con.execute(
                    f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM "
                    f"read_parquet('{table}/*.parquet')"
                )
    finally:
        con.close()


def write_card(root: Path, card: dict) -> None:
    """Write the dataset card as JSON and Markdown."""
    (root / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
    lines = [f"# Dataset card: {card.get('name', root.name)}", ""]
    for key in ("market", "seed", "time_range", "generation_seconds", "created_at"):
        if key in card:
            lines.append(f"- **{key}**: {card[key]}")
    lines += ["", "## Row counts", "", "| table | rows |", "|---|---|"]
    lines += [f"| {t} | {n:,} |" for t, n in card.get("row_counts", {}).items()]
    lines += [
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(card.get("config", {}), indent=2, default=str),
        "```",
        "",
        "## Package versions",
        "",
        "| package | version |",
        "|---|---|",
    ]
    lines += [f"| {p} | {v} |" for p, v in card.get("versions", {}).items()]
    (root / CARD_MD).write_text("\n".join(lines) + "\n")


def part_index(root: Path) -> dict[str, dict[str, Any]]:
    """Every Parquet part under ``root`` (``table/part-x.parquet``) with its row count (from
    its footer) and the SHA-256 of its bytes: what the card records and readers verify."""
    out = {}
    for table in TABLES:
        for part in sorted((root / table).glob("*.parquet")):
            out[f"{table}/{part.name}"] = {
                "rows": pq.read_metadata(part).num_rows,
                "sha256": sha256_file(part),
            }
    return out


def content_hash(parts: dict[str, dict[str, Any]]) -> str:
    """One hash of a dataset's content: the SHA-256 of its parts' names and hashes."""
    text = "\n".join(f"{name} {parts[name]['sha256']}" for name in sorted(parts))
    return hashlib.sha256(text.encode()).hexdigest()


def atomic_directory(out: str | os.PathLike, overwrite: bool):
    """A per-run temporary dataset directory beside ``out``, locked and renamed into place
    when complete (see :func:`workbench.products.writing`)."""
    return writing(out, overwrite=overwrite, kind=DATASET.name)
