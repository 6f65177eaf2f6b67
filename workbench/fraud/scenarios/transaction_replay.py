"""Transaction replay."""

from dataclasses import dataclass

import numpy as np

from workbench.fraud.base import Params, Scenario, count_in, span


@dataclass(frozen=True)
class TransactionReplayParams(Params):
    originals: tuple = span(1, 3, 1, 20)  # purchases replayed
    copies: tuple = span(1, 3, 1, 20)  # replays of each
    minutes: tuple = span(1, 10, 0.1, 60)  # replay delay


class TransactionReplay(Scenario):
    """Signature: duplicates of a remote card purchase (same card, merchant and amount)
    within minutes of the original; the duplicates are fraud."""

    name = "transaction_replay"
    Params = TransactionReplayParams

    def inject(self, ctx, rng, victims, p):
        it = ctx.world.intents
        card_modes = [ctx.mode_code(m) for m in ("credit_card", "debit_card")]
        for cust in victims:
            rows = ctx.rows_of(cust)
            rows = rows[
                (it["channel"].to_numpy()[rows] > 0)
                & np.isin(it["mode"].to_numpy()[rows], card_modes)
            ]
            if len(rows) == 0:
                continue
            ep = ctx.episode(rng, cust, self.name)
            for r in rng.choice(
                rows, size=min(count_in(rng, p.originals), len(rows)), replace=False
            ):
                src = it.iloc[[r] * count_in(rng, p.copies)]
                ts = src["ts"].to_numpy() + np.sort(
                    rng.uniform(*p.minutes, len(src)) * 60e6
                ).astype(np.int64)
                ctx.txns(
                    ep,
                    self.name,
                    "purchase",
                    cust,
                    src["acc"].to_numpy(),
                    ts,
                    src["amount_c"].to_numpy() / 100,
                    **{
                        k: src[k].to_numpy()
                        for k in (
                            "merchant_id",
                            "category",
                            "channel",
                            "mode",
                            "city",
                            "lat",
                            "lon",
                            "device_id",
                            "ip_id",
                        )
                    },
                )
