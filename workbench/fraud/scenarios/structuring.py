"""Structuring."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import transfer_in, transfer_out


@dataclass(frozen=True)
class StructuringParams(Params):
    deposits: tuple = span(2, 4, 1, 50)
    transfers: tuple = span(3, 8, 2, 100)
    below: tuple = span(
        0.85, 0.99, 0.5, 0.999
    )  # transfer amount / the market's reporting threshold
    days: tuple = span(2, 7, 1, 60)


class Structuring(Scenario):
    """Signature: repeated transfers of amounts just under the market's reporting threshold
    (85-99% of it) within days, funded by deposits from other banks just before."""

    name = "structuring"
    Params = StructuringParams

    def inject(self, ctx, rng, victims, p):
        threshold = ctx.market.reporting_threshold
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=p.days[1] + 1):
            days = rng.uniform(*p.days)
            acc = int(ctx.primary[cust])
            n = count_in(rng, p.transfers)
            amounts = np.floor(threshold * rng.uniform(*p.below, n))
            d = count_in(rng, p.deposits)
            transfer_in(
                ctx,
                ep,
                self.name,
                cust,
                acc,
                t + np.sort(rng.uniform(0, 6, d) * HOUR).astype(np.int64),
                np.round(amounts.sum() * rng.uniform(1.0, 1.05) / d, 2),
            )
            ts = t + 6 * HOUR + np.sort(rng.uniform(0, days, n) * DAY).astype(np.int64)
            transfer_out(ctx, ep, self.name, cust, acc, ts, amount=amounts)
