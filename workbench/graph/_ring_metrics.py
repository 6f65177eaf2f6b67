"""Detected rings against the planted ones.

A planted ring counts as *found* by a method when one of the method's detected rings has
Jaccard similarity at least ``threshold`` (0.5) with its members. Ring-level recall per
planted shape is the share found. Ring-level precision per shape is over the method's rings
attributed to that shape: those matching a planted ring of the shape, plus the unmatched
ones of the kind the shape shows as (device_sharing -> shared_device, ip_recycling ->
shared_ip, synthetic_identity_ring -> shared_pii, kiting -> money_cycle, mule_network ->
mule_flow); it is the share of them that match some planted ring. (A kiting ring found by
the mule-flow detector is a correct kiting detection; a spurious shared-IP group counts
against IP recycling.) Member-level figures count customers: recall is the share of a
shape's members inside any of the method's rings, precision the share of the attributed
rings' members that belong to some planted ring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.fraud.mix import RING_SHAPES
from workbench.graph.detect import METHODS
from workbench.graph.source import GraphSource
from workbench.validation import check_float

KIND_OF_SHAPE = {
    "device_sharing": "shared_device",
    "ip_recycling": "shared_ip",
    "synthetic_identity_ring": "shared_pii",
    "kiting": "money_cycle",
    "mule_network": "mule_flow",
}
SIZE_BANDS = ((3, 5, "3-5"), (6, 9, "6-9"), (10, 10_000, "10+"))


def planted_rings(src: GraphSource) -> pd.DataFrame:
    """The dataset's planted rings: ring_id, shape, variant, size, start and members (tuple)."""
    rings = src.frame(
        "SELECT ring_id, shape, variant, size, start, members FROM rings ORDER BY ring_id"
    )
    rings["members"] = [tuple(sorted(int(c) for c in m.split(","))) for m in rings["members"]]
    return rings


def fraud_customers(src: GraphSource) -> set[int]:
    """Customers with any fraud episode (ring or not): a detected group of them is real fraud
    even when it is not a planted ring (synthetic identities sharing PII, for example)."""
    return set(src.frame("SELECT DISTINCT customer_id FROM episodes")["customer_id"].astype(int))


def best_matches(detected: pd.DataFrame, planted: pd.DataFrame) -> pd.DataFrame:
    """For every (detected ring, planted ring) pair sharing a member: their Jaccard similarity
    (columns det, ring_id, jaccard), computed from memberships without an all-pairs loop."""
    d = (
        detected[["members"]]
        .assign(det=range(len(detected)))
        .explode("members")
        .rename(columns={"members": "customer_id"})
    )
    p = (
        planted[["ring_id", "members"]]
        .explode("members")
        .rename(columns={"members": "customer_id"})
    )
    if d.empty or p.empty:
        return pd.DataFrame(
            {
                "det": pd.Series(dtype="int64"),
                "ring_id": pd.Series(dtype="int64"),
                "jaccard": pd.Series(dtype=float),
            }
        )
    inter = (
        d.merge(p, on="customer_id")
        .groupby(["det", "ring_id"])
        .size()
        .rename("inter")
        .reset_index()
    )
    inter["jaccard"] = inter["inter"] / (
        inter["det"].map(detected["size"].reset_index(drop=True))
        + inter["ring_id"].map(planted.set_index("ring_id")["size"])
        - inter["inter"]
    )
    return inter[["det", "ring_id", "jaccard"]]


def ring_metrics(
    detected: pd.DataFrame,
    planted: pd.DataFrame,
    threshold: float = 0.5,
    fraudsters: set[int] | None = None,
) -> pd.DataFrame:
    """Ring- and member-level precision and recall per method and planted shape. With
    ``fraudsters`` (see :func:`fraud_customers`), ``fraud_group_precision`` is the share of
    the kind's detections whose members are mostly fraud customers, planted ring or not."""
    check_float("threshold", threshold, 0.0, 1.0)
    rows = []
    all_planted = set(planted["members"].explode().dropna().astype(int))
    present = set(detected["method"]) if len(detected) else set()
    for method in sorted(present | set(METHODS)):  # a method that found nothing still gets its row
        mine = detected[detected["method"] == method].reset_index(drop=True)
        match = best_matches(mine, planted)
        good = match[match["jaccard"] >= threshold]
        found = set(good["ring_id"])
        matched = set(good["det"])
        detected_members = set(mine["members"].explode().dropna().astype(int))
        good_shape = good.merge(planted[["ring_id", "shape"]], on="ring_id")
        for shape in RING_SHAPES:
            rings = planted[planted["shape"] == shape]
            of_shape = set(good_shape.loc[good_shape["shape"] == shape, "det"])
            kind = mine.index[
                mine.index.isin(of_shape)
                | ((mine["kind"] == KIND_OF_SHAPE[shape]) & ~mine.index.isin(matched))
            ]
            members = set(rings["members"].explode().dropna().astype(int))
            kind_members = set(mine.loc[kind, "members"].explode().dropna().astype(int))
            rows.append(
                {
                    "method": method,
                    "shape": shape,
                    "planted": len(rings),
                    "found": int(rings["ring_id"].isin(found).sum()),
                    "detected": len(kind),
                    "detected_matching": len(set(kind) & matched),
                    "ring_recall": rings["ring_id"].isin(found).mean()
                    if len(rings)
                    else float("nan"),
                    "ring_precision": len(set(kind) & matched) / len(kind)
                    if len(kind)
                    else float("nan"),
                    "member_recall": len(members & detected_members) / len(members)
                    if members
                    else float("nan"),
                    "member_precision": len(kind_members & all_planted) / len(kind_members)
                    if kind_members
                    else float("nan"),
                    "fraud_group_precision": (
                        float(
                            np.mean(
                                [
                                    len(set(m) & fraudsters) / len(m) >= 0.5
                                    for m in mine.loc[kind, "members"]
                                ]
                            )
                        )
                        if fraudsters is not None and len(kind)
                        else float("nan")
                    ),
                }
            )
    return pd.DataFrame(rows)


def recall_by_size(
    detected: pd.DataFrame, planted: pd.DataFrame, method: str = "combined", threshold: float = 0.5
) -> pd.DataFrame:
    """Ring-level recall of ``method`` per planted shape and size band (3-5, 6-9, 10+)."""
    mine = detected[detected["method"] == method].reset_index(drop=True)
    match = best_matches(mine, planted)
    found = set(match.loc[match["jaccard"] >= threshold, "ring_id"])
    bands = pd.cut(
        planted["size"],
        [lo - 1 for lo, _, _ in SIZE_BANDS] + [SIZE_BANDS[-1][1]],
        labels=[b for _, _, b in SIZE_BANDS],
    )
    frame = planted.assign(size_band=bands.astype(str), found=planted["ring_id"].isin(found))
    return frame.groupby(["shape", "size_band"], as_index=False).agg(
        planted=("ring_id", "size"), ring_recall=("found", "mean")
    )
