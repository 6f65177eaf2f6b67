"""Column mappings for external transaction tables (YAML files of canonical: column)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from workbench.simulate.profiles import DATA_DIR
from workbench.validation import InputError

EXAMPLE_TABLE = DATA_DIR / "examples" / "minimal_transactions.csv"
EXAMPLE_MAPPING = DATA_DIR / "examples" / "minimal_mapping.yaml"


def load_mapping(path: str | os.PathLike) -> dict[str, str]:
    """Read a mapping file; raise InputError if it is not a mapping of names to column names."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("mapping", str(path), f"a readable YAML mapping file ({exc})") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise InputError("mapping", str(path), "a YAML mapping of canonical input names to column names")
    return raw
