"""Outcomes after a cut-off, from the simulator's truth: churn within a horizon and spend in
the next days. They read only what happens after the cut (features read only before it)."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

from workbench.customers.features import as_dataset, check_cut
from workbench.dataset.reader import Dataset
from workbench.validation import check_int

__all__ = ["churn_outcome", "next_spend"]


def churn_outcome(data: str | os.PathLike | Dataset, cut: str | dt.datetime | pd.Timestamp,
                  horizon_days: int = 30) -> pd.DataFrame:
    """Per customer active at ``cut``: ``churned`` (leaves within ``horizon_days`` after it)
    and ``fading`` (had already decided to leave by the cut, so the wind-down is visible)."""
    horizon_days = check_int("horizon_days", horizon_days, 1, 3650)
    ds = as_dataset(data)
    ts = check_cut(ds, cut, horizon_days=horizon_days)
    c = ds.table("customers", ["customer_id", "signup_date", "churn_date", "churn_decided_at"])
    c = c[(c["signup_date"] < ts) & (c["churn_date"].isna() | (c["churn_date"] > ts))]
    end = ts + pd.Timedelta(days=horizon_days)
    out = pd.DataFrame({
        "churned": (c["churn_date"] <= end).fillna(False).astype(int).to_numpy(),
        "fading": (c["churn_decided_at"] <= ts).fillna(False).astype(bool).to_numpy(),
    }, index=pd.Index(c["customer_id"].to_numpy(), name="customer_id"))
    return out.sort_index()


def next_spend(data: str | os.PathLike | Dataset, cut: str | dt.datetime | pd.Timestamp,
               days: int = 30) -> pd.Series:
    """Each customer's approved purchase spend in the ``days`` after ``cut`` (0 if none)."""
    days = check_int("days", days, 1, 3650)
    ds = as_dataset(data)
    ts = check_cut(ds, cut, horizon_days=days)
    sql = f"""SELECT customer_id, sum(amount) AS spend FROM transactions
              WHERE txn_type = 'purchase' AND status = 'approved'
                AND timestamp >= TIMESTAMP '{ts}' AND timestamp < TIMESTAMP '{ts}' + INTERVAL
                {days} DAY GROUP BY customer_id"""
    con = ds.connect()
    try:
        spend = con.execute(sql).df().set_index("customer_id")["spend"]
    finally:
        con.close()
    return spend.rename("next_spend")
