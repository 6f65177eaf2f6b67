"""Detection delay per fraud episode: time, fraudulent transactions and money lost from the
episode's first fraudulent transaction to its first alert.

An episode is detected at the first of its own fraudulent transactions that was alerted;
the money lost before detection is what its earlier fraudulent transactions moved
(``loss``: the amount of approved rows; declined rows lose nothing). The alerted
transaction itself is counted as stopped. Only episodes that *start* inside the evaluated
rows count (``episode_start`` at or after the first evaluated row): an episode that began
before the window would be measured from the middle. Undetected episodes have no delay
(NaN) and lose everything they moved in the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.validation import InputError

COLUMNS = ("ts", "fraud_episode_id", "is_fraud", "loss", "episode_start")


def detection_delay(
    rows: pd.DataFrame, alerts: np.ndarray, scenario: str = "fraud_type"
) -> pd.DataFrame:
    """One row per episode starting in ``rows``: scenario, start, first_alert, detected,
    delay_hours, frauds_before, loss_before, frauds, loss (see the module docstring).
    ``rows`` needs the columns ts, fraud_episode_id, is_fraud, loss and episode_start."""
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise InputError("rows", missing, "a frame with the columns " + ", ".join(COLUMNS))
    alerts = np.asarray(alerts, bool)
    if alerts.shape != (len(rows),):
        raise InputError("alerts", alerts.shape, f"one flag per row ({len(rows)})")
    window_start = rows["ts"].min()
    keep = (
        (rows["is_fraud"].to_numpy() == 1)
        & (rows["fraud_episode_id"].to_numpy() >= 0)
        & (rows["episode_start"] >= window_start).to_numpy()
    )
    cols = ["ts", "fraud_episode_id", "loss", "episode_start"] + (
        [scenario] if scenario in rows.columns else []
    )
    f = rows.loc[keep, cols].assign(alert=alerts[keep], order=np.flatnonzero(keep))
    f = f.sort_values(["fraud_episode_id", "ts", "order"], kind="mergesort")
    g = f.groupby("fraud_episode_id", sort=True)
    f["before"] = g.cumcount()
    f["loss_before"] = g["loss"].cumsum() - f["loss"]
    first = f[f["alert"]].groupby("fraud_episode_id").first()
    out = pd.DataFrame(
        {"start": g["episode_start"].first(), "frauds": g.size(), "loss": g["loss"].sum()}
    )
    if scenario in f.columns:
        out.insert(0, "scenario", g[scenario].first())
    out["first_alert"] = first["ts"].reindex(out.index)
    out["detected"] = out["first_alert"].notna()
    out["delay_hours"] = (out["first_alert"] - out["start"]).dt.total_seconds() / 3600
    out["frauds_before"] = (
        first["before"].reindex(out.index).fillna(out["frauds"]).astype(np.int64)
    )
    out["loss_before"] = first["loss_before"].reindex(out.index).fillna(out["loss"])
    return out.reset_index().rename(columns={"fraud_episode_id": "episode"})


def delay_summary(delays: pd.DataFrame) -> dict[str, float]:
    """Episodes, share detected, median and 90th-percentile delay (hours) of detected
    episodes, mean fraudulent transactions before detection, and the total and share of the
    episodes' money lost before detection."""
    n = len(delays)
    det = delays[delays["detected"]]
    total = float(delays["loss"].sum()) if n else 0.0
    lost = float(delays["loss_before"].sum()) if n else 0.0
    return {
        "episodes": n,
        "detected_share": float(delays["detected"].mean()) if n else float("nan"),
        "median_delay_hours": float(det["delay_hours"].median()) if len(det) else float("nan"),
        "p90_delay_hours": float(det["delay_hours"].quantile(0.9)) if len(det) else float("nan"),
        "mean_frauds_before": float(delays["frauds_before"].mean()) if n else float("nan"),
        "loss_before": lost,
        "loss_before_share": lost / total if total > 0 else float("nan"),
    }
