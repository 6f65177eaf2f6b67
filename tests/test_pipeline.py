"""`ploomber build` runs the study headlessly (what `make run` does), at a small size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--env--customers", "400", "--env--days", "30", "--env--seed", "5", "--env--fraud_rate", "0.2"]


def _build(tmp_path: Path, items: tuple[str, ...], args: list[str], copy: bool = True) -> subprocess.CompletedProcess:
    """Copy the project ``items`` into ``tmp_path`` and run ``ploomber build`` there; fail
    with the build's output unless it succeeds."""
    if copy:
        for item in items:
            src = ROOT / item
            (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    ploomber = Path(sys.executable).with_name("ploomber")
    res = subprocess.run([str(ploomber), "build", *args], cwd=tmp_path, env={**os.environ, "PLOOMBER_STATS_ENABLED": "false"},
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def test_small_pipeline_build(tmp_path):
    _build(tmp_path, ("pipeline.yaml", "env.yaml", "notebooks"), SMALL)
    report = tmp_path / "reports" / "01_generate.html"
    assert report.is_file() and "payment mode" in report.read_text().lower()
    card = json.loads((tmp_path / "data" / "raw" / "card.json").read_text())
    assert card["config"]["customers"] == 400 and card["config"]["days"] == 30 and card["seed"] == 5 and card["config"]["fraud_rate"] == 0.2
    scen = tmp_path / "reports" / "01b_fraud_scenarios.html"
    assert scen.is_file() and "label delay" in scen.read_text().lower()
    assert json.loads((tmp_path / "reports" / "fraud_scenarios.json").read_text())["episodes"]
    import pandas as pd

    features = pd.read_parquet(tmp_path / "data" / "features.parquet")
    assert len(features) == card["row_counts"]["transactions"] and (tmp_path / "reports" / "02_features.html").is_file()
    rings = json.loads((tmp_path / "reports" / "graph_rings.json").read_text())
    combined = {r["shape"]: r for r in rings["metrics"] if r["method"] == "combined"}
    assert set(combined) == {"device_sharing", "ip_recycling", "kiting", "mule_network", "synthetic_identity_ring"}
    assert len(pd.read_parquet(tmp_path / "data" / "graph_features.parquet")) == card["row_counts"]["transactions"]
    assert "fraud rings" in (tmp_path / "reports" / "03_graph_rings.html").read_text().lower()
    from workbench.models.package import load_package

    for task, model in (("anomaly", "isolation_forest"), ("supervised", "supervised"), ("sequence", "lstm")):
        scores = pd.read_parquet(tmp_path / "data" / "scores" / f"{task}.parquet")
        assert set(scores["split"]) == {"validation", "test"} and scores.drop(columns=["txn_id", "split"]).stack().between(0, 1).all()
        assert load_package(tmp_path / "data" / "models" / task / model).features_
    for name in ("04_anomaly", "05_supervised", "06_sequence_models"):
        assert (tmp_path / "reports" / f"{name}.html").is_file()
    # the last task: the evaluation report (code hidden) and its metrics of every model's test scores
    html = (tmp_path / "reports" / "evaluation.html").read_text()
    assert "card precision@k by day" in html.lower() and "evaluate_scores(" not in html
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert {"isolation_forest", "autoencoder", "supervised", "lstm", "stacked"} <= set(metrics["models"])
    assert metrics["parameters"]["pipeline"] and "**" in metrics["conclusion"].split("\n")[0]
    # the parameters it states are the ones the data were built with (SMALL, not any default)
    used = metrics["parameters"]
    assert (used["customers"], used["days"], used["seed"], used["fraud_rate"]) == (400, 30, 5, 0.2)
    same = ("customers", "days", "fraud_rate", "scenarios")
    assert {k: used[k] for k in same} == {k: card["config"][k] for k in same}
    assert used["label_delay_days"] == card["fraud_mix"]["label_delay"]["mean_days"]
    assert used["k"] == 100
    assert metrics["provenance"]["dataset"]["fraud_mix"] == card["fraud_mix"]
    from workbench.features.roles import role
    from workbench.models.package import read_manifest

    described = metrics["provenance"]["models"]
    for task, model in (("anomaly", "isolation_forest"), ("supervised", "supervised"),
                        ("sequence", "lstm")):
        package = tmp_path / "data" / "models" / task / model
        manifest = json.loads(json.dumps(read_manifest(package)["params"], default=str))
        assert described[model]["params"] == manifest
        inputs = json.loads((package / "features.json").read_text())
        assert all(role(c) == "feature" for c in inputs), model
    # the prequential check refits rows of the comparison table (the packaged tabular models)
    refit = {r["model"] for r in metrics["prequential"]}
    assert refit == {"isolation_forest", "autoencoder", "supervised"}
    assert len(metrics["prequential"]) == 3 * len(refit)
    # a second build with the same parameters is up to date and skips the task
    again = _build(tmp_path, (), SMALL, copy=False)
    assert "generate" in again.stdout


def test_sweep_pipeline_build(tmp_path):
    """`ploomber build -e pipeline.sweep.yaml`: one report per grid setting and the summary."""
    _build(tmp_path, ("pipeline.sweep.yaml", "env.sweep.yaml", "notebooks"),
           ["-e", "pipeline.sweep.yaml", "--env--customers", "250", "--env--days", "40", "--env--replicates", "20",
            "--env--n_folds", "2", "--env--alert_budget", "10"])
    sweep = tmp_path / "reports" / "sweep"
    metrics = sorted(sweep.glob("metrics-*.json"))
    assert len(metrics) == 4 and len(list(sweep.glob("evaluation-*.html"))) == 4
    settings = {(d["parameters"]["fraud_rate"], d["parameters"]["label_delay_days"]) for d in (json.loads(m.read_text()) for m in metrics)}
    assert settings == {(0.02, 2), (0.02, 10), (0.08, 2), (0.08, 10)}
    import pandas as pd

    summary = pd.read_csv(sweep / "summary.csv")
    assert summary["setting"].nunique() == 4 and set(summary["model"]) == {"isolation_forest", "logistic_regression", "gradient_boosting"}
    assert "mean AP moves" in (sweep / "summary.html").read_text()
