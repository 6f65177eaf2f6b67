"""Building blocks shared by scenarios: spending on a card, fraudster sessions, transfers."""

from __future__ import annotations

import numpy as np

from workbench.fraud.context import HOUR, FraudContext
from workbench.simulate.intents import CHANNEL, DECLINE
from workbench.simulate.world_plan import HOME_IP_BASE, entity_id

ONLINE = ("electronics", "fashion", "travel", "entertainment", "food_delivery", "jewellery")
HIGH_VALUE = ("electronics", "jewellery", "travel", "fashion")


def own_device(ctx: FraudContext, cust):
    """The customer's (or customers') primary (mobile) device id."""
    return entity_id("device", ctx.customer_id[cust], 0)


def home_ip(ctx: FraudContext, cust):
    """The customer's (or customers') home IP id."""
    return HOME_IP_BASE + ctx.customer_id[cust]


def spend(
    ctx: FraudContext,
    rng: np.random.Generator,
    episode: int,
    fraud_type: str | None,
    cust: int,
    ts,
    amount,
    *,
    channel: str = "online",
    acc: int | None = None,
    mode: str | None = None,
    city: int | None = None,
    categories: tuple[str, ...] | None = None,
    merchant=None,
    device: int | None = None,
    ip: int | None = None,
    ship: bool = False,
    decline=None,
    ring_id: int = -1,
) -> np.ndarray:
    """Purchases by (or on the card of) ``cust``; defaults: the customer's card, home city,
    random merchants, and for remote channels the customer's own device and home IP."""
    ts = np.atleast_1d(np.asarray(ts, dtype=np.int64))
    n = len(ts)
    card, card_mode = ctx.card_of(cust)
    acc = card if acc is None else acc
    mode = card_mode if mode is None else mode
    city = ctx.home_city[cust] if city is None else city
    if merchant is None:
        merchant = ctx.merchants(rng, np.full(n, city), list(categories) if categories else None)[
            0
        ]
    remote = channel != "pos"
    device = (own_device(ctx, cust) if device is None else device) if remote else -1
    ip = (home_ip(ctx, cust) if ip is None else ip) if remote else -1
    return ctx.txns(
        episode,
        fraud_type,
        "purchase",
        cust,
        acc,
        ts,
        amount,
        rng=rng,
        merchant=merchant,
        city=city,
        channel=np.full(n, CHANNEL[channel]),
        mode=np.full(n, ctx.mode_code(mode)),
        device_id=device,
        ip_id=ip,
        ship_elsewhere=ship,
        decline_code=DECLINE["none"] if decline is None else decline,
        ring_id=ring_id,
    )


def transfer_out(
    ctx: FraudContext,
    episode: int,
    fraud_type: str | None,
    cust: int,
    acc: int,
    ts,
    *,
    amount=0.0,
    sweep_bp: int = 0,
    to_account_id: int = -1,
    device: int | None = None,
    ip: int | None = None,
    ring_id: int = -1,
    related=-1,
) -> np.ndarray:
    """Outgoing transfers from ``acc`` (to another bank when ``to_account_id`` is -1); with
    ``sweep_bp`` the amount is that share of the balance when the transfer settles."""
    return ctx.txns(
        episode,
        fraud_type,
        "p2p_out",
        cust,
        acc,
        ts,
        amount,
        channel=CHANNEL["mobile"],
        mode=ctx.mode_code("upi"),
        device_id=own_device(ctx, cust) if device is None else device,
        ip_id=home_ip(ctx, np.asarray(cust)) if ip is None else ip,
        cp_account_id=to_account_id,
        sweep_bp=sweep_bp,
        ring_id=ring_id,
        related=related,
    )


def transfer_in(
    ctx: FraudContext,
    episode: int,
    fraud_type: str | None,
    cust: int,
    acc: int,
    ts,
    amount,
    *,
    from_account_id: int = -1,
    ring_id: int = -1,
    related=-1,
) -> np.ndarray:
    """Incoming transfers to ``acc`` (from another bank when ``from_account_id`` is -1)."""
    return ctx.txns(
        episode,
        fraud_type,
        "p2p_in",
        cust,
        acc,
        ts,
        amount,
        channel=CHANNEL["mobile"],
        mode=ctx.mode_code("upi"),
        cp_account_id=from_account_id,
        ring_id=ring_id,
        related=related,
    )


def fraudster_session(
    ctx: FraudContext, rng: np.random.Generator, cust: int, ts: int
) -> tuple[int, int]:
    """A device and IP the fraudster uses on ``cust``'s account from ``ts``: a new device and a
    VPN exit."""
    os_ = str(rng.choice(["android", "ios", "windows"]))
    device = ctx.new_device(cust, ts, "desktop" if os_ == "windows" else "mobile", os_)
    return device, int(ctx.vpn_ip(rng)[0])


def off_hours(rng: np.random.Generator, after_us: int, within_hours: float) -> int:
    """A time between midnight and 5 am within ``within_hours`` after ``after_us``."""
    day0 = after_us - after_us % (24 * HOUR)
    candidates = [
        day0 + d * 24 * HOUR + int(rng.uniform(0, 5) * HOUR)
        for d in range(0, int(within_hours // 24) + 2)
    ]
    ok = [t for t in candidates if after_us + HOUR <= t <= after_us + within_hours * HOUR]
    return int(rng.choice(ok)) if ok else int(after_us + HOUR)
