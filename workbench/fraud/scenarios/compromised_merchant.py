"""Compromised merchant terminal."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, number, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import HIGH_VALUE, ONLINE, fraudster_session, spend


@dataclass(frozen=True)
class CompromisedMerchantParams(Params):
    exploit_share: float = number(0.6, 0, 1)  # cards used at the terminal that are later defrauded
    delay_days: tuple = span(3, 30, 0.5, 120)  # from the compromise to the fraud
    purchases: tuple = span(2, 5, 1, 50)
    amount_multiple: tuple = span(1.5, 5, 0.1, 100)


class CompromisedMerchant(Scenario):
    """Signature: cards used at a merchant whose terminal was compromised for a period
    (planned globally) are defrauded elsewhere days to weeks later (online, new device),
    so the common point of purchase links the victims. Runs on every shard's customers who
    paid by card there; its prevalence is unused (the terminals set the victims)."""

    name = "compromised_merchant"
    Params = CompromisedMerchantParams
    selects_own_victims = True

    def inject(self, ctx, rng, victims, p):
        col = ctx.col
        fraud = ctx.is_fraud()
        card_modes = [ctx.mode_code(m) for m in ("credit_card", "debit_card")]
        merchant_id = ctx.plan.merchants["merchant_id"].to_numpy()
        for m, start, end in ctx.fraud_plan.compromised.itertuples(index=False):
            hit = np.flatnonzero(
                (col["merchant_id"] == merchant_id[m])
                & (col["ts"] >= start)
                & (col["ts"] < end)
                & np.isin(col["mode"], card_modes)
                & ~fraud
                & ~np.isin(col["cust"], ctx.reserved)
            )
            seen = set()
            for r in hit[rng.random(len(hit)) < p.exploit_share]:
                cust, acc = int(col["cust"][r]), int(col["acc"][r])
                if (cust, acc) in seen:
                    continue
                seen.add((cust, acc))
                t = int(col["ts"][r]) + int(between(rng, p.delay_days) * DAY)
                n = count_in(rng, p.purchases)
                ts = t + np.sort(rng.uniform(0, 30, n) * HOUR).astype(np.int64)
                if ts[0] >= ctx.end:
                    continue
                ep = ctx.episode(rng, cust, self.name)
                device, ip = fraudster_session(ctx, rng, cust, t)
                spend(
                    ctx,
                    rng,
                    ep,
                    self.name,
                    cust,
                    ts,
                    ctx.average_purchase(cust) * between(rng, p.amount_multiple, n),
                    acc=acc,
                    mode=ctx.market.modes[int(col["mode"][r])],
                    categories=HIGH_VALUE + ONLINE,
                    device=device,
                    ip=ip,
                )
