"""What the evaluation report says, computed from its numbers: the written conclusion and
the machine-readable ``metrics.json`` document. No figure in the conclusion is typed by
hand; every sentence is chosen by comparing the measured values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.evaluate.protocol import EvaluationConfig, ModelEvaluation
from workbench.validation import InputError

CEILING_WARNING = 0.2  # below this mean daily ceiling, card precision@k mostly measures the budget
PER_CUSTOMERS = 10_000  # budgets are also stated per this many customers


def _interval(row: pd.Series, low: str, high: str) -> tuple[float, float]:
    return float(row[low]), float(row[high])


def _tied(a: pd.Series, b: pd.Series, value: str, low: str, high: str, digits: int) -> bool:
    """Whether two models cannot be ordered on ``value``: equal at the printed precision, or
    their intervals overlap (without intervals only the printed values can separate them)."""
    if round(float(a[value]), digits) == round(float(b[value]), digits):
        return True
    (alo, ahi), (blo, bhi) = _interval(a, low, high), _interval(b, low, high)
    if any(math.isnan(v) for v in (alo, ahi, blo, bhi)):
        return False
    return not (alo > bhi or blo > ahi)


def tiers(table: pd.DataFrame, value: str, low: str, high: str, digits: int) -> list[list[str]]:
    """Models in groups that cannot be ordered within: the best remaining model and every
    remaining model tied with it (:func:`_tied`), then the next group; best first."""
    order = table.sort_values(value, ascending=False, kind="stable")
    left, groups = list(order.index), []
    while left:
        lead = order.loc[left[0]]
        group = [
            m for m in left if m == left[0] or _tied(lead, order.loc[m], value, low, high, digits)
        ]
        groups.append(group)
        left = [m for m in left if m not in group]
    return groups


def _names(models: list[str]) -> str:
    bold = [f"**{m}**" for m in models]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


def _with_interval(row: pd.Series, value: str, low: str, high: str, digits: int) -> str:
    lo, hi = _interval(row, low, high)
    if math.isnan(lo) or math.isnan(hi):
        return f"{row[value]:.{digits}f}"
    return f"{row[value]:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def _ranking(
    table: pd.DataFrame, what: str, value: str, low: str, high: str, digits: int, pct: float
) -> str:
    """The leading group on one metric: a single leader separated from every other model, or
    the models tied with it, each with its interval."""
    groups = tiers(table, value, low, high, digits)
    top = groups[0]
    shown = "; ".join(f"{m} {_with_interval(table.loc[m], value, low, high, digits)}" for m in top)
    if len(top) > 1:
        return (
            f"By {what}, {_names(top)} are tied at this precision (equal when rounded, or "
            f"their {pct:.0f}% intervals overlap): {shown}"
        )
    lead = _with_interval(table.loc[top[0]], value, low, high, digits)
    text = f"By {what}, **{top[0]}** leads with {lead}"
    if len(groups) > 1:
        nxt = groups[1][0]
        known = not table[[low, high]].astype(float).isna().any().any()
        why = (
            "the intervals do not overlap"
            if known
            else "no intervals computed: ordered by the values alone"
        )
        text += (
            f", ahead of every other model (next: **{nxt}** with "
            f"{_with_interval(table.loc[nxt], value, low, high, digits)}; {why})"
        )
    return text


def budget_warning(
    table: pd.DataFrame, config: EvaluationConfig, customers: int | None
) -> str | None:
    """A warning when the daily ceiling makes card precision@k meaningless as a headline:
    compromised cards could fill less than :data:`CEILING_WARNING` of the budget."""
    ceiling = float(table["card_precision_ceiling"].max())
    if ceiling >= CEILING_WARNING:
        return None
    scale = ""
    if customers:
        per = config.k * PER_CUSTOMERS / customers
        scale = (
            f" ({per:,.0f} alerts a day per {PER_CUSTOMERS:,} customers for "
            f"{customers:,} customers)"
        )
    return (
        f"**Warning:** compromised cards could fill at most {ceiling:.2f} of the {config.k} "
        f"daily alerts{scale}, so card precision@{config.k} is capped there and mostly "
        f"measures the budget; read the average precision instead, or set the budget to the "
        f"population."
    )


def _prequential_text(
    table: pd.DataFrame, summary: pd.DataFrame, not_refit: Mapping[str, str] | None
) -> str:
    """The prequential check of the models it refitted, and whether it agrees with the
    single split on them."""
    covered = list(summary.index)
    ap = pd.DataFrame(
        {
            "average_precision": summary[("average_precision", "mean")],
            "sd": summary[("average_precision", "std")].fillna(0.0),
        }
    )
    ap["low"] = ap["average_precision"] - ap["sd"]
    ap["high"] = ap["average_precision"] + ap["sd"]
    spread = ", ".join(
        f"{m} {ap.loc[m, 'average_precision']:.3f} ± {ap.loc[m, 'sd']:.3f}" for m in covered
    )
    text = (
        f"Prequential check (mean ± standard deviation of AP over folds) of "
        f"{_names(covered)}: {spread}"
    )
    skipped = {m: r for m, r in (not_refit or {}).items() if m in table.index and m not in covered}
    if skipped:
        text += " (not refitted: " + "; ".join(f"{m}, {r}" for m, r in skipped.items()) + ")"
    folds_top = tiers(ap, "average_precision", "low", "high", 3)[0]
    split_top = tiers(table.loc[covered], "average_precision", "ap_low", "ap_high", 3)[0]
    if len(folds_top) > 1:
        text += f". The folds do not separate {_names(folds_top)} (mean ± sd overlap)"
    else:
        text += (
            f". **{folds_top[0]}** is best on average over the folds (mean ± sd apart "
            f"from the others)"
        )
    if not set(folds_top) & set(split_top):
        text += (
            f". The folds and the single split disagree on these models: the single split "
            f"puts {_names(split_top)} first, the folds {_names(folds_top)}; one test "
            f"window does not settle it."
        )
    elif len(folds_top) == len(split_top) == 1:
        text += ", as on the single split."
    else:
        text += (
            f", consistent with the single split's leading group among them ({_names(split_top)})."
        )
    return text


def _ap_text(table: pd.DataFrame, config: EvaluationConfig, pct: float) -> str:
    """The average-precision paragraph: the leading group, whether the budget ranking
    disagrees, and the weakest model only when it is separated below every other."""
    text = (
        _ranking(
            table,
            f"average precision (the whole ranking, not only each day's top {config.k})",
            "average_precision",
            "ap_low",
            "ap_high",
            3,
            pct,
        )
        + "."
    )
    ap_groups = tiers(table, "average_precision", "ap_low", "ap_high", 3)
    card_top = tiers(table, "card_precision_at_k", "card_precision_low", "card_precision_high", 2)[
        0
    ]
    if not set(card_top) & set(ap_groups[0]):
        text += (
            " The two rankings disagree: which model is better depends on whether the team "
            "works a fixed daily budget."
        )
    low = table.sort_values("average_precision", kind="stable").index[0]
    low_ap = table.loc[low, "average_precision"]
    others = table.drop(index=low)
    if all(float(table.loc[low, "ap_high"]) < float(lo) for lo in others["ap_low"]):
        text += f" **{low}** ranks lowest (AP {low_ap:.3f}, below every other model's interval)."
    elif len(ap_groups) > 1:
        text += (
            f" The lowest AP is **{low}**'s ({low_ap:.3f}), but its interval overlaps "
            f"another model's, so it is not clearly the weakest."
        )
    return text


def _detection_text(table: pd.DataFrame, config: EvaluationConfig) -> list[str]:
    """Episodes detected by the table's first model, and a faster one if there is one."""
    best_name, best = table.index[0], table.iloc[0]
    if not best["episodes"] > 0 or math.isnan(best["detected_share"]):
        return []
    delay = (
        f"a median delay of {best['median_delay_hours']:.1f} hours from the first "
        f"fraudulent transaction"
        if best["detected_share"] > 0
        else "no episode detected"
    )
    parts = [
        f"At a budget of {config.k} alerts a day **{best_name}** detects "
        f"{best['detected_share']:.0%} of the {int(best['episodes'])} episodes that start in "
        f"the test window, with {delay}; {best['loss_before_share']:.0%} of those episodes' "
        f"money moved before their first alert."
    ]
    fastest = table.loc[table["detected_share"] > 0, "median_delay_hours"]
    if (
        len(fastest) > 1
        and fastest.idxmin() != best_name
        and round(fastest.min(), 1) < round(best["median_delay_hours"], 1)
    ):
        parts.append(
            f"**{fastest.idxmin()}** has the shortest median delay in this window "
            f"({fastest.min():.1f} hours)."
        )
    return parts


def _savings_text(table: pd.DataFrame, config: EvaluationConfig) -> str:
    """Who saves the most at the fee (models equal when rounded are named together)."""
    savings = table["savings"].astype(float)
    saver = savings.idxmax()
    s = table.loc[saver]
    level = [m for m in savings.index if round(savings[m]) == round(savings[saver])]
    who = f"**{saver}**" if len(level) == 1 else f"{_names(level)} (tied)"
    if s["savings"] > 0:
        return (
            f"At {config.fee:,.0f} per investigated alert, {who} saves the most in this test "
            f"window: {s['savings']:,.0f} against running no model "
            f"({s['savings'] / s['no_model_cost']:.0%} of the fraud losses)."
        )
    return (
        f"At {config.fee:,.0f} per investigated alert no model saves money at this budget: "
        f"the fees outweigh the fraud caught (best: {who}, {s['savings']:,.0f})."
    )


def conclusion(
    table: pd.DataFrame,
    config: EvaluationConfig,
    prequential_summary: pd.DataFrame | None = None,
    customers: int | None = None,
    not_refit: Mapping[str, str] | None = None,
) -> str:
    """The report's conclusion as Markdown, from the comparison table (best card
    precision@k first, see :func:`workbench.evaluate.protocol.comparison_table`) and
    optionally the prequential summary (its models must be rows of the table). Models whose
    intervals overlap, or whose values are equal at the printed precision, are called tied,
    never ordered; ``customers`` states the budget per 10,000 customers in the warning that
    the ceiling is too low (:func:`budget_warning`); ``not_refit`` gives the reason each
    table row is missing from the prequential check."""
    if table.empty:
        raise InputError("table", "empty", "a comparison table with at least one model")
    pct = config.level * 100
    for col in ("card_precision_low", "card_precision_high"):
        if col not in table.columns:
            table = table.assign(**{col: np.nan})
    card = _ranking(
        table,
        f"card precision@{config.k} (the share of each day's {config.k} card "
        f"alerts that are compromised cards, averaged over test days, with its "
        f"{pct:.0f}% interval over days)",
        "card_precision_at_k",
        "card_precision_low",
        "card_precision_high",
        2,
        pct,
    )
    ceiling = table["card_precision_ceiling"].astype(float)
    lo, hi = f"{ceiling.min():.2f}", f"{ceiling.max():.2f}"
    span = lo if lo == hi else f"{lo} to {hi} across models (cards caught earlier leave the pool)"
    parts = [
        f"{card}; the ceiling (the share of the budget compromised cards could fill) is {span}."
    ]
    warning = budget_warning(table, config, customers)
    if warning:
        parts.append(warning)
    if len(table) > 1:
        parts.append(_ap_text(table, config, pct))
    parts += _detection_text(table, config)
    parts.append(_savings_text(table, config))
    if prequential_summary is not None and not prequential_summary.empty:
        extra = sorted(set(prequential_summary.index) - set(table.index))
        if extra:
            raise InputError(
                "prequential_summary", extra, "models that are rows of the comparison table"
            )
        parts.append(_prequential_text(table, prequential_summary, not_refit))
    return "\n\n".join(parts)


def report_parameters(
    provenance: Mapping[str, Any], config: EvaluationConfig, n_folds: int, pipeline: bool
) -> dict[str, Any]:
    """The parameters a report states (``metrics.json``'s ``parameters``): the dataset's, read
    from its card (:func:`workbench.evaluate.study.dataset_parameters`), and the evaluation's."""
    data = dict(provenance["dataset"])
    keep = (
        "customers",
        "days",
        "start",
        "seed",
        "market",
        "fraud_rate",
        "scenarios",
        "label_delay_days",
        "transactions",
        "dataset",
    )
    out = {k: data.get(k) for k in keep}
    customers = out["customers"]
    per = config.k * PER_CUSTOMERS / customers if customers else None
    out.update(
        {
            "k": config.k,
            "alerts_per_10k_customers": per,
            "fee": config.fee,
            "fpr": config.fpr,
            "replicates": config.replicates,
            "n_folds": n_folds,
            "pipeline": bool(pipeline),
        }
    )
    return out


def metrics_document(
    table: pd.DataFrame,
    evaluations: Mapping[str, ModelEvaluation],
    config: EvaluationConfig,
    parameters: Mapping[str, Any],
    text: str,
    prequential: pd.DataFrame | None = None,
    provenance: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The content of ``reports/metrics.json``: parameters (:func:`report_parameters`), the
    provenance (the dataset card's parameters and mix, each model's parameters from its
    package manifest), the evaluation config, every model's metrics, per-scenario and
    per-ring-shape recall at the budget, daily card precision, prequential folds and the
    conclusion. ``recall_at_budget_by_scenario`` states the budget, the study's feature
    columns (``features``) and per model and scenario the frauds, alerted and recall, so
    two runs (before and after a feature change) compare with
    :func:`scenario_recall_change`."""
    doc: dict[str, Any] = {
        "parameters": dict(parameters),
        "provenance": dict(provenance or {}),
        "config": {f: getattr(config, f) for f in config.__dataclass_fields__},
        "models": {
            m: {k: _num(v) for k, v in row.items()} for m, row in table.to_dict("index").items()
        },
        "recall_by_scenario": {
            m: e.by_scenario["recall"].round(6).to_dict() for m, e in evaluations.items()
        },
        "recall_by_ring_shape": {
            m: e.by_ring["recall"].drop("none", errors="ignore").round(6).to_dict()
            for m, e in evaluations.items()
        },
        "recall_at_budget_by_scenario": {
            "k": config.k,
            "features": None if features is None else list(features),
            "models": {
                m: {
                    str(g): {
                        "frauds": int(r["frauds"]),
                        "alerted": int(r["alerted"]),
                        "recall": round(float(r["recall"]), 6),
                    }
                    for g, r in e.by_scenario.iterrows()
                }
                for m, e in evaluations.items()
            },
        },
        "card_precision_by_day": {
            m: {
                str(d.date()): _num(p)
                for d, p in zip(e.card_daily["day"], e.card_daily["precision"])
            }
            for m, e in evaluations.items()
        },
        "conclusion": text,
    }
    if prequential is not None:
        doc["prequential"] = [
            {k: _num(v) for k, v in r.items()} for r in prequential.to_dict("records")
        ]
    return doc


def scenario_recall_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> pd.DataFrame:
    """Recall at the alert budget per model and scenario in two ``metrics.json`` documents
    (:func:`metrics_document`; e.g. before and after new features), for the models both
    have: frauds and recall in each, and the change. Documents with different budgets are
    refused (their recalls do not compare)."""
    parts = []
    for name, doc in (("before", before), ("after", after)):
        section = doc.get("recall_at_budget_by_scenario") if isinstance(doc, Mapping) else None
        if not isinstance(section, Mapping) or "models" not in section:
            raise InputError(
                name,
                "a document without recall_at_budget_by_scenario",
                "a metrics.json document written by metrics_document",
            )
        parts.append(section)
    if parts[0]["k"] != parts[1]["k"]:
        raise InputError(
            "after", f"k={parts[1]['k']}", f"the same alert budget as before (k={parts[0]['k']})"
        )
    rows = []
    for model in [m for m in parts[0]["models"] if m in parts[1]["models"]]:
        b, a = parts[0]["models"][model], parts[1]["models"][model]
        for scenario in sorted(set(b) | set(a)):
            rb, ra = b.get(scenario, {}), a.get(scenario, {})
            rows.append(
                {
                    "model": model,
                    "scenario": scenario,
                    "frauds_before": rb.get("frauds"),
                    "recall_before": rb.get("recall"),
                    "frauds_after": ra.get("frauds"),
                    "recall_after": ra.get("recall"),
                }
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "model",
            "scenario",
            "frauds_before",
            "recall_before",
            "frauds_after",
            "recall_after",
        ],
    )
    recall = table[["recall_before", "recall_after"]].astype(float)
    return table.assign(change=recall["recall_after"] - recall["recall_before"])


def _num(v: Any) -> Any:
    """JSON-safe number: NaN becomes None."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if hasattr(v, "item") else v
