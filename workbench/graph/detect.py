"""Ring detection: shared attributes, time-respecting money cycles and mule flows.

Every detector returns the same frame, one row per detected ring: ``method``, ``kind``
(what the evidence is: shared_device, shared_ip, shared_pii, money_cycle, mule_flow),
``members`` (a sorted tuple of customer ids), ``size``, ``score`` in [0, 1] and
``evidence`` (a dict: shared entities, cycle paths, flows).

Why three families find different rings: connected components of the sharing projection
find everyone linked by any chain of shared entities (complete, but two rings bridged by one
shared entity merge); community detection (Louvain, label propagation) cuts the projection
where links are sparse (splits such bridges, may also split a loosely linked ring); money
rings share no device or IP at all and only show in the flows: a cycle whose hops follow one
another in time (kiting), or accounts that pass on what they receive within hours (mules).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from workbench.graph.edges import account_owners, money_edges, transfers
from workbench.graph.projection import projection_graph, shared_members, shared_pairs
from workbench.graph.source import US_PER_DAY, US_PER_HOUR, GraphSource
from workbench.validation import InputError, check_float, check_int

RING_COLUMNS = ["method", "kind", "members", "size", "score", "evidence"]
SHARED_METHODS = ("components", "louvain", "label_propagation")
METHODS = (*SHARED_METHODS, "cycles", "mule_flows", "combined")
KINDS = ("shared_device", "shared_ip", "shared_pii", "money_cycle", "mule_flow")


@dataclass(frozen=True)
class RingConfig:
    """Thresholds of ring detection (validated on construction)."""

    bucket_days: float = 7.0  # sharing is counted per bucket of this many days
    min_users: int = 3  # a shared entity needs at least this many customers
    max_users: int = 100  # ... and at most this many in one bucket
    alpha: float = 1e-6  # Poisson tail probability of a device/IP burst
    fresh_ip_days: float = 14.0  # IP sharing counts customers on devices this new
    min_shared: int = 1  # projection edges need this many shared entities
    pii_min_shared: int = 2  # ... and two when they share only PII (Faker-like pools collide)
    min_ring_size: int = 3  # smaller groups are not reported as rings
    # shared-attribute groups need this score (a few new phones on a café IP are not a ring)
    min_shared_score: float = 0.5
    cycle_min_length: int = 3  # shortest cycle (2-cycles are friends paying back)
    cycle_max_length: int = 6  # longest cycle searched
    cycle_window_days: float = 10.0  # one round of a cycle completes within this time
    min_rounds: int = 2  # a cycle must be completed this many times
    pass_through: float = 0.8  # mules pass on at least this share of what they receive
    hold_hours: float = 48.0  # ... within this many hours on average
    mule_window_days: float = 7.0  # inflow and outflow are compared per window
    seed: int = 0  # community detection

    def __post_init__(self) -> None:
        for name in (
            "bucket_days",
            "fresh_ip_days",
            "cycle_window_days",
            "hold_hours",
            "mule_window_days",
        ):
            check_float(name, getattr(self, name), 1e-3, 365.0)
        check_float("alpha", self.alpha, 1e-300, 1.0)
        check_float("pass_through", self.pass_through, 0.01, 1.0)
        check_float("min_shared_score", self.min_shared_score, 0.0, 1.0)
        check_int("min_users", self.min_users, 2)
        check_int("max_users", self.max_users, self.min_users)
        check_int("min_shared", self.min_shared, 1)
        check_int("pii_min_shared", self.pii_min_shared, 1)
        check_int("min_ring_size", self.min_ring_size, 2)
        check_int("cycle_min_length", self.cycle_min_length, 2, 12)
        check_int("cycle_max_length", self.cycle_max_length, self.cycle_min_length, 12)
        check_int("min_rounds", self.min_rounds, 1)
        check_int("seed", self.seed, 0)


def _rings(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=RING_COLUMNS)


# ---------------------------------------------------------------- shared attributes


def shared_attribute_rings(
    members: pd.DataFrame, config: RingConfig, methods: tuple[str, ...] = SHARED_METHODS
) -> pd.DataFrame:
    """Rings from the sharing projection of ``members`` (see :func:`shared_members`) by
    connected components, Louvain communities and label propagation."""
    g = projection_graph(shared_pairs(members, config.pii_min_shared), config.min_shared)
    rows = []
    for method in methods:
        if method == "components":
            groups = nx.connected_components(g)
        elif method == "louvain":
            groups = (
                nx.community.louvain_communities(g, weight="weight", seed=config.seed)
                if g.number_of_edges()
                else []
            )
        elif method == "label_propagation":
            groups = (
                nx.community.asyn_lpa_communities(g, weight="weight", seed=config.seed)
                if g.number_of_edges()
                else []
            )
        else:
            raise InputError("methods", method, f"one of {', '.join(SHARED_METHODS)}")
        for group in groups:
            if len(group) >= config.min_ring_size:
                ring = _shared_evidence(sorted(group), members)
                if ring["score"] >= config.min_shared_score:
                    rows.append({"method": method, **ring})
    return _rings(rows)


def _shared_evidence(group: list[int], members: pd.DataFrame) -> dict:
    """Kind, score and evidence of a group of customers linked by shared entities."""
    rows = members[members["customer_id"].isin(group)]
    counts = (
        rows.groupby(["entity", "kind"])
        .agg(members=("customer_id", "nunique"), users=("users", "max"), pvalue=("pvalue", "min"))
        .reset_index()
    )
    counts = counts[counts["members"] >= 2].sort_values(
        ["members", "entity"], ascending=[False, True]
    )
    kinds = set(counts["kind"])
    kind = (
        "shared_pii"
        if kinds & {"phone", "email", "address"}
        else "shared_device"
        if "device" in kinds
        else "shared_ip"
    )
    # the group's score is its strongest entity's: how improbable its burst is (devices, IPs;
    # p = 1e-20 or below scores 1) or how many group members share it (PII; 5 or more score 1)
    burst = np.where(
        counts["pvalue"].notna(),
        np.minimum(1.0, -np.log10(counts["pvalue"].fillna(1.0).clip(lower=1e-300)) / 20),
        np.minimum(1.0, (counts["members"] - 1) / 4),
    )
    score = float(np.max(burst)) if len(counts) else 0.0
    entities = counts.head(10).to_dict("records")
    return {
        "kind": kind,
        "members": tuple(int(c) for c in group),
        "size": len(group),
        "score": round(score, 6),
        "evidence": {"shared": entities},
    }


# ---------------------------------------------------------------- money cycles


def count_rounds(times: list[np.ndarray], window_us: int) -> int:
    """How many times a cycle was completed in order: from a transfer on the first edge, the
    earliest later transfer on each next edge, all within ``window_us``; rounds do not overlap."""
    rounds, after = 0, -1
    while True:
        first = times[0][times[0] > after]
        if not len(first):
            return rounds
        t0 = t = int(first[0])
        for hop in times[1:]:
            later = hop[hop > t]
            if not len(later):
                return rounds
            t = int(later[0])
        if t - t0 <= window_us:
            rounds, after = rounds + 1, t
        else:
            after = t0  # too slow from this start: try the next transfer on the first edge


def money_cycles(moves: pd.DataFrame, owners: pd.Series, config: RingConfig) -> pd.DataFrame:
    """Rings of accounts whose transfers go round a cycle, in time order, at least
    ``min_rounds`` times (kiting). Cycles sharing an account form one ring."""
    edges = money_edges(moves)
    # a cycle completed min_rounds times needs min_rounds transfers on every edge: pruning
    # the others first keeps the cycle search small (all cycles of the raw graph explode)
    edges = edges[edges["n"] >= config.min_rounds]
    g = nx.DiGraph()
    g.add_edges_from(zip(edges["src"].tolist(), edges["dst"].tolist()))
    out = moves[(moves["direction"] == "out") & (moves["counterparty_account_id"] >= 0)]
    out = out.merge(
        edges[["src", "dst"]],
        left_on=["account_id", "counterparty_account_id"],
        right_on=["src", "dst"],
    )
    times = {
        k: np.sort(v.to_numpy())
        for k, v in out.groupby(["account_id", "counterparty_account_id"])["ts_us"]
    }
    amounts = out.groupby(["account_id", "counterparty_account_id"])["amount"].agg(["min", "max"])
    window = int(config.cycle_window_days * US_PER_DAY)
    found = []
    for cycle in nx.simple_cycles(g, length_bound=config.cycle_max_length):
        if len(cycle) < config.cycle_min_length:
            continue
        best = 0
        for r in range(len(cycle)):  # the ring may have started its rounds at any member
            path = cycle[r:] + cycle[:r]
            hops = [times[(path[i], path[(i + 1) % len(path)])] for i in range(len(path))]
            best = max(best, count_rounds(hops, window))
        if best >= config.min_rounds:
            pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
            spread = float(
                min(amounts.loc[p, "min"] for p in pairs)
                / max(amounts.loc[p, "max"] for p in pairs)
            )
            found.append((cycle, best, spread))
    # merge cycles that share accounts into one ring
    merged = nx.Graph()
    for i, (cycle, _, _) in enumerate(found):
        merged.add_edges_from((("c", i), ("a", a)) for a in cycle)
    rows = []
    for part in nx.connected_components(merged):
        idx = sorted(n[1] for n in part if n[0] == "c")
        accounts = sorted(n[1] for n in part if n[0] == "a")
        members = sorted({int(owners.get(a, -1)) for a in accounts} - {-1})
        if len(members) < config.min_ring_size:
            continue
        rounds = max(found[i][1] for i in idx)
        spread = max(found[i][2] for i in idx)
        rows.append(
            {
                "method": "cycles",
                "kind": "money_cycle",
                "members": tuple(members),
                "size": len(members),
                "score": round(min(1.0, rounds / 4) * spread, 6),
                "evidence": {
                    "cycles": [[int(a) for a in found[i][0]] for i in idx[:5]],
                    "rounds": rounds,
                    "amount_min_over_max": round(spread, 4),
                },
            }
        )
    return _rings(rows)


# ---------------------------------------------------------------- mule flows


def pass_through_windows(moves: pd.DataFrame, config: RingConfig) -> pd.DataFrame:
    """Account windows (two grids of ``mule_window_days``, offset by half a window) in which
    the account passes on at least ``pass_through`` of what it receives, and not more, after
    holding it ``hold_hours`` at most on average: account_id, grid, bucket, amount_in,
    amount_out, ratio, hold_hours, flows."""
    width = int(config.mule_window_days * US_PER_DAY)
    # amount-weighted mean times, in float hours from the first transfer (int64 microseconds
    # times amounts would overflow)
    hours = (moves["ts_us"] - (moves["ts_us"].min() if len(moves) else 0)) / US_PER_HOUR
    frames = []
    for grid in (0, 1):
        m = moves.assign(
            grid=grid,
            bucket=(moves["ts_us"] + grid * (width // 2)) // width,
            wts=hours * moves["amount"],
        )
        agg = m.pivot_table(
            index=["account_id", "grid", "bucket"],
            columns="direction",
            values=["amount", "wts", "ts_us"],
            aggfunc={"amount": "sum", "wts": "sum", "ts_us": "count"},
            fill_value=0,
        )
        agg.columns = [f"{a}_{d}" for a, d in agg.columns]
        frames.append(agg.reset_index())
    w = pd.concat(frames, ignore_index=True)
    for col in ("amount_in", "amount_out", "wts_in", "wts_out", "ts_us_in", "ts_us_out"):
        if col not in w:
            w[col] = 0
    w = w[(w["amount_in"] > 0) & (w["amount_out"] > 0)].copy()
    w["ratio"] = w["amount_out"] / w["amount_in"]
    w["hold_hours"] = w["wts_out"] / w["amount_out"] - w["wts_in"] / w["amount_in"]
    w["flows"] = w["ts_us_in"] + w["ts_us_out"]
    ok = w[
        (w["ratio"] >= config.pass_through)
        & (w["ratio"] <= 1.0 + 1e-9)
        & (w["hold_hours"] >= 0)
        & (w["hold_hours"] <= config.hold_hours)
        & (w["flows"] >= 2)
    ]
    return ok[
        ["account_id", "grid", "bucket", "amount_in", "amount_out", "ratio", "hold_hours", "flows"]
    ].reset_index(drop=True)


def _in_window(
    accounts: pd.Series, ts_us: pd.Series, windows: pd.DataFrame, width: int
) -> np.ndarray:
    """Whether each (account, time) falls in one of the account's flagged windows."""
    hit = np.zeros(len(accounts), dtype=bool)
    for grid in (0, 1):
        keys = pd.DataFrame(
            {
                "account_id": accounts.to_numpy(),
                "bucket": (ts_us.to_numpy() + grid * (width // 2)) // width,
            }
        )
        flagged = (
            windows.loc[windows["grid"] == grid, ["account_id", "bucket"]]
            .drop_duplicates()
            .assign(flag=True)
        )
        hit |= (
            keys.merge(flagged, on=["account_id", "bucket"], how="left")["flag"]
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    return hit


def mule_flows(moves: pd.DataFrame, owners: pd.Series, config: RingConfig) -> pd.DataFrame:
    """Rings of pass-through accounts linked by in-bank transfers made while both ends were
    passing money through: fan-in then fan-out, scatter-gather and gather-scatter shapes all
    reduce to money moving quickly through several linked accounts."""
    windows = pass_through_windows(moves, config)
    width = int(config.mule_window_days * US_PER_DAY)
    out = moves[(moves["direction"] == "out") & (moves["counterparty_account_id"] >= 0)]
    links = out[
        _in_window(out["account_id"], out["ts_us"], windows, width)
        & _in_window(out["counterparty_account_id"], out["ts_us"], windows, width)
    ]
    g = nx.Graph()
    g.add_edges_from(zip(links["account_id"].tolist(), links["counterparty_account_id"].tolist()))
    info = (
        windows.sort_values("ratio", ascending=False, kind="stable")
        .drop_duplicates("account_id")
        .set_index("account_id")
    )
    rows = []
    for part in nx.connected_components(g):
        members = sorted({int(owners.get(a, -1)) for a in part} - {-1})
        if len(members) < config.min_ring_size:
            continue
        acc = info.loc[sorted(part)]
        mine = links[links["account_id"].isin(part)]
        score = float(acc["ratio"].mean()) * (1 - math.exp(-len(part) / 3))
        rows.append(
            {
                "method": "mule_flows",
                "kind": "mule_flow",
                "members": tuple(members),
                "size": len(members),
                "score": round(score, 6),
                "evidence": {
                    "accounts": [int(a) for a in sorted(part)],
                    "max_fan_out": int(
                        mine.groupby("account_id")["counterparty_account_id"].nunique().max()
                    ),
                    "median_hold_hours": round(float(acc["hold_hours"].median()), 2),
                    "flows": [
                        [
                            int(r.account_id),
                            int(r.counterparty_account_id),
                            round(float(r.amount), 2),
                        ]
                        for r in mine.head(20).itertuples()
                    ],
                },
            }
        )
    return _rings(rows)


# ---------------------------------------------------------------- all together


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Jaccard similarity of two member sets."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def combine(rings: pd.DataFrame, overlap: float = 0.5) -> pd.DataFrame:
    """One ring list from components, cycles and mule flows: highest score first, a ring is
    dropped when it overlaps (Jaccard >= ``overlap``) one already kept."""
    pool = rings[rings["method"].isin(("components", "cycles", "mule_flows"))].sort_values(
        ["score", "size"], ascending=[False, False], kind="stable"
    )
    kept: list[dict] = []
    for row in pool.to_dict("records"):
        if all(jaccard(row["members"], k["members"]) < overlap for k in kept):
            kept.append({**row, "method": "combined"})
    return _rings(kept)


@dataclass
class RingInputs:
    """What the detectors read from a window: flagged sharing, transfers and account owners."""

    members: pd.DataFrame
    moves: pd.DataFrame
    owners: pd.Series


def ring_inputs(src: GraphSource, config: RingConfig) -> RingInputs:
    """Read the detectors' inputs from ``src`` once (graph features reuse them)."""
    members = shared_members(
        src,
        config.bucket_days,
        config.min_users,
        config.max_users,
        config.alpha,
        config.fresh_ip_days,
    )
    return RingInputs(members, transfers(src), account_owners(src))


def detect_rings(src: GraphSource | RingInputs, config: RingConfig | None = None) -> pd.DataFrame:
    """All detectors on ``src``'s window (or on inputs already read) plus their combination;
    one row per ring."""
    config = config or RingConfig()
    data = src if isinstance(src, RingInputs) else ring_inputs(src, config)
    parts = [
        shared_attribute_rings(data.members, config),
        money_cycles(data.moves, data.owners, config),
        mule_flows(data.moves, data.owners, config),
    ]
    rings = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else _rings([])
    )
    out = pd.concat([rings, combine(rings)], ignore_index=True)
    return out.sort_values(
        ["method", "score"], ascending=[True, False], kind="stable"
    ).reset_index(drop=True)


def describe_evidence(evidence: dict) -> str:
    """A ring's evidence in one readable line (entities shared with their members, users and
    burst p-value; money cycles with their rounds; mule flows with fan-out and hold time)."""
    parts = []
    for e in evidence.get("shared", [])[:3]:
        text = f"{e['entity']} shared by {e['members']} members"
        if e.get("pvalue") is not None and e["pvalue"] == e["pvalue"]:
            text += f" ({e['users']} users in its burst week, p = {e['pvalue']:.1e})"
        parts.append(text)
    if "cycles" in evidence:
        parts.append(
            f"{len(evidence['cycles'])} money cycle(s), {evidence['rounds']} rounds, "
            f"smallest/largest amount {evidence['amount_min_over_max']:.2f}"
        )
    if "accounts" in evidence:
        parts.append(
            f"{len(evidence['accounts'])} pass-through accounts, fan-out up to "
            f"{evidence['max_fan_out']}, median hold {evidence['median_hold_hours']:.1f} h"
        )
    return "; ".join(parts)
