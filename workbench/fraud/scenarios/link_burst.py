"""Bank-link burst."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, number, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import fraudster_session, transfer_out


@dataclass(frozen=True)
class LinkBurstParams(Params):
    links: tuple = span(5, 15, 5, 100)  # bank connections within `hours`
    hours: float = number(20, 1, 24)
    cash_out: float = number(0.4, 0, 1)  # share of episodes followed by a sweep to another bank


class LinkBurst(Scenario):
    """Signature: 5 to 15 bank-link connections within 24 hours from a new device (legitimate
    customers link a bank a few times a year); sometimes followed by a sweep of the balance."""

    name = "link_burst"
    Params = LinkBurstParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=1.5):
            device, ip = fraudster_session(ctx, rng, cust, t)
            n = count_in(rng, p.links)
            ts = t + np.sort(rng.uniform(0, p.hours, n) * HOUR).astype(np.int64)
            ctx.events(ep, self.name, "bank_link", cust, ts, device, ip)
            if rng.random() < p.cash_out:
                transfer_out(
                    ctx,
                    ep,
                    self.name,
                    cust,
                    int(ctx.primary[cust]),
                    ts[-1] + int(rng.uniform(0.5, 4) * HOUR),
                    sweep_bp=int(rng.uniform(0.5, 0.9) * 10_000),
                    device=device,
                    ip=ip,
                )
