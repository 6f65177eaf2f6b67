"""Merchant collusion."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import spend


@dataclass(frozen=True)
class MerchantCollusionParams(Params):
    charges: tuple = span(1, 3, 1, 20)
    near_limit: tuple = span(
        0.85, 0.98, 0.5, 1
    )  # charge / card limit (or reporting threshold for debit cards)


class MerchantCollusion(Scenario):
    """Signature: round amounts close to the card's limit (or the reporting threshold for
    debit cards) charged at one colluding merchant (planned globally) across many cards."""

    name = "merchant_collusion"
    Params = MerchantCollusionParams

    def inject(self, ctx, rng, victims, p):
        colluding = ctx.fraud_plan.colluding
        if len(colluding) == 0:
            return
        acc_limit = ctx.pop.accounts["credit_limit"].to_numpy()
        unit = 10 ** max(int(np.log10(ctx.market.reporting_threshold)) - 2, 0)
        m_city = ctx.plan.merchants["city_idx"].to_numpy()
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=1):
            merchant = int(rng.choice(colluding))
            acc, mode = ctx.card_of(cust)
            ceiling = acc_limit[acc] if acc_limit[acc] > 0 else ctx.market.reporting_threshold
            n = count_in(rng, p.charges)
            amounts = np.floor(ceiling * rng.uniform(*p.near_limit, n) / n / unit) * unit
            local = m_city[merchant] == ctx.home_city[cust]
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                t + np.sort(rng.uniform(0, 48, n) * HOUR).astype(np.int64),
                np.maximum(amounts, unit),
                channel="pos" if local else "online",
                acc=acc,
                mode=mode,
                merchant=merchant,
                city=ctx.home_city[cust],
            )
