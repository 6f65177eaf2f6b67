"""Where a notebook reads and writes: Ploomber's products, or one scratch study by hand.

Run by Ploomber, a notebook gets ``upstream`` and ``product`` injected and uses those paths.
Opened by hand (JupyterLab, nbval, a report build), it gets neither: then every notebook
of the study works in one **scratch study**, a directory keyed by the study's parameters
(customers, days, seed, fraud rate, fraud mix, label delay) and by a fingerprint of the
workbench's code. Inside it the products sit at the same relative paths as in the pipeline
(:data:`PRODUCTS`, checked against ``pipeline.yaml`` by the tests), so notebooks opened in
order chain exactly like the pipeline: 02 reads the dataset 01 wrote, 07 evaluates the
scores 04-06 wrote. A product a notebook needs and finds missing (or older than the
dataset) is built on the spot.

Scratch studies live in ``$WORKBENCH_SCRATCH``, else in ``data/scratch/`` of the checkout
the notebook runs in (found through ``pipeline.yaml``), else in the system temporary
directory's ``workbench-scratch/``. They are reused, never duplicated per run, and only the
:data:`KEEP_STUDIES` most recently used ones are kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from workbench.validation import InputError

__all__ = [
    "named_scratch",
    "product_path",
    "scratch_study",
    "study_inputs",
    "study_products",
    "study_scores",
]

SCRATCH_ENV = "WORKBENCH_SCRATCH"
STUDY_MARKER = ".workbench-study.json"
KEEP_STUDIES = 6

# Each task's products, relative to the project (pipeline.yaml) or to a scratch study.
PRODUCTS: dict[str, dict[str, str]] = {
    "generate": {"data": "data/raw"},
    "fraud_scenarios": {"summary": "reports/fraud_scenarios.json"},
    "features": {"features": "data/features.parquet"},
    "graph_rings": {
        "rings": "reports/graph_rings.json",
        "graph_features": "data/graph_features.parquet",
    },
    "anomaly": {"models": "data/models/anomaly", "scores": "data/scores/anomaly.parquet"},
    "supervised": {"models": "data/models/supervised", "scores": "data/scores/supervised.parquet"},
    "sequence_models": {
        "models": "data/models/sequence",
        "scores": "data/scores/sequence.parquet",
    },
    "evaluation": {"metrics": "reports/metrics.json"},
    "sweep_summary": {"table": "reports/sweep/summary.csv"},  # pipeline.sweep.yaml
}


def scratch_root() -> Path:
    """The directory that holds the scratch studies (see the module docstring)."""
    env = os.environ.get(SCRATCH_ENV)
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pipeline.yaml").is_file() and (folder / "workbench").is_dir():
            return folder / "data" / "scratch"
    return Path(tempfile.gettempdir()) / "workbench-scratch"


@functools.cache
def code_fingerprint() -> str:
    """A hash of the workbench package's code and data files: a scratch study made by other
    code is never reused."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yaml", ".csv") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def scratch_study(
    customers: int,
    days: int,
    seed: int,
    fraud_rate: float | None,
    scenarios: str = "default",
    label_delay_days: float | None = None,
    market: str = "india",
    start: str = "2025-01-01",
) -> Path:
    """The scratch study directory for these parameters (nothing is created until a
    notebook reads or writes through it, so a pipeline run leaves no scratch behind)."""
    params = {
        "customers": customers,
        "days": days,
        "seed": seed,
        "fraud_rate": fraud_rate,
        "scenarios": str(scenarios),
        "label_delay_days": label_delay_days,
        "market": market,
        "start": str(start),
        "code": code_fingerprint(),
    }
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return scratch_root() / f"study-{customers}c-{days}d-s{seed}-{key[:10]}"


def named_scratch(name: str) -> Path:
    """A named scratch directory bound to the current code (for work that is not a study of
    parameters, such as the sweep summary's small reports), created and marked."""
    return _use(scratch_root() / f"{name}-{code_fingerprint()}")


def _use(study: Path) -> Path:
    """Create (or touch) a scratch study with its marker, and prune the oldest ones."""
    study.mkdir(parents=True, exist_ok=True)
    marker = study / STUDY_MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"study": study.name}))
    os.utime(marker)
    _prune(study.parent)
    return study


def _prune(root: Path) -> None:
    """Remove all but the most recently used scratch studies (only directories that carry
    the study marker: nothing else in the scratch root is touched)."""
    studies = [p for p in root.iterdir() if (p / STUDY_MARKER).is_file()]
    studies.sort(key=lambda p: (p / STUDY_MARKER).stat().st_mtime, reverse=True)
    for old in studies[KEEP_STUDIES:]:
        if time.time() - (old / STUDY_MARKER).stat().st_mtime > 60:
            shutil.rmtree(old, ignore_errors=True)


def study_products(study: str | os.PathLike, task: str) -> dict[str, Path]:
    """The products of pipeline task ``task`` inside a scratch study."""
    if task not in PRODUCTS:
        raise InputError("task", task, "one of " + ", ".join(PRODUCTS))
    return {key: Path(study) / rel for key, rel in PRODUCTS[task].items()}


def product_path(product: Any, key: str, study: str | os.PathLike, task: str) -> Path:
    """The path of ``product[key]`` when Ploomber injected products, else that product's
    place in the scratch study ``study`` (its parent directory created)."""
    if product is None:
        path = study_products(_use(Path(study)), task)[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    try:
        return Path(str(product[key]))
    except (KeyError, TypeError):
        raise InputError(
            "product", product, f"a Ploomber product mapping with the key {key!r}"
        ) from None


def _stale(product: Path, dataset: Path) -> bool:
    """Whether ``product`` is missing or older than the dataset it was derived from."""
    return (
        not product.exists() or product.stat().st_mtime < (dataset / "card.json").stat().st_mtime
    )


def study_inputs(
    upstream: Any,
    customers: int,
    days: int,
    seed: int,
    fraud_rate: float | None,
    graph: bool = False,
    scenarios: str = "default",
    label_delay_days: float | None = None,
    features: bool = True,
) -> dict[str, Path]:
    """Paths of the dataset (``data``), its features (``features``) and optionally its graph
    features (``graph_features``): from Ploomber's ``upstream`` when the pipeline runs the
    notebook, else from the scratch study of these parameters (building what is missing)
    with the fraud mix ``scenarios`` and, if given, its label delay's mean replaced. The
    scratch study itself is returned as ``study``."""
    if upstream is not None:
        try:
            paths = {"data": Path(str(upstream["generate"]["data"]))}
            if features:
                paths["features"] = Path(str(upstream["features"]["features"]))
            if graph:
                paths["graph_features"] = Path(str(upstream["graph_rings"]["graph_features"]))
        except (KeyError, TypeError):
            raise InputError(
                "upstream",
                upstream,
                "Ploomber upstream products of generate, features (and graph_rings)",
            ) from None
        return paths
    from workbench.features.store import dataset_source, write_features
    from workbench.fraud.mix import mix_with_label_delay
    from workbench.graph.graph_features import write_graph_features
    from workbench.graph.source import graph_source
    from workbench.simulate import SimulationConfig, generate

    study = _use(scratch_study(customers, days, seed, fraud_rate, scenarios, label_delay_days))
    paths = {"study": study, "data": study_products(study, "generate")["data"]}
    if not (paths["data"] / "card.json").is_file():
        if label_delay_days is not None:
            scenarios = str(mix_with_label_delay(scenarios, label_delay_days, study / "mix.yaml"))
        config = SimulationConfig(
            customers=customers, days=days, seed=seed, fraud_rate=fraud_rate, scenarios=scenarios
        )
        paths["data"].parent.mkdir(parents=True, exist_ok=True)
        generate(config, paths["data"], backend="serial", overwrite=paths["data"].exists())
    if features:
        paths["features"] = study_products(study, "features")["features"]
        if _stale(paths["features"], paths["data"]):
            write_features(dataset_source(paths["data"]), paths["features"], overwrite=True)
    if graph:
        paths["graph_features"] = study_products(study, "graph_rings")["graph_features"]
        if _stale(paths["graph_features"], paths["data"]):
            write_graph_features(graph_source(paths["data"]), paths["graph_features"])
    return paths


def study_scores(
    study: str | os.PathLike, dataset: str | os.PathLike, tasks: tuple[str, ...]
) -> dict[str, Path] | None:
    """The score products of ``tasks`` in a scratch study when every one of them exists and
    is newer than the dataset (the model notebooks were run by hand), else None."""
    scores = {task: study_products(study, task)["scores"] for task in tasks}
    if any(_stale(path, Path(dataset)) for path in scores.values()):
        return None
    return scores
