"""The study as Ploomber builds it (what `make run` does), at a small size, in this process.

As in Ploomber's own project templates the DAG is built from the spec in the test process
(`DAGSpec(...).to_dag()`, a serial executor that does not fork), and the data checks are
``on_finish`` hooks on the tasks: a check runs here, in this process, right after its task is
built, and a failing one fails that task (its traceback is in the build error) before any
downstream task runs. The executor catches exceptions: without that, Ploomber 0.23.3 never
marks a built task as executed, and the pipeline's provenance hook (which records what each
executed task was built from) would record nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _no_stats(monkeypatch):
    monkeypatch.setenv("PLOOMBER_STATS_ENABLED", "false")  # no telemetry from a test


ROOT = Path(__file__).resolve().parents[1]
SMALL = {"customers": 400, "days": 30, "seed": 5, "fraud_rate": 0.2}
SWEEP = {"customers": 250, "days": 40, "replicates": 20, "n_folds": 2, "alert_budget": 10}
MODELS = (("anomaly", "isolation_forest"), ("supervised", "supervised"), ("sequence", "lstm"))


def _dag(project: Path, spec: str, env: dict, checks: dict[str, Callable]):
    """The DAG of ``project/spec`` with ``env`` over its env file, built in this process,
    with ``checks`` (task name -> hook taking the task's product) as on_finish hooks."""
    from ploomber.executors import Serial
    from ploomber.spec import DAGSpec

    dag = DAGSpec(str(project / spec), env=env).to_dag()
    dag.executor = Serial(build_in_subprocess=False, catch_exceptions=True, catch_warnings=False)
    assert set(checks) <= set(dag.keys()), set(checks) - set(dag.keys())
    for name, check in checks.items():
        dag[name].on_finish = check
    return dag


def _copy(project: Path, *items: str) -> Path:
    for item in items:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / item)
    return project


def _card(product) -> dict:
    return json.loads((Path(str(product["data"])) / "card.json").read_text())


def check_generate(product) -> None:
    card = _card(product)
    config = card["config"]
    built = (config["customers"], config["days"], card["seed"], config["fraud_rate"])
    assert built == tuple(SMALL.values())
    assert "payment mode" in Path(str(product["nb"])).read_text().lower()


def check_fraud_scenarios(product) -> None:
    assert "label delay" in Path(str(product["nb"])).read_text().lower()
    assert json.loads(Path(str(product["summary"])).read_text())["episodes"]


def check_features(task) -> None:
    card = _card(task.upstream["generate"].product)
    features = pd.read_parquet(str(task.product["features"]))
    assert len(features) == card["row_counts"]["transactions"]


def check_graph_rings(task) -> None:
    rings = json.loads(Path(str(task.product["rings"])).read_text())
    combined = {r["shape"] for r in rings["metrics"] if r["method"] == "combined"}
    assert combined == {
        "device_sharing",
        "ip_recycling",
        "kiting",
        "mule_network",
        "synthetic_identity_ring",
    }
    rows = _card(task.upstream["generate"].product)["row_counts"]["transactions"]
    assert len(pd.read_parquet(str(task.product["graph_features"]))) == rows
    assert "fraud rings" in Path(str(task.product["nb"])).read_text().lower()


def check_models(model: str) -> Callable:
    def check(product) -> None:
        from workbench.models import load_package

        scores = pd.read_parquet(str(product["scores"]))
        assert set(scores["split"]) == {"validation", "test"}
        assert scores.drop(columns=["txn_id", "split"]).stack().between(0, 1).all()
        assert load_package(Path(str(product["models"])) / model).features_

    return check


def check_evaluation(task) -> None:
    from workbench.features.roles import role
    from workbench.models import read_manifest

    product = task.product
    html = Path(str(product["nb"])).read_text()
    assert "card precision@k by day" in html.lower() and "evaluate_scores(" not in html
    metrics = json.loads(Path(str(product["metrics"])).read_text())
    expected = {"isolation_forest", "autoencoder", "supervised", "lstm", "stacked"}
    assert expected <= set(metrics["models"])
    assert metrics["parameters"]["pipeline"] and "**" in metrics["conclusion"].split("\n")[0]
    # the parameters it states are the ones the data were built with (SMALL, not any default)
    card = _card(task.upstream["generate"].product)
    used = metrics["parameters"]
    assert {k: used[k] for k in SMALL} == SMALL
    same = ("customers", "days", "fraud_rate", "scenarios")
    assert {k: used[k] for k in same} == {k: card["config"][k] for k in same}
    assert used["label_delay_days"] == card["fraud_mix"]["label_delay"]["mean_days"]
    assert used["k"] == 100
    assert metrics["provenance"]["dataset"]["fraud_mix"] == card["fraud_mix"]
    described = metrics["provenance"]["models"]
    for name, model in MODELS:
        package = Path(str(task.upstream[_TASKS[name]].product["models"])) / model
        manifest = json.loads(json.dumps(read_manifest(package)["params"], default=str))
        assert described[model]["params"] == manifest
        inputs = json.loads((package / "features.json").read_text())
        assert all(role(c) == "feature" for c in inputs), model
    # the prequential check refits rows of the comparison table (the packaged tabular models)
    refit = {r["model"] for r in metrics["prequential"]}
    assert refit == {"isolation_forest", "autoencoder", "supervised"}
    assert len(metrics["prequential"]) == 3 * len(refit)


_TASKS = {"anomaly": "anomaly", "supervised": "supervised", "sequence": "sequence_models"}
CHECKS = {
    "generate": check_generate,
    "fraud_scenarios": check_fraud_scenarios,
    "features": check_features,
    "graph_rings": check_graph_rings,
    **{_TASKS[name]: check_models(model) for name, model in MODELS},
    "evaluation": check_evaluation,
}


def _ran(report) -> dict[str, bool]:
    """Task name -> whether the build ran it, from Ploomber's build report."""
    return dict(zip(report["name"], report["Ran?"]))


def test_small_pipeline_build(tmp_path, monkeypatch):
    project = _copy(tmp_path, "pipeline.yaml", "env.yaml", "notebooks")
    monkeypatch.chdir(project)
    dag = _dag(project, "pipeline.yaml", SMALL, CHECKS)
    assert set(CHECKS) == set(dag.keys())  # every task's products are checked
    assert _ran(dag.build()) == {name: True for name in CHECKS}
    # a second build with the same parameters finds everything up to date
    again = _dag(project, "pipeline.yaml", SMALL, {})
    assert _ran(again.build()) == {name: False for name in CHECKS}


def check_sweep_summary(product) -> None:
    summary = pd.read_csv(str(product["table"]))
    assert summary["setting"].nunique() == 4
    models = {"isolation_forest", "logistic_regression", "gradient_boosting"}
    assert set(summary["model"]) == models
    assert "mean AP moves" in Path(str(product["nb"])).read_text()


def test_sweep_pipeline_build(tmp_path, monkeypatch):
    """`ploomber build -e pipeline.sweep.yaml`: one report per grid setting and the summary."""
    project = _copy(tmp_path, "pipeline.sweep.yaml", "env.sweep.yaml", "notebooks")
    monkeypatch.chdir(project)
    dag = _dag(project, "pipeline.sweep.yaml", SWEEP, {})
    summary = [name for name in dag.keys() if not name.startswith("sweep-")]
    assert len(summary) == 1, list(dag.keys())
    dag[summary[0]].on_finish = check_sweep_summary
    assert all(_ran(dag.build()).values())
    sweep = project / "reports" / "sweep"
    metrics = sorted(sweep.glob("metrics-*.json"))
    assert len(metrics) == 4 and len(list(sweep.glob("evaluation-*.html"))) == 4
    docs = [json.loads(m.read_text())["parameters"] for m in metrics]
    assert {(d["fraud_rate"], d["label_delay_days"]) for d in docs} == {
        (0.02, 2),
        (0.02, 10),
        (0.08, 2),
        (0.08, 10),
    }
