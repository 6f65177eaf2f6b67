"""Alert-budget metrics: what an investigation team that reviews ``k`` alerts a day sees.

- ``daily_alerts``: the top ``k`` transactions of each day by score (ties broken by row
  order, so results are deterministic); the alert policy the report uses.
- ``precision_at_k_daily``: per day, the share of fraud among the top ``k`` transactions.
- ``card_precision_at_k_daily``: per day, each card's (or customer's) maximum score and
  label; cards are ranked, the top ``k`` alerted; cards found fraudulent on earlier days
  are removed from later days (they are blocked); precision next to its ceiling, the
  share of the budget that fraudulent cards could fill that day.
  Precision divides by the alerts raised: ``k``, or fewer on a day with fewer cards.
- ``recall_at_budget`` and ``recall_by``: the share of fraudulent transactions alerted,
  overall and per group (fraud scenario, ring shape).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.evaluate.ranking import check_scores
from workbench.validation import InputError, check_int


def _days(day: np.ndarray | pd.Series, n: int) -> np.ndarray:
    """Day labels as datetime64[D] (timestamps are floored to their date)."""
    d = pd.to_datetime(pd.Series(np.asarray(day))).dt.floor("D").to_numpy()
    if len(d) != n:
        raise InputError("day", len(d), f"one day per row ({n})")
    return d


def rank_in_day(day: np.ndarray | pd.Series, s: np.ndarray) -> np.ndarray:
    """1-based rank of each row's score within its day (highest first, ties by row order)."""
    s = np.asarray(s, np.float64)
    d = _days(day, len(s))
    order = np.lexsort((np.arange(len(s)), -s, d))
    d_sorted = d[order]
    start = np.r_[True, d_sorted[1:] != d_sorted[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(s)), 0))
    ranks = np.empty(len(s), np.int64)
    ranks[order] = np.arange(len(s)) - group_start + 1
    return ranks


def daily_alerts(day: np.ndarray | pd.Series, s: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the top ``k`` transactions of each day."""
    k = check_int("k", k, 1)
    return rank_in_day(day, s) <= k


def precision_at_k_daily(
    day: np.ndarray | pd.Series, y: np.ndarray, s: np.ndarray, k: int = 100
) -> pd.DataFrame:
    """Per day: alerts (top ``k`` transactions), frauds among them, precision, and the
    ceiling (fraudulent transactions that day / alerts, at most 1)."""
    y, s = check_scores(y, s)
    alerts = daily_alerts(day, s, k)
    frame = pd.DataFrame(
        {"day": _days(day, len(s)), "alert": alerts, "hit": alerts & (y == 1), "fraud": y == 1}
    )
    per_day = frame.groupby("day").agg(
        alerts=("alert", "sum"), hits=("hit", "sum"), frauds=("fraud", "sum")
    )
    per_day["precision"] = per_day["hits"] / per_day["alerts"]
    per_day["ceiling"] = np.minimum(1.0, per_day["frauds"] / per_day["alerts"])
    return per_day.reset_index()


def card_precision_at_k_daily(
    day: np.ndarray | pd.Series,
    card: np.ndarray | pd.Series,
    y: np.ndarray,
    s: np.ndarray,
    k: int = 100,
) -> pd.DataFrame:
    """Per day: card-level alerts, hits, precision and ceiling, with cards detected as
    fraudulent on earlier days removed (see the module docstring)."""
    y, s = check_scores(y, s)
    k = check_int("k", k, 1)
    card = np.asarray(card)
    if card.shape != y.shape:
        raise InputError("card", card.shape, f"one card per row ({len(y)})")
    codes = pd.factorize(card)[0]  # integer card codes: any id type (strings included)
    per_card = (
        pd.DataFrame({"day": _days(day, len(s)), "card": codes, "y": y, "s": s})
        .groupby(["day", "card"], sort=True)
        .agg(s=("s", "max"), y=("y", "max"))
        .reset_index()
    )
    detected = np.array([], dtype=np.int64)
    rows = []
    for d, g in per_card.groupby("day", sort=True):
        g = g[~np.isin(g["card"].to_numpy(), detected)]
        top = g.sort_values("s", ascending=False, kind="mergesort").head(k)
        hits = top.loc[top["y"] == 1, "card"].to_numpy()
        detected = np.union1d(detected, hits)
        alerts, frauds = len(top), int(g["y"].sum())
        rows.append(
            {
                "day": d,
                "alerts": alerts,
                "hits": len(hits),
                "fraud_cards": frauds,
                "precision": len(hits) / alerts if alerts else np.nan,
                "ceiling": min(1.0, frauds / alerts) if alerts else np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["day", "alerts", "hits", "fraud_cards", "precision", "ceiling"]
    )


def recall_at_budget(y: np.ndarray, alerts: np.ndarray) -> float:
    """Share of fraudulent rows that were alerted (NaN without fraud)."""
    y, a = np.asarray(y), np.asarray(alerts, bool)
    if a.shape != y.shape:
        raise InputError("alerts", a.shape, f"one flag per row ({len(y)})")
    return float(a[y == 1].mean()) if (y == 1).any() else float("nan")


def recall_by(group: np.ndarray | pd.Series, y: np.ndarray, alerts: np.ndarray) -> pd.DataFrame:
    """Per group value among fraudulent rows: frauds, alerted, recall."""
    y, a, g = np.asarray(y), np.asarray(alerts, bool), np.asarray(group)
    if not (a.shape == y.shape == g.shape):
        raise InputError("group", g.shape, f"one group per row ({len(y)})")
    fraud = y == 1
    out = (
        pd.DataFrame({"group": g[fraud], "alerted": a[fraud]})
        .groupby("group")
        .agg(frauds=("alerted", "size"), alerted=("alerted", "sum"))
    )
    out["recall"] = out["alerted"] / out["frauds"]
    return out
