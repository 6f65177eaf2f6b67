"""Two questions of the sequence notebook, answered from results: what each training choice
is worth (an ablation, one change at a time from a base recipe), and where a sequence model
catches more fraud than the best tabular model (per scenario), stated in a sentence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from workbench.evaluate.budget import recall_by
from workbench.validation import InputError, check_float


def ablation(
    run: Callable[[dict[str, Any]], float],
    base: Mapping[str, Any],
    changes: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """``run(params)`` (a metric, e.g. test AP) for the ``base`` parameters and for each
    entry of ``changes`` applied alone on top of it: one row per run with the change, the
    setting, the metric and its difference from the base."""
    if not changes:
        raise InputError("changes", changes, "at least one change to the base")
    base = dict(base)
    first = float(run(base))
    rows = [{"change": "none (base)", "setting": "", "metric": first, "difference": 0.0}]
    for label, change in changes.items():
        if not isinstance(change, Mapping) or not change:
            raise InputError(f"changes.{label}", change, "a non-empty dict of parameters")
        value = float(run({**base, **change}))
        setting = ", ".join(f"{k}={v!r}" for k, v in change.items())
        rows.append(
            {"change": label, "setting": setting, "metric": value, "difference": value - first}
        )
    return pd.DataFrame(rows).set_index("change")


def recall_at_top(
    scores: Mapping[str, np.ndarray], y: np.ndarray, groups: np.ndarray, share: float = 0.01
) -> pd.DataFrame:
    """Recall per group (scenario) when each model alerts on the top ``share`` of its scores:
    one column per model, one row per group with fraud."""
    share = check_float("share", share, 1e-6, 1.0)
    out = {}
    for name, s in scores.items():
        s = np.asarray(s, np.float64)
        alerts = s >= np.quantile(s, 1 - share)
        out[name] = recall_by(groups, y, alerts)["recall"]
    return pd.DataFrame(out)


def sequence_against_tabular(
    recall: pd.DataFrame, ap: Mapping[str, float], sequence: list[str], tabular: list[str]
) -> tuple[pd.DataFrame, str]:
    """Per scenario, the recall of the best tabular model (highest ``ap``) beside the best
    sequence model's, and a sentence saying where a sequence model catches more, or plainly
    that none does. (table, sentence)."""
    missing = [m for m in (*sequence, *tabular) if m not in recall.columns or m not in ap]
    if missing or not sequence or not tabular:
        raise InputError(
            "models",
            missing or (sequence, tabular),
            "sequence and tabular models with recall columns and an AP each",
        )
    best = max(tabular, key=lambda m: ap[m])
    seq = recall[sequence]
    table = pd.DataFrame(
        {
            f"{best} (best tabular)": recall[best],
            "best sequence model": seq.idxmax(axis=1),
            "its recall": seq.max(axis=1),
        }
    )
    table["gain"] = table["its recall"] - recall[best]
    wins = table[table["gain"] > 0].sort_values("gain", ascending=False)
    best_seq = max(sequence, key=lambda m: ap[m])
    overall = (
        f"Overall, the best sequence model ({best_seq}, test AP {ap[best_seq]:.3f}) "
        f"{'beats' if ap[best_seq] > ap[best] else 'does not beat'} the best tabular "
        f"model ({best}, test AP {ap[best]:.3f})."
    )
    if wins.empty:
        return table, (
            f"No sequence model catches more of any scenario than the best tabular "
            f"model ({best}) at this budget. {overall}"
        )
    listed = "; ".join(
        f"{g} ({r['best sequence model']}: {r['its recall']:.2f} against "
        f"{r[f'{best} (best tabular)']:.2f})"
        for g, r in wins.iterrows()
    )
    return table, (
        f"A sequence model catches more than the best tabular model ({best}) on "
        f"{len(wins)} of {len(table)} scenarios: {listed}. {overall}"
    )
