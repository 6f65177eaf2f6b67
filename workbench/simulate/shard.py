"""One shard of the simulation: population, behaviour, fraud hooks, ledger, final tables.

The order matters and is the contract for fraud scenarios: hooks run after legitimate
behaviour is drawn and *before* the ledger, so whatever a scenario injects or hijacks is
settled together with everything else (balances, declines, ids stay consistent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.dataset.schema import conform
from workbench.simulate import behaviour as bh
from workbench.simulate.events import account_events
from workbench.simulate.intents import CHANNELS, EVENT_TYPES, KIND, TXN_TYPES, US_PER_DAY, concat
from workbench.simulate.labels import Episode, label_tables
from workbench.simulate.ledger import CREDIT_KINDS, DECLINE_REASONS, settle
from workbench.simulate.population import Population, make_population
from workbench.simulate.world_plan import GlobalPlan, seed_sequence

ID_SPAN = 10**12  # txn_id and event_id are shard * ID_SPAN + rank
DEFAULT_MATURITY_DAYS = 14.0  # label-maturity horizon of datasets without a fraud mix


@dataclass
class ShardWorld:
    """Everything a fraud scenario may read or change in one shard before settlement."""

    plan: GlobalPlan
    shard: int
    population: Population
    intents: pd.DataFrame
    events: pd.DataFrame
    trips: pd.DataFrame
    t0_us: int
    fraud_types: list[str] = field(default_factory=lambda: ["none"])
    episodes: list[Episode] = field(default_factory=list)

    def rng_for(self, *key: int) -> np.random.Generator:
        """An independent generator for a named part (e.g. a scenario), so adding one part
        never shifts the random draws of another."""
        return np.random.default_rng(seed_sequence(self.plan.config.seed, 2, self.shard, *key))


Hook = Callable[[ShardWorld], None]


def build_world(plan: GlobalPlan, shard: int) -> ShardWorld:
    """Draw the legitimate world of one shard (no settlement yet)."""
    rng = np.random.default_rng(seed_sequence(plan.config.seed, 1, shard))
    pop = make_population(plan, shard, rng)
    t0 = int(np.datetime64(plan.config.start, "us").astype(np.int64))
    purchases, trips = bh.purchases(plan, pop, rng, t0)
    intents = concat(
        [
            (purchases, True),
            (bh.reversals(plan, pop, purchases, rng, t0), False),  # reversals point at purchases
            (bh.income_and_bills(plan, pop, rng, t0), True),
            (bh.transfers(plan, pop, rng, t0), True),
            (bh.redemptions(plan, pop, rng, t0), True),
        ]
    )
    events = account_events(plan, pop, intents, rng, t0)
    return ShardWorld(plan, shard, pop, intents, events, trips, t0)


def simulate_shard(
    plan: GlobalPlan, shard: int, hooks: Sequence[Hook] = ()
) -> dict[str, pa.Table]:
    """Simulate one shard and return its tables (customers, accounts, devices, ip_addresses,
    transactions, events)."""
    world = build_world(plan, shard)
    if plan.fraud is not None:
        plan.fraud.apply(world)
    for hook in hooks:
        hook(world)
    return finalize(world)


def _dict_array(codes: np.ndarray, names: Sequence[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(names), pa.string())
    )


def _ranked_ids(shard: int, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ts, kind="stable")  # ties keep row order
    return order, shard * ID_SPAN + np.arange(len(ts), dtype=np.int64)


def finalize(world: ShardWorld) -> dict[str, pa.Table]:
    """Settle the intents and build the shard's published tables, validated against the schema."""
    plan, pop = world.plan, world.population
    market = plan.market
    acc = pop.accounts
    limit_c = np.round(acc["credit_limit"].to_numpy() * 100).astype(np.int64)
    opening_c = np.round(acc["opening_balance"].to_numpy() * 100).astype(np.int64)
    st = settle(world.intents, opening_c, limit_c)
    rows = np.flatnonzero(st.happened)
    order, txn_id = _ranked_ids(world.shard, world.intents["ts"].to_numpy()[rows])
    rows = rows[order]
    it = _Columns(world.intents, rows)
    new_id = np.full(len(world.intents), -1, dtype=np.int64)
    new_id[rows] = txn_id
    related = it["related"].to_numpy()
    kind = it["kind"].to_numpy()
    cust_ids = pop.customers["customer_id"].to_numpy()
    cat = it["category"].to_numpy()
    mode = it["mode"].to_numpy()
    modes = list(market.modes) + ["bank_transfer"]
    tx = pa.table(
        {
            "txn_id": txn_id,
            "timestamp": pa.array(it["ts"].to_numpy(), pa.timestamp("us")),
            "customer_id": cust_ids[it["cust"].to_numpy()],
            "account_id": acc["account_id"].to_numpy()[it["acc"].to_numpy()],
            "txn_type": _dict_array(kind, TXN_TYPES),
            "amount": st.amount_c[rows] / 100.0,
            "is_credit": CREDIT_KINDS[kind],
            "currency": _dict_array(np.zeros(len(rows)), [market.currency]),
            "merchant_id": it["merchant_id"].to_numpy(),
            "category": _dict_array(
                np.where(cat >= 0, cat, len(market.categories)),
                [c.name for c in market.categories] + ["none"],
            ),
            "channel": _dict_array(it["channel"].to_numpy(), CHANNELS),
            "payment_mode": _dict_array(np.where(mode >= 0, mode, len(modes) - 1), modes),
            "city": _dict_array(it["city"].to_numpy(), market.cities["name"].tolist()),
            "lat": it["lat"].to_numpy(),
            "lon": it["lon"].to_numpy(),
            "device_id": it["device_id"].to_numpy(),
            "ip_id": it["ip_id"].to_numpy(),
            "counterparty_account_id": it["cp_account_id"].to_numpy(),
            # refunds and chargebacks name their purchase; transfer legs are matched by
            # counterparty account, amount and time instead (legs of a ring may be settled in
            # different shards)
            "related_txn_id": np.where(
                (related >= 0) & np.isin(kind, [KIND["refund"], KIND["chargeback"]]),
                new_id[np.maximum(related, 0)],
                -1,
            ),
            "status": _dict_array(np.where(st.approved[rows], 0, 1), ["approved", "declined"]),
            "decline_reason": _dict_array(st.reason[rows], DECLINE_REASONS),
            "ship_elsewhere": it["ship_elsewhere"].to_numpy(),
            "balance_before": st.before_c[rows] / 100.0,
            "balance_after": st.after_c[rows] / 100.0,
            **_fraud_columns(it, world.fraud_types),
        }
    )
    ev = world.events
    e_order, event_id = _ranked_ids(world.shard, ev["ts"].to_numpy())
    ev = ev.iloc[e_order]
    primary = bh.primary_rows(pop)
    events = pa.table(
        {
            "event_id": event_id,
            "timestamp": pa.array(ev["ts"].to_numpy(), pa.timestamp("us")),
            "customer_id": cust_ids[ev["cust"].to_numpy()],
            "account_id": acc["account_id"].to_numpy()[primary[ev["cust"].to_numpy()]],
            "event_type": _dict_array(ev["event_type"].to_numpy(), EVENT_TYPES),
            "device_id": ev["device_id"].to_numpy(),
            "ip_id": ev["ip_id"].to_numpy(),
            **_fraud_columns(ev, world.fraud_types),
        }
    )
    customers = pop.customers.assign(shard=world.shard)
    maturity = plan.fraud.maturity_days if plan.fraud is not None else DEFAULT_MATURITY_DAYS
    labels, episodes = label_tables(
        tx, events, world.episodes, cust_ids, world.t0_us + plan.config.days * US_PER_DAY, maturity
    )
    return {
        "customers": _from_pandas("customers", customers),
        "accounts": _from_pandas("accounts", acc),
        "devices": _from_pandas("devices", pop.devices),
        "ip_addresses": _from_pandas("ip_addresses", pop.home_ips),
        "transactions": conform("transactions", tx),
        "events": conform("events", events),
        "labels": conform("labels", labels),
        "episodes": conform("episodes", episodes),
    }


class _Columns:
    """Lazy numpy column takes of ``frame`` at ``rows`` (cheaper than a DataFrame ``iloc``)."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        self.frame, self.rows = frame, rows

    def __getitem__(self, column: str) -> pd.Series:
        return pd.Series(self.frame[column].to_numpy()[self.rows], copy=False)


def _fraud_columns(frame, fraud_types: list[str]) -> dict[str, object]:
    return {
        "is_fraud": frame["is_fraud"].to_numpy(),
        "fraud_type": _dict_array(frame["fraud_type"].to_numpy(), fraud_types),
        "fraud_episode_id": frame["fraud_episode_id"].to_numpy(),
        "ring_id": frame["ring_id"].to_numpy(),
    }


def _from_pandas(table: str, frame: pd.DataFrame) -> pa.Table:
    """Keep the schema's columns of ``frame`` (dropping working columns) as a validated Arrow
    table."""
    from workbench.dataset.schema import SCHEMA, arrow_schema

    cols = [name for name, _, _ in SCHEMA[table]]
    return conform(
        table, pa.Table.from_pandas(frame[cols], schema=arrow_schema(table), preserve_index=False)
    )
