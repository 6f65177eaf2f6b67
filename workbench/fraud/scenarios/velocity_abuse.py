"""Velocity abuse."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, number, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import ONLINE, fraudster_session, spend


@dataclass(frozen=True)
class VelocityAbuseParams(Params):
    purchases: tuple = span(6, 12, 5, 100)  # within `minutes`
    minutes: float = number(50, 5, 60)
    amount_multiple: tuple = span(0.5, 2.5, 0.05, 50)


class VelocityAbuse(Scenario):
    """Signature: five or more purchases on one card within an hour, online from a new
    device, at different merchants."""

    name = "velocity_abuse"
    Params = VelocityAbuseParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=0.2):
            device, ip = fraudster_session(ctx, rng, cust, t)
            n = count_in(rng, p.purchases)
            ts = t + np.sort(rng.uniform(0, p.minutes / 60, n) * HOUR).astype(np.int64)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                ts,
                ctx.average_purchase(cust) * between(rng, p.amount_multiple, n),
                categories=ONLINE,
                device=device,
                ip=ip,
            )
