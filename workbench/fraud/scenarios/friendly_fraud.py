"""Friendly fraud (chargeback abuse)."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, span
from workbench.fraud.context import DAY


@dataclass(frozen=True)
class FriendlyFraudParams(Params):
    chargebacks: tuple = span(1, 3, 1, 20)
    lag_days: tuple = span(15, 60, 1, 120)


class FriendlyFraud(Scenario):
    """Signature: chargebacks on purchases that were genuine (the customer received the
    goods), preferring the larger ones; the purchases stay legitimate, the chargebacks are
    fraud. Alike to genuine disputes row by row: detection needs customer history."""

    name = "friendly_fraud"
    Params = FriendlyFraudParams

    def inject(self, ctx, rng, victims, p):
        it = ctx.world.intents
        for cust in victims:
            rows = ctx.rows_of(cust)
            if len(rows) == 0:
                continue
            amounts = it["amount_c"].to_numpy()[rows].astype(float)
            k = min(count_in(rng, p.chargebacks), len(rows))
            pick = rng.choice(rows, size=k, replace=False, p=amounts / amounts.sum())
            src = it.iloc[pick]
            ts = src["ts"].to_numpy() + (rng.uniform(*p.lag_days, k) * DAY).astype(np.int64)
            if (ts >= ctx.end).all():
                continue
            ep = ctx.episode(rng, cust, self.name)
            ctx.txns(
                ep,
                self.name,
                "chargeback",
                cust,
                src["acc"].to_numpy(),
                ts,
                src["amount_c"].to_numpy() / 100,
                merchant_id=src["merchant_id"].to_numpy(),
                category=src["category"].to_numpy(),
                channel=src["channel"].to_numpy(),
                mode=src["mode"].to_numpy(),
                city=src["city"].to_numpy(),
                lat=src["lat"].to_numpy(),
                lon=src["lon"].to_numpy(),
                related=pick,
            )
