"""Customer analytics: churn drivers in the simulator, point-in-time customer features, the
churn, segmentation and forecasting studies, and reason codes that add up."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from workbench.customers import (campaign_curve, catalogue_frame, churn_cutoffs, churn_outcome,
                                 churn_study, customer_features, lift_at, reason_codes,
                                 segment_customers, spend_forecast, study_record,
                                 tree_contributions, usable_horizon, write_study)
from workbench.customers.explain import boosted_model
from workbench.dataset.reader import Dataset, open_dataset
from workbench.simulate import SimulationConfig, generate
from workbench.simulate.churn import drivers_off
from workbench.validation import InputError

CUT = "2025-02-15"  # day 45 of the 90-day FRAUD world


@pytest.fixture(scope="module")
def features(fraud_dataset):
    return customer_features(fraud_dataset, CUT)


@pytest.fixture(scope="module")
def churn(fraud_dataset):
    return churn_study(fraud_dataset, horizon_days=30, seed=0)


def test_churn_follows_its_drivers(fraud_dataset, features):
    """A logistic fit of 'decides to leave after the cut' on what the customer experienced by
    the cut recovers the direction of every driver of the hazard."""
    c = fraud_dataset.table("customers").set_index("customer_id").loc[features.index]
    cut = pd.Timestamp(CUT)
    known = (c["churn_decided_at"].isna() | (c["churn_decided_at"] > cut)).to_numpy()
    random_churn = ((c["churn_date"] - c["churn_decided_at"]).dt.days == 30).to_numpy()
    keep = known & ~random_churn
    drivers = pd.DataFrame({
        "declines": np.log1p(features["declines_bank_90d"]),
        "insufficient_funds": np.log1p(features["declines_funds_90d"]),
        "fraud_victim": (features["fraud_confirmed"] > 0).astype(float),
        "new_customer": (features["tenure_days"] < 180).astype(float),
        "age_decades": (features["age"] - 40) / 10,
    })[keep]
    y = c["churn_decided_at"].notna().to_numpy()[keep]
    coef = LogisticRegression(C=10.0, max_iter=1000).fit(drivers, y).coef_[0]
    signs = dict(zip(drivers.columns, np.sign(coef)))
    assert signs == {"declines": 1, "insufficient_funds": 1, "fraud_victim": 1,
                     "new_customer": 1, "age_decades": -1}, dict(zip(drivers.columns, coef))


def test_drivers_off_and_random_churn_only(tmp_path):
    small = dict(customers=300, days=30, seed=4, fraud_rate=0.1)
    old = open_dataset(generate(SimulationConfig(**small, churn_drivers={"base_daily_hazard": 0}),
                                tmp_path / "old", backend="serial"))
    c = old.table("customers")
    churned = c[c["churn_date"].notna()]
    # only the random churn remains: every churner fades over the fixed 30 days
    assert ((churned["churn_date"] - churned["churn_decided_at"]).dt.days == 30).all()
    off = SimulationConfig(**small, churn_drivers=drivers_off()).churn_model()
    assert not any(off.coefficients.values()) and not any(off.segments.values())
    assert off.base_daily_hazard > 0 and off.engagement_drift_sd == 0
    with pytest.raises(InputError, match="churn_drivers"):
        SimulationConfig(**small, churn_drivers={"coefficients": {"fees": 1.0}})
    with pytest.raises(InputError, match="churn_drivers.base_daily_hazard"):
        SimulationConfig(**small, churn_drivers={"base_daily_hazard": 2})


def _truncated(ds, cut: pd.Timestamp, out):
    """A copy of ``ds`` holding nothing from the cut on (and no churn known after it)."""
    shutil.copytree(ds.path, out)
    us = pd.Timestamp(cut).to_datetime64().astype("datetime64[us]")
    for table in ("transactions", "events"):
        for part in (out / table).glob("*.parquet"):
            data = pq.read_table(part)
            pq.write_table(data.filter(pc.less(data["timestamp"], us)), part)
    for part in (out / "customers").glob("*.parquet"):
        frame = pq.read_table(part).to_pandas()
        for col in ("churn_date", "churn_decided_at"):
            frame[col] = frame[col].where(frame[col] <= cut)
        pq.write_table(pq.read_table(part).from_pandas(frame, schema=pq.read_schema(part),
                                                       preserve_index=False), part)
    return Dataset(out)  # not open_dataset: its row counts no longer match the card


def test_features_are_point_in_time(fraud_dataset, features, tmp_path):
    """Removing everything from the cut on changes no feature: none reads the future."""
    past = _truncated(fraud_dataset, pd.Timestamp(CUT), tmp_path / "past")
    pd.testing.assert_frame_equal(customer_features(past, CUT), features)
    cat = catalogue_frame()
    assert len(cat) >= 40 and list(features.columns) == cat["name"].tolist()
    assert cat["definition"].str.len().gt(10).all() and features.notna().all().all()


def test_features_rows_and_determinism(fraud_dataset, features):
    c = fraud_dataset.table("customers").set_index("customer_id")
    cut = pd.Timestamp(CUT)
    active = c[(c["signup_date"] < cut) & (c["churn_date"].isna() | (c["churn_date"] > cut))]
    assert sorted(active.index) == list(features.index)
    t = fraud_dataset.table("transactions")
    p = t[(t["txn_type"] == "purchase") & (t["status"] == "approved") & (t["timestamp"] < cut)
          & (t["timestamp"] >= cut - pd.Timedelta(days=30))]
    spend = p.groupby("customer_id")["amount"].sum().reindex(features.index).fillna(0)
    np.testing.assert_allclose(features["spend_30d"], spend, rtol=1e-9)
    pd.testing.assert_frame_equal(customer_features(fraud_dataset, CUT), features)


def test_outcomes_and_bad_input(fraud_dataset):
    out = churn_outcome(fraud_dataset, CUT, 30)
    c = fraud_dataset.table("customers").set_index("customer_id").loc[out.index]
    cut = pd.Timestamp(CUT)
    within = (c["churn_date"] > cut) & (c["churn_date"] <= cut + pd.Timedelta(days=30))
    assert (out["churned"].astype(bool) == within).all()
    assert (out["fading"] == (c["churn_decided_at"] <= cut)).all()
    with pytest.raises(InputError, match="cut.*2025-03-02"):
        churn_outcome(fraud_dataset, "2025-03-20", 30)
    with pytest.raises(InputError, match="cut"):
        customer_features(fraud_dataset, "not a date")
    with pytest.raises(InputError, match="horizon_days"):
        churn_cutoffs(fraud_dataset, horizon_days=60)
    with pytest.raises(InputError, match="models"):
        churn_study(fraud_dataset, models=("svm",))
    assert usable_horizon(fraud_dataset, 30) == (30, None)
    assert usable_horizon(fraud_dataset, 60)[0] == 40


def test_churn_study_time_split_and_metrics(churn):
    train, test = [pd.Timestamp(c) for c in churn.cutoffs["train"]], pd.Timestamp(
        churn.cutoffs["test"][0])
    assert all(t + pd.Timedelta(days=30) <= test for t in train)  # outcomes known by the test cut
    assert not churn.test["fading"].any() and "fading at the cut set aside" in churn.notes[0]
    m = churn.metrics
    assert {"lr", "hgb", "baseline (-purchase_trend)", "random"} <= set(m.index)
    assert m.loc[["lr", "hgb"], "roc_auc"].max() > 0.55
    assert m.loc["random", "average_precision"] == pytest.approx(churn.test["churned"].mean())


def test_lift_and_campaign_curve():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    s = np.arange(10)[::-1].astype(float)
    assert lift_at(y, s, 0.1) == pytest.approx(5.0)
    curve = campaign_curve(y, s, contact_cost=10, retained_value=100, save_rate=0.5)
    assert curve["net_value"].iloc[1] == 40 and curve["net_value"].iloc[-1] == 100 - 100
    assert len(curve) == 11


def test_contributions_add_up_to_the_raw_score(churn):
    det = churn.models["hgb"]
    X = churn.test[churn.features]
    contrib, bias = tree_contributions(det, X)
    raw = boosted_model(det).decision_function(det._matrix(X))
    np.testing.assert_allclose(contrib.sum(axis=1) + bias, raw, atol=1e-9)
    codes = reason_codes(det, X.iloc[:20])
    assert (codes["contribution_1"] >= codes["contribution_2"]).all()
    assert set(codes["reason_1"]) <= set(churn.features)
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(300, 3))
    Xr[::5, 0] = np.nan
    reg = HistGradientBoostingRegressor(max_iter=15, random_state=0).fit(Xr, Xr[:, 1] * 2)
    c, b = tree_contributions(reg, Xr)
    np.testing.assert_allclose(c.sum(axis=1) + b, reg.predict(Xr), atol=1e-9)
    with pytest.raises(InputError, match="model"):
        tree_contributions(LogisticRegression(), Xr)


def test_segmentation_beats_chance(fraud_dataset, features):
    truth = fraud_dataset.table("customers").set_index("customer_id").loc[features.index,
                                                                           "segment"]
    seg = segment_customers(features, truth, ks=(5, 7), seed=0)
    assert set(seg.scores.index) == {"kmeans", "gmm"} and set(seg.scores["k"]) <= {5, 7}
    assert (seg.scores["adjusted_rand"] > 0.02).all() and (seg.scores["nmi"] > 0.05).all()
    with pytest.raises(InputError, match="ks"):
        segment_customers(features, truth, ks=(1,))


def test_forecast_beats_the_last_30_days(fraud_dataset, churn, tmp_path):
    fc = spend_forecast(fraud_dataset, days=30, seed=0)
    assert fc.errors.loc["gradient_boosting", "mae"] < fc.errors.loc["last_30_days", "mae"]
    assert set(fc.errors.index) == {"gradient_boosting", "last_30_days", "seasonal_mean"}
    with pytest.raises(InputError, match="days"):
        spend_forecast(fraud_dataset, days=45)
    seg = segment_customers(churn.test[churn.features], fraud_dataset.table("customers")
                            .set_index("customer_id").loc[churn.test.index, "segment"], ks=(4,))
    record = study_record(fraud_dataset.card, churn, None, seg, fc, {"churn": {"age": 0.1}}, 30)
    path = write_study(tmp_path / "customers.json", record)
    back = json.loads(path.read_text())
    assert back["dataset"]["content_hash"] == fraud_dataset.card["content_hash"]
    assert [m["model"] for m in back["churn"]["metrics"]][:2] == ["lr", "hgb"]
    assert not list(tmp_path.glob(".customers.json*"))  # the temporary was renamed away
