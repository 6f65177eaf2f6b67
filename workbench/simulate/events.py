"""The account-event stream of one shard: logins, identity changes, password resets, bank links."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulate.behaviour import IP_MIX_HOME, alive_matrix, pick_ip
from workbench.simulate.intents import EVENT_COLUMNS, EVENT_TYPES, US_PER_MIN, frame
from workbench.simulate.population import Population
from workbench.simulate.world_plan import GlobalPlan, entity_id

SESSION_LOGIN_SHARE = 0.5  # remote purchases preceded by a fresh login


def account_events(
    plan: GlobalPlan, pop: Population, intents: pd.DataFrame, rng: np.random.Generator, t0_us: int
) -> pd.DataFrame:
    """Events at the configured per-day rates over each customer's active days, plus session
    logins."""
    cfg, c = plan.config, pop.customers
    alive = alive_matrix(pop, cfg.days) > 0
    n_alive = alive.sum(axis=1)
    first_alive = np.argmax(alive, axis=1)
    sav_factor = np.array([0.5, 1.0, 1.8])[c["savviness_idx"].to_numpy()]
    parts = []
    for code, name in enumerate(EVENT_TYPES):
        rate = cfg.event_rates[name] * (sav_factor if name == "login" else 1.0)
        count = rng.poisson(rate * n_alive)
        cust = np.repeat(np.arange(len(c)), count)
        sec = (
            first_alive[cust] * 86400 + np.floor(rng.random(len(cust)) * n_alive[cust] * 86400)
        ).astype(np.int64)
        parts.append((cust, t0_us + sec * 1_000_000, np.full(len(cust), code)))
    remote = np.flatnonzero(
        (intents["device_id"].to_numpy() >= 0) & (intents["kind"].to_numpy() == 0)
    )
    sess = remote[rng.random(len(remote)) < SESSION_LOGIN_SHARE]
    parts.append(
        (
            intents["cust"].to_numpy()[sess],
            intents["ts"].to_numpy()[sess] - rng.integers(1, 15, len(sess)) * US_PER_MIN,
            np.zeros(len(sess), dtype=np.int64),
        )
    )
    cust = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    etype = np.concatenate([p[2] for p in parts])
    n = len(cust)
    n_sess = len(sess)
    device = entity_id("device", c["customer_id"].to_numpy()[cust], 0)  # primary device
    ip = pick_ip(
        plan,
        rng,
        c["city_idx"].to_numpy()[cust],
        pop.home_ips["ip_id"].to_numpy()[cust],
        np.array(IP_MIX_HOME["online"]),
    )
    # session logins reuse the purchase's device and IP
    device[n - n_sess :] = intents["device_id"].to_numpy()[sess]
    ip[n - n_sess :] = intents["ip_id"].to_numpy()[sess]
    return frame(
        EVENT_COLUMNS,
        n,
        cust=cust,
        ts=np.maximum(ts, t0_us),
        event_type=etype,
        device_id=device,
        ip_id=ip,
    )
