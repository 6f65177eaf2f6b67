"""Vectorised sampling helpers used throughout the simulator (no Python loops over rows)."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def categorical(
    rng: np.random.Generator,
    weights: np.ndarray,
    groups: np.ndarray | None = None,
    size: int | None = None,
) -> np.ndarray:
    """Draw category indices from per-group weight rows.

    ``weights`` is (n_groups, n_categories); row ``groups[i]`` gives the distribution of
    draw ``i``. With a 1-D ``weights`` and ``size``, all draws share one distribution. The
    trick: offset each group's cumulative distribution by its group index and search all
    draws in one sorted array.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim == 1:
        cdf = np.cumsum(w) / w.sum()
        out = np.searchsorted(cdf, rng.random(size), side="right")
        return np.minimum(out, len(w) - 1)
    n_cat = w.shape[1]
    totals = w.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    cdf = np.cumsum(w / totals, axis=1)
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(w.shape[0])[:, None]).ravel()
    g = np.asarray(groups)
    pos = np.searchsorted(flat, g + rng.random(len(g)), side="right")
    return np.minimum(pos - g * n_cat, n_cat - 1)


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in kilometres between coordinate arrays (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def group_offsets(keys: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For integer ``keys`` in [0, n_groups): (order, start, count) to index rows by group.

    ``order`` lists row indices sorted by key; the rows of group g are
    ``order[start[g]:start[g] + count[g]]``.
    """
    order = np.argsort(keys, kind="stable")
    count = np.bincount(keys, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return order, start, count


def pick_in_group(
    rng: np.random.Generator,
    groups: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
) -> np.ndarray:
    """Uniformly pick one row of each requested group (-1 where the group is empty)."""
    c = count[groups]
    pos = start[groups] + np.floor(rng.random(len(groups)) * np.maximum(c, 1)).astype(np.int64)
    return np.where(c > 0, order[np.minimum(pos, len(order) - 1)], -1)


def rank_within(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each element among equal keys, in array order (keys need not be sorted)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    idx = np.arange(len(keys))
    starts = np.maximum.accumulate(np.where(first, idx, 0))
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[order] = idx - starts
    return ranks
