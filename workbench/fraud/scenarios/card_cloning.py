"""Card cloning."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import spend
from workbench.simulate.intents import CHANNEL
from workbench.simulate.sampling import haversine_km


@dataclass(frozen=True)
class CardCloningParams(Params):
    min_km: float = 1000.0  # distance of the clone's city from the genuine use
    clone_uses: tuple = span(2, 6, 1, 50)  # card-present purchases with the clone
    amount_multiple: tuple = span(1.5, 5, 0.1, 100)


class CardCloning(Scenario):
    """Signature: the same card used card-present in two cities so close in time that the
    implied speed exceeds 800 km/h (the genuine card at home, the clone far away), then more
    card-present purchases with the clone in that city over the next days."""

    name = "card_cloning"
    Params = CardCloningParams

    def inject(self, ctx, rng, victims, p):
        col = ctx.col
        card_modes = [ctx.mode_code(m) for m in ("credit_card", "debit_card")]
        cities = ctx.market.cities
        for cust in victims:
            rows = ctx.rows_of(cust)
            rows = rows[
                (col["channel"][rows] == CHANNEL["pos"]) & np.isin(col["mode"][rows], card_modes)
            ]
            if len(rows) == 0:
                continue
            r = int(rng.choice(rows))
            home = int(col["city"][r])
            far = ctx.far_city(rng, home, p.min_km)
            dist = float(
                haversine_km(
                    cities["lat"].iloc[home],
                    cities["lon"].iloc[home],
                    cities["lat"].iloc[far],
                    cities["lon"].iloc[far],
                )
            )
            # first clone use sooner than a plane could get there (speed above 800 km/h)
            first = (
                int(col["ts"][r])
                + int(rng.uniform(0.1, 0.9) * min(dist / 850, 3) * HOUR)
                + 60_000_000
            )
            n = count_in(rng, p.clone_uses)
            ts = (
                np.r_[first, first + np.sort(rng.uniform(0.5, 72, n - 1) * HOUR).astype(np.int64)]
                if n > 1
                else np.array([first])
            )
            ep = ctx.episode(rng, cust, self.name)
            spend(
                ctx,
                rng,
                ep,
                self.name,
                cust,
                ts,
                ctx.average_purchase(cust) * between(rng, p.amount_multiple, n),
                channel="pos",
                acc=int(col["acc"][r]),
                mode=ctx.market.modes[int(col["mode"][r])],
                city=far,
            )
