"""The customer study's record: every metric of the churn, segmentation, forecasting and
explanation studies in one JSON document (``reports/customers.json``), written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.customers.churn import ChurnStudy, campaign_curve
from workbench.customers.forecast import Forecast
from workbench.customers.segments import Segmentation
from workbench.io import write_json

__all__ = ["study_record", "write_study"]


def study_record(card: dict[str, Any], churn: ChurnStudy, control: ChurnStudy | None,
                 segmentation: Segmentation, forecast: Forecast,
                 importance: dict[str, dict[str, float]], horizon_days: int) -> dict[str, Any]:
    """The JSON-ready record of one customer study (provenance from the dataset card)."""
    best = churn.test["hgb"].to_numpy()
    curve = campaign_curve(churn.test["churned"].to_numpy(), best)
    peak = curve.loc[curve["net_value"].idxmax()]
    return {
        "dataset": {"name": card.get("name"), "content_hash": card.get("content_hash"),
                    "seed": card.get("seed"), "window": card.get("window")},
        "churn": {"horizon_days": horizon_days, "cutoffs": churn.cutoffs, "notes": churn.notes,
                  "metrics": churn.metrics.reset_index().to_dict(orient="records"),
                  "campaign_best": {k: float(v) for k, v in peak.items()}},
        "churn_drivers_off": (None if control is None else
                              control.metrics.reset_index().to_dict(orient="records")),
        "segmentation": {"chosen": segmentation.scores.reset_index().to_dict(orient="records"),
                         "search": segmentation.search.to_dict(orient="records")},
        "forecast": {"cutoffs": forecast.cuts,
                     "errors": forecast.errors.reset_index().to_dict(orient="records")},
        "importance_top": importance,
    }


def write_study(path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write the record to ``path`` (a temporary file renamed into place)."""
    return write_json(path, record)
