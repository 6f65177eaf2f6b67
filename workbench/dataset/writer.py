"""Atomic dataset writing: a temporary directory, renamed into place when complete.

A dataset directory holds one folder of Parquet parts per table, ``workbench.duckdb`` with
a view per table, and the dataset card (``card.json`` and ``card.md``). Nothing appears at
the destination until everything is written; a crash leaves only a ``.tmp-*`` directory
beside it, which the next run removes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.dataset.schema import TABLES
from workbench.validation import InputError

DB_FILE = "workbench.duckdb"
CARD_JSON, CARD_MD = "card.json", "card.md"


def check_destination(out: str | os.PathLike, overwrite: bool) -> Path:
    """Validate an output path: its parent must be writable, and an existing dataset needs ``overwrite``."""
    path = Path(out)
    if path.exists() and not overwrite:
        raise InputError("out", str(path), "a path that does not exist yet (or pass overwrite / --overwrite)")
    if path.exists() and not path.is_dir():
        raise InputError("out", str(path), "a directory path (a file is in the way)")
    parent = path.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise InputError("out", str(path), "a path inside a writable directory")
    return path


def write_part(root: Path, table: str, part: str, data: pa.Table) -> Path:
    """Write one Parquet part of ``table`` under ``root`` (deterministic bytes for equal data)."""
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{part}.parquet"
    # dictionary-encode only string columns: trying it on ids, floats and times costs time for nothing
    strings = [f.name for f in data.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(data, path, compression="zstd", row_group_size=256_000, use_dictionary=strings)
    return path


def create_views(root: Path) -> None:
    """Create ``workbench.duckdb`` with one view per table over its Parquet parts (relative paths)."""
    con = duckdb.connect(str(root / DB_FILE))
    try:
        con.execute(f"SET file_search_path = '{root.as_posix()}'")
        for table in TABLES:
            if (root / table).is_dir():
                con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{table}/*.parquet')")
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
    lines += ["", "## Parameters", "", "```json", json.dumps(card.get("config", {}), indent=2, default=str), "```",
              "", "## Package versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {p} | {v} |" for p, v in card.get("versions", {}).items()]
    (root / CARD_MD).write_text("\n".join(lines) + "\n")


@contextmanager
def atomic_directory(out: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; on success rename it to ``out``.

    On an exception the temporary directory is removed and ``out`` is untouched. With
    ``overwrite`` an existing ``out`` is replaced only after the new one is complete.
    """
    path = check_destination(out, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
