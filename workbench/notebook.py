"""Helpers for notebooks run by Ploomber, papermill, nbval or by hand in JupyterLab."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from workbench.validation import InputError


def product_path(product: Any, key: str, scratch_name: str) -> Path:
    """The path of ``product[key]`` when Ploomber injected products, else a fresh scratch
    directory (a notebook run by hand or by nbval writes nothing into the project)."""
    if product is None:
        return Path(tempfile.mkdtemp(prefix="workbench-")) / scratch_name
    try:
        return Path(str(product[key]))
    except (KeyError, TypeError):
        raise InputError("product", product, f"a Ploomber product mapping with the key {key!r}") from None
