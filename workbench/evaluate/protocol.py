"""Evaluation protocols: every metric of one model on one block of rows
(:func:`evaluate_model`), a comparison table of many, and the two ways of producing test
scores from any detector of the model interface (built-in or a researcher's own):

- :func:`single_split`: train | gap | test in time (the gap is the label delay), one fit;
- :func:`prequential`: several folds of (train block, gap, test block) shifted back in
  time, one fit per fold; metrics per fold with their mean and standard deviation.

Training labels are what the bank knew when training ended (see :func:`known_labels`);
scores are validated (one per row, in [0, 1]) so a broken detector fails with
its name instead of producing a wrong table.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.evaluate.budget import (
    card_precision_at_k_daily,
    daily_alerts,
    precision_at_k_daily,
    recall_at_budget,
    recall_by,
)
from workbench.evaluate.calibration import brier, reliability
from workbench.evaluate.cost import alert_cost
from workbench.evaluate.delay import delay_summary, detection_delay
from workbench.evaluate.ranking import average_precision, bootstrap_ci, recall_at_fpr, roc_auc
from workbench.features.splits import Split
from workbench.models.base import Detector
from workbench.validation import InputError, check_float, check_int

DetectorFactory = Callable[[], Detector]
EVALUATION_COLUMNS = (
    "ts",
    "card_id",
    "is_fraud",
    "loss",
    "fraud_type",
    "ring_shape",
    "fraud_episode_id",
    "episode_start",
)
InputBuilder = Callable[
    [np.ndarray], Any
]  # a boolean row mask -> what the detector's fit and score take


@dataclass(frozen=True)
class EvaluationConfig:
    """How models are judged. ``k``: daily alert budget (transactions, and cards for card
    precision); ``fpr``: the false-positive rate for recall at a fixed FPR; ``fee``: the
    investigation cost of one alert in the dataset's currency; ``replicates``/``level``:
    the bootstrap; ``cluster``: the column whose values are resampled together (None for
    rows); ``seed``: the bootstrap seed."""

    k: int = 100
    fpr: float = 0.01
    fee: float = 250.0
    replicates: int = 200
    level: float = 0.95
    cluster: str | None = "customer_id"
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        set_("k", check_int("k", self.k, 1, 10_000_000))
        set_("fpr", check_float("fpr", self.fpr, 0.0, 1.0))
        set_("fee", check_float("fee", self.fee, 0.0))
        set_("replicates", check_int("replicates", self.replicates, 10, 100_000))
        set_("level", check_float("level", self.level, 0.5, 0.999))
        set_("seed", check_int("seed", self.seed, 0))
        if self.cluster is not None and not isinstance(self.cluster, str):
            raise InputError("cluster", self.cluster, "a column name or None")


@dataclass
class ModelEvaluation:
    """One model's metrics on one block (``metrics``: the comparison-table row) and the
    detail behind them."""

    name: str
    metrics: dict[str, float]
    daily: pd.DataFrame
    card_daily: pd.DataFrame
    by_scenario: pd.DataFrame
    by_ring: pd.DataFrame
    delays: pd.DataFrame
    reliability: pd.DataFrame = field(repr=False)


def evaluate_model(
    rows: pd.DataFrame,
    name: str,
    config: EvaluationConfig = EvaluationConfig(),
    intervals: bool = True,
) -> ModelEvaluation:
    """Every metric of the score column ``name`` on ``rows`` (an evaluation frame, see
    :mod:`workbench.evaluate.frame`); ``intervals=False`` skips the bootstrap."""
    if name not in rows.columns:
        raise InputError("name", name, "a score column of the frame")
    if rows.empty:
        raise InputError("rows", "empty frame", "at least one row to evaluate")
    missing = [
        c
        for c in (*EVALUATION_COLUMNS, *([config.cluster] if config.cluster else []))
        if c not in rows.columns
    ]
    if missing:
        raise InputError(
            "rows",
            missing,
            "an evaluation frame with the columns "
            + ", ".join(EVALUATION_COLUMNS)
            + " (workbench.evaluate.frame builds them)",
        )
    y = rows["is_fraud"].to_numpy().astype(np.int8)
    s = _checked_scores(name, rows[name].to_numpy(), len(rows))
    if intervals:
        groups = rows[config.cluster].to_numpy() if config.cluster else None
        ci = bootstrap_ci(y, s, config.replicates, config.level, config.seed, groups)
    else:
        ci = {
            "roc_auc": (roc_auc(y, s), np.nan, np.nan),
            "average_precision": (average_precision(y, s), np.nan, np.nan),
        }
    alerts = daily_alerts(rows["ts"], s, config.k)
    daily = precision_at_k_daily(rows["ts"], y, s, config.k)
    card_daily = card_precision_at_k_daily(rows["ts"], rows["card_id"], y, s, config.k)
    delays = detection_delay(rows, alerts)
    card_ci = (
        _mean_interval(card_daily["precision"].to_numpy(), config)
        if intervals
        else (np.nan, np.nan)
    )
    cost = alert_cost(y, rows["loss"].to_numpy(), alerts, config.fee)
    metrics = {
        "roc_auc": ci["roc_auc"][0],
        "roc_auc_low": ci["roc_auc"][1],
        "roc_auc_high": ci["roc_auc"][2],
        "average_precision": ci["average_precision"][0],
        "ap_low": ci["average_precision"][1],
        "ap_high": ci["average_precision"][2],
        "precision_at_k": float(daily["precision"].mean()),
        "card_precision_at_k": float(card_daily["precision"].mean()),
        "card_precision_low": card_ci[0],
        "card_precision_high": card_ci[1],
        "card_precision_ceiling": float(card_daily["ceiling"].mean()),
        "recall_at_fpr": recall_at_fpr(y, s, config.fpr),
        "recall_at_budget": recall_at_budget(y, alerts),
        "brier": brier(y, s),
        "cost": cost["cost"],
        "savings": cost["savings"],
        "no_model_cost": cost["no_model_cost"],
        **{k: v for k, v in delay_summary(delays).items() if k != "episodes"},
        "episodes": len(delays),
    }
    return ModelEvaluation(
        name,
        metrics,
        daily,
        card_daily,
        recall_by(rows["fraud_type"], y, alerts),
        recall_by(rows["ring_shape"], y, alerts),
        delays,
        reliability(y, s),
    )


def _mean_interval(values: np.ndarray, config: EvaluationConfig) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over test days (days resampled with
    replacement): how much the daily figure's average moves with the days the window had."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return np.nan, np.nan
    rng = np.random.default_rng(config.seed)
    draws = rng.integers(0, len(values), (config.replicates, len(values)))
    means = values[draws].mean(axis=1)
    tail = (1 - config.level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def _checked_scores(name: str, s: np.ndarray, n: int) -> np.ndarray:
    s = np.asarray(s, np.float64)
    if s.shape != (n,) or not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise InputError(
            f"scores.{name}",
            f"{s.shape} values in [{np.nanmin(s) if s.size else 'nan'}, "
            f"{np.nanmax(s) if s.size else 'nan'}]",
            f"{n} finite scores in [0, 1] (higher = more suspicious)",
        )
    return s


def evaluate_scores(
    rows: pd.DataFrame,
    models: list[str],
    config: EvaluationConfig = EvaluationConfig(),
    intervals: bool = True,
    progress: bool = True,
) -> dict[str, ModelEvaluation]:
    """:func:`evaluate_model` for each score column in ``models``; with ``progress`` and
    intervals (the bootstrap is the slow part) a line per model."""
    if not models:
        raise InputError("models", models, "at least one score column")
    out = {}
    for m in models:
        started = time.perf_counter()
        out[m] = evaluate_model(rows, m, config, intervals)
        seconds = time.perf_counter() - started
        _say(progress and intervals, f"evaluated {m} on {len(rows):,} rows in {seconds:.1f} s")
    return out


def comparison_table(evaluations: Mapping[str, ModelEvaluation]) -> pd.DataFrame:
    """One row per model with its metrics, best card precision@k first."""
    table = pd.DataFrame({name: e.metrics for name, e in evaluations.items()}).T
    table.index.name = "model"
    return table.sort_values(["card_precision_at_k", "average_precision"], ascending=False)


@dataclass
class FitScore:
    """One detector's test scores and what it cost: ``fit_seconds`` and ``score_seconds``
    (wall clock, inputs built outside both), and ``validation``: what the detector was given
    for early stopping (rows of the validation block, or the reason it got none)."""

    scores: np.ndarray
    fit_seconds: float
    score_seconds: float
    validation: str


def _inputs(name: str, take: InputBuilder, frame: pd.DataFrame, mask: np.ndarray) -> Any:
    """What ``take`` builds for the rows of ``mask``, in the frame's row order: inputs that
    carry transaction ids (sequences) are aligned to the frame's ``txn_id`` (reordered, or an
    error when rows are missing), never trusted by their count alone; a frame indexed by the
    masked rows in another order is put back in order."""
    got = take(mask)
    n = int(mask.sum())
    if hasattr(got, "aligned") and hasattr(got, "txn_id"):
        if "txn_id" not in frame.columns:
            raise InputError(
                f"inputs.{name}",
                "sequences keyed by txn_id",
                "a frame with a txn_id column to align them to",
            )
        return got.aligned(frame.loc[mask, "txn_id"].to_numpy(), f"inputs.{name}")
    rows = frame.index[mask]
    if isinstance(got, pd.DataFrame) and len(got) == n and not got.index.equals(rows):
        if got.index.is_unique and got.index.sort_values().equals(rows.sort_values()):
            return got.loc[rows]  # the frame's rows, back in the frame's order
    if hasattr(got, "__len__") and len(got) != n:
        raise InputError(f"inputs.{name}", f"{len(got)} rows", f"{n} rows (one per masked row)")
    return got


def _takes_validation(det: Detector) -> bool:
    return "validation" in inspect.signature(det.fit).parameters


def _fit_score(
    factory: DetectorFactory,
    name: str,
    frame: pd.DataFrame,
    features: list[str],
    train: np.ndarray,
    test: np.ndarray,
    y_known: np.ndarray,
    inputs: Mapping[str, InputBuilder] | None,
    validation: np.ndarray | None = None,
) -> FitScore:
    """Fit a fresh detector from ``factory`` on the training rows with the labels known at
    training time (``y_known``), score the test rows. Its inputs are ``frame``'s feature
    columns, or what ``inputs[name]`` builds from a row mask (a sequence model's windows),
    aligned to the frame's rows. Detectors whose ``fit`` takes ``validation`` get the rows of
    ``validation`` (inputs and known labels) for early stopping when it holds both classes."""
    take = (inputs or {}).get(name) or (lambda mask: frame.loc[mask, features])
    det = factory()
    if not isinstance(det, Detector):
        raise InputError(
            f"factories.{name}", type(det).__name__, "a callable returning a workbench Detector"
        )
    if not train.any() or not test.any():
        raise InputError(
            "split",
            f"{int(train.sum())} training and {int(test.sum())} test rows",
            "non-empty training and test blocks",
        )
    extra, note = {}, "none asked for"
    if validation is not None and _takes_validation(det):
        if not validation.any():
            note = "none: the validation block is empty"
        elif len(np.unique(y_known[validation])) != 2:
            note = "none: the validation block has no confirmed fraud"
        else:
            extra = {"validation": (_inputs(name, take, frame, validation), y_known[validation])}
            note = f"{int(validation.sum())} rows"
    elif validation is not None:
        note = "none: the detector's fit takes no validation block"
    x_train = _inputs(name, take, frame, train)
    started = time.perf_counter()
    det.fit(x_train, y_known[train], **extra)
    fitted = time.perf_counter()
    x_test = _inputs(name, take, frame, test)
    scored = time.perf_counter()
    s = det.score(x_test)
    done = time.perf_counter()
    return FitScore(
        _checked_scores(name, s, int(test.sum())),
        round(fitted - started, 3),
        round(done - scored, 3),
        note,
    )


TIMING = (
    "labels_known_immediately",
    False,
    "True if every label was known when its transaction happened, or a frame with "
    "fraud_confirmed_at (map the table's confirmation time to confirmed_at)",
)


def known_labels(
    frame: pd.DataFrame, cutoff: pd.Timestamp | None = None, labels_known_immediately: bool = False
) -> np.ndarray:
    """Labels as the bank knows them at ``cutoff``: fraud confirmed before it (rows not yet
    confirmed, or never confirmed, look legitimate); all of ``is_fraud`` without a cutoff.
    A frame without ``fraud_confirmed_at`` has no label timing: with a cutoff that is an
    error unless ``labels_known_immediately`` says every label was known at once."""
    y = frame["is_fraud"].to_numpy().astype(np.int8)
    if cutoff is None or labels_known_immediately:
        return y
    if "fraud_confirmed_at" not in frame.columns:
        raise InputError(*TIMING)
    confirmed = pd.to_datetime(frame["fraud_confirmed_at"]).to_numpy()
    return ((y == 1) & (confirmed < np.datetime64(pd.Timestamp(cutoff)))).astype(np.int8)


def _say(progress: bool, text: str) -> None:
    """One line of progress (plain text: a notebook shows it without widgets)."""
    if progress:
        print(text, flush=True)


def single_split(
    factories: Mapping[str, DetectorFactory],
    frame: pd.DataFrame,
    features: list[str],
    split: Split,
    inputs: Mapping[str, InputBuilder] | None = None,
    labels_known_immediately: bool = False,
    progress: bool = True,
    validation: bool = True,
) -> pd.DataFrame:
    """Fit each detector on ``split.train`` and score ``split.test``: the test rows of
    ``frame`` with one score column per detector (evaluate them with
    :func:`evaluate_scores`). Training uses the labels known when the test block starts
    (:func:`known_labels`; the delay block between training and test is when the rest
    arrive), so the frame needs ``fraud_confirmed_at`` unless ``labels_known_immediately``.
    ``inputs`` maps a model name to a builder of its inputs from a row mask, for detectors
    that do not take the feature columns (sequence models, e.g.
    :class:`workbench.features.sequences.LastRows`); what it builds is aligned to the frame's
    rows by ``txn_id``. With ``validation``, detectors whose ``fit`` takes a validation block
    (the deep models, for early stopping) get ``split.validation`` with its known labels;
    no training row is held back. ``progress`` prints a line per model.

    The result's ``attrs["timings"]`` holds per model ``fit_seconds``, ``score_seconds`` and
    ``validation`` (what it got for early stopping)."""
    _check_features(frame, features)
    test = frame.loc[split.test].reset_index(drop=True)
    if test.empty:
        raise InputError("split", "0 test rows", "a split with a non-empty test block")
    y = known_labels(frame, test["ts"].min(), labels_known_immediately)
    timings = {}
    for name, factory in factories.items():
        r = _fit_score(
            factory,
            name,
            frame,
            features,
            split.train,
            split.test,
            y,
            inputs,
            split.validation if validation else None,
        )
        test[name] = r.scores
        timings[name] = {
            "fit_seconds": r.fit_seconds,
            "score_seconds": r.score_seconds,
            "validation": r.validation,
        }
        _say(
            progress,
            f"single split: {name} fitted in {r.fit_seconds:.1f} s, scored in "
            f"{r.score_seconds:.1f} s (validation: {r.validation})",
        )
    test.attrs["timings"] = timings
    return test


def prequential(
    factories: Mapping[str, DetectorFactory],
    frame: pd.DataFrame,
    features: list[str],
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: EvaluationConfig = EvaluationConfig(),
    inputs: Mapping[str, InputBuilder] | None = None,
    labels_known_immediately: bool = False,
    progress: bool = True,
    validation: list[np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each detector fitted and evaluated on every fold (from
    :func:`workbench.features.splits.prequential_folds`): (metrics per model and fold,
    their mean and standard deviation per model). Each fold trains on the labels known
    when its test block starts (:func:`known_labels`), as the bank would have: the frame
    needs ``fraud_confirmed_at`` unless ``labels_known_immediately``. ``inputs`` as in
    :func:`single_split`; ``validation``: one row mask per fold, the validation block given
    (with its known labels) to detectors whose ``fit`` takes one; ``progress`` prints a line
    per fold and model. Each row also has ``fit_seconds`` and ``score_seconds`` and the
    ``validation`` the detector got."""
    _check_features(frame, features)
    if not folds:
        raise InputError("folds", folds, "at least one (train, test) fold")
    if validation is not None and len(validation) != len(folds):
        raise InputError(
            "validation", f"{len(validation)} masks", f"one row mask per fold ({len(folds)})"
        )
    if "fraud_confirmed_at" not in frame.columns and not labels_known_immediately:
        raise InputError(*TIMING)
    rows = []
    for i, (train, test) in enumerate(folds):
        block = frame.loc[test].reset_index(drop=True)
        if block.empty:
            raise InputError("folds", i, "folds with test rows")
        y = known_labels(frame, block["ts"].min(), labels_known_immediately)
        if not y[train].any():
            raise InputError(
                "folds",
                i,
                "folds whose training block has confirmed fraud "
                "(use fewer folds or a longer window)",
            )
        costs = {}
        for name, factory in factories.items():
            r = _fit_score(
                factory,
                name,
                frame,
                features,
                train,
                test,
                y,
                inputs,
                None if validation is None else np.asarray(validation[i], bool),
            )
            block[name] = r.scores
            costs[name] = {
                "fit_seconds": r.fit_seconds,
                "score_seconds": r.score_seconds,
                "validation": r.validation,
            }
            _say(
                progress,
                f"prequential fold {i + 1}/{len(folds)}: {name} fitted on "
                f"{int(train.sum()):,} rows in {r.fit_seconds:.1f} s, scored "
                f"{int(test.sum()):,} in {r.score_seconds:.1f} s",
            )
        scored = evaluate_scores(block, list(factories), config, intervals=False, progress=False)
        for name, e in scored.items():
            rows.append({"model": name, "fold": i, **e.metrics, **costs[name]})
    per_fold = pd.DataFrame(rows)
    keep = [
        "roc_auc",
        "average_precision",
        "precision_at_k",
        "card_precision_at_k",
        "card_precision_ceiling",
        "recall_at_fpr",
        "recall_at_budget",
        "savings",
        "detected_share",
        "fit_seconds",
        "score_seconds",
    ]
    summary = per_fold.groupby("model")[keep].agg(["mean", "std"])
    return per_fold, summary


def _check_features(frame: pd.DataFrame, features: list[str]) -> None:
    missing = [f for f in features if f not in frame.columns]
    if not features or missing:
        raise InputError("features", missing or features, "feature columns of the frame")
