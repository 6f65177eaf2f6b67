"""Stream scoring: online features equal the batch point-in-time features; scores equal the
batch model's; every row gets a latency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.features.catalogue import CATALOGUE
from workbench.features.store import dataset_source, write_features
from workbench.models.package import save_package
from workbench.models.stream import ONLINE_FEATURES, parity, replay
from workbench.models.supervised import SupervisedDetector
from workbench.simulate import SimulationConfig, generate
from workbench.validation import InputError


@pytest.fixture(scope="module")
def stream_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    data = generate(
        SimulationConfig(customers=400, days=40, seed=3, fraud_rate=0.1),
        root / "data",
        backend="serial",
    )
    write_features(
        dataset_source(data), root / "features.parquet", engine="duckdb"
    )  # parity: against the SQL definitions
    return data, pd.read_parquet(root / "features.parquet"), root


def test_online_features_equal_batch_features(stream_data):
    data, batch, _ = stream_data
    online = replay(data)
    assert len(online) == len(batch) and ONLINE_FEATURES == [f.name for f in CATALOGUE if f.online]
    table = parity(online, batch)
    # every catalogue feature, the delayed entity risk, counts and means included
    assert table["rows"].eq(len(batch)).all() and table["feature"].tolist() == ONLINE_FEATURES
    assert table["differing"].sum() == 0, table[table["differing"] > 0]
    # the label and account-event streams are exercised, not only their empty case
    for feature in (
        "merchant_fraud_rate_30d",
        "merchant_fraud_rate_7d",
        "hours_since_email_change",
        "hours_since_phone_change",
        "bank_links_7d",
        "device_customers_7d",
        "merchant_cards_1h",
        "merchant_risk_1d_delayed",
        "merchant_risk_30d_delayed",
        "device_risk_7d_delayed",
        "ip_risk_30d_delayed",
        "merchant_n_24h",
        "ip_n_7d_delayed",
        "cust_mean_7d",
    ):
        assert (online[feature].fillna(0) > 0).sum() >= 10, feature


def test_the_state_never_reads_ahead(stream_data):
    """A replay cut after k transactions gives the first k rows the same features (no later
    transaction, label or account event reaches them)."""
    data, _, _ = stream_data
    whole = replay(data, max_batch=1)
    for k in (1, 777, 5000):
        part = replay(data, limit=k, max_batch=7)
        pd.testing.assert_frame_equal(
            part.drop(columns="latency_s"), whole.iloc[:k].drop(columns="latency_s")
        )


def test_stream_scores_equal_batch_scores(stream_data):
    data, batch, root = stream_data
    y = (
        pd.read_parquet(data / "transactions", columns=["txn_id", "is_fraud"])
        .set_index("txn_id")
        .loc[batch["txn_id"], "is_fraud"]
        .to_numpy()
    )
    det = SupervisedDetector(model="hgb", strategy="class_weight", seed=1).fit(
        batch[ONLINE_FEATURES].astype(float), y
    )
    package = save_package(det, root / "stream_model", dataset=data)
    out = replay(data, package, max_batch=16)
    expected = (
        pd.Series(det.score(batch[ONLINE_FEATURES].astype(float)), index=batch["txn_id"])
        .loc[out["txn_id"]]
        .to_numpy()
    )
    # the replay scores exactly what the model gives for the online features (order, batching)
    assert np.array_equal(out["score"].to_numpy(), det.score(out[ONLINE_FEATURES].astype(float)))
    same = np.isclose(out["score"].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    # online and batch floats agree to ~1e-12, not bit for bit (DuckDB and Python round the
    # last bits differently, see the parity test); a tree split falling between two such
    # values changes a score: 2-14 rows of 12,835 across runs, allow 1 in 100
    assert same.mean() >= 0.99, (~same).sum()
    assert (out["latency_s"] > 0).all() and out["latency_s"].max() < 5
    from workbench.models.data import model_frame

    with pytest.raises(InputError, match="features"):
        model_frame(data, root / "missing.parquet")
    with pytest.raises(InputError, match="max_batch"):
        replay(data, package, max_batch=0)
    # a package on some catalogue features, in its own order, gets those columns of the state
    few = ["hour", "log_amount", "merchant_fraud_rate_30d"]
    small = SupervisedDetector(model="lr").fit(batch[few].astype(float), y)
    out = replay(data, save_package(small, root / "small_model"), max_batch=4)
    # a linear model's dot products go through BLAS, whose summation order follows the batch's
    # shape: micro-batches of 4 and one call on every row differ in the last bit (~1e-15
    # relative) on a few rows; the trees above are per row and exact
    assert np.allclose(out["score"].to_numpy(), small.score(out[few]), rtol=1e-12, atol=0)
    other = batch[["log_amount"]].assign(not_a_feature=1.0)
    with pytest.raises(InputError, match="catalogue features"):
        replay(
            data, save_package(SupervisedDetector(model="lr").fit(other, y), root / "other_model")
        )
