"""Loyalty-programme abuse."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, number, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import spend
from workbench.simulate.intents import CHANNEL


@dataclass(frozen=True)
class LoyaltyAbuseParams(Params):
    farming: tuple = span(10, 30, 5, 200)  # small purchases at one merchant to earn points
    refunded_share: float = number(0.5, 0, 1)  # farmed purchases refunded (points kept)
    redemptions: tuple = span(3, 8, 3, 50)  # redemptions within three hours
    redemption_income: tuple = span(0.01, 0.04, 0.001, 1)


class LoyaltyAbuse(Scenario):
    """Signature: points farming (a burst of small purchases at one merchant within a day or
    two, many refunded) followed by a burst of three or more reward redemptions within hours
    (legitimate customers redeem a few times a year)."""

    name = "loyalty_abuse"
    Params = LoyaltyAbuseParams

    def inject(self, ctx, rng, victims, p):
        for cust in victims:
            if ctx.card[cust] < 0:
                continue
            t = ctx.window(rng, cust, tail_days=3)
            if t is None:
                continue
            ep = ctx.episode(rng, cust, self.name)
            acc = int(ctx.card[cust])
            merchant = ctx.merchants(rng, np.array([ctx.home_city[cust]]))[0]
            n = count_in(rng, p.farming)
            ts = t + np.sort(rng.uniform(0, 40, n) * HOUR).astype(np.int64)
            amount = ctx.average_purchase(cust) * rng.uniform(0.05, 0.3, n)
            rows = spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                ts,
                amount,
                channel="online",
                acc=acc,
                mode="credit_card",
                merchant=np.repeat(merchant, n),
            )
            back = rows[rng.random(len(rows)) < p.refunded_share]
            if len(back):
                new = ctx.txns_frame(back)
                ctx.txns(
                    ep,
                    self.name,
                    "refund",
                    cust,
                    acc,
                    new["ts"].to_numpy() + (rng.uniform(0.5, 3, len(back)) * DAY).astype(np.int64),
                    new["amount_c"].to_numpy() / 100,
                    **{
                        k: new[k].to_numpy()
                        for k in (
                            "merchant_id",
                            "category",
                            "channel",
                            "mode",
                            "city",
                            "lat",
                            "lon",
                        )
                    },
                    related=back,
                )
            k = count_in(rng, p.redemptions)
            red = (
                ts[-1]
                + int(rng.uniform(1, 24) * HOUR)
                + np.sort(rng.uniform(0, 3, k) * HOUR).astype(np.int64)
            )
            ctx.txns(
                ep,
                self.name,
                "reward_redemption",
                cust,
                acc,
                red,
                np.round(ctx.income[cust] * rng.uniform(*p.redemption_income, k), 2),
                channel=np.full(k, CHANNEL["mobile"]),
            )
