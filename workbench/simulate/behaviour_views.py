"""Views of a generated dataset for the tutorial notebook and the tests, computed in DuckDB.

Each function returns a small pandas frame: the observed profile next to what the market
and behaviour profiles say it should be, so notebooks can plot both and assert on them.
Profiles describe legitimate behaviour, so fraudulent rows are left out of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.dataset.reader import Dataset
from workbench.simulate.profiles import load_behaviour, load_market

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hourly_profile(ds: Dataset) -> pd.DataFrame:
    """Share of purchases per hour of day and occupation: observed vs the occupation profile."""
    with ds.connect() as con:
        obs = con.execute("""
            SELECT c.occupation, hour(t.timestamp) AS hour, count(*) AS n
            FROM transactions t JOIN customers c USING (customer_id)
            WHERE t.txn_type = 'purchase' AND NOT t.is_fraud GROUP BY ALL""").df()
    beh = load_behaviour(ds.card["config"].get("behaviour"))
    grid = pd.MultiIndex.from_product(
        [list(beh.occupations), range(24)], names=["occupation", "hour"]
    ).to_frame(index=False)
    out = grid.merge(obs, how="left", on=["occupation", "hour"]).fillna({"n": 0})
    out["observed"] = out["n"] / out.groupby("occupation")["n"].transform("sum").replace(0, np.nan)
    out["expected"] = [
        beh.occupations[o][h] / beh.occupations[o].sum()
        for o, h in zip(out["occupation"], out["hour"])
    ]
    return out[out.groupby("occupation")["n"].transform("sum") > 0].reset_index(drop=True)


def weekday_profile(ds: Dataset) -> pd.DataFrame:
    """Purchases per calendar day by weekday, observed vs the population's weekday multipliers."""
    with ds.connect() as con:
        obs = con.sql("""
            SELECT isodow(timestamp) - 1 AS weekday, count(*) AS n,
                   count(DISTINCT CAST(timestamp AS DATE)) AS days
            FROM transactions WHERE txn_type = 'purchase' AND NOT is_fraud
            GROUP BY 1 ORDER BY 1""").df()
        seg = con.sql("SELECT segment, count(*) AS n FROM customers GROUP BY 1").df()
    beh = load_behaviour(ds.card["config"].get("behaviour"))
    mult = {s.name: s.weekday for s in beh.segments}
    expected = sum(mult[r.segment] * r.n for r in seg.itertuples()) / seg["n"].sum()
    obs["per_day"] = obs["n"] / obs["days"]
    obs["observed"] = obs["per_day"] / obs["per_day"].mean()
    obs["expected"] = (
        expected[obs["weekday"].to_numpy()] / expected[obs["weekday"].to_numpy()].mean()
    )
    obs["day"] = [WEEKDAYS[d] for d in obs["weekday"]]
    return obs


def payment_mix(ds: Dataset) -> pd.DataFrame:
    """Payment-mode shares of purchases per amount band and channel.

    Observed shares are for customers who hold a credit card (others pay by debit card
    instead), expected ones are the market profile's mix under the customers' savviness."""
    market = load_market(ds.card["market"])
    edges = [0.0, *market.amount_bands.tolist(), float("inf")]
    cases = " ".join(f"WHEN t.amount < {e} THEN {i}" for i, e in enumerate(edges[1:-1]))
    with ds.connect() as con:
        obs = con.sql(f"""
            WITH holders AS (SELECT DISTINCT customer_id FROM accounts
                             WHERE account_type = 'credit')
            SELECT t.channel, c.digital_savviness AS savviness,
                   (CASE {cases} ELSE {len(edges) - 2} END) AS band,
                   t.payment_mode, count(*) AS n
            FROM transactions t JOIN customers c USING (customer_id)
            WHERE t.txn_type = 'purchase' AND NOT t.is_fraud
              AND t.customer_id IN (SELECT customer_id FROM holders)
              AND t.channel IN ('pos', 'online', 'mobile') GROUP BY ALL""").df()
    rows = []
    for (ch, band), grp in obs.groupby(["channel", "band"]):
        total = grp["n"].sum()
        mix_by_sav = grp.groupby("savviness")["n"].sum() / total
        expected = np.zeros(len(market.modes))
        for sav, share in mix_by_sav.items():
            w = market.mode_mix[ch][:, band] * market.savviness_mode[sav]
            expected += share * w / w.sum()
        observed = (
            grp.groupby("payment_mode")["n"].sum().reindex(market.modes, fill_value=0) / total
        )
        for m, e in zip(market.modes, expected):
            rows.append(
                {
                    "channel": ch,
                    "band": int(band),
                    "band_label": _band_label(edges, int(band)),
                    "payment_mode": m,
                    "observed": observed[m],
                    "expected": e,
                    "n": int(total),
                }
            )
    return pd.DataFrame(rows)


def _band_label(edges: list[float], band: int) -> str:
    lo, hi = edges[band], edges[band + 1]
    return f">= {lo:,.0f}" if hi == float("inf") else f"{lo:,.0f}-{hi:,.0f}"


def total_variation(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> float:
    """Total variation distance between two distributions (0 = identical, 1 = disjoint)."""
    return float(0.5 * np.abs(np.asarray(a, float) - np.asarray(b, float)).sum())


def balance_breaks(ds: Dataset) -> int:
    """Rows whose balance does not follow from the account's previous row (or opening balance)
    and its own amount."""
    with ds.connect() as con:
        return int(
            con.sql("""
            WITH t AS (
              SELECT tx.*, coalesce(lag(balance_after) OVER (PARTITION BY account_id
                                                             ORDER BY timestamp, txn_id),
                                    a.opening_balance) AS prev_after
              FROM transactions tx JOIN accounts a USING (account_id))
            SELECT count(*) FROM t WHERE
              abs(balance_before - prev_after) > 0.005
              OR abs(balance_after - (balance_before + CASE WHEN status = 'declined' THEN 0
                                                          WHEN is_credit THEN amount
                                                          ELSE -amount END)) > 0.005
            """).fetchall()[0][0]
        )


def customer_timeline(ds: Dataset, customer_id: int | None = None) -> pd.DataFrame:
    """One customer's transactions in time order (the most active one by default)."""
    with ds.connect() as con:
        if customer_id is None:
            customer_id = con.execute(
                "SELECT customer_id FROM transactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            ).fetchall()[0][0]
        return con.execute(
            """SELECT t.*, a.account_type FROM transactions t JOIN accounts a USING (account_id)
                              WHERE t.customer_id = ? ORDER BY timestamp, txn_id""",
            [int(customer_id)],
        ).df()
