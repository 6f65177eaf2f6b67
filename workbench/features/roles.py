"""Column roles: the one registry that says what every column of a study frame is.

- **key**: identifies a row and places it in time (``txn_id``, ``ts``, ``customer_id``,
  ``card_id``); never a model input.
- **label**: the ground truth and its timing (``is_fraud``, ``is_train_eligible``,
  ``fraud_confirmed_at``); the target, never an input.
- **metadata**: what the evaluation needs about a row (money, scenario, ring shape,
  episode and its start, the split); outcomes such as ``loss`` live here, never an input.
- **feature**: a model input. Features are selected **by name** from the feature registry:
  the catalogue (``workbench.features.catalogue``), the graph features
  (``workbench.graph.graph_features.GRAPH_FEATURES``) and names a researcher registers with
  :func:`register_feature_columns`. A column that is none of these is an error, not a
  silent input.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from workbench.validation import InputError

KEY = ("txn_id", "ts", "customer_id", "card_id")
LABEL = ("is_fraud", "is_train_eligible", "fraud_confirmed_at")
METADATA = (
    "amount",
    "loss",
    "fraud_type",
    "ring_id",
    "ring_shape",
    "fraud_episode_id",
    "episode_start",
    "split",
)
ROLES = ("key", "label", "metadata", "feature")

_registered: dict[str, str] = {}  # user-registered feature name -> who registered it


def _builtin_features() -> tuple[str, ...]:
    from workbench.features.catalogue import CATALOGUE
    from workbench.graph.graph_features import GRAPH_FEATURES

    return tuple(f.name for f in CATALOGUE) + tuple(GRAPH_FEATURES)


def register_feature_columns(names: Iterable[str], source: str = "user") -> list[str]:
    """Register ``names`` as model features (a researcher's own columns); returns them.
    A name that is a key, label or metadata column is refused: it can never be an input."""
    names = [names] if isinstance(names, str) else list(names)
    reserved = set(KEY) | set(LABEL) | set(METADATA)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InputError("names", name, "non-empty column names")
        if name in reserved:
            raise InputError(
                "names",
                name,
                f"a column that is not a key, label or metadata column ({role(name)})",
            )
    for name in names:
        _registered.setdefault(name, source)
    return names


def unregister_feature_columns(names: Iterable[str]) -> None:
    """Remove user-registered feature names (built-in features stay)."""
    for name in [names] if isinstance(names, str) else names:
        _registered.pop(name, None)


def feature_names() -> tuple[str, ...]:
    """Every registered feature: catalogue, graph features, then user-registered names."""
    builtin = _builtin_features()
    return builtin + tuple(n for n in _registered if n not in builtin)


def role(column: str) -> str | None:
    """The role of a column name (``key``, ``label``, ``metadata``, ``feature``), or None."""
    for name, members in (("key", KEY), ("label", LABEL), ("metadata", METADATA)):
        if column in members:
            return name
    return "feature" if column in feature_names() else None


def column_roles(frame: pd.DataFrame) -> dict[str, str | None]:
    """Each column of ``frame`` with its role (None for a column no registry knows)."""
    return {c: role(c) for c in frame.columns}


def feature_columns(frame: pd.DataFrame, unknown: str = "raise") -> list[str]:
    """The model inputs of ``frame``: its columns that are registered features, in frame
    order. A column with no role is an error (``unknown="raise"``, the default: register
    it with :func:`register_feature_columns` or drop it) or left out (``unknown="ignore"``,
    for frames that also carry model scores)."""
    if unknown not in ("raise", "ignore"):
        raise InputError("unknown", unknown, "'raise' or 'ignore'")
    roles = column_roles(frame)
    stray = [c for c, r in roles.items() if r is None]
    if stray and unknown == "raise":
        raise InputError(
            "frame",
            stray[:10],
            "columns with a role: keys, labels, metadata or registered features "
            "(workbench.features.roles.register_feature_columns registers a feature)",
        )
    features = [c for c, r in roles.items() if r == "feature"]
    if not features:
        raise InputError(
            "frame",
            list(frame.columns)[:10],
            "a frame with at least one registered feature column",
        )
    return features
