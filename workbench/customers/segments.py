"""Segmentation: cluster customers on their features and score the clusters against the
simulator's true segments (adjusted Rand index, normalised mutual information), with the
silhouette as the label-free measure. k is chosen by silhouette (k-means) or BIC (Gaussian
mixture) over a range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from workbench.validation import InputError, check_int

METHODS = ("kmeans", "gmm")
# skewed amounts and counts are clustered on a log scale
LOG_FAMILIES = ("frequency", "monetary", "profile", "balance", "income", "engagement")
__all__ = ["Segmentation", "METHODS", "segment_matrix", "segment_customers", "cluster_profile"]


@dataclass
class Segmentation:
    """Cluster labels per method, the scores of every k tried, and the chosen k."""

    labels: pd.DataFrame  # customer_id -> one column per method
    search: pd.DataFrame  # method, k, silhouette, bic
    scores: pd.DataFrame  # per method: k, silhouette, adjusted_rand, nmi
    matrix: np.ndarray


def segment_matrix(features: pd.DataFrame, market: str = "india") -> np.ndarray:
    """The standardised matrix clustering runs on (log1p of non-negative skewed families)."""
    from workbench.customers.catalogue import customer_catalogue

    family = {f.name: f.family for f in customer_catalogue(market)}
    cols = []
    for name in features.columns:
        x = features[name].to_numpy(float)
        cols.append(np.log1p(np.maximum(x, 0)) if family.get(name) in LOG_FAMILIES else x)
    return StandardScaler().fit_transform(np.column_stack(cols))


def _fit(method: str, k: int, X: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    if method == "kmeans":
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(X)
        return labels, float("nan")
    gm = GaussianMixture(n_components=k, covariance_type="diag", random_state=seed,
                         n_init=2).fit(X)
    return gm.predict(X), float(gm.bic(X))


def segment_customers(features: pd.DataFrame, truth: pd.Series,
                      ks: tuple[int, ...] = (5, 6, 7, 8), seed: int = 0,
                      market: str = "india") -> Segmentation:
    """Cluster ``features`` with every method for each k in ``ks``, pick k (silhouette for
    k-means, BIC for the mixture) and score the chosen clustering against ``truth``."""
    if len(ks) == 0 or min(ks) < 2:
        raise InputError("ks", list(ks), "numbers of clusters, each at least 2")
    ks = tuple(check_int("ks", k, 2, len(features) - 1) for k in ks)
    if not truth.index.equals(features.index):
        raise InputError("truth", "an index other than the features'",
                         "true segments indexed like the features")
    X = segment_matrix(features, market)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(X), size=min(len(X), 3000), replace=False)
    rows, fits = [], {}
    for method in METHODS:
        for k in ks:
            labels, bic = _fit(method, k, X, seed)
            sil = float(silhouette_score(X[sample], labels[sample]))
            rows.append({"method": method, "k": k, "silhouette": sil, "bic": bic})
            fits[method, k] = labels
    search = pd.DataFrame(rows)
    kmeans, gmm = search[search.method == "kmeans"], search[search.method == "gmm"]
    chosen = {"kmeans": int(kmeans.loc[kmeans.silhouette.idxmax(), "k"]),
              "gmm": int(gmm.loc[gmm.bic.idxmin(), "k"])}
    labels = pd.DataFrame({m: fits[m, k] for m, k in chosen.items()}, index=features.index)
    y = truth.to_numpy()
    scores = pd.DataFrame([{
        "method": m, "k": k, "silhouette": float(silhouette_score(X[sample],
                                                                   labels[m].to_numpy()[sample])),
        "adjusted_rand": float(adjusted_rand_score(y, labels[m])),
        "nmi": float(normalized_mutual_info_score(y, labels[m])),
    } for m, k in chosen.items()]).set_index("method")
    return Segmentation(labels, search, scores, X)


def cluster_profile(features: pd.DataFrame, labels: pd.Series,
                    columns: list[str] | None = None) -> pd.DataFrame:
    """Per cluster: its size and the median of each feature in ``columns``."""
    cols = columns or list(features.columns)
    prof = features[cols].groupby(labels.to_numpy()).median()
    prof.insert(0, "customers", labels.value_counts().sort_index().to_numpy())
    prof.index.name = "cluster"
    return prof
