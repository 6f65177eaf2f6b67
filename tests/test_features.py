"""Point-in-time features, splits and sequences: hand-computed values and leakage tests."""

from __future__ import annotations

import logging
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.features.catalogue import CATALOGUE, catalogue_frame
from workbench.features.consistency import fixture
from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping
from workbench.features.sequences import build_sequences
from workbench.features.splits import (
    drop_known_compromised,
    fit_preprocessor,
    prequential_folds,
    time_split,
    train_delay_test,
)
from workbench.features.store import compute_features, dataset_source, table_source, write_features
from workbench.validation import InputError

MAPPING = {
    k: k
    for k in ("txn_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud", "confirmed_at")
}


@pytest.fixture(scope="module")
def full(fraud_dataset):
    return compute_features(dataset_source(fraud_dataset.path))


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = (
        a.sort_values("txn_id").reset_index(drop=True),
        b.sort_values("txn_id").reset_index(drop=True),
    )
    assert list(a["txn_id"]) == list(b["txn_id"])
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xa, ya = x.to_numpy(float), y.to_numpy(float)
            same = (np.isnan(xa) & np.isnan(ya)) | np.isclose(
                xa, ya, rtol=1e-12, atol=1e-9
            )  # summation order differs
            assert same.all(), (col, a.loc[~same, "txn_id"].head().tolist())
        else:
            assert x.equals(y), col


def test_catalogue():
    frame = catalogue_frame()
    assert len(frame) >= 40 and frame["name"].is_unique
    assert frame[["definition", "window", "entity"]].ne("").all().all()
    labelled = {f"merchant_fraud_rate_{d}d" for d in (1, 7, 30)}
    labelled |= {
        f"{e}_risk_{d}d_delayed" for e in ("merchant", "device", "ip") for d in (1, 7, 30)
    }
    assert set(frame.loc[frame["uses_labels"], "name"]) == labelled
    assert len(frame) == len(CATALOGUE) and frame["online"].all()
    # the label delay is shown in the windows that depend on it
    shown = catalogue_frame(label_delay_days=5).set_index("name")["window"]
    assert (
        shown["merchant_risk_7d_delayed"] == "7d ending one label delay before (label delay 5 d)"
    )
    assert shown["merchant_fraud_rate_7d"].endswith("(label delay 5 d)")
    assert "delay" not in shown["cust_n_7d"]
    groups = {
        "cust_n_1h",
        "cust_sum_30d",
        "card_n_24h",
        "cust_secs_since_prev",
        "amt_ratio_mean_30d",
        "amt_ratio_median_30d",
        "amt_zscore_30d",
        "amt_ratio_max_30d",
        "is_round_amount",
        "near_threshold",
        "is_new_merchant",
        "is_new_device",
        "is_new_ip",
        "is_new_city",
        "is_new_channel",
        "dist_home_km",
        "dist_prev_km",
        "speed_prev_kmh",
        "device_customers_7d",
        "ip_customers_7d",
        "merchant_cards_1h",
        "balance_before",
        "balance_zscore_30d",
        "refund_rate_30d",
        "chargeback_rate_30d",
        "hours_since_email_change",
        "hours_since_phone_change",
        "bank_links_24h",
        "bank_links_7d",
        "hour",
        "weekday",
        "is_weekend",
        "is_night",
        "is_off_hours",
        "days_to_salary",
        "is_festival",
        "merchant_n_24h",
        "merchant_n_30d",
        "cust_mean_7d",
        "merchant_n_7d_delayed",
        "merchant_risk_30d_delayed",
        "device_risk_7d_delayed",
        "ip_n_1d_delayed",
    }
    assert groups <= set(frame["name"])


def test_hand_computed_values():
    t0 = pd.Timestamp("2025-03-01 10:00")
    df = pd.DataFrame(
        {
            "txn_id": [1, 2, 3, 4, 5, 6],
            "ts": [
                t0,
                t0 + pd.Timedelta(minutes=30),
                t0 + pd.Timedelta(hours=2),
                t0 + pd.Timedelta(days=2),
                t0 + pd.Timedelta(days=40),
                t0,
            ],
            "customer_id": [7, 7, 7, 7, 7, 8],
            "merchant_id": [100, 100, 101, 100, 100, 100],
            "amount": [10.0, 20.0, 30.0, 40.0, 500.0, 5.0],
            "is_fraud": [False, True, False, False, False, False],
            "confirmed_at": [pd.NaT, t0 + pd.Timedelta(days=1), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        }
    )
    f = compute_features(table_source(df, MAPPING)).set_index("txn_id")
    assert f.loc[[1, 2, 3, 4, 5], "cust_n_1h"].tolist() == [1, 2, 1, 1, 1]
    assert f.loc[[1, 2, 3, 4, 5], "cust_sum_24h"].tolist() == [10, 30, 60, 40, 500]
    assert f.loc[[1, 2, 3, 4, 5], "cust_n_30d"].tolist() == [1, 2, 3, 4, 1]
    assert np.isnan(f.loc[1, "amt_ratio_mean_30d"]) and f.loc[
        3, "amt_ratio_mean_30d"
    ] == pytest.approx(30 / 15)
    assert f.loc[4, "amt_ratio_median_30d"] == pytest.approx(40 / 20) and f.loc[
        4, "amt_ratio_max_30d"
    ] == pytest.approx(40 / 30)
    assert f.loc[2, "cust_secs_since_prev"] == 1800 and np.isnan(
        f.loc[5, "amt_ratio_mean_30d"]
    )  # 40 days later: empty window
    assert f.loc[[1, 2, 3, 4], "is_new_merchant"].tolist() == [1, 0, 1, 0]
    assert f.loc[5, "is_round_amount"] == 1 and f.loc[1, "is_round_amount"] == 0
    assert f.loc[1, "hour"] == 10 and f.loc[1, "weekday"] == 5 and f.loc[1, "is_weekend"] == 1
    # merchant 100: the fraud at 10:30 is confirmed a day later; only rows after that see it
    assert np.isnan(f.loc[6, "merchant_fraud_rate_30d"])  # first row at the merchant: no history
    # rows 1, 2, 6 before row 4; with the default 7-day delay only fraud 2's label (confirmed)
    # can be known: the denominator counts it alone
    assert f.loc[4, "merchant_fraud_rate_7d"] == 1
    assert np.isnan(f.loc[4, "merchant_fraud_rate_1d"])  # nothing in the last day
    assert f.loc[[1, 2, 3, 4, 5], "cust_mean_24h"].tolist() == [10, 15, 20, 40, 500]
    assert f.loc[[1, 2, 6, 4, 5], "merchant_n_24h"].tolist() == [2, 3, 2, 1, 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_feature_uses_the_future(fraud_dataset, full, seed):
    """Truncating the data at a random time changes no feature of a row at or before it."""
    rng = np.random.default_rng(seed)
    ts = full["ts"]
    cut = ts.min() + (ts.max() - ts.min()) * rng.uniform(0.2, 0.9)
    part = compute_features(dataset_source(fraud_dataset.path), cut=cut)
    assert len(part) == (ts <= cut).sum() > 0
    assert_same(part, full[full["ts"] <= cut])


def test_label_features_wait_for_confirmation(fraud_dataset, full):
    src = dataset_source(fraud_dataset.path)
    base = src.con.execute("SELECT * FROM base_all").df()
    # brute force: frauds counted for a transaction are those confirmed before it
    frauds = base[base["is_fraud"] & base["confirmed_at"].notna() & base["merchant_id"].notna()]
    sample = base[base["merchant_id"].isin(frauds["merchant_id"])].sample(300, random_state=0)
    f = full.set_index("txn_id")
    delay = pd.Timedelta(days=src.params["label_delay_days"])
    assert (
        src.params["label_delay_days"]
        == fraud_dataset.card["fraud_mix"]["label_delay"]["mean_days"]
    )
    for row in sample.itertuples():
        fr = frauds[
            (frauds["merchant_id"] == row.merchant_id)
            & (frauds["ts"] >= row.ts - pd.Timedelta(days=30))
            & (frauds["ts"] < row.ts)
            & (frauds["confirmed_at"] < row.ts)
        ]
        n = base[
            (base["merchant_id"] == row.merchant_id)
            & (base["ts"] >= row.ts - pd.Timedelta(days=30))
            & (base["ts"] < row.ts)
        ]
        # rows whose label could be known: at least one delay old, or a fraud confirmed by then
        known = n[(n["ts"] <= row.ts - delay) | n["txn_id"].isin(fr["txn_id"])]
        expected = len(fr) / len(known) if len(known) else np.nan
        got = f.loc[row.txn_id, "merchant_fraud_rate_30d"]
        assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected), row.txn_id
    # moving confirmations later changes the rate only for the rows in between
    later = base.assign(confirmed_at=base["confirmed_at"] + pd.Timedelta(days=10))
    delay = {"label_delay_days": src.params["label_delay_days"]}
    moved = compute_features(table_source(later, MAPPING, delay)).set_index("txn_id")
    now = compute_features(table_source(base, MAPPING, delay)).set_index("txn_id")
    moved = moved.loc[now.index]
    diff = ~np.isclose(
        moved["merchant_fraud_rate_30d"].fillna(-1), now["merchant_fraud_rate_30d"].fillna(-1)
    )
    assert (
        diff.sum() > 0
        and (
            moved.loc[diff, "merchant_fraud_rate_30d"].fillna(0)
            <= now.loc[diff, "merchant_fraud_rate_30d"]
        ).all()
    )


def test_both_engines_write_the_one_pass_values(fraud_dataset, full, tmp_path):
    """DuckDB (cross-customer features once, customer-local ones in customer batches) and the
    online engine (the stream's compiled state, in row batches): the values of one DuckDB
    pass over everything, and the same columns and types in the same order."""
    written = {}
    for engine in ("duckdb", "online"):
        result = write_features(
            dataset_source(fraud_dataset.path),
            tmp_path / f"{engine}.parquet",
            batch_rows=40_000,
            engine=engine,
        )
        assert result["rows"] == len(full) and not result["skipped"] and result["engine"] == engine
        written[engine] = pd.read_parquet(tmp_path / f"{engine}.parquet")
        assert_same(written[engine][list(full.columns)], full)
    assert written["online"].dtypes.equals(written["duckdb"].dtypes)
    assert (
        write_features(dataset_source(fraud_dataset.path), tmp_path / "auto.parquet")["engine"]
        == "online"
    )
    with pytest.raises(InputError, match="engine"):
        write_features(dataset_source(fraud_dataset.path), tmp_path / "x.parquet", engine="spark")


def test_time_split_and_folds(fraud_tables):
    tx = fraud_tables["transactions"].merge(fraud_tables["labels"], on="txn_id")
    s = time_split(
        tx["timestamp"],
        train_days=40,
        gap_days=7,
        validation_days=14,
        test_days=14,
        train_eligible=tx["is_train_eligible"],
    )
    assert not (s.train & s.validation).any() and not (s.validation & s.test).any()
    t = tx["timestamp"]
    assert (
        t[s.train].max() + pd.Timedelta(days=7) <= t[s.validation].min()
        and t[s.validation].max() + pd.Timedelta(days=7) <= t[s.test].min()
    )
    assert tx.loc[s.train, "is_train_eligible"].all()
    with pytest.raises(InputError, match="test_days"):
        time_split(t, 80, 7, 14, 14)
    folds = prequential_folds(t, n_folds=3, train_days=30, gap_days=7, test_days=7)
    assert len(folds) == 3
    starts = [t[test].min() for _, test in folds]
    assert starts[0] > starts[1] > starts[2]  # each fold shifted back one block
    for train, test in folds:
        assert t[train].max() + pd.Timedelta(days=7) <= t[test].min()
    with pytest.raises(InputError, match="n_folds"):
        prequential_folds(t, n_folds=20, train_days=30, gap_days=7, test_days=7)


def test_known_compromised_cards_leave_the_test_set(fraud_tables):
    tx = fraud_tables["transactions"].merge(fraud_tables["labels"], on="txn_id")
    test = (tx["timestamp"] >= tx["timestamp"].max() - pd.Timedelta(days=20)).to_numpy()
    start = tx["timestamp"].min()
    kept = drop_known_compromised(
        test, tx["timestamp"], tx["account_id"], tx["fraud_confirmed_at"], tx["is_fraud"], start
    )
    dropped = tx[test & ~kept]
    assert len(dropped) > 0
    first = tx[tx["is_fraud"]].groupby("account_id")["fraud_confirmed_at"].min()
    assert (dropped["account_id"].map(first) < dropped["timestamp"].dt.normalize()).all()


def test_known_compromised_counts_frauds_only_and_from_the_look_back_start():
    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2025-01-01")
    times = pd.Series([t0, t0 + 2 * day, t0 + 10 * day, t0 + 11 * day, t0 + 12 * day])
    cards = pd.Series(["A", "B", "A", "B", "C"])
    fraud = pd.Series([1, 1, 0, 0, 0])
    test = np.array([False, False, True, True, True])
    # a confirmation time filled on every row (legitimate rows too) must not mark cards compromised
    everywhere = times + day
    kept = drop_known_compromised(test, times, cards, everywhere, fraud, start=t0)
    # A and B had frauds confirmed before; C only a legitimate row
    assert kept.tolist() == [False, False, False, False, True]
    # only frauds from the look-back start on count: A's fraud on day 0 is before a start on day 1
    kept = drop_known_compromised(test, times, cards, everywhere, fraud, start=t0 + day)
    assert kept.tolist() == [False, False, True, False, True]
    with pytest.raises(InputError, match="start"):
        drop_known_compromised(test, times, cards, everywhere, fraud, start="not a time")


def test_train_delay_test_split_and_anchored_folds():
    t = pd.Series(pd.date_range("2025-01-01", periods=40 * 24, freq="h"))
    s = train_delay_test(t)  # the reference protocol: 7 days each from the first day
    day = pd.Timedelta(days=1)
    assert t[s.train].min() == t[0] and t[s.train].max() < t[0] + 7 * day
    assert not s.validation.any()
    assert t[s.test].min() == t[0] + 14 * day and t[s.test].max() < t[0] + 21 * day
    later = train_delay_test(t, start="2025-01-10", train_days=5, delay_days=2, test_days=3)
    assert t[later.train].min() == pd.Timestamp("2025-01-10")
    assert t[later.test].min() == pd.Timestamp("2025-01-17")
    with pytest.raises(InputError, match="test_days"):
        train_delay_test(t, start="2025-01-30")
    folds = prequential_folds(t, 3, train_days=7, gap_days=7, test_days=7, start="2025-01-03")
    first_train = [t[train].min() for train, _ in folds]
    # the earliest fold starts where it was asked to, later ones one test block apart
    assert first_train == [pd.Timestamp(d) for d in ("2025-01-17", "2025-01-10", "2025-01-03")]
    with pytest.raises(InputError, match="n_folds"):
        prequential_folds(t, 5, train_days=7, gap_days=7, test_days=7, start="2025-01-03")


def test_preprocessor_is_fitted_on_training_rows_only(full):
    train = full.iloc[: len(full) // 2]
    pre = fit_preprocessor(train, ["cust_sum_24h", "amt_ratio_mean_30d"])
    scaler = pre.named_transformers_["num"][-1]
    assert scaler.mean_[0] == pytest.approx(train["cust_sum_24h"].mean())
    assert scaler.mean_[0] != pytest.approx(full["cust_sum_24h"].mean())
    with pytest.raises(InputError, match="columns"):
        fit_preprocessor(train, ["nope"])


def test_sequences(fraud_dataset, full, tmp_path):
    con = duckdb.connect()
    con.register("feat", full)
    cols = ["log_amount", "hour", "cust_n_24h"]
    seq = build_sequences(con, "feat", cols, k=5, chunk_rows=997)
    assert seq.x.shape == (len(full), 5, 3) and seq.x.dtype == np.float32 and seq.mask[:, -1].all()
    same = build_sequences(con, "feat", cols, k=5, chunk_rows=100_000)
    assert np.array_equal(seq.x, same.x) and np.array_equal(
        seq.mask, same.mask
    )  # chunk borders change nothing
    on_disk = build_sequences(con, "feat", cols, k=5, chunk_rows=997, out_dir=tmp_path)
    assert np.array_equal(np.load(tmp_path / "x.npy"), seq.x) and np.array_equal(
        on_disk.txn_id, seq.txn_id
    )
    # a row's sequence is its customer's previous rows, in time order
    f = full.set_index("txn_id")
    for i in np.random.default_rng(0).choice(len(seq.txn_id), 50, replace=False):
        row = f.loc[seq.txn_id[i]]
        hist = full[
            (full["customer_id"] == row["customer_id"]) & (full["ts"] <= row["ts"])
        ].sort_values(["ts", "txn_id"])
        hist = (
            hist[hist["txn_id"] <= seq.txn_id[i]] if (hist["ts"] == row["ts"]).sum() > 1 else hist
        )
        expect = hist["log_amount"].to_numpy(np.float32)[-5:]
        assert np.allclose(seq.x[i, 5 - len(expect) :, 0], expect) and seq.mask[i].sum() == len(
            expect
        )
    # leakage: sequences from data truncated at a cut equal those from the full data
    cut = full["ts"].quantile(0.6)
    con.register("feat_cut", full[full["ts"] <= cut])
    part = build_sequences(con, "feat_cut", cols, k=5)
    pos = {t: i for i, t in enumerate(seq.txn_id)}
    idx = np.array([pos[t] for t in part.txn_id])
    assert np.array_equal(part.x, seq.x[idx]) and np.array_equal(part.mask, seq.mask[idx])
    with pytest.raises(InputError, match="k"):
        build_sequences(con, "feat", cols, k=0)


def test_external_table_with_the_minimal_schema(tmp_path, caplog):
    mapping = load_mapping(EXAMPLE_MAPPING)
    with caplog.at_level(logging.INFO, logger="workbench.features.store"):
        result = write_features(table_source(EXAMPLE_TABLE, mapping), tmp_path / "f.parquet")
    assert result["rows"] == len(pd.read_csv(EXAMPLE_TABLE)) and result["features"] >= 25
    assert (
        "dist_home_km" in result["skipped"]
        and "feature dist_home_km skipped" in caplog.text
        and result["engine"] == "duckdb"
    )
    # what is skipped and why is returned, not only logged
    assert (
        result["skipped"]["dist_home_km"]
        == "needs home_lat, home_lon, lat, lon (not in the source)"
    )
    assert result["features"] + len(result["skipped"]) == len(CATALOGUE)
    with pytest.raises(InputError, match="engine"):  # the online engine needs every input
        write_features(
            table_source(EXAMPLE_TABLE, mapping), tmp_path / "g.parquet", engine="online"
        )
    f = pd.read_parquet(tmp_path / "f.parquet")
    assert {"cust_n_24h", "amt_ratio_mean_30d", "is_new_merchant"} <= set(f.columns)
    with pytest.raises(InputError, match="out"):
        write_features(table_source(EXAMPLE_TABLE, mapping), tmp_path / "f.parquet")


@pytest.mark.parametrize(
    "mapping, param",
    [
        ({"txn_id": "TX_ID"}, "mapping"),
        (
            {
                **{
                    k: k
                    for k in ("txn_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud")
                },
                "colour": "x",
            },
            "mapping",
        ),
        (
            {
                "txn_id": "TX_ID",
                "ts": "TX_DATETIME",
                "customer_id": "CUSTOMER_ID",
                "merchant_id": "NOPE",
                "amount": "TX_AMOUNT",
                "is_fraud": "TX_FRAUD",
            },
            "mapping.merchant_id",
        ),
    ],
)
def test_bad_mappings(mapping, param):
    with pytest.raises(InputError) as err:
        table_source(EXAMPLE_TABLE, mapping)
    assert err.value.param == param


def test_features_cli(tmp_path, fraud_dataset):
    out = tmp_path / "f.parquet"

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "workbench", "features", *a],
            capture_output=True,
            text=True,
            timeout=300,
        )

    res = run("--dataset", str(fraud_dataset.path), "--out", str(out))
    assert res.returncode == 0 and f"{len(CATALOGUE)} features" in res.stdout
    res = run(
        "--table",
        str(EXAMPLE_TABLE),
        "--mapping",
        str(EXAMPLE_MAPPING),
        "--out",
        str(tmp_path / "g.parquet"),
    )
    assert res.returncode == 0 and "skipped" in res.stdout
    res = run("--table", str(EXAMPLE_TABLE), "--out", str(tmp_path / "h.parquet"))
    assert (
        res.returncode == 2
        and "invalid mapping=" in res.stderr
        and not (tmp_path / "h.parquet").exists()
    )


# -- window boundaries, delayed windows and leakage cuts, in both engines ------------------

T0 = pd.Timestamp("2025-03-03")
DAY = pd.Timedelta(days=1)
DELAY = {"threshold": 1000.0, "salary_day": 25, "festivals": [], "label_delay_days": 2.0}


def _boundary_table() -> pd.DataFrame:
    """Merchant 100 with a label delay of 2 days: r1 (a fraud confirmed an hour later),
    r2 exactly a day later (a fraud confirmed exactly at r4's time), r3 exactly 7 days after
    r1, r4 exactly 7 + 2 days after r1, r5 a second after r4; r6 elsewhere (other merchant,
    device and IP)."""
    ts = [T0, T0 + DAY, T0 + 7 * DAY, T0 + 9 * DAY, T0 + 9 * DAY + pd.Timedelta(seconds=1), T0]
    confirmed = [T0 + pd.Timedelta(hours=1), T0 + 9 * DAY, pd.NaT, pd.NaT, pd.NaT, pd.NaT]
    frame = fixture(rows=6)  # every other input, any values
    return frame.assign(
        txn_id=[1, 2, 3, 4, 5, 6],
        ts=ts,
        customer_id=[7, 7, 7, 7, 7, 8],
        card_id=[70, 70, 70, 70, 70, 80],
        merchant_id=[100, 100, 100, 100, 100, 101],
        device_id=[5, 5, 5, 5, 5, 6],
        ip_id=[3, 3, 3, 3, 3, None],
        amount=[10.0, 20.0, 30.0, 40.0, 50.0, 5.0],
        is_fraud=[True, True, False, False, False, False],
        confirmed_at=confirmed,
    )


# hand-computed: windows closed at both ends (a row exactly one window length earlier is in)
BOUNDARY_VALUES = {
    "cust_n_24h": [1, 2, 1, 1, 2, 1],  # r2 sees r1 exactly 24 h before
    "cust_n_7d": [1, 2, 3, 2, 3, 1],  # r3 sees r1 exactly 7 d before
    "merchant_n_7d": [1, 2, 3, 2, 3, 1],
    "cust_mean_7d": [10, 15, 20, 35, 40, 5],
    # [t - 2d - 7d, t - 2d]: r3 has r1, r2; r4 (t0 + 9d) r1, r2, r3; r5 a second later r2, r3
    "merchant_n_7d_delayed": [0, 0, 2, 3, 2, 0],
    "merchant_n_1d_delayed": [0, 0, 0, 1, 1, 0],  # r3 at exactly t - 2d
    # r2's label is confirmed at r4's instant: not yet known to r3 and r4, known to r5
    "merchant_risk_7d_delayed": [np.nan, np.nan, 1 / 2, 1 / 3, 1 / 2, np.nan],
    "device_risk_7d_delayed": [np.nan, np.nan, 1 / 2, 1 / 3, 1 / 2, np.nan],
    "ip_n_30d_delayed": [0, 0, 2, 3, 3, 0],
    "ip_risk_30d_delayed": [np.nan, np.nan, 1 / 2, 1 / 3, 2 / 3, np.nan],
    # known frauds / rows whose label could be known (>= 2 days old, or a known fraud):
    # r2 sees r1 (exactly 1 d before, confirmed); r3's 7 d: r1 (known fraud) and r2 (6 d
    # old, not yet known as a fraud); r4's 7 d see r3 only, 2 d old; r4's 30 d: r1 a known
    # fraud, r2 and r3 old enough
    "merchant_fraud_rate_1d": [np.nan, 1, np.nan, np.nan, np.nan, np.nan],
    "merchant_fraud_rate_7d": [np.nan, 1, 1 / 2, 0, 0, np.nan],
    "merchant_fraud_rate_30d": [np.nan, 1, 1 / 2, 1 / 3, 2 / 3, np.nan],
}


def _check_boundaries(frame: pd.DataFrame, engine: str) -> None:
    got = frame.set_index("txn_id").sort_index()
    for name, expected in BOUNDARY_VALUES.items():
        assert np.allclose(got[name].astype(float), expected, equal_nan=True), (
            engine,
            name,
            got[name].tolist(),
        )


def test_window_boundaries_in_both_engines():
    from workbench.features.consistency import fixture_source
    from workbench.features.online import online_frame

    table = _boundary_table()
    _check_boundaries(compute_features(fixture_source(table, DELAY)), "duckdb")
    _check_boundaries(online_frame(fixture_source(table, DELAY)), "online")
    # the night's end is a parameter (the reference's hour <= 6 is night_end_hour=7)
    late = table.assign(ts=table["ts"] + pd.Timedelta(hours=6))
    for night_end, expected in ((5, 0), (7, 1)):
        params = {**DELAY, "night_end_hour": night_end}
        for engine, frame in (
            ("duckdb", compute_features(fixture_source(late, params))),
            ("online", online_frame(fixture_source(late, params))),
        ):
            assert frame["is_night"].eq(expected).all(), (engine, night_end)
    with pytest.raises(InputError, match="night_end_hour"):
        fixture_source(table, {**DELAY, "night_end_hour": 25})
    with pytest.raises(InputError, match="label_delay_days"):
        fixture_source(table, {**DELAY, "label_delay_days": -1})


def test_leakage_cuts_and_tables_without_confirmations():
    from workbench.features.consistency import fixture_source

    table = _boundary_table()
    full = compute_features(fixture_source(table, DELAY)).set_index("txn_id")
    # cut at r4's instant: r2's label is confirmed exactly then, after none of the rows kept
    part = compute_features(fixture_source(table, DELAY), cut=T0 + 9 * DAY).set_index("txn_id")
    assert list(part.index) == [1, 6, 2, 3, 4]
    assert_same(part.reset_index(), full.loc[part.index].reset_index())
    # a label confirmed after the cut never counts: confirming r1 only after the cut leaves
    # r4 with no known fraud
    late = table.assign(
        confirmed_at=table["confirmed_at"].where(table["txn_id"] != 1, T0 + 20 * DAY)
    )
    cut = compute_features(fixture_source(late, DELAY), cut=T0 + 9 * DAY).set_index("txn_id")
    assert (
        cut.loc[4, "merchant_risk_7d_delayed"] == 0 and cut.loc[4, "merchant_fraud_rate_30d"] == 0
    )
    # without confirmation times: the standard definition (a label is known one delay after
    # the fraud), and the confirmation-aware rates are skipped with their reason
    mapping = {k: k for k in ("txn_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud")}
    plain = table_source(table[list(mapping)], mapping, {"label_delay_days": 2})
    f = compute_features(plain).set_index("txn_id").sort_index()
    assert f.loc[4, "merchant_risk_7d_delayed"] == pytest.approx(2 / 3)
    assert f.attrs["skipped"]["merchant_fraud_rate_7d"] == "needs confirmed_at (not in the source)"
    assert "device_risk_7d_delayed" in f.attrs["skipped"]


# -- the registry: one declaration, four places checked ---------------------------------


def _mutant_kernel(old: str, new: str):
    """A copy of the online kernel's module with one edit, run as Python (no compilation)."""
    import inspect
    import types

    import numba

    from workbench.features import online_state

    source = inspect.getsource(online_state)
    assert source.count(old) == 1, old
    module = types.ModuleType("online_state_mutant")
    module.SOURCE = source.replace(old, new).replace("cache=True", "cache=False")
    numba.config.DISABLE_JIT = True
    try:
        exec(compile(module.SOURCE, "online_state_mutant.py", "exec"), module.__dict__)
    finally:
        numba.config.DISABLE_JIT = False
    return module


def test_registry_check_fails_when_one_place_is_edited_alone():
    import dataclasses

    from workbench.features import online, online_state, store
    from workbench.features.catalogue import LAYOUT
    from workbench.features.consistency import check_registry, fixture_source

    assert check_registry() == []
    # 1. the registry entry alone: a feature's SQL, or its name
    i = next(i for i, f in enumerate(CATALOGUE) if f.name == "cust_mean_24h")
    edited = list(CATALOGUE)
    edited[i] = dataclasses.replace(edited[i], sql="avg(amount) OVER cust_7d")
    assert [p.split(":")[0] for p in check_registry(features=edited)] == ["cust_mean_24h"]
    edited[i] = dataclasses.replace(CATALOGUE[i], name="cust_avg_24h")
    assert any("online name list" in p for p in check_registry(features=edited, values=False))
    # 2. the DuckDB stages alone: the fraud join loses its confirmation condition (a leak),
    # or two stage columns trade places
    leaky = lambda src, feats: store._sql(src, feats).replace(" AND f.confirmed_at < b.ts", "")  # noqa: E731
    assert any("merchant_risk_7d_delayed" in p for p in check_registry(query=leaky))

    def swapped(src, feats):
        return (
            store._sql(src, feats)
            .replace("AS merchant_n_1h", "AS tmp_x")
            .replace("AS merchant_n_24h", "AS merchant_n_1h")
            .replace("AS tmp_x", "AS merchant_n_24h")
        )

    assert check_registry(query=swapped) == [
        "the DuckDB stages do not return the registry's features in order"
    ]
    # 3. the online name list alone
    names = list(online.ONLINE_FEATURES)
    names[0], names[1] = names[1], names[0]
    assert check_registry(online_names=names, values=False) == [
        "the online name list is not the registry's online features in order"
    ]
    # 4. the kernel's slots alone: two writes trade places (caught by value), a slot number
    # replaces a name, a slot is no longer written (caught by structure)
    kernel = _mutant_kernel(
        "o[Slot.CUST_MEAN_1H], o[Slot.CUST_MEAN_24H] = s1 / n1, s24 / n24",
        "o[Slot.CUST_MEAN_24H], o[Slot.CUST_MEAN_1H] = s1 / n1, s24 / n24",
    )
    assert {p.split(":")[0] for p in check_registry(kernel=kernel)} == {
        "cust_mean_1h",
        "cust_mean_24h",
    }
    kernel.SOURCE = kernel.SOURCE.replace("o[Slot.IS_ROUND_AMOUNT]", "o[19]")
    problems = check_registry(kernel=kernel, values=False)
    assert (
        "numbered kernel slot o[19]" in problems
        and "the kernel never writes slot is_round_amount" in problems
    )
    # the compiled kernel refuses a layout it was not compiled for (a stale cached build)
    state = online.OnlineState(online.stream_inputs(online.source_stream(fixture_source())))
    x = state.inputs
    args = (
        x.ts,
        x.ids,
        x.vals,
        x.calendar,
        x.first_day,
        x.threshold,
        x.night_end,
        x.labels,
        x.events,
        state.last,
        state.prev,
        state.following,
        state.seen,
        state.share,
        state.pair_count,
        state.confirmed,
        state.edges,
        state.wins,
        state.aggs,
        state.edge_state,
        state.totals,
        state.win_base,
        state.account,
        state.links,
        state.hist,
        state.hist_kind,
        state.hist_n,
        state.cursor,
        state.features,
        0,
        0,
        10,
    )
    assert (
        online_state.advance(*args, LAYOUT + 1) == -1 and online_state.advance(*args, LAYOUT) > 0
    )


# -- external tables: labels and evaluation columns, skipped features returned ---------------


def test_external_output_with_labels_evaluates_as_is(tmp_path, fraud_dataset):
    from workbench.evaluate.frame import external_frame
    from workbench.features.roles import feature_columns

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "workbench", "features", *a],
            capture_output=True,
            text=True,
            timeout=300,
        )

    table = ("--table", str(EXAMPLE_TABLE), "--mapping", str(EXAMPLE_MAPPING))
    out = tmp_path / "labelled.parquet"
    res = run(*table, "--labels", "--label-delay-days", "7", "--out", str(out))
    assert res.returncode == 0 and "with labels and evaluation columns" in res.stdout, res.stderr
    assert "dist_home_km: needs home_lat, home_lon, lat, lon (not in the source)" in res.stdout
    written = pd.read_parquet(out).sort_values(["ts", "txn_id"], ignore_index=True)
    expected = external_frame(EXAMPLE_TABLE, load_mapping(EXAMPLE_MAPPING))
    assert set(written.columns) == set(expected.columns)
    for col in expected.columns:
        x, y = written[col], expected[col]
        if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
            assert np.allclose(x.astype(float), y.astype(float), equal_nan=True), col
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col
    # every column has a role: the file goes to the models and metrics as it is
    assert set(feature_columns(written)) == set(written.columns) & {f.name for f in CATALOGUE}
    # bad input: exit 2 naming the parameter, nothing written
    res = run(
        "--dataset", str(fraud_dataset.path), "--labels", "--out", str(tmp_path / "x.parquet")
    )
    assert (
        res.returncode == 2
        and "invalid labels=True" in res.stderr
        and not (tmp_path / "x.parquet").exists()
    )
    res = run(*table, "--label-delay-days", "soon", "--out", str(tmp_path / "y.parquet"))
    assert res.returncode == 2 and "invalid label_delay_days='soon'" in res.stderr
    assert not (tmp_path / "y.parquet").exists()


# -- features researchers register --------------------------------------------------------


@pytest.fixture
def registered():
    from workbench.features.catalogue import register_feature, unregister_feature

    sql = (
        "avg(amount) OVER (PARTITION BY merchant_id ORDER BY ts "
        "RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW)"
    )
    register_feature(
        "merchant_mean_7d",
        sql=sql,
        entity="merchant",
        window="7d",
        uses_labels=False,
        inputs=["amount"],
        definition="mean amount at the merchant, 7 days",
    )
    register_feature(
        "cust_rank",
        func=lambda f: f.groupby("customer_id").cumcount().to_numpy(),
        entity="customer",
        window="history",
        uses_labels=False,
        inputs=[],
    )
    register_feature(
        "home_gap",
        func=lambda f: (f["lat"] - f["home_lat"]).abs().to_numpy(),
        entity="customer",
        window="row",
        uses_labels=False,
        inputs=["lat", "home_lat"],
    )
    yield ["merchant_mean_7d", "cust_rank", "home_gap"]
    for name in ("merchant_mean_7d", "cust_rank", "home_gap"):
        unregister_feature(name)


def test_registered_features(registered, fraud_dataset, tmp_path):
    from workbench.features.catalogue import register_feature
    from workbench.features.roles import feature_columns, role

    frame = catalogue_frame().set_index("name")
    assert (
        frame.loc["merchant_mean_7d", "origin"] == "registered"
        and not frame.loc["cust_rank", "online"]
    )
    assert role("cust_rank") == "feature"
    # the external path: computed where the inputs allow, skipped with the reason elsewhere
    mapping = load_mapping(EXAMPLE_MAPPING)
    result = write_features(table_source(EXAMPLE_TABLE, mapping), tmp_path / "ext.parquet")
    assert result["skipped"]["home_gap"] == "needs home_lat, lat (not in the source)"
    ext = pd.read_parquet(tmp_path / "ext.parquet").sort_values(["ts", "txn_id"])
    raw = (
        pd.read_csv(EXAMPLE_TABLE, parse_dates=["TX_DATETIME"])
        .set_index("TX_ID")
        .loc[ext["txn_id"]]
    )
    assert ext["cust_rank"].tolist() == raw.groupby("CUSTOMER_ID").cumcount().tolist()
    means = [
        raw["TX_AMOUNT"][
            (raw["TERMINAL_ID"] == m)
            & (raw["TX_DATETIME"] <= t)
            & (raw["TX_DATETIME"] >= t - pd.Timedelta(days=7))
        ].mean()
        for m, t in zip(raw["TERMINAL_ID"].head(40), raw["TX_DATETIME"].head(40))
    ]
    assert np.allclose(ext["merchant_mean_7d"].head(40), means)
    assert {"merchant_mean_7d", "cust_rank"} <= set(feature_columns(ext))  # into models by name
    # a workbench dataset: the online engine cannot compute them: an error, or the DuckDB
    # engine with a returned note, never a silent drop
    with pytest.raises(InputError, match="registered features it does not compute"):
        write_features(dataset_source(fraud_dataset.path), tmp_path / "o.parquet", engine="online")
    auto = write_features(
        dataset_source(fraud_dataset.path), tmp_path / "a.parquet", batch_rows=60_000
    )
    assert (
        auto["engine"] == "duckdb" and "merchant_mean_7d, cust_rank, home_gap" in auto["notes"][0]
    )
    written = pd.read_parquet(tmp_path / "a.parquet")
    assert set(registered) <= set(written.columns) and written["home_gap"].notna().all()
    with pytest.raises(InputError, match="name"):
        register_feature("hour", sql="1", entity="x", window="row", uses_labels=False)
    with pytest.raises(InputError, match="inputs"):
        register_feature(
            "x_y", sql="1", entity="x", window="row", uses_labels=False, inputs=["colour"]
        )
    with pytest.raises(InputError, match="confirmed_at"):
        register_feature(
            "x_z", sql="1", entity="x", window="row", uses_labels=True, inputs=["is_fraud"]
        )
    with pytest.raises(InputError, match="exactly one"):
        register_feature("x_w", entity="x", window="row", uses_labels=False)
