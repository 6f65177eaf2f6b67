"""What the evaluation report says, computed from its numbers: the written conclusion and
the machine-readable ``metrics.json`` document. No figure in the conclusion is typed by
hand; every sentence is chosen by comparing the measured values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from workbench.evaluate.protocol import EvaluationConfig, ModelEvaluation
from workbench.validation import InputError


def _overlap(a: pd.Series, b: pd.Series) -> bool:
    return not (a["ap_low"] > b["ap_high"] or b["ap_low"] > a["ap_high"])


def conclusion(table: pd.DataFrame, config: EvaluationConfig, prequential_summary: pd.DataFrame | None = None) -> str:
    """The report's conclusion as Markdown, from the comparison table (best card
    precision@k first, see :func:`workbench.evaluate.protocol.comparison_table`) and
    optionally the prequential summary."""
    if table.empty:
        raise InputError("table", "empty", "a comparison table with at least one model")
    best_name, best = table.index[0], table.iloc[0]
    pct = config.level * 100
    parts = [f"**{best_name}** ranks first by card precision@{config.k}: on an average test day "
             f"{best['card_precision_at_k']:.2f} of its {config.k} card alerts are compromised cards, "
             f"against a ceiling of {best['card_precision_ceiling']:.2f} (the share of the budget that "
             f"compromised cards could fill)" + (f"; next is **{table.index[1]}** with {table.iloc[1]['card_precision_at_k']:.2f}."
                                                  if len(table) > 1 else ".")]
    by_ap = table.sort_values("average_precision", ascending=False)
    top_name, top = by_ap.index[0], by_ap.iloc[0]
    ap_text = (f"By average precision (the whole ranking, not only each day's top {config.k}) **{top_name}** leads with "
               f"{top['average_precision']:.3f} ({pct:.0f}% interval {top['ap_low']:.3f}–{top['ap_high']:.3f})")
    if len(table) > 1:
        second_name, second = by_ap.index[1], by_ap.iloc[1]
        verdict = ("overlap, so this test window does not separate them" if _overlap(top, second)
                   else "do not overlap: the difference is larger than the test window's sampling noise")
        ap_text += (f"; next is **{second_name}** with {second['average_precision']:.3f} "
                    f"({second['ap_low']:.3f}–{second['ap_high']:.3f}). The intervals {verdict}.")
        if top_name != best_name:
            ap_text += " The two rankings disagree: which model is better depends on whether the team works a fixed daily budget."
        parts.append(ap_text)
        parts.append(f"The weakest ranking is **{by_ap.index[-1]}** (AP {by_ap.iloc[-1]['average_precision']:.3f}).")
    else:
        parts.append(ap_text + ".")
    if best["episodes"] > 0 and not math.isnan(best["detected_share"]):
        delay = (f"a median delay of {best['median_delay_hours']:.1f} hours from the first fraudulent transaction"
                 if best["detected_share"] > 0 else "no episode detected")
        parts.append(f"At a budget of {config.k} alerts a day it detects {best['detected_share']:.0%} of the "
                     f"{int(best['episodes'])} episodes that start in the test window, with {delay}; "
                     f"{best['loss_before_share']:.0%} of those episodes' money moved before their first alert.")
        fastest = table.loc[table["detected_share"] > 0, "median_delay_hours"]
        if len(fastest) > 1 and fastest.idxmin() != best_name:
            parts.append(f"**{fastest.idxmin()}** detects fastest (median {fastest.min():.1f} hours).")
    saver = table["savings"].idxmax()
    s = table.loc[saver]
    if s["savings"] > 0:
        parts.append(f"At {config.fee:,.0f} per investigated alert, **{saver}** saves the most: "
                     f"{s['savings']:,.0f} against running no model ({s['savings'] / s['no_model_cost']:.0%} of the fraud losses).")
    else:
        parts.append(f"At {config.fee:,.0f} per investigated alert no model saves money at this budget: "
                     f"the fees outweigh the fraud caught (best: **{saver}**, {s['savings']:,.0f}).")
    if prequential_summary is not None and not prequential_summary.empty:
        ap = prequential_summary["average_precision"]
        top = ap["mean"].idxmax()
        spread = ", ".join(f"{m} {ap.loc[m, 'mean']:.3f} ± {ap.loc[m, 'std']:.3f}" for m in ap.index)
        parts.append(f"Prequential validation (mean ± standard deviation of AP over folds): {spread}; "
                     f"**{top}** is best on average.")
    return "\n\n".join(parts)


def metrics_document(table: pd.DataFrame, evaluations: Mapping[str, ModelEvaluation], config: EvaluationConfig,
                     parameters: Mapping[str, Any], text: str, prequential: pd.DataFrame | None = None) -> dict[str, Any]:
    """The content of ``reports/metrics.json``: parameters, the evaluation config, every
    model's metrics, per-scenario and per-ring-shape recall at the budget, daily card
    precision, prequential folds and the conclusion."""
    doc: dict[str, Any] = {
        "parameters": dict(parameters),
        "config": {f: getattr(config, f) for f in config.__dataclass_fields__},
        "models": {m: {k: _num(v) for k, v in row.items()} for m, row in table.to_dict("index").items()},
        "recall_by_scenario": {m: e.by_scenario["recall"].round(6).to_dict() for m, e in evaluations.items()},
        "recall_by_ring_shape": {m: e.by_ring["recall"].drop("none", errors="ignore").round(6).to_dict() for m, e in evaluations.items()},
        "card_precision_by_day": {m: {str(d.date()): _num(p) for d, p in zip(e.card_daily["day"], e.card_daily["precision"])}
                                  for m, e in evaluations.items()},
        "conclusion": text,
    }
    if prequential is not None:
        doc["prequential"] = [{k: _num(v) for k, v in r.items()} for r in prequential.to_dict("records")]
    return doc


def _num(v: Any) -> Any:
    """JSON-safe number: NaN becomes None."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if hasattr(v, "item") else v
