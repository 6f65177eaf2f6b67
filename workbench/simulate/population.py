"""Population of one shard: customers with PII, their accounts, devices and home IPs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from workbench.simulate.profiles import SAVVINESS
from workbench.simulate.sampling import categorical
from workbench.simulate.world_plan import HOME_IP_BASE, GlobalPlan, entity_id, ipv4_strings

DEVICE_KINDS = np.array(["mobile", "desktop", "tablet"], dtype=object)
MOBILE_OS = np.array(["android", "ios"], dtype=object)
DESKTOP_OS = np.array(["windows", "macos", "linux"], dtype=object)


@dataclass
class Population:
    """The shard's entities. Index arrays (``*_idx``) are kept for the behaviour model."""

    customers: pd.DataFrame
    accounts: pd.DataFrame
    devices: pd.DataFrame
    home_ips: pd.DataFrame
    alive: np.ndarray | None = (
        None  # (customers, days) activity factor, see behaviour.alive_matrix
    )


def pii_pools(
    locale: str, seed: int, size: int = 1000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pools of first names, last names, email domains and street addresses from the market's
    Faker locale."""
    fake = Faker(locale)
    fake.seed_instance(seed)
    first = np.array([fake.first_name() for _ in range(size)], dtype=object)
    last = np.array([fake.last_name() for _ in range(size)], dtype=object)
    domains = np.array(sorted({fake.free_email_domain() for _ in range(40)}), dtype=object)
    streets = np.array(
        [fake.street_address().replace("\n", ", ") for _ in range(size)], dtype=object
    )
    return first, last, domains, streets


def _slug(values: np.ndarray) -> np.ndarray:
    return np.array([re.sub(r"[^a-z]", "", v.lower()) or "user" for v in values], dtype=object)


def make_population(plan: GlobalPlan, shard: int, rng: np.random.Generator) -> Population:
    """Draw the customers of ``shard`` with their accounts, devices and home IPs."""
    cfg, market, beh = plan.config, plan.market, plan.behaviour
    lo, hi = plan.shard_bounds(shard)
    n = hi - lo
    cid = np.arange(lo, hi, dtype=np.int64)
    segs = beh.segments
    # segment_shares, when given, replaces the profile's shares: unlisted segments get none
    shares = np.array(
        [cfg.segment_shares.get(s.name, 0.0) if cfg.segment_shares else s.share for s in segs]
    )
    seg = categorical(rng, shares, size=n)
    age_lo = np.array([s.age[0] for s in segs])[seg]
    age_hi = np.array([s.age[1] for s in segs])[seg]
    age = rng.integers(age_lo, age_hi + 1)

    brackets = list(market.income_brackets)
    income_w = np.array([[s.income.get(b, 0.0) for b in brackets] for s in segs])
    bracket = categorical(rng, income_w, seg)
    bounds = np.array([market.income_brackets[b] for b in brackets])
    log_income = rng.uniform(np.log(bounds[bracket, 0]), np.log(bounds[bracket, 1]))
    income = np.round(np.exp(log_income), -2)

    occ_names = list(beh.occupations)
    occ = categorical(
        rng, np.array([[s.occupations.get(o, 0.0) for o in occ_names] for s in segs]), seg
    )
    sav = categorical(
        rng, np.array([[s.savviness.get(v, 0.0) for v in SAVVINESS] for s in segs]), seg
    )
    city = categorical(rng, market.cities["weight"].to_numpy(), size=n)

    # Signup: most customers joined before the window; a share joins during it.
    is_new = rng.random(n) < cfg.new_customer_share
    signup_day = np.where(is_new, rng.integers(0, cfg.days, n), -rng.integers(30, 5 * 365, n))
    churns = rng.random(n) < cfg.churn_rate
    earliest = np.maximum(signup_day + 30, 14)
    churn_day = np.where(
        churns & (earliest < cfg.days),
        rng.integers(np.minimum(earliest, cfg.days - 1), cfg.days),
        -1,
    )
    # Personal activity level (heavy-tailed across customers) and spending level.
    activity = (
        rng.lognormal(-0.08, 0.4, n)
        * np.array([s.daily_rate for s in segs])[seg]
        * (income / np.median(bounds)) ** 0.1
    )
    start = np.datetime64(cfg.start, "D")

    first, last, domains, streets = plan.pii_pools
    fi, la = rng.integers(0, len(first), n), rng.integers(0, len(last), n)
    email = (
        _slug(first[fi])
        + "."
        + _slug(last[la])
        + cid.astype(str).astype(object)
        + "@"
        + domains[rng.integers(0, len(domains), n)]
    )
    # Phone numbers: a bijection of customer_id (odd multiplier mod 10^k), so they never collide.
    k = market.phone_digits - 1
    body = (cid * 7_919_111 + (cfg.seed % 10**k) * 13) % 10**k
    lead = np.array(market.phone_first_digits)[rng.integers(0, len(market.phone_first_digits), n)]
    phone = np.array(
        [f"{market.phone_prefix}{a}{b:0{k}d}" for a, b in zip(lead.tolist(), body.tolist())],
        dtype=object,
    )
    cities = market.cities
    customers = pd.DataFrame(
        {
            "customer_id": cid,
            "name": first[fi] + " " + last[la],
            "email": email,
            "phone": phone,
            "address": rng.integers(1, 100, n).astype(str).astype(object)
            + "-"
            + streets[rng.integers(0, len(streets), n)]
            + ", "
            + cities["name"].to_numpy()[city],
            "segment": np.array([s.name for s in segs], dtype=object)[seg],
            "age": age.astype(np.int64),
            "income_bracket": np.array(brackets, dtype=object)[bracket],
            "monthly_income": income,
            "occupation": np.array(occ_names, dtype=object)[occ],
            "home_city": cities["name"].to_numpy()[city],
            "city_tier": cities["tier"].to_numpy()[city],
            "home_lat": cities["lat"].to_numpy()[city],
            "home_lon": cities["lon"].to_numpy()[city],
            "digital_savviness": np.array(SAVVINESS, dtype=object)[sav],
            "signup_date": (start + signup_day).astype("datetime64[us]"),
            "churn_date": np.where(churn_day >= 0, start + churn_day, np.datetime64("NaT")).astype(
                "datetime64[us]"
            ),
            "segment_idx": seg,
            "occupation_idx": occ,
            "savviness_idx": sav,
            "city_idx": city,
            "signup_day": signup_day,
            "churn_day": churn_day,
            "activity": activity,
            "budget_share": rng.uniform(
                0.5, 0.95, n
            ),  # share of income spent on card/UPI purchases
        }
    )

    # Accounts: the first is always a debit (bank) account; extra ones credit or debit.
    n_acc = categorical(rng, np.array([s.accounts for s in segs]), seg) + 1
    owner = np.repeat(np.arange(n), n_acc)
    k_acc = np.arange(len(owner)) - np.repeat(np.cumsum(n_acc) - n_acc, n_acc)
    is_credit = (k_acc > 0) & (
        rng.random(len(owner)) < np.array([s.credit_card for s in segs])[seg[owner]]
    )
    inc = income[owner]
    limit = np.where(
        is_credit, np.round(inc * rng.uniform(*market.credit_limit_months, len(owner)), -3), 0.0
    )
    limit = np.where(is_credit, np.maximum(limit, 1000.0), 0.0)
    opening = np.where(
        is_credit,
        limit,
        np.round(inc * rng.uniform(*market.opening_balance_months, len(owner)), 2),
    )
    opened = np.maximum(
        signup_day[owner] + np.where(k_acc > 0, rng.integers(0, 200, len(owner)), 0),
        signup_day[owner],
    )
    accounts = pd.DataFrame(
        {
            "account_id": entity_id("account", cid[owner], k_acc),
            "customer_id": cid[owner],
            "account_type": np.where(is_credit, "credit", "debit").astype(object),
            "credit_limit": limit,
            "opening_balance": opening,
            "opened_at": (start + opened).astype("datetime64[us]"),
            "owner_idx": owner,
            "slot": k_acc,
        }
    )

    # Devices: 1 to 3 per customer, the first a mobile phone; more for the digitally savvy.
    n_dev = np.minimum(1 + rng.binomial(2, np.array([0.15, 0.35, 0.6])[sav]), 3)
    downer = np.repeat(np.arange(n), n_dev)
    k_dev = np.arange(len(downer)) - np.repeat(np.cumsum(n_dev) - n_dev, n_dev)
    kind = np.where(k_dev == 0, 0, rng.choice(3, len(downer), p=[0.4, 0.45, 0.15]))
    os_ = np.where(
        kind == 1,
        DESKTOP_OS[rng.integers(0, 3, len(downer))],
        MOBILE_OS[rng.integers(0, 2, len(downer))],
    )
    devices = pd.DataFrame(
        {
            "device_id": entity_id("device", cid[downer], k_dev),
            "customer_id": cid[downer],
            "device_type": DEVICE_KINDS[kind],
            "os": os_,
            "first_seen": (
                start
                + signup_day[downer]
                + np.where(k_dev > 0, rng.integers(0, 300, len(downer)), 0)
            ).astype("datetime64[us]"),
            "owner_idx": downer,
            "slot": k_dev,
        }
    )
    home_ips = pd.DataFrame(
        {
            "ip_id": HOME_IP_BASE + cid,
            "address": ipv4_strings(rng, n),
            "kind": np.full(n, "home", dtype=object),
            "city": customers["home_city"].to_numpy(),
            "customer_id": cid,
        }
    )
    return Population(customers, accounts, devices, home_ips)
