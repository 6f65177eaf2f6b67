"""Synthetic identities."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, number, span
from workbench.fraud.context import DAY, FraudContext, set_rows
from workbench.simulate.intents import KIND


@dataclass(frozen=True)
class SyntheticIdentityParams(Params):
    group: tuple = span(2, 4, 2, 20)  # identities built from the same PII fragments
    keep_share: float = number(0.3, 0, 1)  # thin history: share of normal activity kept
    history_days: tuple = span(
        10, 45, 1, 365
    )  # the identity appears this long before the window ends


def become_synthetic(
    ctx: FraudContext,
    rng: np.random.Generator,
    members: np.ndarray,
    signup_us: np.ndarray,
    keep_share: float,
    phone: str,
    address: str,
    device: int,
    episodes: list[int],
    fraud_type: str,
    ring_id: int = -1,
) -> None:
    """Turn customers into synthetic identities: a late signup, shared phone, address and
    device, a thin history, every row of theirs labelled as ``fraud_type``."""
    c = ctx.pop.customers
    acc, dev = ctx.pop.accounts, ctx.pop.devices
    ev = ctx.world.events
    ev_cust, ev_ts = ev["cust"].to_numpy(), ev["ts"].to_numpy()
    gone = np.zeros(len(ev), dtype=bool)
    for cust, signup, ep in zip(members, signup_us, episodes):
        day = (signup - ctx.t0) // DAY
        c.loc[cust, ["phone", "address"]] = [phone, address]
        c.loc[cust, "signup_day"] = day
        c.loc[cust, "signup_date"] = np.datetime64(int(ctx.t0 + day * DAY), "us")
        own = acc["owner_idx"].to_numpy() == cust
        acc.loc[own, "opened_at"] = np.maximum(
            acc.loc[own, "opened_at"].to_numpy(), np.datetime64(int(ctx.t0 + day * DAY), "us")
        )
        mine = dev["owner_idx"].to_numpy() == cust
        dev.loc[mine, "first_seen"] = np.maximum(
            dev.loc[mine, "first_seen"].to_numpy(), np.datetime64(int(ctx.t0 + day * DAY), "us")
        )
        since = ctx.t0 + day * DAY
        rows = ctx.rows_of(
            cust,
            (
                "purchase",
                "refund",
                "chargeback",
                "salary",
                "card_payment",
                "p2p_out",
                "p2p_in",
                "reward_redemption",
            ),
        )
        ts = ctx.col["ts"][rows]
        thin = rows[(ts >= since) & (ctx.col["kind"][rows] == KIND["purchase"])]
        ctx.suppress(np.r_[rows[ts < since], thin[rng.random(len(thin)) >= keep_share]])
        after = rows[ts >= since]
        ctx.rewrite(after[ctx.col["device_id"][after] >= 0], "device_id", device)
        ctx.mark(after, ep, fraud_type, ring_id)
        mine = ev_cust == cust
        gone |= mine & (ev_ts < since)
        later = np.flatnonzero(mine & (ev_ts >= since))
        set_rows(ev, "device_id", later, device)
        ctx.label_events(later, ep, fraud_type, ring_id)
    ctx.world.events = ev[~gone].reset_index(drop=True)


class SyntheticIdentity(Scenario):
    """Signature: new accounts with a thin history whose PII fragments (phone, address) and
    device are shared across two or more identities; every row of theirs is fraud."""

    name = "synthetic_identity"
    Params = SyntheticIdentityParams

    def inject(self, ctx, rng, victims, p):
        victims = np.array(victims)
        while len(victims) >= 2:
            k = min(count_in(rng, p.group), len(victims))
            members, victims = victims[:k], victims[k:]
            signup = ctx.end - (rng.uniform(*p.history_days, k) * DAY).astype(np.int64)
            signup = np.maximum(signup, ctx.t0)
            eps = [ctx.episode(rng, m, self.name) for m in members]
            device = ctx.new_device(int(members[0]), int(signup.min()))
            c = ctx.pop.customers
            become_synthetic(
                ctx,
                rng,
                members,
                signup,
                p.keep_share,
                c["phone"].iloc[members[0]],
                c["address"].iloc[members[0]],
                device,
                eps,
                self.name,
            )
