"""Compiled evaluation of a fitted histogram gradient-boosting classifier, for the stream.

scikit-learn's ``predict_proba`` costs ~0.75 ms per call whatever the number of rows (input
validation, thread pool start, one call per tree); a stream micro-batch of 1-64 rows needs a
few microseconds of arithmetic. :class:`CompiledTrees` copies the fitted trees' node arrays
(feature, threshold, missing-value direction, children, leaf values) into flat numpy arrays
once and walks them in a numba-compiled loop, adding the trees' values in scikit-learn's
order (baseline first, then tree by tree), so the raw scores are bit-for-bit scikit-learn's
(a test checks it). Binary classifiers with numerical features only; anything else returns
``None`` from :func:`compile_hgb` and is scored by scikit-learn.
"""

from __future__ import annotations

import numba
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier


@numba.njit(cache=True, nogil=True)
def _raw(
    values, feature, threshold, missing_left, left, right, leaf, value, roots, baseline
):  # pragma: no cover - compiled
    out = np.empty(values.shape[0])
    for row in range(values.shape[0]):
        acc = baseline
        for root in roots:
            node = root
            while not leaf[node]:
                x = values[row, feature[node]]
                if x != x:  # NaN: the side the tree learned for missing values
                    node = left[node] if missing_left[node] else right[node]
                elif x <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            acc += value[node]
        out[row] = acc
    return out


class CompiledTrees:
    """The trees of a fitted binary :class:`HistGradientBoostingClassifier` as flat arrays."""

    def __init__(self, model: HistGradientBoostingClassifier) -> None:
        trees = [predictors[0].nodes for predictors in model._predictors]
        sizes = np.array([len(nodes) for nodes in trees], dtype=np.int64)
        self.roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        nodes = np.concatenate(trees)
        offsets = np.repeat(self.roots, sizes)  # children are numbered within their tree
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(np.bool_)
        self.left = nodes["left"].astype(np.int64) + offsets
        self.right = nodes["right"].astype(np.int64) + offsets
        self.leaf = nodes["is_leaf"].astype(np.bool_)
        self.value = nodes["value"].astype(np.float64)
        self.baseline = float(np.asarray(model._baseline_prediction).ravel()[0])

    def raw(self, values: np.ndarray) -> np.ndarray:
        """The raw (log-odds) score of each row of a float64 matrix of the model's inputs."""
        return _raw(
            np.ascontiguousarray(values, dtype=np.float64),
            self.feature,
            self.threshold,
            self.missing_left,
            self.left,
            self.right,
            self.leaf,
            self.value,
            self.roots,
            self.baseline,
        )


def compile_hgb(model: object) -> CompiledTrees | None:
    """:class:`CompiledTrees` of ``model`` if it is a fitted binary histogram gradient-boosting
    classifier on numerical features, else ``None`` (the caller keeps scikit-learn's path)."""
    if not isinstance(model, HistGradientBoostingClassifier) or not hasattr(model, "_predictors"):
        return None
    if model.n_trees_per_iteration_ != 1 or getattr(model, "_preprocessor", None) is not None:
        return None
    if any(p[0].nodes["is_categorical"].any() for p in model._predictors):
        return None
    return CompiledTrees(model)
