"""The evaluation tables as a reader sees them: a few columns each, intervals next to their
estimate, shares as percentages and money without decimals (the notebooks and reports
display these; the full-precision tables stay in metrics.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _missing(value: float | None) -> bool:
    return value is None or not np.isfinite(float(value))


def _num(value: float, digits: int = 3) -> str:
    return "–" if _missing(value) else f"{float(value):.{digits}f}"


def _interval(table: pd.DataFrame, column: str, low: str, high: str) -> pd.Series:
    return pd.Series(
        [
            f"{_num(v)} [{_num(lo)}, {_num(hi)}]"
            for v, lo, hi in zip(table[column], table[low], table[high])
        ],
        index=table.index,
    )


def _money(value: float) -> str:
    return "–" if _missing(value) else f"{float(value):,.0f}"


def _share(value: float) -> str:
    return "–" if _missing(value) else f"{float(value):.0%}"


def ranking_view(table: pd.DataFrame) -> pd.DataFrame:
    """Threshold-free ranking per model: ROC AUC and average precision with their 95%
    bootstrap intervals, recall at the fixed false-positive rate, and the Brier score."""
    return pd.DataFrame(
        {
            "average precision [95% CI]": _interval(
                table, "average_precision", "ap_low", "ap_high"
            ),
            "ROC AUC [95% CI]": _interval(table, "roc_auc", "roc_auc_low", "roc_auc_high"),
            "recall at the FPR": table["recall_at_fpr"].map(_num),
            "Brier score": table["brier"].map(lambda v: _num(v, 4)),
        }
    ).rename_axis("model")


def budget_view(table: pd.DataFrame, k: int) -> pd.DataFrame:
    """What the alert budget buys per model: card precision@k against its ceiling,
    transaction precision and recall at the budget, episodes detected, median delay and
    savings (money, no decimals)."""
    return pd.DataFrame(
        {
            f"card precision@{k}": table["card_precision_at_k"].map(_num),
            "ceiling": table["card_precision_ceiling"].map(_num),
            f"precision@{k}": table["precision_at_k"].map(_num),
            "recall at the budget": table["recall_at_budget"].map(_share),
            "episodes detected": table["detected_share"].map(_share),
            "median delay (h)": table["median_delay_hours"].map(lambda v: _num(v, 1)),
            "savings": table["savings"].map(_money),
        }
    ).rename_axis("model")


def prequential_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The prequential summary (a (metric, mean/std) column index) as "mean ± std" for the
    main metrics; savings in money without decimals."""
    metrics = {
        "average_precision": "average precision",
        "roc_auc": "ROC AUC",
        "card_precision_at_k": "card precision@k",
        "recall_at_budget": "recall at the budget",
        "savings": "savings",
    }
    out = {}
    for metric, label in metrics.items():
        if metric not in summary.columns.get_level_values(0):
            continue
        mean, std = summary[(metric, "mean")].astype(float), summary[(metric, "std")].astype(float)
        fmt = _money if metric == "savings" else _num
        out[label] = [f"{fmt(m)} ± {fmt(s)}" for m, s in zip(mean, std)]
    return pd.DataFrame(out, index=summary.index).rename_axis("model")
