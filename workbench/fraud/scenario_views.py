"""Views of a dataset's fraud for the scenario notebook and its assertions (DuckDB)."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from workbench.dataset.reader import Dataset
from workbench.fraud.mix import load_mix
from workbench.fraud.scenarios import SCENARIOS

RING_SIGNATURES = {
    "device_sharing": "More than five customers on one device within seven days, buying online.",
    "ip_recycling": (
        "Ten or more customers through the same one or two VPN exits within two weeks."
    ),
    "kiting": (
        "Money moving around a cycle of dedicated accounts, each passing on what it received."
    ),
    "mule_network": (
        "Stolen funds from other banks fanning into mules and out to cash-out (three shapes)."
    ),
    "synthetic_identity_ring": (
        "Identities sharing phone, address and device that bust out together."
    ),
}


def signature(fraud_type: str) -> str:
    """The evidence a scenario or ring shape leaves, from its docstring."""
    if fraud_type in SCENARIOS:
        doc = inspect.getdoc(SCENARIOS[fraud_type]) or ""
        return " ".join(doc.split()).removeprefix("Signature: ")
    return RING_SIGNATURES.get(fraud_type, "")


def scenario_summary(ds: Dataset) -> pd.DataFrame:
    """Per fraud type: episodes, fraudulent transactions and events, money moved, and how
    many episodes were still unconfirmed when the data ends."""
    with ds.connect() as con:
        return con.sql("""
            SELECT fraud_type, count(*) AS episodes, sum(n_transactions) AS transactions,
                   sum(n_events) AS events,
                   round(sum(amount), 2) AS amount,
                   avg(CASE WHEN confirmed_by_end THEN 0 ELSE 1 END) AS unlabelled_share,
                   count(DISTINCT ring_id) FILTER (WHERE ring_id >= 0) AS rings
            FROM episodes GROUP BY 1 ORDER BY episodes DESC""").df()


def label_delays(ds: Dataset) -> pd.DataFrame:
    """Per episode: its delay to confirmation in days (NaN when never confirmed)."""
    with ds.connect() as con:
        return con.sql("""
            SELECT episode_id, fraud_type,
                   epoch(fraud_confirmed_at - last_fraud_at) / 86400.0 AS delay_days,
                   confirmed_by_end
            FROM episodes""").df()


def delay_pdf(ds: Dataset, days: np.ndarray) -> np.ndarray:
    """The configured log-normal delay density at ``days`` (for plotting against the data)."""
    cfg = ds.card["config"]
    delay = load_mix(cfg["scenarios"], cfg["fraud_rate"]).label_delay
    x = np.asarray(days, float)
    return np.exp(-((np.log(x) - delay.mu) ** 2) / (2 * delay.sigma**2)) / (
        x * delay.sigma * np.sqrt(2 * np.pi)
    )


def episode_timeline(
    ds: Dataset, episode_id: int, pad_days: float = 10.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The episode's customer's transactions and account events from ``pad_days`` before
    its first fraudulent row to ``pad_days`` after its last."""
    with ds.connect() as con:
        ep = con.execute(
            "SELECT customer_id, first_fraud_at, last_fraud_at FROM episodes WHERE episode_id = ?",
            [int(episode_id)],
        ).df()
        if ep.empty:
            raise ValueError(
                f"invalid episode_id={episode_id!r}: allowed is an episode of this dataset"
            )
        cust, lo, hi = (
            int(ep["customer_id"].iloc[0]),
            ep["first_fraud_at"].iloc[0],
            ep["last_fraud_at"].iloc[0],
        )
        lo, hi = lo - pd.Timedelta(days=pad_days), hi + pd.Timedelta(days=pad_days)
        tx = con.execute(
            """SELECT timestamp, txn_type, amount, status, decline_reason, channel, city,
                      merchant_id, is_fraud, fraud_episode_id = ? AS in_episode, balance_after
               FROM transactions WHERE customer_id = ? AND timestamp BETWEEN ? AND ?
               ORDER BY timestamp""",
            [int(episode_id), cust, lo, hi],
        ).df()
        ev = con.execute(
            """SELECT timestamp, event_type, is_fraud, fraud_episode_id = ? AS in_episode
               FROM events
               WHERE customer_id = ? AND timestamp BETWEEN ? AND ? AND event_type <> 'login'
               ORDER BY timestamp""",
            [int(episode_id), cust, lo, hi],
        ).df()
    return tx, ev


def example_episodes(ds: Dataset) -> pd.DataFrame:
    """One typical episode per fraud type (the one with the median number of rows)."""
    with ds.connect() as con:
        return con.sql("""
            SELECT fraud_type,
                   arg_min(episode_id, abs(n_transactions + n_events - med)) AS episode_id
            FROM (SELECT *, median(n_transactions + n_events) OVER (PARTITION BY fraud_type) AS med
                  FROM episodes)
            GROUP BY 1 ORDER BY 1""").df()
