"""The customer-customer projection: customers linked by the devices, IPs and PII they share.

Sharing is only evidence when it is unusual. A public café IP or a VPN exit is used by many
customers every week; a fraud ring's device or recycled IPs are used by many customers in
a *burst*. So devices and IPs are counted per time bucket and a bucket is flagged when its
distinct users are at least ``min_users`` and improbable under the entity's own baseline (a
Poisson upper tail at ``alpha``, the baseline being the entity's mean users per bucket
without this bucket and its neighbours). IPs count only customers on *fresh* devices (first
seen at most ``fresh_ip_days`` before the use): a VPN exit's regulars come back on their own
phones week after week, with bursts on busy weeks, while a ring recycling a few IPs brings a
new device for every account it works. Phones, emails and addresses are static: shared by
``min_users`` or more customers is flagged. Buckets with more than ``max_users`` customers
are dropped (a whole city on one IP is not a ring).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from scipy.stats import poisson

from workbench.graph.edges import PII_KINDS, pii_members, usage_windows, window_members
from workbench.graph.source import GraphSource

MEMBER_COLUMNS = ["customer_id", "kind", "entity", "users", "pvalue"]


def flag_bursts(
    windows: pd.DataFrame, min_users: int, max_users: int, alpha: float
) -> pd.DataFrame:
    """Usage windows (from :func:`usage_windows`) whose users are a burst: at least
    ``min_users``, at most ``max_users``, and Poisson tail probability below ``alpha``."""
    w = windows[(windows["users"] >= min_users) & (windows["users"] <= max_users)].copy()
    # the baseline leaves out this bucket and its neighbours: a burst spanning two buckets
    # must not raise its own baseline
    others = (w["total_users"] - w["local_users"]) / np.maximum(w["buckets"] - 3, 1)
    w["pvalue"] = poisson.sf(w["users"] - 1, np.maximum(others, 1e-3))
    return w[w["pvalue"] < alpha].reset_index(drop=True)


def shared_members(
    src: GraphSource,
    bucket_days: float,
    min_users: int,
    max_users: int,
    alpha: float,
    fresh_ip_days: float | None = None,
) -> pd.DataFrame:
    """Every flagged sharing: customer_id, kind (device, ip, phone, email, address),
    entity (``kind:id``), users (customers sharing it) and pvalue (NaN for PII)."""
    flagged = flag_bursts(
        usage_windows(src, bucket_days, fresh_ip_days, min_users), min_users, max_users, alpha
    )
    parts = []
    if len(flagged):
        members = window_members(src, flagged, bucket_days, fresh_ip_days).merge(
            flagged, on=["kind", "entity_id", "grid", "bucket"]
        )
        members["entity"] = members["kind"] + ":" + members["entity_id"].astype(str)
        # one row per customer and entity: the strongest of its flagged buckets
        members = members.sort_values("pvalue", kind="stable").drop_duplicates(
            ["customer_id", "entity"]
        )
        parts.append(members[MEMBER_COLUMNS])
    pii = pii_members(src, min_users, max_users)
    if len(pii):
        parts.append(pii.assign(pvalue=np.nan)[MEMBER_COLUMNS])
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="int64" if c in ("customer_id", "users") else object)
                for c in MEMBER_COLUMNS
            }
        )
    return (
        pd.concat(parts, ignore_index=True)
        .sort_values(["entity", "customer_id"], kind="stable")
        .reset_index(drop=True)
    )


def shared_pairs(members: pd.DataFrame, pii_min_shared: int = 1) -> pd.DataFrame:
    """Customer pairs (a < b) sharing flagged entities: a, b, weight (entities shared) and
    kinds (the sorted kinds shared, comma-separated). Pairs linked by PII alone need
    ``pii_min_shared`` shared fragments: one shared address is a family or a collision, a
    shared phone *and* address across unrelated customers is a synthetic-identity pattern."""
    m = members[["customer_id", "entity", "kind"]]
    pairs = m.merge(m, on=["entity", "kind"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["customer_id_a"] < pairs["customer_id_b"]]
    if pairs.empty:
        return pd.DataFrame(
            {
                "a": pd.Series(dtype="int64"),
                "b": pd.Series(dtype="int64"),
                "weight": pd.Series(dtype="int64"),
                "kinds": pd.Series(dtype=object),
            }
        )
    out = (
        pairs.groupby(["customer_id_a", "customer_id_b"])
        .agg(weight=("entity", "nunique"), kinds=("kind", lambda k: ",".join(sorted(set(k)))))
        .reset_index()
        .rename(columns={"customer_id_a": "a", "customer_id_b": "b"})
    )
    pii_only = out["kinds"].map(lambda k: set(k.split(",")) <= set(PII_KINDS))
    return out[~pii_only | (out["weight"] >= pii_min_shared)].reset_index(drop=True)


def projection_graph(pairs: pd.DataFrame, min_weight: int = 1) -> nx.Graph:
    """The weighted customer projection (edges with at least ``min_weight`` shared entities)."""
    g = nx.Graph()
    keep = pairs[pairs["weight"] >= min_weight]
    g.add_weighted_edges_from(
        zip(keep["a"].tolist(), keep["b"].tolist(), keep["weight"].astype(float).tolist())
    )
    return g
