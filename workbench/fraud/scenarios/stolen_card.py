"""Stolen card."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, number, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import HIGH_VALUE, fraudster_session, spend


@dataclass(frozen=True)
class StolenCardParams(Params):
    dormant_days: float = number(21, 7, 120)  # the card is unused this long before the theft
    purchases: tuple = span(4, 10, 1, 100)
    spike_hours: float = number(36, 1, 240)  # the spending spike lasts this long
    amount_multiple: tuple = span(2, 6, 0.5, 100)
    pos_share: float = number(0.4, 0, 1)


class StolenCard(Scenario):
    """Signature: a card dormant for weeks wakes with a spike of purchases (several times
    the cardholder's average, within a day or two) at merchants the customer never used."""

    name = "stolen_card"
    Params = StolenCardParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(
            ctx, rng, victims, lead_days=p.dormant_days + 1, tail_days=2
        ):
            acc, mode = ctx.card_of(cust)
            ctx.suppress_span(
                cust, t - int(p.dormant_days * DAY), t + int(p.spike_hours * HOUR), acc=acc
            )
            device, ip = fraudster_session(ctx, rng, cust, t)
            n = count_in(rng, p.purchases)
            ts = t + np.sort(rng.uniform(0, p.spike_hours, n) * HOUR).astype(np.int64)
            known = set(ctx.world.intents["merchant_id"].to_numpy()[ctx.rows_of(cust)].tolist())
            amounts = ctx.average_purchase(cust) * between(rng, p.amount_multiple, n)
            for i in range(n):
                pos = rng.random() < p.pos_share
                merchant, _ = ctx.merchants(rng, np.array([ctx.home_city[cust]]), list(HIGH_VALUE))
                if int(ctx.plan.merchants["merchant_id"].iloc[merchant[0]]) in known:
                    merchant, _ = ctx.merchants(
                        rng, np.array([ctx.home_city[cust]]), list(HIGH_VALUE)
                    )
                spend(
                    ctx,
                    rng,
                    ep,
                    self.name,
                    cust,
                    ts[i],
                    amounts[i],
                    channel="pos" if pos else "online",
                    acc=acc,
                    mode=mode,
                    merchant=merchant,
                    device=device,
                    ip=ip,
                )
