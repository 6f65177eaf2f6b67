"""Shipping fraud."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, span
from workbench.fraud.context import DAY
from workbench.fraud.scenarios._common import fraudster_session, spend


@dataclass(frozen=True)
class ShippingFraudParams(Params):
    orders: tuple = span(2, 5, 1, 50)
    days: tuple = span(0.2, 5, 0.05, 60)  # orders follow the address change within this
    amount_multiple: tuple = span(3, 10, 1, 100)


class ShippingFraud(Scenario):
    """Signature: an address change from a new device, then high-value online orders of
    shipped goods sent to an address other than the one on file, within days."""

    name = "shipping_fraud"
    Params = ShippingFraudParams

    def inject(self, ctx, rng, victims, p):
        shipped = tuple(k.name for k in ctx.market.categories if k.ships)
        if not shipped:
            return
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=5):
            device, ip = fraudster_session(ctx, rng, cust, t)
            ctx.events(ep, self.name, "address_change", cust, t, device, ip)
            n = count_in(rng, p.orders)
            ts = t + np.sort(rng.uniform(*p.days, n) * DAY).astype(np.int64)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                ts,
                ctx.average_purchase(cust) * between(rng, p.amount_multiple, n),
                categories=shipped,
                device=device,
                ip=ip,
                ship=True,
            )
