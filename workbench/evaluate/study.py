"""What the evaluation notebook evaluates, in its two modes.

- In the pipeline (Ploomber ``upstream`` given): the test rows of the score products of the
  model notebooks (anomaly, supervised, sequence_models) joined to the dataset's labels.
- Standalone (JupyterLab, nbval, ``python -m workbench report``, the sweep): the scratch
  study of the given parameters (:mod:`workbench.notebook`). When the model notebooks were
  run by hand in that study, their score products are evaluated as in the pipeline;
  otherwise the baseline detectors (:func:`baselines`) are fitted on a single time split
  with a delay gap.

Both also return the study frame (features + labels) for the prequential protocol, the
detectors it refits (the table's rows that can be refitted: one source of truth for what the
table and the prequential check cover) and the provenance read from the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import clone

from workbench.dataset.reader import open_dataset
from workbench.evaluate.frame import model_names, scores_frame
from workbench.evaluate.protocol import DetectorFactory, single_split
from workbench.features.splits import prequential_folds
from workbench.models.data import feature_columns, model_frame, standard_split
from workbench.models.isolation_forest import IsolationForestDetector
from workbench.models.package import load_package, read_manifest
from workbench.models.supervised import SupervisedDetector
from workbench.notebook import study_inputs, study_products, study_scores
from workbench.validation import InputError, check_int

SCORE_TASKS = (
    "anomaly",
    "supervised",
    "sequence_models",
)  # upstream tasks whose score products are evaluated


def baselines(seed: int) -> dict[str, DetectorFactory]:
    """The standalone report's detectors: an unsupervised, a linear and a tree baseline."""
    return {
        "isolation_forest": lambda: IsolationForestDetector(contamination=0.01, seed=seed),
        "logistic_regression": lambda: SupervisedDetector(
            model="lr", strategy="class_weight", seed=seed
        ),
        "gradient_boosting": lambda: SupervisedDetector(
            model="hgb", strategy="class_weight", seed=seed
        ),
    }


@dataclass
class EvaluationInputs:
    """Test rows with one score column per model (``rows``, ``models``), the study frame and
    its feature columns, the dataset path, the detectors the prequential check refits
    (``refit``: factories keyed by their row name in the comparison table, with the
    inputs each takes, ``refit_inputs``; table rows that cannot be refitted are listed in
    ``not_refit`` with the reason) and the provenance (:func:`provenance`)."""

    rows: pd.DataFrame
    models: list[str]
    frame: pd.DataFrame
    features: list[str]
    data: Path
    refit: dict[str, DetectorFactory] = field(default_factory=dict)
    refit_inputs: dict[str, Any] = field(default_factory=dict)
    not_refit: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


def dataset_parameters(data: str | Path) -> dict[str, Any]:
    """The parameters a dataset was generated with, read from its card: customers, days,
    start, seed, market, fraud rate, scenario mix, label delay (mean days) and the mix as
    recorded (prevalences, rings, label delay)."""
    card = open_dataset(data).card
    config = card.get("config", {})
    mix = card.get("fraud_mix")
    fraud_rate = config.get("fraud_rate")
    return {
        "customers": config.get("customers"),
        "days": config.get("days"),
        "start": config.get("start"),
        "seed": card.get("seed"),
        "market": card.get("market"),
        "fraud_rate": fraud_rate if fraud_rate is not None else (mix or {}).get("fraud_rate"),
        "scenarios": config.get("scenarios"),
        "label_delay_days": None if mix is None else mix["label_delay"]["mean_days"],
        "fraud_mix": mix,
        "transactions": card.get("row_counts", {}).get("transactions"),
        "dataset": card.get("name"),
        "dataset_created_at": card.get("created_at"),
    }


def model_parameters(detector: Any, package: Path | None = None) -> dict[str, Any]:
    """A detector's class and parameters (``get_params``): from its package manifest when
    ``package`` is given, else from the detector object."""
    if package is not None:
        manifest = read_manifest(package)
        return {
            "detector": manifest["detector"],
            "params": manifest.get("params"),
            "package": str(package),
        }
    return {
        "detector": f"{type(detector).__module__}.{type(detector).__qualname__}",
        "params": detector.get_params(deep=False),
        "package": None,
    }


def _packages(upstream: Any) -> dict[str, Path]:
    """Model packages of the upstream model tasks, by directory name (the score column
    the notebooks write for the packaged model)."""
    found: dict[str, Path] = {}
    for task in SCORE_TASKS:
        root = Path(str(upstream[task]["models"]))
        listed = sorted(root.iterdir()) if root.is_dir() else []
        for path in (p for p in listed if (p / "manifest.json").is_file()):
            found.setdefault(path.name, path)
    return found


def _refit_packages(
    models: list[str], packages: dict[str, Path], frame: pd.DataFrame
) -> tuple[dict, dict, dict]:
    """Factories that refit a fresh clone of each packaged tabular model on the feature
    columns it was trained on; the other table rows with the reason they are not refitted."""
    from workbench.models.sequence import SequenceDetector  # Keras: only when packages are read

    refit, inputs, skipped = {}, {}, {}
    for name in models:
        if name not in packages:
            skipped[name] = (
                "no model package (a combination of other scores or a notebook's own comparison)"
            )
            continue
        detector = load_package(packages[name])
        cols = list(detector.features_ or [])
        if isinstance(detector, SequenceDetector):
            skipped[name] = "a sequence model (its windows are built by its notebook)"
            continue
        missing = sorted(set(cols) - set(frame.columns))
        if missing or not cols:
            skipped[name] = f"trained on columns the study frame lacks ({', '.join(missing[:3])})"
            continue
        unfitted = clone(detector)
        refit[name] = lambda unfitted=unfitted: clone(unfitted)
        inputs[name] = lambda mask, cols=cols: frame.loc[mask, cols]
    return refit, inputs, skipped


def evaluation_inputs(
    upstream: Any,
    customers: int,
    days: int,
    seed: int,
    fraud_rate: float,
    scenarios: str = "default",
    label_delay_days: float | None = None,
) -> EvaluationInputs:
    """The inputs of the evaluation notebook in either mode (see the module docstring).
    The provenance is read from the data: the dataset card and, in the pipeline, the model
    packages' manifests; standalone, the baselines' own parameters."""
    paths = study_inputs(
        upstream,
        customers,
        days,
        seed,
        fraud_rate,
        scenarios=scenarios,
        label_delay_days=label_delay_days,
    )
    frame = model_frame(paths["data"], paths["features"])
    features = feature_columns(frame)
    if upstream is not None:
        try:
            score_paths = {task: Path(str(upstream[task]["scores"])) for task in SCORE_TASKS}
            packages = _packages(upstream)
        except (KeyError, TypeError):
            raise InputError(
                "upstream", upstream, "Ploomber upstream products of " + ", ".join(SCORE_TASKS)
            ) from None
    else:  # by hand: the scores the model notebooks wrote into the scratch study, if any
        score_paths = study_scores(paths["study"], paths["data"], SCORE_TASKS)
        if score_paths is not None:
            packages = _packages({t: study_products(paths["study"], t) for t in SCORE_TASKS})
    if score_paths is not None:
        scored = scores_frame(paths["data"], score_paths)
        rows = scored[scored["split"] == "test"].drop(columns="split").reset_index(drop=True)
        models = model_names(rows)
        refit, refit_inputs, not_refit = _refit_packages(models, packages, frame)
        unpackaged = {"detector": None, "params": None, "package": None}
        described = {
            m: model_parameters(None, packages[m])
            if m in packages
            else {**unpackaged, "note": not_refit.get(m)}
            for m in models
        }
    else:
        refit = baselines(seed)
        rows = single_split(refit, frame, features, standard_split(frame))
        models, refit_inputs, not_refit = list(refit), {}, {}
        described = {m: model_parameters(f()) for m, f in refit.items()}
    dataset = dataset_parameters(paths["data"])
    if upstream is None:  # the dataset built here must be the one asked for
        asked = {"customers": customers, "days": days, "seed": seed, "fraud_rate": fraud_rate}
        for key, value in asked.items():
            if dataset[key] != value:
                raise InputError(
                    key, value, f"the value the dataset card records ({dataset[key]})"
                )
    provenance = {"dataset": dataset, "models": described}
    return EvaluationInputs(
        rows, models, frame, features, paths["data"], refit, refit_inputs, not_refit, provenance
    )


def default_folds(
    frame: pd.DataFrame, n_folds: int, start: pd.Timestamp | str | None = None
) -> list:
    """Prequential folds sized to the data: test blocks of 12% of the window, training blocks
    of 40%, gaps of 5% (the label delay), the most recent fold first; anchored at the end
    of the data, or at ``start`` (the first training block's start) when given."""
    n_folds = check_int("n_folds", n_folds, 1, 20)
    span = (frame["ts"].max() - frame["ts"].min()).total_seconds() / 86400
    return prequential_folds(
        frame["ts"],
        n_folds,
        train_days=0.4 * span,
        gap_days=0.05 * span,
        test_days=0.12 * span,
        start=start,
    )
