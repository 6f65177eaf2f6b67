"""Files shipped inside the package (markets, behaviour, fraud mixes, examples, rule sets,
report templates and the notebooks), found through :mod:`importlib.resources` so that an
installed wheel works from any directory. The package is installed as files (not zipped),
so a resource is a plain path."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """The path of a file or folder shipped with the package, e.g. ``resource("data",
    "fraud_mix.yaml")`` or ``resource("notebooks", "07_evaluation.ipynb")``."""
    return Path(str(files("workbench").joinpath(*parts)))
