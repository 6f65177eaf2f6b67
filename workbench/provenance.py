"""Pipeline provenance: which dataset content every task's products were built from.

Ploomber calls a task up to date from its own records (source code, parameters, when its
upstream last ran), so a dataset replaced outside the pipeline (``workbench generate
--overwrite`` on ``data/raw``) or by a killed build goes unnoticed. :func:`check_build`, the
pipeline's ``on_finish`` hook, closes that gap: after every build it records, for each task
that ran, the content hash of the dataset it was built from (the dataset card's
``content_hash``, see :mod:`workbench.dataset.writer`) in ``.<dataset>.provenance.json``
beside the dataset, and it fails the build, naming the tasks, when a task that Ploomber
skipped was built from other content than the dataset now on disk. :func:`check_render`,
the ``on_render`` hook, makes the same check before anything runs (and in ``ploomber
status``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench._extras import require
from workbench.validation import InputError


def _products(task: Any) -> list[Path]:
    product = task.product
    items = list(product) if hasattr(product, "products") else [product]
    return [Path(str(p)) for p in items]


def _datasets(dag: Any) -> dict[str, Path]:
    """The tasks of ``dag`` that produce a workbench dataset, with its directory."""
    out = {}
    for name in dag:
        for path in _products(dag[name]):
            if (path / "card.json").is_file():
                out[name] = path
    return out


def _downstream(dag: Any, source: str) -> list[str]:
    """Every task that depends on ``source``, directly or through other tasks."""
    found, frontier = set(), {source}
    while frontier:
        frontier = {n for n in dag if set(dag[n].upstream) & frontier} - found
        found |= frontier
    return sorted(found)


def ledger_path(dataset: Path) -> Path:
    """Where the provenance of the products built from ``dataset`` is kept."""
    return dataset.parent / f".{dataset.name}.provenance.json"


def _stale(dag: Any, record: bool) -> list[tuple[str, Path, str | None]]:
    """(task, dataset, current content) of every task Ploomber skips although it was built
    from other dataset content; with ``record``, first store the content of executed tasks."""
    TaskStatus = require("ploomber.constants", "the pipeline").TaskStatus
    from workbench.dataset.reader import open_dataset
    from workbench.io import write_json

    stale = []
    for source, path in _datasets(dag).items():
        current = open_dataset(path).card.get("content_hash")
        ledger = ledger_path(path)
        built = json.loads(ledger.read_text()) if ledger.is_file() else {}
        for name in _downstream(dag, source):
            status = dag[name].exec_status
            if record and status == TaskStatus.Executed:
                built[name] = current
            elif status == TaskStatus.Skipped and built.get(name) != current:
                stale.append((name, path, current))
        if record:
            write_json(ledger, built)
    return stale


def _refuse(stale: list[tuple[str, Path, str | None]]) -> None:
    if stale:
        names = ", ".join(name for name, _, _ in stale)
        _, path, current = stale[0]
        raise InputError(
            "pipeline",
            names,
            f"tasks built from the dataset now at {path} (content "
            f"{str(current)[:12]}); these were built from other data or from "
            "data of unknown origin: rebuild them with `ploomber build --force` "
            f"or `ploomber task {stale[0][0]} --force`",
        )


def check_render(dag: Any) -> None:
    """Ploomber ``on_render`` hook: ``ploomber status`` and ``ploomber build`` stop before
    running anything when a task Ploomber calls up to date was built from other data."""
    _refuse(_stale(dag, record=False))


def check_build(dag: Any) -> None:
    """Ploomber ``on_finish`` hook: record the dataset content each executed task was built
    from and raise InputError when a skipped task was built from other content."""
    _refuse(_stale(dag, record=True))
