"""Threshold-free metrics: ROC AUC and average precision, with cluster-bootstrap confidence
intervals, and recall at a fixed false-positive rate.

Both metrics are computed from one sort of the scores and cumulative sums of (weighted)
labels over the distinct score values, so a bootstrap replicate is a row of weights
(how often each row was drawn) and all replicates are computed as one matrix. Ties are
handled as scikit-learn does: rows with equal scores form one step of the curve.
AP is the step-wise sum ``sum_i (R_i - R_{i-1}) P_i`` (no interpolation), AUC the
trapezoidal area under the ROC curve; both equal scikit-learn's values (tested).
"""

from __future__ import annotations

import numpy as np

from workbench.validation import InputError, check_float, check_int


def check_scores(
    y: np.ndarray, s: np.ndarray, name: str = "scores"
) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as 0/1 int8 and ``s`` as finite float64 of the same length, or InputError."""
    y = np.asarray(y)
    s = np.asarray(s, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape or len(y) == 0:
        raise InputError(
            name, f"{s.shape} scores for {y.shape} labels", "one score per label, at least one row"
        )
    if not np.isin(y, (0, 1)).all():
        raise InputError("y", sorted(set(np.unique(y).tolist()) - {0, 1})[:5], "labels 0 or 1")
    if not np.isfinite(s).all():
        raise InputError(name, "non-finite values", "finite scores")
    return y.astype(np.int8), s


def _steps(y: np.ndarray, s: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (weighted) true and false positives at each distinct score, highest first;
    ``weights`` is (n,) or (replicates, n). Returns arrays of shape (replicates, steps)."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]
    w = np.atleast_2d(weights)[:, order]
    pos = y[order].astype(bool)
    tp = np.cumsum(np.where(pos, w, 0.0), axis=1)[:, last]
    fp = np.cumsum(np.where(pos, 0.0, w), axis=1)[:, last]
    return tp, fp


def _ap_auc(tp: np.ndarray, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AP and ROC AUC per replicate from cumulative counts (NaN where a class is absent)."""
    P, N = tp[:, -1:], fp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / P
        precision = tp / (tp + fp)
        d_recall = np.diff(np.c_[np.zeros(len(tp)), recall], axis=1)
        ap = np.sum(d_recall * np.nan_to_num(precision), axis=1)
        tpr = np.c_[np.zeros(len(tp)), recall]
        fpr = np.c_[np.zeros(len(tp)), fp / N]
        auc = np.trapezoid(tpr, fpr, axis=1)
    bad = (P[:, 0] <= 0) | (N[:, 0] <= 0)
    ap[bad], auc[bad] = np.nan, np.nan
    return ap, auc


def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    y, s = check_scores(y, s)
    return float(_ap_auc(*_steps(y, s, np.ones(len(y))))[0][0])


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve (probability that a fraud outscores a legitimate row)."""
    y, s = check_scores(y, s)
    return float(_ap_auc(*_steps(y, s, np.ones(len(y))))[1][0])


def bootstrap_weights(
    n: int, replicates: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """(replicates, n) multiplicities of a bootstrap: rows drawn with replacement, or whole
    ``groups`` (for example customers) drawn with replacement and every row of a drawn group
    counted as often as its group was drawn. Resampling customers keeps an episode's rows
    together, so the interval reflects how few independent frauds there are."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.float64)
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise InputError("groups", groups.shape, f"one group per row ({n})")
    codes = np.unique(groups, return_inverse=True)[1]
    g = codes.max() + 1
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=replicates).astype(np.float64)
    return counts[:, codes]


def bootstrap_ci(
    y: np.ndarray,
    s: np.ndarray,
    replicates: int = 200,
    level: float = 0.95,
    seed: int = 0,
    groups: np.ndarray | None = None,
    chunk: int = 50,
) -> dict[str, tuple[float, float, float]]:
    """Point value and percentile interval of ``roc_auc`` and ``average_precision``:
    ``{"roc_auc": (value, low, high), "average_precision": (...)}``. Replicates where a class
    is missing are dropped (with many such, widen the test window)."""
    y, s = check_scores(y, s)
    replicates = check_int("replicates", replicates, 10, 100_000)
    level = check_float("level", level, 0.5, 0.999)
    ap0, auc0 = _ap_auc(*_steps(y, s, np.ones(len(y))))
    weights = bootstrap_weights(len(y), replicates, seed, groups)
    aps, aucs = [], []
    for i in range(0, replicates, chunk):  # chunks bound the (replicates, n) cumulative sums
        ap, auc = _ap_auc(*_steps(y, s, weights[i : i + chunk]))
        aps.append(ap), aucs.append(auc)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    out = {}
    for name, point, reps in (
        ("roc_auc", auc0[0], np.concatenate(aucs)),
        ("average_precision", ap0[0], np.concatenate(aps)),
    ):
        reps = reps[np.isfinite(reps)]
        lo, hi = np.percentile(reps, q) if len(reps) else (np.nan, np.nan)
        out[name] = (float(point), float(lo), float(hi))
    return out


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float = 0.01) -> float:
    """The highest recall (true-positive rate) among thresholds whose false-positive rate is
    at most ``fpr``; thresholds are the distinct scores, so tied rows are alerted together."""
    y, s = check_scores(y, s)
    fpr = check_float("fpr", fpr, 0.0, 1.0)
    tp, fp = _steps(y, s, np.ones(len(y)))
    P, N = tp[0, -1], fp[0, -1]
    if P == 0 or N == 0:
        return float("nan")
    ok = fp[0] / N <= fpr + 1e-12
    return float(tp[0][ok].max() / P) if ok.any() else 0.0
