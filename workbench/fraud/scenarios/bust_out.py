"""Bust-out (first-party fraud)."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import HIGH_VALUE, spend
from workbench.simulate.intents import KIND


@dataclass(frozen=True)
class BustOutParams(Params):
    build_up: tuple = span(20, 50, 5, 200)  # small, legitimate-looking purchases first
    build_up_days: tuple = span(20, 40, 5, 120)
    small_share: tuple = span(0.2, 0.6, 0.01, 1)  # build-up amounts / the customer's average
    spike: tuple = span(3, 8, 1, 50)
    spike_multiple: tuple = span(
        6, 15, 5, 100
    )  # spike amounts / the build-up's average (above 500%)


class BustOut(Scenario):
    """Signature: on a credit card, 20 to 50 small purchases over weeks (labelled legitimate:
    they are the set-up, visible as ``is_pre_fraud``), then within two days purchases above
    500% of that average until the limit is exhausted, and default: no bill is paid after."""

    name = "bust_out"
    Params = BustOutParams

    def inject(self, ctx, rng, victims, p):
        it = ctx.world.intents
        for cust in victims:
            if ctx.card[cust] < 0:
                continue
            days = between(rng, p.build_up_days)
            t = ctx.window(rng, cust, lead_days=days, tail_days=2)
            if t is None:
                continue
            acc = int(ctx.card[cust])
            start = t - int(days * DAY)
            ctx.suppress_span(
                cust, start, ctx.end, acc=acc
            )  # the card is used only for the scheme
            n = count_in(rng, p.build_up)
            small = ctx.average_purchase(cust) * between(rng, p.small_share, n)
            spend(
                ctx,
                rng,
                -1,
                None,
                cust,
                start + np.sort(rng.uniform(0, days * 24, n) * HOUR).astype(np.int64),
                small,
                channel="pos",
                acc=acc,
                mode="credit_card",
            )
            ep = ctx.episode(rng, cust, self.name)
            k = count_in(rng, p.spike)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                t + np.sort(rng.uniform(0, 40, k) * HOUR).astype(np.int64),
                small.mean() * between(rng, p.spike_multiple, k),
                acc=acc,
                mode="credit_card",
                categories=HIGH_VALUE,
            )
            bills = (
                (it["acc"].to_numpy() == acc)
                & (it["kind"].to_numpy() == KIND["card_payment"])
                & (it["ts"].to_numpy() > t)
            )
            ctx.suppress(np.flatnonzero(bills))  # default
