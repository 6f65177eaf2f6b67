"""Evaluation metrics against hand-computed values on small fixtures, the protocols on any
detector, evaluation frames of generated and external data, the computed conclusion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from workbench.evaluate.budget import (
    card_precision_at_k_daily,
    daily_alerts,
    precision_at_k_daily,
    recall_at_budget,
    recall_by,
)
from workbench.evaluate.calibration import brier, reliability
from workbench.evaluate.conclusions import conclusion, metrics_document, scenario_recall_change
from workbench.evaluate.cost import alert_cost, cost_curve
from workbench.evaluate.delay import delay_summary, detection_delay
from workbench.evaluate.protocol import (
    EvaluationConfig,
    comparison_table,
    evaluate_scores,
    known_labels,
    prequential,
    single_split,
)
from workbench.evaluate.ranking import (
    average_precision,
    bootstrap_ci,
    bootstrap_weights,
    recall_at_fpr,
    roc_auc,
)
from workbench.features.splits import Split, prequential_folds
from workbench.models.base import Detector
from workbench.models.isolation_forest import IsolationForestDetector
from workbench.models.supervised import SupervisedDetector
from workbench.validation import InputError

T0 = pd.Timestamp("2025-03-01")

H = pd.Timedelta(hours=1)


# ---- threshold-free ranking -------------------------------------------------------------


def test_ap_and_auc_by_hand():
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    # ranking: TP, FP, TP, FP -> AP = 1/2 * 1 + 1/2 * 2/3;
    # AUC: 3 of the 4 (fraud, legit) pairs ordered right
    assert average_precision(y, s) == pytest.approx(0.5 + 1 / 3)
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5) and average_precision(
        [1, 0], [0.5, 0.5]
    ) == pytest.approx(0.5)
    assert np.isnan(roc_auc([0, 0], [0.1, 0.2]))


def test_ap_and_auc_equal_sklearn_with_ties_and_weights():
    from workbench.evaluate.ranking import _ap_auc, _steps

    rng = np.random.default_rng(3)
    y = (rng.random(3000) < 0.05).astype(np.int8)
    s = np.round(rng.random(3000) * (1 + y), 2)  # many ties
    w = rng.integers(0, 4, 3000).astype(float)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    ap, auc = _ap_auc(*_steps(y, s, w))
    assert ap[0] == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=1e-12)
    assert auc[0] == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_bootstrap_intervals():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.05).astype(int)
    s = rng.random(4000) + 0.5 * y
    groups = rng.integers(0, 300, 4000)
    ci = bootstrap_ci(y, s, replicates=100, seed=1, groups=groups)
    for name, fn in (("roc_auc", roc_auc), ("average_precision", average_precision)):
        point, lo, hi = ci[name]
        assert point == pytest.approx(fn(y, s)) and lo < point < hi
    assert ci == bootstrap_ci(y, s, replicates=100, seed=1, groups=groups)  # seeded
    w = bootstrap_weights(6, 50, seed=2, groups=np.array(["a", "a", "b", "b", "b", "c"]))
    assert (w[:, 0] == w[:, 1]).all() and (
        w[:, 2] == w[:, 4]
    ).all()  # a drawn customer brings all its rows
    assert (w[:, [0, 2, 5]].sum(axis=1) == 3).all()  # three customers drawn per replicate
    with pytest.raises(InputError, match="replicates"):
        bootstrap_ci(y, s, replicates=1)
    with pytest.raises(InputError, match="scores"):
        bootstrap_ci(y, s[:10])


def test_recall_at_fpr_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.5, 0.95, 0.4, 0.3, 0.3, 0.2, 0.1, 0.1, 0.0])
    assert (
        recall_at_fpr(y, s, 1 / 8) == 1.0
    )  # threshold 0.5: both frauds, one false positive (0.95)
    assert recall_at_fpr(y, s, 0.0) == 0.0  # the top score is legitimate
    assert recall_at_fpr(y, s, 2 / 8) == 1.0
    with pytest.raises(InputError, match="fpr"):
        recall_at_fpr(y, s, 1.5)


# ---- alert budget -----------------------------------------------------------------------


def test_precision_at_k_per_day_by_hand():
    day = [T0, T0, T0, T0 + 24 * H, T0 + 25 * H]
    y = np.array([1, 0, 1, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert daily_alerts(day, s, 2).tolist() == [True, True, False, True, True]
    d = precision_at_k_daily(day, y, s, k=2)
    assert d["precision"].tolist() == [0.5, 0.5]
    assert d["ceiling"].tolist() == [1.0, 0.5]  # day 2: one fraud for two alerts
    alerts = daily_alerts(day, s, 2)
    assert recall_at_budget(y, alerts) == pytest.approx(2 / 3)
    by = recall_by(np.array(["none", "none", "a", "none", "b"]), y, alerts)
    assert (
        by.loc["a", "recall"] == 0.0
        and by.loc["b", "recall"] == 1.0
        and by.loc["none", "frauds"] == 1
    )
    # ties are broken by row order, deterministically
    assert daily_alerts([T0] * 3, np.array([0.5, 0.5, 0.5]), 1).tolist() == [True, False, False]


def test_card_precision_removes_detected_cards_and_reports_the_ceiling():
    rows = pd.DataFrame(
        [
            # day 1: A fraud 0.9, B legit 0.8, C fraud 0.3, D: one legit row 0.2 and one
            # fraud row 0.1 (card max: 0.2, fraud)
            (T0, "A", 1, 0.9),
            (T0, "B", 0, 0.8),
            (T0, "C", 1, 0.3),
            (T0, "D", 0, 0.2),
            (T0 + H, "D", 1, 0.1),
            # day 2: A again (already caught: removed), B legit 0.5, C fraud 0.4
            (T0 + 24 * H, "A", 1, 0.95),
            (T0 + 24 * H, "B", 0, 0.5),
            (T0 + 24 * H, "C", 1, 0.4),
        ],
        columns=["ts", "card", "y", "s"],
    )
    d = card_precision_at_k_daily(
        rows["ts"], rows["card"], rows["y"].to_numpy(), rows["s"].to_numpy(), k=2
    )
    assert d["alerts"].tolist() == [2, 2]
    assert d["hits"].tolist() == [1, 1]  # day 1: A (and B, legit); day 2: C (and B) -- A is gone
    assert d["precision"].tolist() == [0.5, 0.5]
    assert d["fraud_cards"].tolist() == [3, 1]  # A, C, D on day 1; only C remains on day 2
    assert d["ceiling"].tolist() == [1.0, 0.5]
    one = card_precision_at_k_daily(
        rows["ts"], rows["card"], rows["y"].to_numpy(), rows["s"].to_numpy(), k=1
    )
    assert one["precision"].tolist() == [1.0, 0.0]  # day 2: B (0.5) outranks C once A is removed
    with pytest.raises(InputError, match="card"):
        card_precision_at_k_daily(rows["ts"], ["A"], rows["y"].to_numpy(), rows["s"].to_numpy())


# ---- detection delay, cost, calibration ---------------------------------------------------


def _episode_rows() -> pd.DataFrame:
    rows = [  # ts, episode, fraud, loss, scenario
        (T0 - 30 * H, 2, 1, 70.0, "stolen_card"),  # episode 2 started before the window
        (T0, 1, 1, 100.0, "card_testing"),
        (T0 + H, 1, 1, 0.0, "card_testing"),  # declined: no loss
        (T0 + 2 * H, -1, 0, 500.0, "none"),
        (T0 + 3 * H, 1, 1, 30.0, "card_testing"),  # first alert of episode 1
        (T0 + 4 * H, 1, 1, 20.0, "card_testing"),
        (T0 + 5 * H, 3, 1, 40.0, "stolen_card"),  # episode 3: never alerted
        (T0 + 6 * H, 3, 1, 60.0, "stolen_card"),
        (T0 + 7 * H, 2, 1, 10.0, "stolen_card"),
    ]
    f = pd.DataFrame(rows, columns=["ts", "fraud_episode_id", "is_fraud", "loss", "fraud_type"])
    f["episode_start"] = f["fraud_episode_id"].map({1: T0, 2: T0 - 30 * H, 3: T0 + 5 * H})
    return f.iloc[1:].reset_index(drop=True)  # the evaluated window starts at T0


def test_detection_delay_by_hand():
    rows = _episode_rows()
    alerts = np.array(
        [False, False, True, True, True, False, False, True]
    )  # the legit row and episode 2 are alerted too
    d = detection_delay(rows, alerts).set_index("episode")
    assert set(d.index) == {1, 3}  # episode 2 started before the window
    e1 = d.loc[1]
    assert (
        e1["detected"]
        and e1["delay_hours"] == 3.0
        and e1["frauds_before"] == 2
        and e1["loss_before"] == 100.0
    )
    assert e1["frauds"] == 4 and e1["loss"] == 150.0 and e1["scenario"] == "card_testing"
    e3 = d.loc[3]
    assert (
        not e3["detected"]
        and np.isnan(e3["delay_hours"])
        and e3["frauds_before"] == 2
        and e3["loss_before"] == 100.0
    )
    summary = delay_summary(d.reset_index())
    assert summary["detected_share"] == 0.5 and summary["median_delay_hours"] == 3.0
    assert (
        summary["loss_before_share"] == pytest.approx(200 / 250)
        and summary["mean_frauds_before"] == 2.0
    )
    with pytest.raises(InputError, match="alerts"):
        detection_delay(rows, alerts[:3])


def test_cost_matrix_by_hand():
    y, loss = np.array([1, 0, 1, 0]), np.array([100.0, 999.0, 50.0, 5.0])
    c = alert_cost(y, loss, np.array([True, True, False, False]), fee=10)
    assert c == {
        "alerts": 2,
        "investigation": 20.0,
        "missed": 50.0,
        "cost": 70.0,
        "no_model_cost": 150.0,
        "savings": 80.0,
    }
    curve = cost_curve([T0] * 4, y, loss, np.array([0.9, 0.8, 0.7, 0.1]), [1, 3, 4], fee=10)
    assert curve["savings"].tolist() == [150 - (10 + 50), 150 - 30, 150 - 40]
    with pytest.raises(InputError, match="fee"):
        alert_cost(y, loss, np.ones(4, bool), fee=-1)
    with pytest.raises(InputError, match="loss"):
        alert_cost(y, -loss, np.ones(4, bool), fee=1)


def test_brier_and_reliability_by_hand():
    assert brier([1, 0], [0.8, 0.4]) == pytest.approx((0.2**2 + 0.4**2) / 2)
    r = reliability([0, 0, 1, 0], [0.1, 0.2, 0.7, 0.9], bins=2, strategy="uniform")
    assert (
        r["rows"].tolist() == [2, 2]
        and r["mean_score"].tolist() == pytest.approx([0.15, 0.8])
        and r["fraud_rate"].tolist() == [0.0, 0.5]
    )
    q = reliability(np.r_[np.zeros(90), np.ones(10)], np.linspace(0, 1, 100), bins=10)
    assert q["rows"].sum() == 100 and q["fraud_rate"].iloc[-1] == 1.0
    with pytest.raises(InputError, match="strategy"):
        reliability([0, 1], [0.1, 0.2], strategy="equal")


# ---- protocols ----------------------------------------------------------------------------


def _study(n_days: int = 40, per_day: int = 60, seed: int = 0) -> pd.DataFrame:
    """A synthetic study frame: x1 carries the fraud signal, x2 is noise; labels are
    confirmed two days after the fraud."""
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    ts = T0 + pd.to_timedelta(np.sort(rng.random(n)) * n_days, unit="D")
    y = (rng.random(n) < 0.05).astype(np.int8)
    x1 = rng.normal(size=n) + 2.5 * y
    cust = rng.integers(0, 400, n)
    return pd.DataFrame(
        {
            "txn_id": np.arange(n),
            "ts": ts,
            "customer_id": cust,
            "card_id": cust,
            "x1": x1,
            "x2": rng.normal(size=n),
            "is_fraud": y,
            "loss": rng.uniform(10, 500, n),
            "fraud_type": np.where(y == 1, "stolen_card", "none"),
            "ring_shape": "none",
            "fraud_episode_id": np.where(y == 1, np.arange(n), -1),
            "episode_start": ts.where(y == 1),
            "fraud_confirmed_at": (ts + pd.Timedelta(days=2)).where(y == 1),
        }
    )


class LargestX1(Detector):
    """A researcher's own detector: the logistic of x1 (no fitting needed)."""

    name = "largest_x1"

    def fit(self, X, y=None):
        self.features_ = list(X.columns)
        return self

    def score(self, X):
        return 1 / (1 + np.exp(-X["x1"].to_numpy()))


def test_single_split_and_evaluation_of_builtin_and_custom_detectors():
    frame = _study()
    t = frame["ts"]
    split = Split(
        (t < T0 + pd.Timedelta(days=25)).to_numpy(),
        np.zeros(len(t), bool),
        (t >= T0 + pd.Timedelta(days=28)).to_numpy(),
    )
    factories = {
        "custom": LargestX1,
        "hgb": lambda: SupervisedDetector("hgb", "class_weight", seed=0),
        "iforest": lambda: IsolationForestDetector(seed=0),
    }
    test = single_split(factories, frame, ["x1", "x2"], split)
    assert len(test) == split.test.sum() and set(factories) <= set(test.columns)
    evals = evaluate_scores(test, list(factories), EvaluationConfig(k=10, replicates=30))
    table = comparison_table(evals)
    assert (
        table.loc["custom", "roc_auc"] > 0.9
        and table.loc["hgb", "average_precision"] > 3 * test["is_fraud"].mean()
    )
    for e in evals.values():
        assert (e.card_daily["precision"] <= e.card_daily["ceiling"] + 1e-12).all()
        assert e.metrics["ap_low"] <= e.metrics["average_precision"] <= e.metrics["ap_high"]
    text = conclusion(table, EvaluationConfig(k=10))
    assert f"**{table.index[0]}**" in text.split("\n")[0]
    doc = json.loads(
        json.dumps(metrics_document(table, evals, EvaluationConfig(k=10), {"demo": True}, text))
    )
    assert (
        set(doc["models"]) == set(factories)
        and doc["recall_by_scenario"]["custom"]["stolen_card"] >= 0
    )


def test_metrics_document_states_recall_at_budget_per_scenario_and_compares_two_runs():
    rows = pd.DataFrame(
        {  # day 1: A, B, C; day 2: D, E; a budget of one alert a day
            "ts": [T0, T0 + H, T0 + 2 * H, T0 + 24 * H, T0 + 25 * H],
            "card_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 2, 3, 4, 5],
            "is_fraud": [1, 0, 1, 1, 0],
            "loss": 10.0,
            "fraud_type": ["stolen_card", "none", "ato", "ato", "none"],
            "ring_shape": "none",
            "fraud_episode_id": -1,
            "episode_start": pd.NaT,
            "before": [0.9, 0.8, 0.3, 0.7, 0.1],
            "after": [0.9, 0.8, 0.95, 0.7, 0.1],
        }
    )
    config = EvaluationConfig(k=1)
    docs = {}
    for name in ("before", "after"):
        evals = evaluate_scores(rows, [name], config, intervals=False, progress=False)
        evals = {"m": evals[name]}  # one model, scored before and after a feature change
        docs[name] = json.loads(
            json.dumps(
                metrics_document(
                    comparison_table(evals), evals, config, {}, "", features=["x1", name]
                )
            )
        )
    section = docs["before"]["recall_at_budget_by_scenario"]
    assert section["k"] == 1 and section["features"] == ["x1", "before"]
    # day 1 alerts A (stolen_card), day 2 alerts D (ato): C's ato fraud is missed
    assert section["models"]["m"] == {
        "ato": {"frauds": 2, "alerted": 1, "recall": 0.5},
        "stolen_card": {"frauds": 1, "alerted": 1, "recall": 1.0},
    }
    change = scenario_recall_change(docs["before"], docs["after"]).set_index("scenario")
    assert change["recall_after"].to_dict() == {"ato": 1.0, "stolen_card": 0.0}
    assert change["change"].to_dict() == {"ato": 0.5, "stolen_card": -1.0}
    docs["after"]["recall_at_budget_by_scenario"]["k"] = 100
    with pytest.raises(InputError, match="alert budget"):
        scenario_recall_change(docs["before"], docs["after"])
    with pytest.raises(InputError, match="recall_at_budget_by_scenario"):
        scenario_recall_change({"models": {}}, docs["after"])


def test_prequential_folds_report_mean_and_std_and_use_known_labels_only(capsys):
    frame = _study()
    folds = prequential_folds(frame["ts"], 3, train_days=15, gap_days=2, test_days=5)
    per_fold, summary = prequential(
        {"custom": LargestX1, "lr": lambda: SupervisedDetector("lr", "class_weight")},
        frame,
        ["x1", "x2"],
        folds,
        EvaluationConfig(k=10),
    )
    printed = capsys.readouterr().out.splitlines()  # one progress line per fold and model
    assert len(printed) == 6 and printed[0].startswith("prequential fold 1/3: custom fitted on")
    assert len(per_fold) == 6 and set(per_fold["fold"]) == {0, 1, 2}
    ap = per_fold.groupby("model")["average_precision"]
    assert summary[("average_precision", "mean")].to_dict() == pytest.approx(ap.mean().to_dict())
    assert summary[("average_precision", "std")].to_dict() == pytest.approx(ap.std().to_dict())
    assert (per_fold["fit_seconds"] >= 0).all() and (per_fold["score_seconds"] >= 0).all()
    assert ("fit_seconds", "mean") in summary.columns and set(per_fold["validation"]) == {
        "none asked for"
    }
    # labels known at a cutoff: frauds confirmed later look legitimate
    cut = T0 + pd.Timedelta(days=10)
    known = known_labels(frame, cut)
    late = (frame["is_fraud"] == 1) & (frame["fraud_confirmed_at"] >= cut)
    assert (
        late.any()
        and (known[late.to_numpy()] == 0).all()
        and (known[(~late).to_numpy()] == frame["is_fraud"][~late]).all()
    )


def test_protocol_errors_name_the_detector():
    frame = _study(n_days=10)
    split = Split(
        (frame["ts"] < T0 + pd.Timedelta(days=6)).to_numpy(),
        np.zeros(len(frame), bool),
        (frame["ts"] >= T0 + pd.Timedelta(days=7)).to_numpy(),
    )

    class Backwards(LargestX1):
        def score(self, X):
            return -X["x1"].to_numpy()  # not in [0, 1]

    with pytest.raises(InputError, match="scores.backwards"):
        single_split({"backwards": Backwards}, frame, ["x1"], split)
    with pytest.raises(InputError, match="factories.thing"):
        single_split({"thing": lambda: "not a detector"}, frame, ["x1"], split)
    with pytest.raises(InputError, match="features"):
        single_split({"custom": LargestX1}, frame, ["nope"], split)
    with pytest.raises(InputError, match="k"):
        EvaluationConfig(k=0)


def _row(**over) -> dict:
    row = dict(
        roc_auc=0.9,
        average_precision=0.5,
        ap_low=0.4,
        ap_high=0.6,
        card_precision_at_k=0.3,
        card_precision_low=0.25,
        card_precision_high=0.35,
        card_precision_ceiling=0.6,
        episodes=10,
        detected_share=0.8,
        median_delay_hours=2.0,
        loss_before_share=0.25,
        savings=-5.0,
        no_model_cost=100.0,
    )
    return {**row, **over}


def _table(**rows) -> pd.DataFrame:
    table = pd.DataFrame(rows).T
    return table.sort_values(["card_precision_at_k", "average_precision"], ascending=False)


def _card(value: float, low: float, high: float, **over) -> dict:
    return _row(
        card_precision_at_k=value, card_precision_low=low, card_precision_high=high, **over
    )


def test_conclusion_follows_the_numbers():
    weaker = _card(0.2, 0.15, 0.22, average_precision=0.1, ap_low=0.05, ap_high=0.15)
    table = _table(a=_row(), b=weaker)
    text = conclusion(table, EvaluationConfig(k=50, fee=10))
    first = text.split("\n")[0]
    assert "**a** leads" in first and "card precision@50" in first
    assert "do not overlap" in first and "tied" not in first
    assert "no model saves money" in text and "80% of the 10 episodes" in text
    flipped = table.assign(average_precision=[0.1, 0.5], ap_low=[0.05, 0.4], ap_high=[0.15, 0.6])
    assert "rankings disagree" in conclusion(flipped, EvaluationConfig(k=50))


def test_conclusion_calls_overlapping_or_equal_models_tied_and_never_orders_them():
    # equal at the printed precision (0.10 and 0.10) and overlapping AP intervals
    table = _table(
        gradient_boosting=_card(0.104, 0.06, 0.14),
        logistic_regression=_card(
            0.098, 0.05, 0.13, average_precision=0.46, ap_low=0.35, ap_high=0.58
        ),
        isolation_forest=_card(
            0.02, 0.0, 0.04, average_precision=0.028, ap_low=0.01, ap_high=0.05
        ),
    )
    text = conclusion(table, EvaluationConfig(k=25))
    first = text.split("\n")[0]
    assert "**gradient_boosting** and **logistic_regression** are tied" in first
    assert "next is" not in text and "leads" not in first
    ap = text.split("\n\n")[1]
    assert "are tied" in ap and "leads" not in ap
    assert "**isolation_forest** ranks lowest" in ap  # separated below every other interval
    # the bottom is only called the weakest when it is separated: here isolation_forest's
    # interval reaches above logistic_regression's low end
    close = conclusion(table.assign(ap_high=[0.6, 0.58, 0.38]), EvaluationConfig(k=25))
    assert "not clearly the weakest" in close and "ranks lowest" not in close


def _summary(**ap) -> pd.DataFrame:
    """A prequential summary with AP mean and std per model."""
    cols = pd.MultiIndex.from_tuples([("average_precision", "mean"), ("average_precision", "std")])
    return pd.DataFrame([list(v) for v in ap.values()], index=list(ap), columns=cols)


def test_conclusion_states_when_single_split_and_prequential_disagree():
    table = _table(
        gradient_boosting=_row(average_precision=0.30, ap_low=0.25, ap_high=0.35),
        isolation_forest=_card(
            0.1, 0.05, 0.15, average_precision=0.028, ap_low=0.01, ap_high=0.05
        ),
    )
    config = EvaluationConfig(k=25)
    # overlapping folds: no model is called best, the text says the folds do not separate them
    tied = conclusion(
        table, config, _summary(isolation_forest=(0.077, 0.054), gradient_boosting=(0.060, 0.022))
    )
    assert "**isolation_forest** ranks lowest" in tied and "best on average" not in tied
    assert "do not separate **isolation_forest** and **gradient_boosting**" in tied
    # separated folds contradicting the single split: the disagreement is said, not two verdicts
    flip = conclusion(
        table, config, _summary(isolation_forest=(0.40, 0.02), gradient_boosting=(0.10, 0.02))
    )
    assert "**isolation_forest** is best on average" in flip
    assert "disagree" in flip.split("\n\n")[-1]
    same = conclusion(
        table, config, _summary(isolation_forest=(0.05, 0.01), gradient_boosting=(0.30, 0.02))
    )
    assert "as on the single split" in same
    # one source of truth: the check covers rows of the table only and names the rows left out
    with pytest.raises(InputError, match="prequential_summary"):
        conclusion(table, config, _summary(lstm=(0.2, 0.1)))
    partial = conclusion(
        table,
        config,
        _summary(gradient_boosting=(0.3, 0.02)),
        not_refit={"isolation_forest": "no package"},
    )
    assert "not refitted: isolation_forest, no package" in partial


def test_conclusion_warns_when_the_ceiling_caps_the_headline():
    table = _table(a=_card(0.03, 0.02, 0.04, card_precision_ceiling=0.04))
    text = conclusion(table, EvaluationConfig(k=100), customers=800)
    assert "**Warning:**" in text and "at most 0.04 of the 100 daily alerts" in text
    assert "1,250 alerts a day per 10,000 customers" in text
    assert "Warning" not in conclusion(_table(a=_row()), EvaluationConfig(k=100), customers=800)
    # the ceiling stated first and the warning's agree when models' ceilings differ
    two = _table(
        a=_card(0.03, 0.02, 0.04, card_precision_ceiling=0.04),
        b=_card(0.02, 0.01, 0.03, card_precision_ceiling=0.06),
    )
    text = conclusion(two, EvaluationConfig(k=100))
    assert "is 0.04 to 0.06 across models" in text and "at most 0.06 of the 100" in text


# ---- evaluation frames ---------------------------------------------------------------------


def test_label_frame_of_a_generated_dataset(fraud_dataset):
    from workbench.evaluate.frame import label_frame

    f = label_frame(fraud_dataset.path)
    tx = fraud_dataset.table("transactions")
    assert len(f) == len(tx)
    status = tx.set_index("txn_id")["status"].astype(str).reindex(f["txn_id"]).to_numpy()
    assert (f.loc[status == "declined", "loss"] == 0).all() and (
        f.loc[status == "approved", "loss"] == f.loc[status == "approved", "amount"]
    ).all()
    fraud = f[f["is_fraud"] == 1]
    assert (fraud["episode_start"] <= fraud["ts"]).all()
    rings = fraud_dataset.table("rings").set_index("ring_id")["shape"].astype(str)
    ring_rows = tx["ring_id"].to_numpy() >= 0
    assert set(f["ring_shape"]) - {"none"} == set(rings.loc[tx.loc[ring_rows, "ring_id"].unique()])


def test_report_parameters_come_from_the_dataset_card_and_the_packages(fraud_dataset, tmp_path):
    from workbench.evaluate.conclusions import report_parameters
    from workbench.evaluate.study import dataset_parameters, model_parameters
    from workbench.fraud.mix import load_mix
    from workbench.models.package import save_package

    data = dataset_parameters(fraud_dataset.path)
    assert (data["customers"], data["days"], data["seed"], data["fraud_rate"]) == (
        2400,
        90,
        21,
        0.25,
    )
    assert data["label_delay_days"] == load_mix("default").label_delay.mean_days
    assert data["fraud_mix"]["fraud_rate"] == pytest.approx(0.25)
    stated = report_parameters({"dataset": data}, EvaluationConfig(k=48), 3, pipeline=False)
    assert stated["customers"] == 2400 and stated["alerts_per_10k_customers"] == 200.0
    det = SupervisedDetector("rf", max_depth=3, n_estimators=10)
    assert model_parameters(det)["params"]["estimator_params"] == {
        "max_depth": 3,
        "n_estimators": 10,
    }
    frame = _study(n_days=3)
    path = save_package(
        det.fit(frame[["x1", "x2"]], frame["is_fraud"]),
        tmp_path / "rf",
        dataset=fraud_dataset.path,
    )
    packaged = model_parameters(None, path)
    assert packaged["params"] == det.get_params() and packaged["detector"].endswith(
        "SupervisedDetector"
    )


def test_external_dataset_through_the_column_mapping():
    from workbench.evaluate.frame import external_frame
    from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping
    from workbench.models.data import feature_columns, standard_split

    frame = external_frame(EXAMPLE_TABLE, load_mapping(EXAMPLE_MAPPING))
    assert frame["is_fraud"].sum() > 0 and (frame["loss"] == frame["amount"]).all()
    cols = feature_columns(frame)
    hgb = {"hgb": lambda: SupervisedDetector("hgb", "class_weight")}
    # the table has no confirmation times: training on its labels needs the caller to say
    # they were known at once
    with pytest.raises(InputError, match="labels_known_immediately"):
        single_split(hgb, frame, cols, standard_split(frame, gap_days=1))
    test = single_split(
        hgb, frame, cols, standard_split(frame, gap_days=1), labels_known_immediately=True
    )
    e = evaluate_scores(test, ["hgb"], EvaluationConfig(k=5, replicates=20))["hgb"]
    assert (
        e.delays.empty and e.metrics["episodes"] == 0 and 0 <= e.metrics["average_precision"] <= 1
    )


def test_external_frame_keeps_the_confirmation_time_and_prequential_uses_it():
    from workbench.evaluate.frame import external_frame
    from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping

    table = pd.read_csv(EXAMPLE_TABLE)
    t = pd.to_datetime(table["TX_DATETIME"])
    table["CONFIRMED"] = (t + pd.Timedelta(days=3)).where(table["TX_FRAUD"] == 1)
    frame = external_frame(table, {**load_mapping(EXAMPLE_MAPPING), "confirmed_at": "CONFIRMED"})
    fraud = frame["is_fraud"] == 1
    expected = frame.loc[fraud, "ts"] + pd.Timedelta(days=3)
    assert (frame.loc[fraud, "fraud_confirmed_at"] == expected).all()
    cut = frame["ts"].min() + pd.Timedelta(days=15)
    late = fraud & (frame["fraud_confirmed_at"] >= cut)
    assert late.any() and (known_labels(frame, cut)[late.to_numpy()] == 0).all()
    untimed = frame.drop(columns="fraud_confirmed_at")
    folds = prequential_folds(frame["ts"], 2, train_days=12, gap_days=3, test_days=5)
    with pytest.raises(InputError, match="labels_known_immediately"):
        prequential({"custom": LargestX1}, untimed, ["log_amount"], folds, EvaluationConfig(k=5))
    with pytest.raises(InputError, match="labels_known_immediately"):
        known_labels(untimed, cut)
    assert known_labels(untimed, cut, labels_known_immediately=True).sum() == fraud.sum()


def test_no_outcome_or_metadata_column_reaches_a_detector(monkeypatch):
    """Every detector the report's baselines, the single split and the prequential folds fit
    sees registered feature columns only: the catalogue's and the graph features, by name."""
    from workbench.evaluate.frame import external_frame
    from workbench.evaluate.study import baselines, default_folds, evaluation_inputs
    from workbench.features.catalogue import CATALOGUE
    from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping
    from workbench.graph.graph_features import GRAPH_FEATURES
    from workbench.models.data import feature_columns, standard_split

    fitted: list[list[str]] = []
    matrix = Detector._matrix

    def spy(self, X, fitting=False):
        if fitting:
            fitted.append(list(X.columns))
        return matrix(self, X, fitting)

    monkeypatch.setattr(Detector, "_matrix", spy)
    allowed = {f.name for f in CATALOGUE} | set(GRAPH_FEATURES)

    def inputs_seen() -> set[str]:
        seen = {c for cols in fitted for c in cols}
        fitted.clear()
        return seen

    # the report command's path: a generated dataset, its study frame, the baselines on a
    # single split
    inputs = evaluation_inputs(None, customers=250, days=40, seed=3, fraud_rate=0.2)
    assert "loss" in inputs.frame.columns and "amount" in inputs.frame.columns
    seen = inputs_seen()
    assert seen and seen <= allowed, sorted(seen - allowed)
    # the prequential protocol on the same frame (notebook 07, standalone and pipeline); the
    # columns a protocol passes do not depend on the detector, so the fast baselines suffice
    cheap = {k: f for k, f in baselines(3).items() if k != "gradient_boosting"}
    folds = default_folds(inputs.frame, 2)
    prequential(cheap, inputs.frame, inputs.features, folds, EvaluationConfig(k=10))
    seen = inputs_seen()
    assert seen and seen <= allowed, sorted(seen - allowed)
    # an external table through its mapping
    frame = external_frame(EXAMPLE_TABLE, load_mapping(EXAMPLE_MAPPING))
    single_split(
        cheap,
        frame,
        feature_columns(frame),
        standard_split(frame, gap_days=1),
        labels_known_immediately=True,
    )
    seen = inputs_seen()
    assert seen and seen <= allowed, sorted(seen - allowed)


def test_feature_registry_selects_by_name():
    from workbench.features.roles import (
        feature_columns,
        register_feature_columns,
        role,
        unregister_feature_columns,
    )

    frame = _study(n_days=2)
    with pytest.raises(InputError, match="frame"):
        feature_columns(frame)  # x1, x2 have no role yet: an error, not silent inputs
    register_feature_columns(["x1", "x2"])
    try:
        assert feature_columns(frame) == ["x1", "x2"] and role("x1") == "feature"
        assert feature_columns(frame.assign(score=0.5), unknown="ignore") == ["x1", "x2"]
    finally:
        unregister_feature_columns(["x1", "x2"])
    assert role("loss") == "metadata" and role("fraud_confirmed_at") == "label"
    assert role("card_id") == "key"
    with pytest.raises(InputError, match="names"):
        register_feature_columns(["loss"])


def test_label_delay_variant_of_a_mix(tmp_path):
    from workbench.fraud.mix import load_mix, mix_with_label_delay

    path = mix_with_label_delay("default", 12.5, tmp_path / "mix.yaml")
    mix = load_mix(str(path))
    assert mix.label_delay.mean_days == 12.5 and len(mix.scenarios) == len(
        load_mix("default").scenarios
    )
    with pytest.raises(InputError, match="label_delay_days"):
        mix_with_label_delay("default", -1, tmp_path / "bad.yaml")
    with pytest.raises(InputError, match="scenarios"):
        mix_with_label_delay("none", 3, tmp_path / "bad.yaml")


def test_report_parameters_are_validated_before_anything_runs(tmp_path):
    from workbench.report_builds import build_report, check_report_parameters

    assert check_report_parameters(fraud_rate=0.1, label_delay_days=4)["label_delay_days"] == 4.0
    with pytest.raises(InputError, match="fraud_rate"):
        check_report_parameters(fraud_rate=2)
    with pytest.raises(InputError, match="label_delay_days"):
        check_report_parameters(scenarios="none", fraud_rate=0, label_delay_days=3)
    with pytest.raises(InputError, match="n_folds"):
        check_report_parameters(n_folds=0)
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="out"):
        build_report(tmp_path / "taken")
    assert not list(tmp_path.glob(".taken*"))  # nothing half-written


def test_a_sequence_model_goes_through_the_same_protocol():
    from workbench.features.sequences import LastRows
    from workbench.models.sequence import SequenceDetector

    frame = _study(n_days=20)
    t = frame["ts"]
    days = lambda d: T0 + pd.Timedelta(days=d)  # noqa: E731
    split = Split(
        (t < days(10)).to_numpy(),
        ((t >= days(10)) & (t < days(12))).to_numpy(),
        (t >= days(14)).to_numpy(),
    )
    windows = LastRows(frame, ["x1", "x2"], k=4, entity="card_id")

    def gru():
        return SequenceDetector(
            cell="gru",
            units=8,
            head_units=8,
            learning_rate=3e-3,
            epochs=10,
            batch_size=64,
            seed=0,
        )

    test = single_split({"gru": gru}, frame, ["x1", "x2"], split, inputs={"gru": windows})
    e = evaluate_scores(test, ["gru"], EvaluationConfig(k=10, replicates=20))["gru"]
    assert e.metrics["roc_auc"] > 0.7, e.metrics[
        "roc_auc"
    ]  # x1 carries the signal (chance: 0.5; ~600 training rows)
    timing = test.attrs["timings"]["gru"]
    assert timing["fit_seconds"] > 0 and timing["score_seconds"] > 0
    assert (
        timing["validation"] == f"{int(split.validation.sum())} rows"
    )  # early stopping on the block
    with pytest.raises(InputError, match="rows"):
        evaluate_scores(test.drop(columns="loss"), ["gru"])


class LastStepX1(Detector):
    """A sequence detector without training: the logistic of the last step's x1."""

    def fit(self, X, y=None):
        self.features_ = list(X.columns)
        return self

    def score(self, X):
        return 1 / (1 + np.exp(-X.x[:, -1, 0].astype(np.float64)))


def test_misordered_sequences_are_aligned_by_txn_id_or_refused():
    import duckdb

    from workbench.features.sequences import LastRows, build_sequences, frame_sequences

    frame = _study(n_days=20)
    t = frame["ts"]
    split = Split(
        (t < T0 + pd.Timedelta(days=12)).to_numpy(),
        np.zeros(len(t), bool),
        (t >= T0 + pd.Timedelta(days=14)).to_numpy(),
    )
    con = duckdb.connect()
    con.register("frame", frame[["txn_id", "ts", "card_id", "x1", "x2"]])
    raw = build_sequences(con, "frame", ["x1", "x2"], k=3, entity="card_id")
    assert not np.array_equal(raw.txn_id, frame["txn_id"].to_numpy())  # (card, time) order
    # a builder that returns the masked rows as built, in (card, time) order
    as_built = lambda mask: raw.take(np.isin(raw.txn_id, frame.loc[mask, "txn_id"]))  # noqa: E731
    ready = LastRows(frame, ["x1", "x2"], k=3)
    got = {}
    for name, builder in (("as_built", as_built), ("ready", ready)):
        test = single_split({name: LastStepX1}, frame, ["x1"], split, inputs={name: builder})
        got[name] = test[name].to_numpy()
    assert np.array_equal(got["as_built"], got["ready"])  # aligned, not scored in build order
    auc = evaluate_scores(test, ["ready"], EvaluationConfig(k=10), intervals=False)["ready"]
    assert auc.metrics["roc_auc"] > 0.9
    ordered = frame_sequences(frame, ["x1", "x2"], k=3)
    assert np.array_equal(ordered.txn_id, frame["txn_id"].to_numpy())
    assert np.array_equal(ordered.x, raw.aligned(frame["txn_id"].to_numpy()).x)
    # the same rows, but one transaction's sequence missing: refused, naming the builder
    short = lambda mask: as_built(mask).take(slice(1, None))  # noqa: E731
    with pytest.raises(InputError, match="inputs.short"):
        single_split({"short": LastStepX1}, frame, ["x1"], split, inputs={"short": short})
    with pytest.raises(InputError, match="txn_id"):
        single_split(
            {"ready": LastStepX1},
            frame.drop(columns="txn_id"),
            ["x1"],
            split,
            inputs={"ready": ready},
        )


def test_readable_tables_put_intervals_beside_estimates_and_money_without_decimals():
    from workbench.evaluate.tables import budget_view, prequential_view, ranking_view

    table = pd.DataFrame(
        {
            "average_precision": [0.4751, 0.1],
            "ap_low": [0.3432, np.nan],
            "ap_high": [0.6081, 0.2],
            "roc_auc": [0.884, 0.5],
            "roc_auc_low": [0.835, 0.4],
            "roc_auc_high": [0.932, 0.6],
            "recall_at_fpr": [0.47, 0.0],
            "brier": [0.01934, 0.2],
            "card_precision_at_k": [0.147, 0.0],
            "card_precision_ceiling": [0.22, 0.22],
            "precision_at_k": [0.403, 0.0],
            "recall_at_budget": [0.563, 0.0],
            "detected_share": [0.773, 0.0],
            "median_delay_hours": [0.0, np.nan],
            "savings": [5167893.24, -12.5],
        },
        index=pd.Index(["hgb", "iso"], name="model"),
    )
    ranking = ranking_view(table)
    assert ranking.loc["hgb", "average precision [95% CI]"] == "0.475 [0.343, 0.608]"
    assert ranking.loc["iso", "average precision [95% CI]"] == "0.100 [–, 0.200]"
    assert ranking.loc["hgb", "Brier score"] == "0.0193"
    budget = budget_view(table, 25)
    assert list(budget.columns)[0] == "card precision@25"
    assert budget.loc["hgb", "savings"] == "5,167,893" and budget.loc["iso", "savings"] == "-12"
    assert (
        budget.loc["hgb", "recall at the budget"] == "56%"
        and budget.loc["iso", "median delay (h)"] == "–"
    )
    summary = pd.DataFrame(
        {
            ("average_precision", "mean"): [0.4351],
            ("average_precision", "std"): [0.138],
            ("savings", "mean"): [2421668.9],
            ("savings", "std"): [1730929.5],
        },
        index=pd.Index(["hgb"], name="model"),
    )
    pre = prequential_view(summary)
    assert pre.loc["hgb", "average precision"] == "0.435 ± 0.138"
    assert pre.loc["hgb", "savings"] == "2,421,669 ± 1,730,930"
    assert list(pre.columns) == ["average precision", "savings"]


def test_ablation_changes_one_choice_at_a_time_and_the_verdict_is_computed():
    from workbench.evaluate.ablation import ablation, recall_at_top, sequence_against_tabular

    seen = []

    def run(params):
        seen.append(dict(params))
        return params["lr"] * 10 + params["k"]

    table = ablation(run, {"lr": 0.01, "k": 5}, {"faster": {"lr": 0.02}, "longer": {"k": 10}})
    assert seen == [{"lr": 0.01, "k": 5}, {"lr": 0.02, "k": 5}, {"lr": 0.01, "k": 10}]
    assert table.loc["longer", "difference"] == pytest.approx(5.0)
    assert table.loc["faster", "setting"] == "lr=0.02"
    with pytest.raises(InputError, match="changes.empty"):
        ablation(run, {"lr": 0.01, "k": 5}, {"empty": {}})
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    groups = np.array(["burst", "burst", "none", "none", "theft", "none", "none", "none"])
    recall = recall_at_top(
        {
            "seq": np.array([0.9, 0.8, 0.1, 0.1, 0.0, 0.2, 0.3, 0.1]),
            "tab": np.array([0.1, 0.0, 0.2, 0.1, 0.9, 0.3, 0.2, 0.1]),
        },
        y,
        groups,
        share=0.25,
    )
    assert recall.loc["burst"].tolist() == [1.0, 0.0] and recall.loc["theft"].tolist() == [
        0.0,
        1.0,
    ]
    versus, text = sequence_against_tabular(recall, {"seq": 0.6, "tab": 0.5}, ["seq"], ["tab"])
    assert versus.loc["burst", "gain"] == 1.0 and text.startswith("A sequence model catches more")
    assert "burst (seq: 1.00 against 0.00)" in text and "beats the best tabular" in text
    _, none = sequence_against_tabular(
        recall.assign(seq=0.0), {"seq": 0.1, "tab": 0.5}, ["seq"], ["tab"]
    )
    assert none.startswith("No sequence model catches more") and "does not beat" in none
