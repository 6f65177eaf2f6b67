"""Refund fraud."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, number, span
from workbench.fraud.context import DAY


@dataclass(frozen=True)
class RefundFraudParams(Params):
    refund_share: tuple = span(0.4, 0.8, 0.05, 1)  # share of the customer's purchases refunded
    days: float = number(30, 3, 365)  # episode length
    lag_days: tuple = span(1, 10, 0, 60)


class RefundFraud(Scenario):
    """Signature: over a few weeks, refunds on 40-80% of the customer's purchases (the base
    rate is under 1%): a refund rate far above 3x normal. Refunds reference the purchases."""

    name = "refund_fraud"
    Params = RefundFraudParams

    def inject(self, ctx, rng, victims, p):
        it = ctx.world.intents
        for cust in victims:
            t = ctx.window(rng, cust, tail_days=p.days)
            if t is None:
                continue
            rows = ctx.rows_of(cust)
            ts = it["ts"].to_numpy()[rows]
            rows = rows[(ts >= t) & (ts < t + int(p.days * DAY))]
            rows = rows[rng.random(len(rows)) < between(rng, p.refund_share)]
            if len(rows) < 2:
                continue
            ep = ctx.episode(rng, cust, self.name)
            src = it.iloc[rows]
            ctx.txns(
                ep,
                self.name,
                "refund",
                cust,
                src["acc"].to_numpy(),
                src["ts"].to_numpy()
                + (rng.uniform(*p.lag_days, len(rows)) * DAY).astype(np.int64),
                src["amount_c"].to_numpy() / 100,
                merchant_id=src["merchant_id"].to_numpy(),
                category=src["category"].to_numpy(),
                channel=src["channel"].to_numpy(),
                mode=src["mode"].to_numpy(),
                city=src["city"].to_numpy(),
                lat=src["lat"].to_numpy(),
                lon=src["lon"].to_numpy(),
                related=rows,
            )
