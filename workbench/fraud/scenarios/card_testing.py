"""Card testing."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, number, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import HIGH_VALUE, ONLINE, fraudster_session, spend
from workbench.simulate.intents import DECLINE


@dataclass(frozen=True)
class CardTestingParams(Params):
    tests: tuple = span(5, 15, 1, 100)  # tiny test transactions
    decline_share: float = number(0.5, 0, 1)  # tests failing card verification
    large: tuple = span(1, 3, 1, 20)  # large purchases once the card works
    large_multiple: tuple = span(4, 10, 1, 100)  # large amount / customer's average purchase


class CardTesting(Scenario):
    """Signature: a burst of tiny online transactions (about half declined for card
    verification) within minutes on one card from a new device and a VPN IP, then within
    hours one to three purchases several times the cardholder's average."""

    name = "card_testing"
    Params = CardTestingParams

    def inject(self, ctx, rng, victims, p):
        tiny_ref = min(min(k.median.values()) for k in ctx.market.categories)
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=1):
            device, ip = fraudster_session(ctx, rng, cust, t)
            n = count_in(rng, p.tests)
            ts = t + np.cumsum(rng.exponential(90e6, n)).astype(np.int64)
            decline = np.where(
                rng.random(n) < p.decline_share, DECLINE["card_verification"], DECLINE["none"]
            )
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                ts,
                np.maximum(np.round(tiny_ref * rng.uniform(0.01, 0.2, n), 2), 0.5),
                categories=ONLINE,
                device=device,
                ip=ip,
                decline=decline,
            )
            k = count_in(rng, p.large)
            big_ts = ts[-1] + (rng.uniform(0.2, 6, k) * HOUR).astype(np.int64)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                big_ts,
                ctx.average_purchase(cust) * between(rng, p.large_multiple, k),
                categories=HIGH_VALUE,
                device=device,
                ip=ip,
            )
