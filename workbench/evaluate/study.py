"""What the evaluation notebook evaluates, in its two modes.

- In the pipeline (Ploomber ``upstream`` given): the test rows of the score products of the
  model notebooks (anomaly, supervised, sequence_models) joined to the dataset's labels.
- Standalone (JupyterLab, nbval, ``python -m workbench report``, the sweep): the scratch
  study of the given parameters (:mod:`workbench.notebook`). When the model notebooks were
  run by hand in that study, their score products are evaluated as in the pipeline;
  otherwise the baseline detectors (:func:`baselines`) are fitted on a single time split
  with a delay gap.

Both also return the study frame (features + labels) for the prequential protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.evaluate.frame import model_names, scores_frame, study_frame
from workbench.evaluate.protocol import DetectorFactory, single_split
from workbench.features.splits import prequential_folds
from workbench.models.data import feature_columns, standard_split
from workbench.models.isolation_forest import IsolationForestDetector
from workbench.models.supervised import SupervisedDetector
from workbench.notebook import study_inputs, study_scores
from workbench.validation import InputError, check_int

SCORE_TASKS = ("anomaly", "supervised", "sequence_models")  # upstream tasks whose score products are evaluated


def baselines(seed: int) -> dict[str, DetectorFactory]:
    """The standalone report's detectors: an unsupervised, a linear and a tree baseline."""
    return {"isolation_forest": lambda: IsolationForestDetector(contamination=0.01, seed=seed),
            "logistic_regression": lambda: SupervisedDetector(model="lr", strategy="class_weight", seed=seed),
            "gradient_boosting": lambda: SupervisedDetector(model="hgb", strategy="class_weight", seed=seed)}


def prequential_models(seed: int) -> dict[str, DetectorFactory]:
    """Detectors refitted on every prequential fold (cheap enough to fit several times)."""
    b = baselines(seed)
    return {k: b[k] for k in ("isolation_forest", "gradient_boosting")}


@dataclass
class EvaluationInputs:
    """Test rows with one score column per model (``rows``, ``models``), the study frame and
    its feature columns (for prequential folds) and the dataset path."""

    rows: pd.DataFrame
    models: list[str]
    frame: pd.DataFrame
    features: list[str]
    data: Path


def evaluation_inputs(upstream: Any, customers: int, days: int, seed: int, fraud_rate: float,
                      scenarios: str = "default", label_delay_days: float | None = None) -> EvaluationInputs:
    """The inputs of the evaluation notebook in either mode (see the module docstring)."""
    paths = study_inputs(upstream, customers, days, seed, fraud_rate, scenarios=scenarios, label_delay_days=label_delay_days)
    frame = study_frame(paths["data"], paths["features"])
    features = feature_columns(frame)
    if upstream is not None:
        try:
            score_paths = {task: Path(str(upstream[task]["scores"])) for task in SCORE_TASKS}
        except (KeyError, TypeError):
            raise InputError("upstream", upstream, "Ploomber upstream products of " + ", ".join(SCORE_TASKS)) from None
    else:
        score_paths = study_scores(paths["study"], paths["data"], SCORE_TASKS)
    if score_paths is not None:
        scored = scores_frame(paths["data"], score_paths)
        rows = scored[scored["split"] == "test"].drop(columns="split").reset_index(drop=True)
        models = model_names(rows)
    else:
        models_ = baselines(seed)
        rows = single_split(models_, frame, features, standard_split(frame))
        models = list(models_)
    return EvaluationInputs(rows, models, frame, features, paths["data"])


def default_folds(frame: pd.DataFrame, n_folds: int) -> list:
    """Prequential folds sized to the data: test blocks of 12% of the window, training blocks
    of 40%, gaps of 5% (the label delay), the most recent fold first."""
    n_folds = check_int("n_folds", n_folds, 1, 20)
    span = (frame["ts"].max() - frame["ts"].min()).total_seconds() / 86400
    return prequential_folds(frame["ts"], n_folds, train_days=0.4 * span, gap_days=0.05 * span, test_days=0.12 * span)
