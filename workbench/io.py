"""Atomic writes of products (JSON reports, Parquet and CSV tables): a temporary file renamed
into place, so a crash never leaves a half-written file that looks complete."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _atomic(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write`` on a temporary sibling of ``path``, then rename it into place."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (numpy scalars become floats)."""
    return _atomic(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=_plain)))


def write_parquet(path: str | os.PathLike, frame) -> Path:
    """Write a pandas frame to Parquet at ``path`` atomically."""
    return _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(path: str | os.PathLike, frame) -> Path:
    """Write a pandas frame to CSV at ``path`` atomically."""
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _plain(value: Any) -> Any:
    """JSON fallback: numpy numbers and arrays, timestamps, sets."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)
