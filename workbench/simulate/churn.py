"""Churn with causes: who leaves, decided from what each customer experienced.

After legitimate behaviour and fraud are drawn, the shard's intents are settled once to see
what every customer went through day by day (payments declined by the bank, payments
returned for insufficient funds, fraud on their accounts and how long the bank took to
confirm it, their fading engagement). A daily hazard built from these drivers (coefficients
in the behaviour profile's ``churn:`` section), the customer's tenure, age and segment and an
unobserved noise term decides the day a customer makes up their mind; from then their
purchases thin out over the wind-down and, on the churn date, everything they would still
have done is suppressed (fraud rows stay: a fraudster does not wait for the account to
close). The ledger then settles the changed intents as usual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulate.intents import DECLINE, KIND, US_PER_DAY
from workbench.simulate.ledger import settle
from workbench.simulate.profiles import ChurnModel

# fraud scenarios whose customer is the victim (in the others the customer is the fraudster)
VICTIM_SCENARIOS = ("account_takeover", "sleeper_ato", "stolen_card", "card_cloning",
                    "card_testing", "compromised_merchant", "transaction_replay")
UNCONFIRMED_WAIT_WEEKS = 8.0
NEW_CUSTOMER_DAYS = 180
WINDOW_DAYS = 90  # declines weigh on a customer for months


def drivers_off(behaviour: str | None = None, base_daily_hazard: float | None = None) -> dict:
    """``churn_drivers`` for a SimulationConfig that switches every observable driver off
    and keeps the noise (the control world of the churn study); ``base_daily_hazard``, when
    given, replaces the base hazard (to match the churn rate of the world with drivers)."""
    from workbench.simulate.profiles import CHURN_DRIVERS, load_behaviour

    names = [s.name for s in load_behaviour(behaviour).segments]
    out = {"coefficients": dict.fromkeys(CHURN_DRIVERS, 0.0),
           "segments": dict.fromkeys(names, 0.0), "engagement_drift_sd": 0.0}
    if base_daily_hazard is not None:
        out["base_daily_hazard"] = base_daily_hazard
    return out


def _per_day(cust: np.ndarray, day: np.ndarray, mask: np.ndarray, n: int, days: int) -> np.ndarray:
    """(customers, days) counts of the masked rows."""
    flat = np.bincount(cust[mask] * days + day[mask], minlength=n * days)
    return flat.reshape(n, days)


def _trailing(counts: np.ndarray, width: int) -> np.ndarray:
    """Sum over the trailing ``width`` days, the day itself included."""
    cum = np.cumsum(counts, axis=1)
    shifted = np.zeros_like(cum)
    shifted[:, width:] = cum[:, :-width]
    return cum - shifted


def driver_matrices(world, model: ChurnModel) -> dict[str, np.ndarray]:
    """Each driver as a (customers, days) matrix of what the customer experienced by then."""
    plan, pop = world.plan, world.population
    cfg, c, it = plan.config, pop.customers, world.intents
    n, days = len(c), cfg.days
    acc = pop.accounts
    st = settle(it, np.round(acc["opening_balance"].to_numpy() * 100).astype(np.int64),
                np.round(acc["credit_limit"].to_numpy() * 100).astype(np.int64))
    cust = it["cust"].to_numpy()
    day = np.clip((it["ts"].to_numpy() - world.t0_us) // US_PER_DAY, 0, days - 1)
    declined = st.happened & ~st.approved
    bank = declined & np.isin(st.reason, [DECLINE["technical"], DECLINE["card_verification"]])
    nsf = declined & (st.reason == DECLINE["insufficient_funds"])
    victim_codes = [i for i, name in enumerate(world.fraud_types) if name in VICTIM_SCENARIOS]
    hit = (st.happened & it["is_fraud"].to_numpy()
           & np.isin(it["fraud_type"].to_numpy(), victim_codes))
    victim = np.cumsum(_per_day(cust, day, hit, n, days), axis=1) > 0
    wait = np.zeros(n)
    for ep in world.episodes:
        if ep.fraud_type in VICTIM_SCENARIOS:
            weeks = ep.delay_us / (7 * US_PER_DAY) if ep.delay_us >= 0 else UNCONFIRMED_WAIT_WEEKS
            wait[ep.cust] = max(wait[ep.cust], weeks)
    d = np.arange(days)[None, :]
    tenure = d - c["signup_day"].to_numpy()[:, None]
    return {
        "declines": np.log1p(_trailing(_per_day(cust, day, bank, n, days), WINDOW_DAYS)),
        "insufficient_funds": np.log1p(_trailing(_per_day(cust, day, nsf, n, days), WINDOW_DAYS)),
        "fraud_victim": victim.astype(float),
        "refund_wait_weeks": victim * wait[:, None],
        "engagement_fade": np.broadcast_to(-c["engagement_drift"].to_numpy()[:, None] * d / 30.0,
                                           (n, days)),
        "new_customer": ((tenure >= 0) & (tenure < NEW_CUSTOMER_DAYS)).astype(float),
        "age_decades": np.broadcast_to(((c["age"].to_numpy() - 40) / 10.0)[:, None], (n, days)),
    }


def decide(world, model: ChurnModel, rng: np.random.Generator) -> np.ndarray:
    """The day each customer decides to leave (-1: not within the window)."""
    c = world.population.customers
    n, days = len(c), world.plan.config.days
    log_h = np.zeros((n, days))
    for name, matrix in driver_matrices(world, model).items():
        if model.coefficients[name]:
            log_h += model.coefficients[name] * matrix
    seg = c["segment"].map(model.segments).fillna(0.0).to_numpy(float)
    noise = rng.normal(0.0, 1.0, n) * model.noise_sd
    hazard = model.base_daily_hazard * np.exp(log_h + (seg + noise)[:, None])
    signup, churn = c["signup_day"].to_numpy(), c["churn_day"].to_numpy()
    d = np.arange(days)[None, :]
    # at risk: signed up, not already leaving at random
    at_risk = (d >= signup[:, None]) & ((churn[:, None] < 0) | (d < churn[:, None] - 30))
    cum = np.cumsum(np.where(at_risk, np.minimum(hazard, 1.0), 0.0), axis=1)
    # the first day the cumulative hazard passes an exponential draw
    crossed = cum > rng.exponential(1.0, n)[:, None]
    return np.where(crossed.any(axis=1), np.argmax(crossed, axis=1), -1)


def apply_churn(world) -> None:
    """Decide churn from the drivers and thin out, then end, the leavers' activity."""
    plan = world.plan
    model = plan.config.churn_model()
    if model.base_daily_hazard == 0:
        return
    rng = world.rng_for(900)
    decided = decide(world, model, rng)
    pop, it = world.population, world.intents
    c, days = pop.customers, plan.config.days
    leaves = np.where(decided >= 0, decided + int(np.ceil(model.wind_down_days)), -1)
    cust = it["cust"].to_numpy()
    ts = it["ts"].to_numpy()
    fraud = it["is_fraud"].to_numpy()
    # a fraud episode still running keeps the account open until its last row
    last_fraud = pd.Series(ts[fraud]).groupby(cust[fraud]).max()
    last_day = np.full(len(c), -1)
    last_day[last_fraud.index.to_numpy()] = (last_fraud.to_numpy() - world.t0_us) // US_PER_DAY
    leaves = np.where(leaves >= 0, np.maximum(leaves, last_day + 1), -1)
    leaves = np.where(leaves < days, leaves, -1)  # decided, still fading at the window's end
    fading = decided >= 0
    dec_us = world.t0_us + decided[cust] * US_PER_DAY
    left = (leaves[cust] >= 0) & (ts >= world.t0_us + leaves[cust] * US_PER_DAY) & ~fraud
    share_gone = np.clip((ts - dec_us) / (model.wind_down_days * US_PER_DAY), 0.0, 1.0)
    thin = (fading[cust] & (it["kind"].to_numpy() == KIND["purchase"]) & ~fraud
            & (rng.random(len(it)) < share_gone))
    gone = left | thin
    # an incoming transfer that cannot post takes its outgoing leg with it (ledger pairs)
    legs_in = np.flatnonzero(gone & (it["kind"].to_numpy() == KIND["p2p_in"])
                             & (it["related"].to_numpy() >= 0))
    gone[it["related"].to_numpy()[legs_in]] = True
    it["suppressed"] = it["suppressed"].to_numpy() | gone
    ev = world.events
    ev_cust = ev["cust"].to_numpy()
    ev_left = (leaves[ev_cust] >= 0) & (ev["ts"].to_numpy() >= world.t0_us + leaves[ev_cust]
                                        * US_PER_DAY) & ~ev["is_fraud"].to_numpy()
    world.events = ev[~ev_left].reset_index(drop=True)
    start = np.datetime64(plan.config.start, "D")
    new = leaves >= 0
    churn_day = np.where(new, leaves, c["churn_day"].to_numpy())
    c["churn_day"] = churn_day
    c["churn_date"] = np.where(churn_day >= 0, start + churn_day,
                               np.datetime64("NaT")).astype("datetime64[us]")
    c["churn_decided_at"] = np.where(new, (start + decided).astype("datetime64[us]"),
                                     c["churn_decided_at"].to_numpy())
