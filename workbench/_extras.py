"""Imports of optional dependencies: a missing one names the extra that installs it.

The core (simulate, fraud, features, graph, evaluate and the classical detectors) needs only
the packages of ``[project.dependencies]``; notebooks and reports, the Keras detectors, the
Dask backend, the scoring service, the browser check and the book are extras. Every lazy
import of such a package goes through :func:`require`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# top-level module -> the extra of pyproject.toml that installs it
EXTRA_OF = {
    "keras": "deep",
    "tensorflow": "deep",
    "dask": "dask",
    "distributed": "dask",
    "papermill": "notebooks",
    "nbformat": "notebooks",
    "nbconvert": "notebooks",
    "nbclient": "notebooks",
    "ploomber": "notebooks",
    "matplotlib": "notebooks",
    "seaborn": "notebooks",
    "IPython": "notebooks",
    "fastapi": "service",
    "uvicorn": "service",
    "playwright": "browser",
    "jupyter_book": "book",
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str, purpose: str | None = None) -> None:
        self.module, self.extra = module, extra
        what = f" ({purpose})" if purpose else ""
        super().__init__(
            f"{module} is not installed{what}: it comes with the '{extra}' extra, "
            f"pip install 'fraud-workbench[{extra}]'",
            name=module,
        )


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` (dotted) or raise :class:`MissingExtra` naming its extra.

    A module that is installed but fails on a missing dependency of its own re-raises the
    original error (that is a broken install, not a missing extra).
    """
    top = module.split(".")[0]
    if top not in EXTRA_OF:
        known = ", ".join(sorted(EXTRA_OF))
        raise ValueError(f"{module!r} is not an optional dependency: {known}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != top:
            raise
        raise MissingExtra(module, EXTRA_OF[top], purpose) from None
