"""Point-in-time graph features for models.

The window is cut into periods of ``every_days``. At the start s of each period a snapshot
graph is built from the ``lookback_days`` before s (nothing at or after s), and every
transaction of the period gets its customer's node features from that snapshot. So a
transaction's graph features use only what was known before its period began; the cost is
that links made during the period show up in the next one.
"""

from __future__ import annotations

import os

import networkx as nx
import pandas as pd

from workbench.graph.detect import RingConfig, detect_rings, ring_inputs
from workbench.graph.edges import use_edges
from workbench.graph.projection import shared_pairs
from workbench.graph.source import US_PER_DAY, GraphSource
from workbench.io import write_parquet
from workbench.validation import InputError, check_float

GRAPH_FEATURES = (
    "graph_deg_device",
    "graph_deg_ip",
    "graph_deg_account",
    "graph_deg_counterparty",
    "graph_shared_device_customers",
    "graph_component_size",
    "graph_pagerank",
    "graph_ring_score",
)


def snapshot_features(src: GraphSource, config: RingConfig | None = None) -> pd.DataFrame:
    """Node features of every customer active in ``src``'s window: degrees per edge type,
    customers met on its devices, size of its sharing component, PageRank on the customer
    graph of sharing and transfers (times the node count, so 1 is average), and the score
    of the strongest detected ring it belongs to."""
    config = config or RingConfig()
    uses = use_edges(src)
    feats = uses.pivot_table(
        index="customer_id", columns="kind", values="entity_id", aggfunc="nunique", fill_value=0
    )
    feats = feats.reindex(columns=["device", "ip", "account"], fill_value=0).add_prefix(
        "graph_deg_"
    )
    dev = uses.loc[uses["kind"] == "device", ["customer_id", "entity_id"]]
    met = dev.merge(dev, on="entity_id")
    feats["graph_shared_device_customers"] = (
        met[met["customer_id_x"] != met["customer_id_y"]]
        .groupby("customer_id_x")["customer_id_y"]
        .nunique()
    )
    inputs = ring_inputs(src, config)  # read once: the detectors below use the same inputs
    moves, owners = inputs.moves, inputs.owners
    out = moves[(moves["direction"] == "out") & (moves["counterparty_account_id"] >= 0)]
    money = pd.DataFrame(
        {
            "a": out["customer_id"].to_numpy(),
            "b": out["counterparty_account_id"].map(owners).to_numpy(),
        }
    ).dropna()
    money = money[money["a"] != money["b"]].astype("int64")
    both = pd.concat([money, money.rename(columns={"a": "b", "b": "a"})])
    feats["graph_deg_counterparty"] = both.groupby("a")["b"].nunique()
    pairs = shared_pairs(inputs.members, config.pii_min_shared)
    sharing = nx.Graph()
    sharing.add_edges_from(zip(pairs["a"].tolist(), pairs["b"].tolist()))
    feats["graph_component_size"] = pd.Series(
        {n: len(c) for c in nx.connected_components(sharing) for n in c}, dtype="float64"
    )
    g = sharing.copy()
    g.add_edges_from(zip(money["a"].tolist(), money["b"].tolist()))
    if g.number_of_nodes():
        rank = nx.pagerank(g, alpha=0.85, max_iter=1000, tol=1e-9)
        feats["graph_pagerank"] = pd.Series(rank) * g.number_of_nodes()
    rings = detect_rings(inputs, config)
    rings = rings[rings["method"] == "combined"].explode("members")
    if len(rings):
        feats["graph_ring_score"] = rings.groupby(rings["members"].astype("int64"))["score"].max()
    feats = feats.reindex(columns=list(GRAPH_FEATURES)).fillna(0.0).astype("float64")
    feats.loc[feats["graph_component_size"] == 0, "graph_component_size"] = 1.0  # alone
    return feats.rename_axis("customer_id").reset_index()


def graph_features(
    src: GraphSource,
    every_days: float = 7.0,
    lookback_days: float = 28.0,
    config: RingConfig | None = None,
) -> pd.DataFrame:
    """Snapshot features for every period of ``src``'s window: snapshot_us, customer_id and
    the GRAPH_FEATURES (a snapshot at s uses ``[s - lookback_days, s)`` only)."""
    every = int(check_float("every_days", every_days, 0.1, 366.0) * US_PER_DAY)
    lookback = int(check_float("lookback_days", lookback_days, 0.1, 3660.0) * US_PER_DAY)
    frames = []
    for s in range(src.start_us, src.end_us, every):
        if s == src.start_us:
            continue  # no history before the first period: its features stay zero
        snap = snapshot_features(GraphSource(src.con, max(src.start_us, s - lookback), s), config)
        frames.append(snap.assign(snapshot_us=s))
    if not frames:
        return pd.DataFrame(columns=["snapshot_us", "customer_id", *GRAPH_FEATURES])
    return pd.concat(frames, ignore_index=True)[["snapshot_us", "customer_id", *GRAPH_FEATURES]]


def transaction_graph_features(
    src: GraphSource, snapshots: pd.DataFrame, every_days: float = 7.0
) -> pd.DataFrame:
    """Each transaction of ``src``'s window with its customer's features from the snapshot at
    the start of its period (zeros before the first snapshot or for customers not in it)."""
    every = int(check_float("every_days", every_days, 0.1, 366.0) * US_PER_DAY)
    missing = {"snapshot_us", "customer_id", *GRAPH_FEATURES} - set(snapshots.columns)
    if missing:
        raise InputError(
            "snapshots",
            sorted(snapshots.columns),
            f"a frame from graph_features (missing {sorted(missing)})",
        )
    src.con.register("_graph_snapshots", snapshots)
    try:
        cols = ", ".join(f"coalesce(g.{f}, 0.0) AS {f}" for f in GRAPH_FEATURES)
        return src.frame(f"""
            SELECT t.txn_id, {cols}
            FROM transactions t
            LEFT JOIN _graph_snapshots g ON g.customer_id = t.customer_id
                 AND g.snapshot_us = {src.start_us}
                     + (epoch_us(t.timestamp) - {src.start_us}) // {every} * {every}
            WHERE {src.window("t.timestamp")} ORDER BY t.txn_id""")
    finally:
        src.con.unregister("_graph_snapshots")


def write_graph_features(
    src: GraphSource,
    out: str | os.PathLike,
    every_days: float = 7.0,
    lookback_days: float = 28.0,
    config: RingConfig | None = None,
) -> dict:
    """Compute the per-transaction graph features and write them to Parquet at ``out``
    atomically (a temporary file renamed into place); returns rows and snapshot count."""
    snaps = graph_features(src, every_days, lookback_days, config)
    frame = transaction_graph_features(src, snaps, every_days)
    path = write_parquet(out, frame)
    return {
        "rows": len(frame),
        "snapshots": int(snaps["snapshot_us"].nunique()) if len(snaps) else 0,
        "path": str(path),
    }
