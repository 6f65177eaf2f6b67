"""Atomic writes of file products (JSON reports, Parquet and CSV tables) through
:func:`workbench.products.write_file`: a per-run temporary renamed into place under the
target's lock, so a crash never leaves a half-written file that looks complete."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.products import write_file


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (numpy scalars become floats)."""
    return write_file(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=_plain)))


def write_parquet(path: str | os.PathLike, frame) -> Path:
    """Write a pandas frame to Parquet at ``path`` atomically."""
    return write_file(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(path: str | os.PathLike, frame) -> Path:
    """Write a pandas frame to CSV at ``path`` atomically."""
    return write_file(path, lambda tmp: frame.to_csv(tmp, index=False))


def _plain(value: Any) -> Any:
    """JSON fallback: numpy numbers and arrays, timestamps, sets."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)
