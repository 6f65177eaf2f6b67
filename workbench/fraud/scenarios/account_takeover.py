"""Account takeover."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, between, count_in, number, span
from workbench.fraud.context import HOUR
from workbench.fraud.scenarios._common import (
    HIGH_VALUE,
    fraudster_session,
    off_hours,
    spend,
    transfer_in,
    transfer_out,
)


@dataclass(frozen=True)
class AccountTakeoverParams(Params):
    within_hours: float = number(72, 2, 240)  # the theft follows the identity change within this
    thefts: tuple = span(1, 3, 1, 20)
    amount_multiple: tuple = span(5, 12, 5, 100)  # theft amount / customer's average purchase
    transfer_share: float = number(0.6, 0, 1)  # thefts by transfer (else online purchases)
    via_mule: float = number(0.3, 0, 1)  # share of episodes cashing out through a mule (chained)


class AccountTakeover(Scenario):
    """Signature: an email or phone change from a new device and IP (logins from it), then
    within 72 h, at night (0-5 h), transfers or online purchases above 5x the customer's
    average. Chained: part of the proceeds go to a mule account inside the bank, which passes
    them on to another bank within hours (that mule's rows are labelled mule_account)."""

    name = "account_takeover"
    Params = AccountTakeoverParams

    def inject(self, ctx, rng, victims, p):
        mules = np.setdiff1d(np.arange(ctx.n_customers), np.concatenate([victims, ctx.reserved]))
        for cust, t, ep in self.starts(ctx, rng, victims, tail_days=p.within_hours / 24 + 0.5):
            device, ip = fraudster_session(ctx, rng, cust, t)
            change = "email_change" if rng.random() < 0.5 else "phone_change"
            ctx.events(
                ep, self.name, "login", cust, t - int(rng.uniform(1, 20) * 60e6), device, ip
            )
            ctx.events(ep, self.name, change, cust, t, device, ip)
            n = count_in(rng, p.thefts)
            first = off_hours(rng, t, p.within_hours)
            ts = first + np.sort(rng.uniform(0, 2, n) * HOUR).astype(np.int64)
            ctx.events(
                ep, self.name, "login", cust, ts[0] - int(rng.uniform(1, 10) * 60e6), device, ip
            )
            amounts = ctx.average_purchase(cust) * between(rng, p.amount_multiple, n)
            primary = int(ctx.primary[cust])
            chained = len(mules) > 0 and rng.random() < p.via_mule
            for i in range(n):
                if chained and i == 0:
                    mule = int(rng.choice(mules))
                    m_acc = int(ctx.primary[mule])
                    out = transfer_out(
                        ctx,
                        ep,
                        self.name,
                        cust,
                        primary,
                        ts[i],
                        amount=amounts[i],
                        device=device,
                        ip=ip,
                        to_account_id=int(ctx.pop.accounts["account_id"].iloc[m_acc]),
                    )
                    m_ep = ctx.episode(rng, mule, "mule_account")
                    inn = transfer_in(
                        ctx,
                        m_ep,
                        "mule_account",
                        mule,
                        m_acc,
                        ts[i],
                        amounts[i],
                        from_account_id=int(ctx.pop.accounts["account_id"].iloc[primary]),
                        related=out,
                    )
                    transfer_out(
                        ctx,
                        m_ep,
                        "mule_account",
                        mule,
                        m_acc,
                        ts[i] + int(rng.uniform(0.5, 6) * HOUR),
                        amount=round(amounts[i] * rng.uniform(0.85, 0.97), 2),
                        related=inn,
                    )
                elif rng.random() < p.transfer_share:
                    transfer_out(
                        ctx,
                        ep,
                        self.name,
                        cust,
                        primary,
                        ts[i],
                        amount=amounts[i],
                        device=device,
                        ip=ip,
                    )
                else:
                    spend(
                        ctx,
                        rng,
                        ep,
                        self.name,
                        cust,
                        ts[i],
                        amounts[i],
                        categories=HIGH_VALUE,
                        device=device,
                        ip=ip,
                    )
