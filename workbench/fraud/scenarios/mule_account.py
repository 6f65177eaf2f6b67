"""Money-mule account."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import transfer_in, transfer_out


@dataclass(frozen=True)
class MuleAccountParams(Params):
    inbound: tuple = span(8, 20, 3, 200)  # transfers in from many senders
    days: tuple = span(1, 5, 0.5, 60)
    inbound_income: tuple = span(
        0.05, 0.4, 0.01, 10
    )  # each inbound amount / the mule's monthly income
    forward_share: tuple = span(0.85, 0.97, 0.5, 1)  # share of the balance sent on each time


class MuleAccount(Scenario):
    """Signature: many inbound transfers from other banks within days, each passed on within
    hours by outbound transfers that take most of the balance: high turnover, low residual."""

    name = "mule_account"
    Params = MuleAccountParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=p.days[1] + 1):
            days = rng.uniform(*p.days)
            acc = int(ctx.primary[cust])
            n = count_in(rng, p.inbound)
            ts = t + np.sort(rng.uniform(0, days, n) * DAY).astype(np.int64)
            transfer_in(
                ctx,
                ep,
                self.name,
                cust,
                acc,
                ts,
                np.round(ctx.income[cust] * rng.uniform(*p.inbound_income, n), 2),
            )
            # forward after every few arrivals
            batch = np.r_[np.flatnonzero(rng.random(n - 1) < 0.4), n - 1]
            fwd = ts[batch] + (rng.uniform(0.3, 6, len(batch)) * HOUR).astype(np.int64)
            transfer_out(
                ctx,
                ep,
                self.name,
                cust,
                acc,
                fwd,
                sweep_bp=(rng.uniform(*p.forward_share, len(batch)) * 10_000).astype(int),
            )
