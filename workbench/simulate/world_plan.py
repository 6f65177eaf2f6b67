"""The global plan: everything that spans shards, decided once before any shard runs.

Merchants, shared public IPs and the VPN/proxy pool are shared by customers of every
shard, and so are fraud rings. Shards receive the plan and a seed derived
from (seed, shard index), so their output does not depend on where they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from workbench.simulate.config import SimulationConfig
from workbench.simulate.fraud_hook import PlannedFraud, fraud_layer
from workbench.simulate.profiles import Behaviour, Market, load_behaviour, load_market
from workbench.simulate.sampling import group_offsets

HOME_IP_BASE = 1_000_000_000  # home IP ids are HOME_IP_BASE + customer_id; shared IPs are below it
SLOTS = 8  # per customer: account and device slots 0-7
_ID_SPACE = 2**40
_ID_MULT = {
    "account": 0x9E3779B97F4A7C15 % _ID_SPACE | 1,
    "device": 0xC2B2AE3D27D4EB4F % _ID_SPACE | 1,
}


def entity_id(kind: str, customer_id: np.ndarray | int, slot: np.ndarray | int) -> np.ndarray:
    """Opaque account or device id of a customer's slot: a bijection of (customer, slot).

    Ids carry no visible slot or order, so an account or device that a fraud scenario opens
    looks like any other (a plain ``customer * 4 + slot`` would leak "slot 3 = fraud").
    """
    return (np.asarray(customer_id, dtype=np.int64) * SLOTS + slot) * _ID_MULT[kind] % _ID_SPACE


def seed_sequence(seed: int, *key: int) -> np.random.SeedSequence:
    """A deterministic seed for one named part of the simulation (independent of run order)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=key)


def ipv4_strings(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random public-looking IPv4 addresses as strings."""
    octets = rng.integers(1, 255, size=(n, 4))
    octets[:, 0] = rng.choice([49, 103, 106, 117, 122, 157, 182, 203], size=n)
    return np.array([".".join(map(str, o)) for o in octets.tolist()], dtype=object)


@dataclass
class GlobalPlan:
    """Shared entities and per-shard seeds; picklable so shards can run anywhere."""

    config: SimulationConfig
    market: Market
    behaviour: Behaviour
    merchants: pd.DataFrame
    shared_ips: pd.DataFrame
    merchant_groups: tuple[np.ndarray, np.ndarray, np.ndarray]  # by city * n_categories + category
    public_ip_groups: tuple[np.ndarray, np.ndarray, np.ndarray]  # by city
    vpn_ip_ids: np.ndarray
    pii_pools: tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ]  # Faker first names, last names, email domains, streets
    fraud: PlannedFraud | None = None  # planned by the registered fraud layer
    cache: dict[str, Any] = field(
        default_factory=dict, repr=False
    )  # derived per-plan values (day calendar)

    def __post_init__(self) -> None:
        # numpy views of hot columns (pandas column access costs microseconds per call)
        m, c = self.merchants, self.market.cities
        self.m_id, self.m_lat, self.m_lon = (
            m["merchant_id"].to_numpy(),
            m["lat"].to_numpy(),
            m["lon"].to_numpy(),
        )
        self.m_category, self.m_city = m["category_idx"].to_numpy(), m["city_idx"].to_numpy()
        self.city_lat, self.city_lon = c["lat"].to_numpy(), c["lon"].to_numpy()

    def shard_bounds(self, shard: int) -> tuple[int, int]:
        """[first, last) customer ids of one shard."""
        lo = shard * self.config.shard_size
        return lo, min(lo + self.config.shard_size, self.config.customers)


def make_plan(config: SimulationConfig) -> GlobalPlan:
    from workbench.simulate.population import pii_pools  # population builds on the plan

    """Plan merchants and shared IP pools for ``config`` (deterministic in its seed)."""
    market, behaviour = load_market(config.market), load_behaviour(config.behaviour)
    rng = np.random.default_rng(seed_sequence(config.seed, 0))
    merchants = _merchants(market, rng, config.seed)
    n_cat = len(market.categories)
    groups = merchants["city_idx"].to_numpy() * n_cat + merchants["category_idx"].to_numpy()
    n_cities = len(market.cities)
    public_city = np.repeat(np.arange(n_cities), config.public_ips_per_city)
    n_pub, n_vpn = len(public_city), config.vpn_pool_size
    shared_ips = pd.DataFrame(
        {
            "ip_id": np.arange(n_pub + n_vpn, dtype=np.int64),
            "address": ipv4_strings(rng, n_pub + n_vpn),
            "kind": np.array(["public"] * n_pub + ["vpn"] * n_vpn, dtype=object),
            "city": np.concatenate(
                [
                    market.cities["name"].to_numpy()[public_city],
                    np.array(["(vpn exit)"] * n_vpn, dtype=object),
                ]
            ),
            "customer_id": np.full(n_pub + n_vpn, -1, dtype=np.int64),
        }
    )
    plan = GlobalPlan(
        config=config,
        market=market,
        behaviour=behaviour,
        merchants=merchants,
        shared_ips=shared_ips,
        merchant_groups=group_offsets(groups, n_cities * n_cat),
        public_ip_groups=group_offsets(public_city, n_cities),
        vpn_ip_ids=np.arange(n_pub, n_pub + n_vpn, dtype=np.int64),
        pii_pools=pii_pools(market.faker_locale, config.seed),
    )
    mix = config.mix()
    if mix is not None:
        plan.fraud = fraud_layer().plan(plan, mix)
    return plan


def _merchants(market: Market, rng: np.random.Generator, seed: int) -> pd.DataFrame:
    """One branch of every chain and ``merchants_per_city`` local merchants per city and
    category."""
    fake = Faker(market.faker_locale)
    fake.seed_instance(seed)
    rows_city, rows_cat, names, chain = [], [], [], []
    for ci, city in enumerate(market.cities["name"]):
        for ki, cat in enumerate(market.categories):
            n_local = max(cat.merchants_per_city - len(cat.chains), 1)
            for brand in cat.chains:
                (
                    rows_city.append(ci),
                    rows_cat.append(ki),
                    names.append(f"{brand} {city}"),
                    chain.append(True),
                )
            for _ in range(n_local):
                (
                    rows_city.append(ci),
                    rows_cat.append(ki),
                    names.append(f"{fake.last_name()} {cat.name.replace('_', ' ').title()}"),
                    chain.append(False),
                )
    city_idx, cat_idx = np.array(rows_city), np.array(rows_cat)
    n = len(names)
    jitter = rng.normal(0, 0.04, size=(n, 2))  # about 4 km around the city centre
    return pd.DataFrame(
        {
            "merchant_id": np.arange(n, dtype=np.int64),
            "name": np.array(names, dtype=object),
            "category": np.array([market.categories[k].name for k in cat_idx], dtype=object),
            "city": market.cities["name"].to_numpy()[city_idx],
            "lat": np.round(market.cities["lat"].to_numpy()[city_idx] + jitter[:, 0], 6),
            "lon": np.round(market.cities["lon"].to_numpy()[city_idx] + jitter[:, 1], 6),
            "is_chain": np.array(chain),
            "risk_score": np.round(rng.beta(2, 9, size=n) * 100).astype(np.int64),
            "city_idx": city_idx.astype(np.int64),
            "category_idx": cat_idx.astype(np.int64),
        }
    )
