"""The global fraud plan (a :class:`~workbench.simulate.fraud_hook.PlannedFraud`) and the
fraud layer that the simulator calls through its declared hook."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.dataset.schema import arrow_schema, conform
from workbench.fraud.base import between
from workbench.fraud.context import DAY, FraudContext
from workbench.fraud.mix import FRAUD_TYPES, FraudMix, LabelDelay
from workbench.fraud.rings import RingPlan, act_rings, plan_rings
from workbench.fraud.scenarios import SCENARIOS
from workbench.simulate.sampling import categorical
from workbench.simulate.shard import ShardWorld
from workbench.simulate.world_plan import GlobalPlan, seed_sequence


@dataclass
class FraudPlan:
    """Everything about fraud decided before shards run; ``apply`` is the shard hook."""

    mix: FraudMix
    colluding: np.ndarray  # merchant rows
    compromised: pd.DataFrame  # merchant row, start_us, end_us
    rings: RingPlan

    @property
    def maturity_days(self) -> float:
        """The label-maturity horizon of the mix, in days."""
        return self.mix.label_delay.maturity_days

    def rings_table(self) -> pa.Table:
        """The planned rings as the dataset's ``rings`` table (empty without rings)."""
        rings = self.rings.rings
        if rings is None or rings.empty:
            return pa.table({f.name: pa.array([], f.type) for f in arrow_schema("rings")})
        members = self.rings.members.groupby("ring_id")["customer_id"].agg(
            lambda s: ",".join(map(str, s))
        )
        start = pa.array(rings["start_us"].to_numpy(np.int64), pa.timestamp("us"))
        return conform(
            "rings",
            pa.table(
                {
                    "ring_id": rings["ring_id"].to_numpy(np.int64),
                    "shape": rings["shape"].tolist(),
                    "variant": rings["variant"].tolist(),
                    "size": rings["size"].to_numpy(np.int64),
                    "start": start,
                    "members": members.reindex(rings["ring_id"]).tolist(),
                }
            ),
        )

    def delay_sampler(self, rng: np.random.Generator) -> int:
        """A label delay in microseconds, or -1 for fraud that is never confirmed."""
        d: LabelDelay = self.mix.label_delay
        if rng.random() < d.never_confirmed:
            return -1
        return int(rng.lognormal(d.mu, d.sigma) * DAY)

    def apply(self, world: ShardWorld) -> None:
        """Choose this shard's victims, run every scenario on them, then the rings."""
        ctx = FraudContext(world, list(FRAUD_TYPES), self.delay_sampler)
        ctx.fraud_plan = self
        ids = ctx.customer_id
        in_ring = np.isin(ids, self.rings.member_ids)
        specs = self.mix.scenarios
        probs = np.array([s.prevalence for s in specs])
        pick = (
            categorical(world.rng_for(0), np.r_[max(1 - probs.sum(), 0.0), probs], size=len(ids))
            - 1
        )
        pick[in_ring] = -1
        ctx.reserved = np.flatnonzero((pick >= 0) | in_ring)
        for k, spec in enumerate(specs):
            scenario = SCENARIOS[spec.name]()
            victims = np.flatnonzero(pick == k)
            if len(victims) or scenario.selects_own_victims:
                scenario.inject(ctx, world.rng_for(1, k), victims, spec.params)
        act_rings(ctx, self.rings, world.rng_for(2))
        ctx.commit()
        world.episodes = ctx.episodes


def make_fraud_plan(plan: GlobalPlan, mix: FraudMix) -> FraudPlan:
    """Plan colluding and compromised merchants and the rings, from the dataset seed."""
    rng = np.random.default_rng(seed_sequence(plan.config.seed, 3))
    local = np.flatnonzero(~plan.merchants["is_chain"].to_numpy())
    colluding = rng.choice(local, size=min(mix.colluding_merchants, len(local)), replace=False)
    t0 = int(np.datetime64(plan.config.start, "us").astype(np.int64))
    # skimmers go where cards are: chain branches in the largest cities
    m = plan.merchants
    big = plan.market.cities["weight"].nlargest(5).index.to_numpy()
    busy = np.flatnonzero(m["is_chain"].to_numpy() & np.isin(m["city_idx"].to_numpy(), big))
    busy = busy if len(busy) else np.arange(len(m))
    comp = rng.choice(busy, size=min(mix.compromised_merchants, len(busy)), replace=False)
    start = t0 + (rng.uniform(0.05, 0.6, len(comp)) * plan.config.days * DAY).astype(np.int64)
    compromised = pd.DataFrame(
        {
            "merchant": comp,
            "start_us": start,
            "end_us": start
            + (between(rng, mix.compromise_days, len(comp)) * DAY).astype(np.int64),
        }
    )
    rings = plan_rings(mix, plan.config, plan.market, rng, plan.vpn_ip_ids)
    return FraudPlan(mix, colluding, compromised, rings)
