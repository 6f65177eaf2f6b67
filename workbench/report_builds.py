"""Parameterized report builds (papermill) and the summary of a parameter sweep.

``build_report`` runs ``notebooks/07_evaluation.ipynb`` standalone for one setting (a
dataset generated for the given fraud rate, label delay and scenario mix, the baseline
detectors, every metric) and writes ``evaluation.html`` (code cells hidden),
``evaluation.ipynb`` and ``metrics.json`` into one directory. The directory is built
under a temporary name and renamed into place, so a failed build leaves nothing that
looks complete. ``python -m workbench report`` is its command line; ``pipeline.sweep.yaml``
sweeps a Ploomber ``grid`` of settings through the same notebook, and
``sweep_table`` reads the resulting ``metrics.json`` files into one comparison.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench._extras import require
from workbench._resources import resource
from workbench.products import Kind, check_target, register_kind, writing
from workbench.validation import InputError, check_float, check_int

EVALUATION_NOTEBOOK = resource("notebooks", "07_evaluation.ipynb")
REPORT_FILES = ("evaluation.html", "evaluation.ipynb", "metrics.json")
REPORT = register_kind(Kind("report", "metrics.json", lambda root: set(REPORT_FILES)))


def export_html(notebook: str | os.PathLike, out: str | os.PathLike) -> Path:
    """An executed notebook as HTML without its code cells (a report for readers), with the
    workbench's template: titled by the notebook, nothing fetched from the internet."""
    nbformat = require("nbformat", "HTML reports")

    from workbench.report_html import ReportExporter

    body, _ = ReportExporter(exclude_input=True).from_notebook_node(
        nbformat.read(str(notebook), as_version=4)
    )
    Path(out).write_text(body, encoding="utf-8")
    return Path(out)


def check_report_parameters(
    customers: int = 800,
    days: int = 60,
    seed: int = 7,
    fraud_rate: float = 0.05,
    scenarios: str = "default",
    label_delay_days: float | None = None,
    k: int = 25,
    fpr: float = 0.01,
    fee: float = 250.0,
    replicates: int = 200,
    n_folds: int = 3,
) -> dict[str, Any]:
    """The report notebook's parameters, validated (errors name the parameter) and
    normalised to plain Python values for papermill."""
    from workbench.evaluate.protocol import EvaluationConfig
    from workbench.fraud.mix import load_mix
    from workbench.simulate import SimulationConfig

    sim = SimulationConfig(
        customers=customers, days=days, seed=seed, fraud_rate=fraud_rate, scenarios=scenarios
    )
    if label_delay_days is not None:
        label_delay_days = check_float("label_delay_days", label_delay_days, 0.01, 365.0)
        if load_mix(sim.scenarios) is None:
            raise InputError(
                "label_delay_days",
                label_delay_days,
                "None for a dataset without fraud (scenarios=none)",
            )
    ev = EvaluationConfig(k=k, fpr=fpr, fee=fee, replicates=replicates, seed=sim.seed)
    return {
        "customers": sim.customers,
        "days": sim.days,
        "seed": sim.seed,
        "fraud_rate": sim.fraud_rate,
        "scenarios": str(Path(sim.scenarios).resolve())
        if sim.scenarios not in ("default", "none")
        else sim.scenarios,
        "label_delay_days": label_delay_days,
        "k": ev.k,
        "fpr": ev.fpr,
        "fee": ev.fee,
        "replicates": ev.replicates,
        "n_folds": check_int("n_folds", n_folds, 1, 20),
    }


def build_report(
    out: str | os.PathLike, overwrite: bool = False, progress: bool = True, **parameters: Any
) -> Path:
    """Run the evaluation notebook for ``parameters`` (see :func:`check_report_parameters`)
    and write the report directory ``out`` atomically; returns ``out``. With ``progress``
    the notebook's printed lines (the dataset, each fitted model and fold) are streamed to
    standard output as it runs."""
    papermill = require("papermill", "reports")
    params = check_report_parameters(**parameters)
    out = check_target(out, overwrite, REPORT.name)
    with writing(out, overwrite=overwrite, kind=REPORT.name, checked=True) as tmp:
        executed = tmp / "evaluation.ipynb"
        if progress:
            print(f"building report {out} with {params}", flush=True)
        papermill.execute_notebook(
            str(EVALUATION_NOTEBOOK),
            str(executed),
            kernel_name="python3",
            progress_bar=False,
            parameters={**params, "product": {"metrics": str((tmp / "metrics.json").resolve())}},
            cwd=str(Path.cwd()),
            stdout_file=sys.stdout if progress else None,
        )
        export_html(executed, tmp / "evaluation.html")
    return out


def sweep_table(
    metrics_files: Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike],
) -> pd.DataFrame:
    """One row per (setting, model) from the ``metrics.json`` of each report of a sweep: the
    setting's parameters next to the model's main metrics."""
    files = (
        list(metrics_files.values()) if isinstance(metrics_files, Mapping) else list(metrics_files)
    )
    if not files:
        raise InputError("metrics_files", files, "at least one metrics.json of a report")
    rows = []
    for f in files:
        try:
            doc = json.loads(Path(f).read_text())
            params, models = doc["parameters"], doc["models"]
        except (OSError, ValueError, KeyError):
            raise InputError(
                "metrics_files", str(f), "metrics.json files written by the evaluation notebook"
            ) from None
        for model, m in models.items():
            rows.append(
                {
                    "setting": Path(f).stem,
                    "fraud_rate": params.get("fraud_rate"),
                    "label_delay_days": params.get("label_delay_days"),
                    "scenarios": params.get("scenarios"),
                    "model": model,
                    **{
                        k: m.get(k)
                        for k in (
                            "average_precision",
                            "ap_low",
                            "ap_high",
                            "card_precision_at_k",
                            "card_precision_ceiling",
                            "recall_at_budget",
                            "detected_share",
                            "median_delay_hours",
                            "savings",
                        )
                    },
                }
            )
    return pd.DataFrame(rows)


SWEPT = ("fraud_rate", "label_delay_days", "scenarios")


def sweep_conclusion(table: pd.DataFrame) -> str:
    """What the sweep shows, from its numbers: the model with the best average precision in
    most settings, and for each swept parameter how the mean AP of every model moves
    between its lowest and highest value (averaged over the other parameters)."""
    if table.empty:
        raise InputError("table", "empty", "a sweep table with at least one report")
    winners = table.loc[
        table.groupby("setting")["average_precision"].idxmax(), "model"
    ].value_counts()
    parts = [
        f"**{winners.index[0]}** has the best average precision in {winners.iloc[0]} "
        f"of {table['setting'].nunique()} settings."
    ]
    for param in SWEPT:
        values = table[param].dropna().unique()
        if len(values) < 2 or param == "scenarios":
            continue
        lo, hi = min(values), max(values)
        mean = table.groupby([param, "model"])["average_precision"].mean().unstack()
        moves = ", ".join(
            f"{m} {mean.loc[lo, m]:.3f} → {mean.loc[hi, m]:.3f}" for m in mean.columns
        )
        parts.append(f"From {param} = {lo:g} to {hi:g}, mean AP moves: {moves}.")
    return "\n\n".join(parts)


def sweep_files(upstream: Any, workdir: str | os.PathLike | None = None) -> list[Path]:
    """The ``metrics.json`` of every sweep report: from Ploomber's ``upstream`` (the
    ``sweep-*`` group), or, without it (JupyterLab, nbval), two small reports built here
    with :func:`build_report` at fraud rates 0.05 and 0.15 in a scratch directory (reused)."""
    if upstream is not None:
        try:
            group = upstream["sweep-*"]
            return [Path(str(products["metrics"])) for products in group.values()]
        except (KeyError, TypeError, AttributeError):
            raise InputError(
                "upstream",
                upstream,
                "Ploomber upstream with the group 'sweep-*' of evaluation reports",
            ) from None
    from workbench.notebook import named_scratch

    root = Path(workdir) if workdir else named_scratch("sweep") / "reports"
    files = []
    for rate in (0.05, 0.15):
        report = root / f"fr{rate}"
        if not (report / "metrics.json").is_file():  # reports already built here are reused
            build_report(
                report, customers=250, days=40, fraud_rate=rate, replicates=20, n_folds=2, k=10
            )
        files.append(report / "metrics.json")
    return files
