"""Liquidity crunch."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import spend, transfer_out


@dataclass(frozen=True)
class LiquidityCrunchParams(Params):
    drains: tuple = span(2, 4, 1, 20)  # transfers out that empty the account
    drain_share: tuple = span(0.6, 0.9, 0.1, 1)  # each takes this share of the balance
    returned: tuple = span(3, 6, 2, 50)  # payments then returned for lack of funds
    payment_multiple: tuple = span(1.5, 4, 0.5, 50)


class LiquidityCrunch(Scenario):
    """Signature: the balance is drained within days by transfers to another bank (a balance
    z-score below -2.5 against the last 30 days), then payments bounce: several debits
    returned (declined) for insufficient funds."""

    name = "liquidity_crunch"
    Params = LiquidityCrunchParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(ctx, rng, victims, lead_days=30, tail_days=6):
            acc = int(ctx.primary[cust])
            n = count_in(rng, p.drains)
            ts = t + np.sort(rng.uniform(0, 48, n) * HOUR).astype(np.int64)
            transfer_out(
                ctx,
                ep,
                self.name,
                cust,
                acc,
                ts,
                sweep_bp=(between(rng, p.drain_share, n) * 10_000).astype(int),
            )
            k = count_in(rng, p.returned)
            pay = ts[-1] + HOUR + np.sort(rng.uniform(0, 4, k) * DAY).astype(np.int64)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                pay,
                ctx.average_purchase(cust) * between(rng, p.payment_multiple, k),
                acc=acc,
                mode="debit_card",
                categories=("utilities",),
            )
