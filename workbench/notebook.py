"""Helpers for notebooks run by Ploomber, papermill, nbval or by hand in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.products import process_scratch
from workbench.validation import InputError


def product_path(product: Any, key: str, scratch_name: str) -> Path:
    """The path of ``product[key]`` when Ploomber injected products, else a fresh scratch
    directory of this process (a notebook run by hand or by nbval writes nothing into the
    project, and nothing stays behind in the temporary directory)."""
    if product is None:
        return process_scratch("notebook") / scratch_name
    try:
        return Path(str(product[key]))
    except (KeyError, TypeError):
        raise InputError("product", product, f"a Ploomber product mapping with the key {key!r}") from None


def study_inputs(upstream: Any, customers: int, days: int, seed: int, fraud_rate: float, graph: bool = False,
                 scenarios: str = "default", label_delay_days: float | None = None) -> dict[str, Path]:
    """Paths of the dataset (``data``), its features (``features``) and optionally its graph
    features (``graph_features``): from Ploomber's ``upstream`` when the pipeline runs the
    notebook, else built small in a scratch directory (JupyterLab, nbval, report builds)
    with the fraud mix ``scenarios`` and, if given, its label delay's mean replaced."""
    if upstream is not None:
        try:
            paths = {"data": Path(str(upstream["generate"]["data"])), "features": Path(str(upstream["features"]["features"]))}
            if graph:
                paths["graph_features"] = Path(str(upstream["graph_rings"]["graph_features"]))
        except (KeyError, TypeError):
            raise InputError("upstream", upstream, "Ploomber upstream products of generate, features (and graph_rings)") from None
        return paths
    from workbench.features.store import dataset_source, write_features
    from workbench.graph.features import write_graph_features
    from workbench.graph.source import graph_source
    from workbench.simulate import SimulationConfig, generate

    from workbench.fraud.mix import mix_with_label_delay

    scratch = process_scratch("study")
    if label_delay_days is not None:
        scenarios = str(mix_with_label_delay(scenarios, label_delay_days, scratch / "mix.yaml"))
    config = SimulationConfig(customers=customers, days=days, seed=seed, fraud_rate=fraud_rate, scenarios=scenarios)
    data = generate(config, scratch / "raw", backend="serial")
    paths = {"data": data, "features": scratch / "features.parquet"}
    write_features(dataset_source(data), paths["features"])
    if graph:
        paths["graph_features"] = scratch / "graph_features.parquet"
        write_graph_features(graph_source(data), paths["graph_features"])
    return paths
