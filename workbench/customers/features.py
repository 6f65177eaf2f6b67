"""Customer features as of a cut-off time, computed in DuckDB (one query per table).

Point in time: a feature reads only transactions, events and labels strictly before the
cut, and only customers who had signed up and not yet left by then get a row. Confirmed
fraud counts only when the bank had confirmed it before the cut.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd

from workbench.customers.catalogue import (IDENTITY_EVENTS, MIX_WINDOW, WINDOWS,
                                           customer_catalogue)
from workbench.dataset.reader import Dataset, open_dataset
from workbench.simulate.intents import CHANNELS
from workbench.simulate.profiles import load_market
from workbench.validation import InputError

__all__ = ["as_dataset", "check_cut", "customer_features", "usable_horizon", "window_of"]


def as_dataset(data: str | os.PathLike | Dataset) -> Dataset:
    """A dataset from a path or an opened one."""
    return data if isinstance(data, Dataset) else open_dataset(data)


def window_of(ds: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the dataset's simulated window."""
    start, end = ds.card["window"]
    return pd.Timestamp(start), pd.Timestamp(end)


def usable_horizon(data: str | os.PathLike | Dataset, wanted: int, spans: int = 2,
                   min_history_days: int = 10) -> tuple[int, str | None]:
    """The longest horizon up to ``wanted`` days that fits ``spans`` horizons after
    ``min_history_days`` of history in the dataset's window, and a note when it had to be
    shortened (None otherwise)."""
    from workbench.validation import check_int

    wanted = check_int("horizon_days", wanted, 1, 3650)
    start, end = window_of(as_dataset(data))
    days = (end - start).days
    fits = (days - min_history_days) // spans
    if fits < 1:
        raise InputError("horizon_days", wanted, f"a window longer than {min_history_days} "
                                                 f"days (this one has {days})")
    if wanted <= fits:
        return wanted, None
    return fits, (f"horizon shortened from {wanted} to {fits} days: {spans} horizons after "
                  f"{min_history_days} days of history fit in the {days}-day window")


def check_cut(ds: Dataset, cut: str | dt.datetime | pd.Timestamp, param: str = "cut",
              horizon_days: int = 0) -> pd.Timestamp:
    """The cut-off as a timestamp, checked to lie inside the window with room for a
    ``horizon_days`` outcome after it."""
    start, end = window_of(ds)
    try:
        ts = pd.Timestamp(cut)
    except (TypeError, ValueError):
        raise InputError(param, cut, "a date or timestamp") from None
    last = end - pd.Timedelta(days=horizon_days)
    if not start < ts <= last:
        raise InputError(param, cut, f"a time after {start.date()} and at most {last} "
                                     f"(the window minus a {horizon_days}-day outcome)")
    return ts


def _windowed_sql(cut: str) -> str:
    cols = []
    for w in WINDOWS:
        inside = f"purchase AND timestamp >= TIMESTAMP '{cut}' - INTERVAL {w} DAY"
        cols += [f"count(*) FILTER ({inside}) AS purchases_{w}d",
                 f"coalesce(sum(amount) FILTER ({inside}), 0) AS spend_{w}d",
                 f"coalesce(avg(amount) FILTER ({inside}), 0) AS avg_amount_{w}d",
                 f"count(DISTINCT date_trunc('day', timestamp)) FILTER ({inside}) "
                 f"AS active_days_{w}d"]
    return ",\n".join(cols)


def _transaction_sql(cut: str, categories: list[str], modes: list[str]) -> str:
    mix = f"purchase AND timestamp >= TIMESTAMP '{cut}' - INTERVAL {MIX_WINDOW} DAY"
    d30 = f"timestamp >= TIMESTAMP '{cut}' - INTERVAL 30 DAY"
    d90 = f"timestamp >= TIMESTAMP '{cut}' - INTERVAL 90 DAY"
    shares = [f"count(*) FILTER ({mix} AND channel = '{c}') / greatest(count(*) FILTER "
              f"({mix}), 1) AS channel_share_{c}" for c in CHANNELS if c != "bank"]
    shares += [f"coalesce(sum(amount) FILTER ({mix} AND category = '{k}'), 0) / "
               f"greatest(coalesce(sum(amount) FILTER ({mix}), 0), 0.01) AS category_share_{k}"
               for k in categories]
    shares += [f"count(*) FILTER ({mix} AND payment_mode = '{m}') / greatest(count(*) FILTER "
               f"({mix}), 1) AS mode_share_{m}" for m in modes]
    share_sql = ",\n      ".join(shares)
    return f"""
    WITH t AS (
      SELECT customer_id, timestamp, amount, channel, category, payment_mode, txn_type, status,
             status = 'approved' AND txn_type = 'purchase' AS purchase,
             status = 'declined' AND decline_reason IN ('technical', 'card_verification') AS bank,
             status = 'declined' AND decline_reason = 'insufficient_funds' AS funds,
             NOT is_credit AS debit, status = 'declined' AS declined
      FROM transactions WHERE timestamp < TIMESTAMP '{cut}')
    SELECT customer_id,
      {_windowed_sql(cut)},
      date_diff('second', max(timestamp) FILTER (purchase), TIMESTAMP '{cut}') / 86400.0
        AS recency_days,
      count(*) FILTER (bank AND {d30}) AS declines_bank_30d,
      count(*) FILTER (bank AND {d90}) AS declines_bank_90d,
      count(*) FILTER (funds AND {d30}) AS declines_funds_30d,
      count(*) FILTER (funds AND {d90}) AS declines_funds_90d,
      count(*) FILTER (declined AND {d90}) / greatest(count(*) FILTER (debit AND {d90}), 1)
        AS decline_rate_90d,
      count(*) FILTER (txn_type IN ('refund', 'chargeback') AND status = 'approved' AND {d90})
        AS refunds_90d,
      count(*) FILTER (txn_type = 'salary' AND {d30}) AS salary_30d,
      count(*) FILTER (txn_type = 'p2p_out' AND status = 'approved' AND {d30}) AS p2p_out_30d,
      {share_sql}
    FROM t GROUP BY customer_id"""


def _balance_sql(cut: str) -> str:
    return f"""
    WITH d AS (
      SELECT t.customer_id, t.account_id, t.timestamp, t.balance_after
      FROM transactions t JOIN accounts a USING (account_id)
      WHERE a.account_type = 'debit' AND t.timestamp < TIMESTAMP '{cut}'),
    last AS (SELECT customer_id, sum(bal) AS balance_last FROM (
               SELECT customer_id, arg_max(balance_after, timestamp) AS bal
               FROM d GROUP BY customer_id, account_id) GROUP BY customer_id),
    recent AS (SELECT customer_id, avg(balance_after) AS balance_mean_30d,
                 coalesce(stddev_pop(balance_after), 0) AS balance_std_30d
               FROM d WHERE timestamp >= TIMESTAMP '{cut}' - INTERVAL 30 DAY
               GROUP BY customer_id)
    SELECT * FROM last LEFT JOIN recent USING (customer_id)"""


def _event_sql(cut: str) -> str:
    d90 = f"timestamp >= TIMESTAMP '{cut}' - INTERVAL 90 DAY"
    ident = ", ".join(f"count(*) FILTER (event_type = '{e}' AND {d90}) AS {e}_90d"
                       for e in IDENTITY_EVENTS)
    return f"""
    SELECT customer_id, {ident},
      count(*) FILTER (event_type = 'login' AND timestamp >= TIMESTAMP '{cut}' - INTERVAL 30 DAY)
        AS logins_30d,
      count(*) FILTER (event_type = 'login' AND {d90}) AS logins_90d,
      date_diff('second', max(timestamp) FILTER (event_type = 'login'), TIMESTAMP '{cut}')
        / 86400.0 AS login_recency_days
    FROM events WHERE timestamp < TIMESTAMP '{cut}' GROUP BY customer_id"""


def _customer_sql(cut: str) -> str:
    return f"""
    SELECT c.customer_id, c.age, c.monthly_income,
      date_diff('second', c.signup_date, TIMESTAMP '{cut}') / 86400.0 AS tenure_days,
      count(a.account_id) AS accounts,
      max(CASE WHEN a.account_type = 'credit' THEN 1 ELSE 0 END) AS has_credit_card
    FROM customers c LEFT JOIN accounts a
      ON a.customer_id = c.customer_id AND a.opened_at < TIMESTAMP '{cut}'
    WHERE c.signup_date < TIMESTAMP '{cut}'
      AND (c.churn_date IS NULL OR c.churn_date > TIMESTAMP '{cut}')
    GROUP BY ALL"""


def _fraud_sql(cut: str) -> str:
    # what the bank knew at the cut: frauds it had confirmed by then
    return f"""
    SELECT t.customer_id, count(*) AS fraud_confirmed,
      date_diff('second', min(l.fraud_confirmed_at), TIMESTAMP '{cut}') / 86400.0
        AS fraud_days_since
    FROM labels l JOIN transactions t USING (txn_id)
    WHERE l.fraud_confirmed_at < TIMESTAMP '{cut}' AND t.timestamp < TIMESTAMP '{cut}'
    GROUP BY t.customer_id"""


def customer_features(data: str | os.PathLike | Dataset,
                      cut: str | dt.datetime | pd.Timestamp) -> pd.DataFrame:
    """One row per customer active at ``cut`` (signed up before it, not yet left), indexed by
    ``customer_id``, with every feature of :func:`customer_catalogue` as of ``cut``."""
    ds = as_dataset(data)
    ts = check_cut(ds, cut)
    cut_s = ts.strftime("%Y-%m-%d %H:%M:%S")
    start, _ = window_of(ds)
    history = (ts - start).total_seconds() / 86400.0
    profile = load_market(ds.card["market"])
    categories = [k.name for k in profile.categories]
    con = ds.connect()
    try:
        base = con.execute(_customer_sql(cut_s)).df().set_index("customer_id")
        parts = [con.execute(sql).df().set_index("customer_id") for sql in (
            _transaction_sql(cut_s, categories, list(profile.modes)), _balance_sql(cut_s),
            _event_sql(cut_s), _fraud_sql(cut_s))]
    finally:
        con.close()
    out = base.join(parts, how="left")
    out["recency_days"] = out["recency_days"].fillna(history)
    out["login_recency_days"] = out["login_recency_days"].fillna(history)
    out["fraud_days_since"] = out["fraud_days_since"].fillna(-1.0)
    out = out.fillna({c: 0.0 for c in out.columns})
    months = min(history, 90.0) / 30.0  # the 90-day window holds less before 90 days of history
    out["spend_trend"] = out["spend_30d"] / np.maximum(out["spend_90d"] / months, 1.0)
    out["purchase_trend"] = out["purchases_30d"] / np.maximum(out["purchases_90d"] / months, 1.0)
    out["spend_7d_vs_30d"] = out["spend_7d"] / np.maximum(out["spend_30d"] / 4.0, 1.0)
    out["logins_trend"] = out["logins_30d"] / np.maximum(out["logins_90d"] / months, 1.0)
    names = [f.name for f in customer_catalogue(ds.card["market"])]
    return out[names].astype(float).sort_index()
