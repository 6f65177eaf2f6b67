"""The terminal-grid simulator, the handbook's baseline features and the reference split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.evaluate.frame import external_frame
from workbench.terminal_grid import (
    BASELINE_FEATURES,
    MAPPING,
    baseline_features,
    evaluation_frame,
    reference_split,
    terminal_grid,
    terminal_grid_transactions,
)
from workbench.validation import InputError

SMALL = dict(customers=400, terminals=800, days=45, seed=5)


@pytest.fixture(scope="module")
def world():
    return terminal_grid(**SMALL)


def test_same_seed_same_bytes_and_another_seed_differs(world):
    again = terminal_grid_transactions(**SMALL)
    digest = pd.util.hash_pandas_object(world.transactions, index=True).to_numpy()
    assert np.array_equal(digest, pd.util.hash_pandas_object(again, index=True).to_numpy())
    other = terminal_grid_transactions(**{**SMALL, "seed": 6})
    assert len(other) != len(again) or not other["TX_AMOUNT"].equals(again["TX_AMOUNT"])


def test_profiles_grid_and_transactions_follow_the_description(world):
    tx, cust = world.transactions, world.customers
    assert tx["TX_DATETIME"].is_monotonic_increasing
    assert (tx["TRANSACTION_ID"].to_numpy() == np.arange(len(tx))).all()
    assert cust["x"].between(0, 100).all() and cust["mean_amount"].between(5, 100).all()
    assert cust["mean_nb_tx_per_day"].between(0, 4).all()
    # about mean_nb_tx_per_day a day per customer (a few draws fall outside the day)
    expected = cust["mean_nb_tx_per_day"].sum() * SMALL["days"]
    assert 0.93 * expected < len(tx) < 1.0 * expected
    # every transaction at a terminal within radius 5 of its customer
    term = world.terminals.set_index("TERMINAL_ID")
    c = cust.set_index("CUSTOMER_ID").loc[tx["CUSTOMER_ID"]]
    t = term.loc[tx["TERMINAL_ID"]]
    dist = np.hypot(c["x"].to_numpy() - t["x"].to_numpy(), c["y"].to_numpy() - t["y"].to_numpy())
    assert dist.max() < 5
    secs = tx["TX_TIME_SECONDS"] - tx["TX_TIME_DAYS"] * 86_400
    assert secs.between(1, 86_399).all()


def test_fraud_only_where_planted_at_the_planned_rates(world):
    tx = world.transactions
    scen, fraud = tx["TX_FRAUD_SCENARIO"].to_numpy(), tx["TX_FRAUD"].to_numpy()
    assert ((scen > 0) == (fraud == 1)).all()
    assert tx.loc[fraud == 1, "TX_FRAUD_CONFIRMED_AT"].notna().all()
    assert tx.loc[fraud == 0, "TX_FRAUD_CONFIRMED_AT"].isna().all()
    lag = tx.loc[fraud == 1, "TX_FRAUD_CONFIRMED_AT"] - tx.loc[fraud == 1, "TX_DATETIME"]
    assert (lag == pd.Timedelta(days=7)).all()
    # compromised terminals: 2 draws a day, every transaction of the next 28 days is fraud
    plan = world.compromised_terminals
    assert len(plan) == 2 * SMALL["days"]
    assert plan.groupby("day")["TERMINAL_ID"].nunique().eq(2).all()
    day, term = tx["TX_TIME_DAYS"].to_numpy(), tx["TERMINAL_ID"].to_numpy()
    hit = np.zeros(len(tx), bool)
    for d, t in plan.itertuples(index=False):  # 90 draws: the reference check stays explicit
        hit |= (term == t) & (day >= d) & (day < d + 28)
    assert hit.sum() > 100 and (fraud[hit] == 1).all()
    assert ((scen == 2) == (hit & (scen != 3))).all()
    # compromised cards: a third (rounded down) of the card's transactions in each window
    cards = world.compromised_cards
    assert len(cards) == 3 * SMALL["days"]
    cust = tx["CUSTOMER_ID"].to_numpy()
    in_window = np.zeros(len(tx), bool)
    for d, c in cards.itertuples(index=False):
        rows = (cust == c) & (day >= d) & (day < d + 14)
        in_window |= rows
        assert (scen[rows] == 3).sum() >= rows.sum() // 3
    assert scen[~in_window].max() < 3 and (scen == 3).sum() < 0.5 * in_window.sum()
    assert (scen == 3).sum() > 0.25 * in_window.sum()
    # the amount rule: only where no later scenario relabelled the row
    large = tx["TX_AMOUNT"].to_numpy() > 220
    assert (large[scen == 1]).all() and (scen[large & ~hit & ~in_window] == 1).all()


def _fixture() -> pd.DataFrame:
    """Seven rows, deliberately not in time order; 2018-04-02 is a Monday."""
    rows = [  # id, time, customer, terminal, amount, fraud
        (0, "2018-04-02 10:00", 0, 0, 10.0, 1),
        (1, "2018-04-02 06:30", 0, 0, 20.0, 0),
        (2, "2018-04-03 10:00", 0, 1, 30.0, 0),  # exactly one day after row 0
        (3, "2018-04-09 10:00", 1, 0, 40.0, 0),  # exactly seven days after row 0
        (4, "2018-04-10 09:00", 1, 0, 50.0, 1),
        (5, "2018-04-10 12:00", 0, 0, 60.0, 0),
        (6, "2018-04-07 03:00", 1, 1, 70.0, 0),  # a Saturday night
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "TRANSACTION_ID",
            "TX_DATETIME",
            "CUSTOMER_ID",
            "TERMINAL_ID",
            "TX_AMOUNT",
            "TX_FRAUD",
        ],
    )
    return frame.assign(TX_DATETIME=pd.to_datetime(frame["TX_DATETIME"]))


def test_baseline_features_equal_a_hand_computed_fixture():
    f = baseline_features(_fixture()).set_index("TRANSACTION_ID")
    assert list(f.columns) == list(BASELINE_FEATURES) and list(f.index) == list(range(7))
    assert f["TX_DURING_WEEKEND"].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert f["TX_DURING_NIGHT"].tolist() == [0, 1, 0, 0, 0, 0, 1]  # hour <= 6
    # customer windows (t - w, t], the row itself in: a row exactly w days back is out
    expect = {  # id: (n1, avg1, n7, avg7, n30, avg30)
        0: (2, 15, 2, 15, 2, 15),
        1: (1, 20, 1, 20, 1, 20),
        2: (1, 30, 3, 20, 3, 20),
        3: (1, 40, 2, 55, 2, 55),
        4: (2, 45, 3, 160 / 3, 3, 160 / 3),
        5: (1, 60, 1, 60, 4, 30),
        6: (1, 70, 1, 70, 1, 70),
    }
    for i, values in expect.items():
        got = [
            f.loc[i, f"CUSTOMER_ID_{k}_{w}DAY_WINDOW"]
            for w in (1, 7, 30)
            for k in ("NB_TX", "AVG_AMOUNT")
        ]
        assert got == pytest.approx(values), i
    # terminal windows (t - 7 - w, t - 7]: a fraud exactly seven days back is in
    expect = {
        0: (0, 0, 0, 0, 0, 0),
        1: (0, 0, 0, 0, 0, 0),
        2: (0, 0, 0, 0, 0, 0),
        3: (2, 0.5, 2, 0.5, 2, 0.5),
        4: (1, 1.0, 2, 0.5, 2, 0.5),
        5: (0, 0.0, 2, 0.5, 2, 0.5),
        6: (0, 0, 0, 0, 0, 0),
    }
    for i, values in expect.items():
        got = [
            f.loc[i, f"TERMINAL_ID_{k}_{w}DAY_WINDOW"]
            for w in (1, 7, 30)
            for k in ("NB_TX", "RISK")
        ]
        assert got == pytest.approx(values), i
    with pytest.raises(InputError, match="TX_FRAUD"):
        baseline_features(_fixture().drop(columns="TX_FRAUD"))


def test_reference_split_removes_known_compromised_cards(world):
    frame = evaluation_frame(world.transactions)
    start = pd.Timestamp("2018-04-01") + pd.Timedelta(days=20)
    split = reference_split(frame, start)
    ts = frame["ts"]
    assert ts[split.train].min() >= start and ts[split.train].max() < start + pd.Timedelta(days=7)
    test_days = ts[split.test]
    assert test_days.min() >= start + pd.Timedelta(days=14)
    # the handbook's rule: a test row of day D is removed when its card had a fraud from
    # the training start to D - 8 (the training block, then the delay block day by day)
    day = world.transactions["TX_TIME_DAYS"].to_numpy()
    fraud = frame["is_fraud"].to_numpy() == 1
    first = (
        pd.Series(day[fraud & (day >= 20)])
        .groupby(frame.loc[fraud & (day >= 20), "card_id"].to_numpy())
        .min()
    )
    known = frame["card_id"].map(first).to_numpy()
    in_block = (day >= 34) & (day < 41)
    expected = in_block & ~(known <= day - 8)
    assert (split.test == expected).all() and 0 < (in_block & ~expected).sum() < in_block.sum()
    trained = set(frame.loc[split.train & fraud, "card_id"])
    assert trained and not trained & set(frame.loc[split.test, "card_id"])


def test_table_goes_through_the_column_mapping(world):
    tx = world.transactions[world.transactions["TX_TIME_DAYS"] < 20]
    frame = external_frame(tx, MAPPING)
    assert len(frame) == len(tx) and frame["is_fraud"].sum() == tx["TX_FRAUD"].sum()
    assert {"merchant_fraud_rate_30d", "cust_n_7d", "fraud_confirmed_at"} <= set(frame.columns)
