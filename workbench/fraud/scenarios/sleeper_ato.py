"""Sleeper account takeover."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, number, span
from workbench.fraud.context import DAY, HOUR
from workbench.fraud.scenarios._common import fraudster_session, transfer_out


@dataclass(frozen=True)
class SleeperAtoParams(Params):
    dormant_days: float = number(35, 30, 200)  # no activity at all this long before the burst
    links: tuple = span(3, 6, 3, 30)  # bank-link connections within an hour
    debit_delay_hours: tuple = span(0.5, 12, 0, 72)
    sweep_share: tuple = span(
        0.6, 0.95, 0.05, 1
    )  # the high-value debit takes this share of the balance


class SleeperAto(Scenario):
    """Signature: an account dormant for 30+ days, then a burst of three or more bank-link
    connections within an hour from a new device, then a high-value debit sweeping most of
    the balance to another bank."""

    name = "sleeper_ato"
    Params = SleeperAtoParams

    def inject(self, ctx, rng, victims, p):
        for cust, t, ep in self.starts(
            ctx, rng, victims, lead_days=p.dormant_days + 1, tail_days=1
        ):
            ctx.suppress_span(cust, t - int(p.dormant_days * DAY), t + DAY)
            ev = ctx.world.events
            quiet = (
                (ev["cust"].to_numpy() == cust)
                & (ev["ts"].to_numpy() >= t - int(p.dormant_days * DAY))
                & (ev["ts"].to_numpy() < t + DAY)
            )
            ctx.world.events = ev[~quiet].reset_index(drop=True)
            device, ip = fraudster_session(ctx, rng, cust, t)
            n = count_in(rng, p.links)
            ctx.events(ep, self.name, "login", cust, t - int(rng.uniform(1, 5) * 60e6), device, ip)
            ctx.events(
                ep,
                self.name,
                "bank_link",
                cust,
                t + np.sort(rng.uniform(0, 0.9, n) * HOUR).astype(np.int64),
                device,
                ip,
            )
            debit = t + HOUR + int(rng.uniform(*p.debit_delay_hours) * HOUR)
            transfer_out(
                ctx,
                ep,
                self.name,
                cust,
                int(ctx.primary[cust]),
                debit,
                sweep_bp=int(rng.uniform(*p.sweep_share) * 10_000),
                device=device,
                ip=ip,
            )
