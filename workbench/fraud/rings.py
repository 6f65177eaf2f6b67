"""Fraud rings: planned once for the whole dataset, acted out by each member's shard.

Members are drawn from all customers, so rings span shards. Shared entities (a ring's
device, its VPN exits, a synthetic identity's phone and address) are fixed in the plan.
Money rings (kiting, mule networks) move money between dedicated accounts the members open
for the scheme; every transfer is planned with its amount and time so that each account
only sends what it already holds, which keeps the two legs of a transfer consistent even
when they are settled in different shards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.fraud.base import count_in
from workbench.fraud.context import DAY, HOUR, FraudContext
from workbench.fraud.mix import MULE_VARIANTS, FraudMix
from workbench.fraud.scenarios._common import HIGH_VALUE, ONLINE, spend, transfer_in, transfer_out
from workbench.fraud.scenarios.synthetic_identity import become_synthetic
from workbench.simulate.config import SimulationConfig
from workbench.simulate.profiles import Market
from workbench.simulate.world_plan import entity_id

RING_ACCOUNT_SLOT = 5  # the account a member opens for a money ring
RING_DEVICE_SLOT = 6  # the device a ring shares, registered on its first member


@dataclass
class RingPlan:
    """All rings of a dataset: one row per ring, per member, and per planned transfer leg."""

    rings: pd.DataFrame  # ring_id, shape, variant, size, start_us, camouflage, phone, address, ips
    members: pd.DataFrame  # ring_id, customer_id, position
    legs: pd.DataFrame  # ring_id, ts, src, dst (customer ids, -1 = another bank), amount

    @property
    def member_ids(self) -> np.ndarray:
        """Customer ids in any ring."""
        return self.members["customer_id"].to_numpy()

    @property
    def first_members(self) -> dict[int, int]:
        """Ring id -> its first member's customer id (who registers the ring's shared device)."""
        first = self.members[self.members["position"] == 0]
        return dict(zip(first["ring_id"].tolist(), first["customer_id"].tolist()))


CUSTOMERS_PER_MEMBER = (
    20  # a shape rounding to no ring still gets one from 20 customers per member
)
MAX_RING_SHARE = 0.2  # ring members are at most this share of the customers


def ring_count(per_10k: float, size: tuple[int, int], customers: int) -> int:
    """Rings of one shape in a population: ``per_10k`` per 10,000 customers, rounded; a
    shape whose rate rounds to none still gets one ring when the population is large enough
    that its members are at most 5% of it (so small worlds are not mostly ring members)."""
    expected = per_10k * customers / 10_000
    count = int(round(expected))
    if count == 0 and expected > 0 and customers >= CUSTOMERS_PER_MEMBER * (size[0] + size[1]) / 2:
        count = 1
    return count


def plan_rings(
    mix: FraudMix,
    config: SimulationConfig,
    market: Market,
    rng: np.random.Generator,
    vpn_ids: np.ndarray,
) -> RingPlan:
    """Draw every ring of ``mix`` for a population of ``config.customers``."""
    t0 = int(np.datetime64(config.start, "us").astype(np.int64))
    rings, members, legs = [], [], []
    free = rng.permutation(config.customers)
    used = 0
    for spec in mix.rings:
        count = ring_count(spec.per_10k, spec.size, config.customers)
        for _ in range(count):
            size = count_in(rng, spec.size)
            if used + size > MAX_RING_SHARE * len(free):  # rings stay a minority of the population
                break
            who = free[used : used + size]
            used += size
            rid = len(rings)
            start = t0 + int(rng.uniform(0.35, 0.75) * config.days * DAY)
            variant = str(rng.choice(MULE_VARIANTS)) if spec.shape == "mule_network" else "none"
            phone = (
                f"{market.phone_prefix}{rng.choice(market.phone_first_digits)}"
                f"{rng.integers(0, 10 ** (market.phone_digits - 1)):0{market.phone_digits - 1}d}"
            )
            rings.append(
                {
                    "ring_id": rid,
                    "shape": spec.shape,
                    "variant": variant,
                    "size": size,
                    "start_us": start,
                    "camouflage": spec.camouflage,
                    "phone": phone,
                    "address": f"{rng.integers(1, 100)}-Block {rng.integers(1, 40)}, "
                    f"{market.cities['name'].iloc[int(rng.integers(len(market.cities)))]}",
                    "ips": tuple(
                        int(i)
                        for i in rng.choice(vpn_ids, size=min(2, len(vpn_ids)), replace=False)
                    ),
                }
            )
            members += [
                {"ring_id": rid, "customer_id": int(c), "position": i} for i, c in enumerate(who)
            ]
            scale = market.reporting_threshold * rng.uniform(0.3, 1.2)
            if spec.shape == "kiting":
                legs += _kiting(rng, rid, who, start, scale)
            elif spec.shape == "mule_network":
                legs += _mule_network(rng, rid, who, start, scale, variant)
    cols = ["ring_id", "ts", "src", "dst", "amount"]
    return RingPlan(
        pd.DataFrame(
            rings,
            columns=[
                "ring_id",
                "shape",
                "variant",
                "size",
                "start_us",
                "camouflage",
                "phone",
                "address",
                "ips",
            ],
        ),
        pd.DataFrame(members, columns=["ring_id", "customer_id", "position"]),
        pd.DataFrame(legs, columns=cols)
        .sort_values(["ts", "ring_id"], kind="stable")
        .reset_index(drop=True),
    )


def _kiting(
    rng: np.random.Generator, rid: int, who: np.ndarray, start: int, scale: float
) -> list[dict]:
    """Rounds of transfers around the cycle; each member passes on what it received, so
    balances stay afloat. The first member funds round one from an external deposit."""
    legs = [
        {"ring_id": rid, "ts": start, "src": -1, "dst": int(who[0]), "amount": round(scale, 2)}
    ]
    t = start
    for _ in range(int(rng.integers(3, 7))):
        amount = round(scale * rng.uniform(0.85, 0.99), 2)
        for i in range(len(who)):
            t += int(rng.uniform(4, 30) * HOUR)
            legs.append(
                {
                    "ring_id": rid,
                    "ts": t,
                    "src": int(who[i]),
                    "dst": int(who[(i + 1) % len(who)]),
                    "amount": amount,
                }
            )
    return legs


def _forward(
    rng: np.random.Generator, rid: int, src: int, dsts: list[int], total: float, after: int
) -> tuple[list[dict], int]:
    """Pass on 90-97% of ``total`` from ``src`` to ``dsts`` (-1 = another bank) after ``after``."""
    share = total * rng.uniform(0.9, 0.97)
    weights = rng.dirichlet(np.ones(len(dsts)))
    t = after
    legs = []
    for dst, w in zip(dsts, weights):
        t += int(rng.uniform(0.3, 6) * HOUR)
        legs.append(
            {
                "ring_id": rid,
                "ts": t,
                "src": src,
                "dst": dst,
                "amount": round(float(np.floor(share * w * 100) / 100), 2),
            }
        )
    return legs, t


def _mule_network(
    rng: np.random.Generator, rid: int, who: np.ndarray, start: int, scale: float, variant: str
) -> list[dict]:
    """Stolen funds arrive from other banks and move through mules to cash-out."""
    who = [int(c) for c in who]
    legs: list[dict] = []

    def deposit(dst: int, t: int) -> float:
        amount = round(scale * rng.uniform(0.5, 1.5), 2)
        legs.append({"ring_id": rid, "ts": t, "src": -1, "dst": dst, "amount": amount})
        return amount

    if variant == "scatter_gather":  # one source scatters to mules, who gather into a collector
        source, mules, collector = who[0], who[1:-1], who[-1]
        got = sum(deposit(source, start + int(rng.uniform(0, 3) * HOUR)) for _ in range(3))
        out, t = _forward(rng, rid, source, mules, got, start + 4 * HOUR)
        legs += out
        into_collector, t_last = 0.0, t
        for leg in out:
            more, t_m = _forward(rng, rid, leg["dst"], [collector], leg["amount"], leg["ts"])
            legs += more
            into_collector += more[0]["amount"]
            t_last = max(t_last, t_m)
        legs += _forward(rng, rid, collector, [-1] * 3, into_collector, t_last)[0]
    elif (
        variant == "gather_scatter"
    ):  # feeders gather into a hub, which scatters to cash-out mules
        k = max(1, (len(who) - 1) // 2)
        feeders, hub, outs = who[:k], who[k], who[k + 1 :] or [-1]
        into_hub, t_last = 0.0, start
        for f in feeders:
            got = deposit(f, start + int(rng.uniform(0, 6) * HOUR))
            more, t_f = _forward(rng, rid, f, [hub], got, start + 6 * HOUR)
            legs += more
            into_hub += more[0]["amount"]
            t_last = max(t_last, t_f)
        out, t = _forward(rng, rid, hub, outs, into_hub, t_last)
        legs += out
        for leg in out:
            if leg["dst"] >= 0:
                legs += _forward(rng, rid, leg["dst"], [-1, -1], leg["amount"], leg["ts"])[0]
    else:  # fan_in_out: sources each pay two mules (fan-in),
        # mules cash out to many accounts (fan-out)
        k = max(1, len(who) // 2)
        sources, mules = who[:k], who[k:]
        received = {m: 0.0 for m in mules}
        t_last = start
        for s in sources:
            got = deposit(s, start + int(rng.uniform(0, 6) * HOUR))
            out, t = _forward(
                rng,
                rid,
                s,
                list(rng.choice(mules, size=min(2, len(mules)), replace=False)),
                got,
                start + 6 * HOUR,
            )
            legs += out
            for leg in out:
                received[leg["dst"]] += leg["amount"]
            t_last = max(t_last, t)
        for m, total in received.items():
            if total > 0:
                legs += _forward(rng, rid, m, [-1] * int(rng.integers(2, 5)), total, t_last)[0]
    return legs


def act_rings(ctx: FraudContext, ring_plan: RingPlan, rng: np.random.Generator) -> None:
    """Play the rings' parts of this shard's members."""
    lo, hi = ctx.plan.shard_bounds(ctx.world.shard)
    local = ring_plan.members[
        (ring_plan.members["customer_id"] >= lo) & (ring_plan.members["customer_id"] < hi)
    ]
    if local.empty:
        return
    rings = ring_plan.rings.set_index("ring_id")
    first = ring_plan.first_members
    episode, ring_account = {}, {}
    for m in local.itertuples(index=False):
        cust = m.customer_id - lo
        ring = rings.loc[m.ring_id]
        episode[m.customer_id] = ctx.episode(rng, cust, ring["shape"], m.ring_id)
        if ring["shape"] in ("kiting", "mule_network"):
            ring_account[m.customer_id] = ctx.new_account(
                cust, int(ring["start_us"] - rng.uniform(1, 10) * DAY), 0.0, slot=RING_ACCOUNT_SLOT
            )
        if ring["shape"] in ("device_sharing", "synthetic_identity_ring") and m.position == 0:
            ctx.new_device(
                cust,
                int(ring["start_us"] - 30 * DAY),
                "mobile",
                "android",
                owner_slot=RING_DEVICE_SLOT,
            )
        _act_member(
            ctx,
            rng,
            ring,
            m,
            cust,
            episode[m.customer_id],
            int(entity_id("device", first[m.ring_id], RING_DEVICE_SLOT)),
        )
    # both legs of every planned transfer touching this shard's members, in one call per side
    legs = ring_plan.legs
    shape = rings["shape"]
    out = legs[legs["src"].isin(ring_account)]
    if len(out):
        src, dst = out["src"].to_numpy(), out["dst"].to_numpy()
        transfer_out(
            ctx,
            np.array([episode[s] for s in src]),
            shape.loc[out["ring_id"]].to_numpy(),
            src - lo,
            np.array([ring_account[s] for s in src]),
            out["ts"].to_numpy(),
            amount=out["amount"].to_numpy(),
            ring_id=out["ring_id"].to_numpy(),
            to_account_id=np.where(
                dst < 0, -1, entity_id("account", np.maximum(dst, 0), RING_ACCOUNT_SLOT)
            ),
        )
    inn = legs[legs["dst"].isin(ring_account)]
    if len(inn):
        src, dst = inn["src"].to_numpy(), inn["dst"].to_numpy()
        transfer_in(
            ctx,
            np.array([episode[d] for d in dst]),
            shape.loc[inn["ring_id"]].to_numpy(),
            dst - lo,
            np.array([ring_account[d] for d in dst]),
            inn["ts"].to_numpy(),
            inn["amount"].to_numpy(),
            ring_id=inn["ring_id"].to_numpy(),
            from_account_id=np.where(
                src < 0, -1, entity_id("account", np.maximum(src, 0), RING_ACCOUNT_SLOT)
            ),
        )


def _act_member(
    ctx: FraudContext,
    rng: np.random.Generator,
    ring: pd.Series,
    m,
    cust: int,
    ep: int,
    ring_device: int,
) -> None:
    """A member's own part in a device, IP or synthetic-identity ring."""
    shape, start, rid = ring["shape"], int(ring["start_us"]), int(m.ring_id)
    if shape in ("device_sharing", "ip_recycling"):
        window = 7 if shape == "device_sharing" else 14
        _camouflage(ctx, rng, cust, start, start + window * DAY, ring["camouflage"])
        n = int(rng.integers(2, 6))
        ts = start + np.sort(rng.uniform(0, window * 24, n) * HOUR).astype(np.int64)
        ips = np.array(ring["ips"])
        if shape == "device_sharing":
            device, ip = ring_device, int(ctx.public_ip(rng, np.array([ctx.home_city[cust]]))[0])
        else:  # the ring recycles its few IPs: each login and purchase comes from one of them
            device, ip = ctx.new_device(cust, int(ts[0]) - HOUR), rng.choice(ips, n)
        ctx.events(
            ep,
            shape,
            "login",
            cust,
            ts - (rng.uniform(1, 15, n) * 60e6).astype(np.int64),
            device,
            ip,
            ring_id=rid,
        )
        spend(
            ctx,
            rng,
            ep,
            shape,
            cust,
            ts,
            ctx.average_purchase(cust) * rng.uniform(1.5, 5, n),
            categories=ONLINE,
            device=device,
            ip=ip,
            ring_id=rid,
        )
    elif shape == "synthetic_identity_ring":
        signup = start - int(rng.uniform(10, 40) * DAY)
        become_synthetic(
            ctx,
            rng,
            np.array([cust]),
            np.array([max(signup, ctx.t0)]),
            0.3,
            ring["phone"],
            ring["address"],
            ring_device,
            [ep],
            shape,
            rid,
        )
        n = int(rng.integers(2, 6))
        ts = start + np.sort(rng.uniform(0, 60, n) * HOUR).astype(np.int64)
        spend(
            ctx,
            rng,
            ep,
            shape,
            cust,
            ts,
            ctx.average_purchase(cust) * rng.uniform(5, 15, n),
            categories=HIGH_VALUE,
            device=ring_device,
            ip=int(rng.choice(np.array(ring["ips"]))),
            ring_id=rid,
        )


def _camouflage(
    ctx: FraudContext, rng: np.random.Generator, cust: int, start: int, end: int, keep: float
) -> None:
    """Drop a share of the member's own purchases during the ring's activity (camouflage < 1)."""
    if keep >= 1:
        return
    rows = ctx.rows_of(cust)
    ts = ctx.world.intents["ts"].to_numpy()[rows]
    rows = rows[(ts >= start) & (ts < end)]
    ctx.suppress(rows[rng.random(len(rows)) >= keep])
