"""Legitimate behaviour of one shard's customers over time, as transaction intents.

Counts per customer-day follow the segment's rate and weekday profile, the salary cycle,
festivals, signup and churn; hours follow the occupation's profile. Each purchase gets a
category (segment preferences), a channel, a merchant (loyal favourites at home), a
log-normal amount (category, city tier, income), a payment mode (amount band, channel,
digital savviness), an account, and a device and IP for remote channels. Trips move a
customer to another city with transit times that keep implied speeds plausible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulate.intents import (
    CHANNEL,
    DECLINE,
    INTENT_COLUMNS,
    KIND,
    US_PER_DAY,
    US_PER_HOUR,
    concat,
    frame,
)
from workbench.simulate.population import Population
from workbench.simulate.profiles import CHANNELS as REMOTE_AND_POS
from workbench.simulate.profiles import TIERS
from workbench.simulate.sampling import categorical, group_offsets, haversine_km, pick_in_group
from workbench.simulate.world_plan import GlobalPlan, entity_id

# Channel-mix multipliers (pos, online, mobile) by digital savviness (low, medium, high).
SAVVINESS_CHANNEL = np.array([[1.0, 0.45, 0.5], [1.0, 1.0, 1.0], [1.0, 1.4, 1.7]])
# Share of remote transactions through the home IP, a shared public IP, or a VPN, by channel
# (online, mobile); travellers use public IPs or a VPN.
IP_MIX_HOME = {"online": [0.75, 0.21, 0.04], "mobile": [0.30, 0.68, 0.02]}
IP_MIX_AWAY = [0.0, 0.93, 0.07]
FAVOURITES = np.array([0.6, 0.3, 0.1])  # how often each of 3 favourite merchants is chosen
FLIGHT_KMH, ROAD_KMH = 650.0, 50.0


def day_calendar(plan: GlobalPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per simulated day: weekday (0 = Monday), salary-cycle and festival multipliers, salary flag
    (computed once per plan)."""
    if "calendar" in plan.cache:
        return plan.cache["calendar"]
    cfg, market, beh = plan.config, plan.market, plan.behaviour
    dates = pd.date_range(cfg.start, periods=cfg.days, freq="D")
    sd = market.salary_day
    this_month = dates.day >= sd
    pay = dates.to_period("M").to_timestamp() + pd.Timedelta(days=sd - 1)
    prev = (dates.to_period("M") - 1).to_timestamp() + pd.Timedelta(days=sd - 1)
    since = np.where(this_month, (dates - pay).days, (dates - prev).days)
    cycle = np.where(
        since < len(beh.salary_cycle),
        beh.salary_cycle[np.minimum(since, len(beh.salary_cycle) - 1)],
        beh.salary_cycle_tail,
    )
    plan.cache["calendar"] = (
        np.asarray(dates.dayofweek),
        cycle,
        market.festival_multipliers(cfg.start, cfg.days),
        np.asarray(dates.day == sd),
    )
    return plan.cache["calendar"]


def alive_matrix(pop: Population, days: int) -> np.ndarray:
    """(customers, days) activity factor: 0 before signup and after churn, winding down 30 days
    before churn. Computed once while the legitimate world is drawn (before fraud hooks)."""
    if pop.alive is not None:
        return pop.alive
    c = pop.customers
    d = np.arange(days)[None, :]
    signup, churn = c["signup_day"].to_numpy()[:, None], c["churn_day"].to_numpy()[:, None]
    alive = (d >= signup).astype(float)
    wind = np.clip((churn - d) / 30.0, 0.0, 1.0)
    pop.alive = np.where(churn >= 0, alive * wind, alive)
    return pop.alive


def amount_scale(plan: GlobalPlan, income: np.ndarray) -> np.ndarray:
    """Multiplier on category medians for a customer's income (richer customers spend more per
    purchase)."""
    mid_income = np.exp(np.mean(np.log(np.array(list(plan.market.income_brackets.values())))))
    return (income / mid_income) ** 0.3


def daily_rate(plan: GlobalPlan, pop: Population) -> np.ndarray:
    """Each customer's base purchases per day: the segment's activity, capped by what the
    customer's budget (a share of monthly income) affords at their expected purchase amount."""
    market, c = plan.market, pop.customers
    seg = c["segment_idx"].to_numpy()
    tier = pd.Index(TIERS).get_indexer(c["city_tier"].to_numpy())
    mean_amount = np.array(
        [[k.median[t] * np.exp(k.sigma**2 / 2) for t in TIERS] for k in market.categories]
    )  # (cat, tier)
    w = category_weights(plan)
    per_seg_tier = (w / w.sum(axis=1, keepdims=True)) @ mean_amount  # (segment, tier)
    income = c["monthly_income"].to_numpy()
    expected_amount = per_seg_tier[seg, tier] * amount_scale(plan, income)
    affordable = c["budget_share"].to_numpy() * income / (30.0 * expected_amount)
    return np.minimum(c["activity"].to_numpy(), affordable)


def expected_counts(plan: GlobalPlan, pop: Population) -> np.ndarray:
    """(customers, days) expected purchase counts; the Poisson intensity of the behaviour model."""
    dow, cycle, fest, _ = day_calendar(plan)
    seg = pop.customers["segment_idx"].to_numpy()
    weekday = np.array([s.weekday for s in plan.behaviour.segments])[seg][:, dow]
    return (
        daily_rate(plan, pop)[:, None]
        * weekday
        * (cycle * fest)[None, :]
        * alive_matrix(pop, plan.config.days)
    )


def _trips(plan: GlobalPlan, pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Non-overlapping trips per customer: departure, arrival, leave and return times (seconds)."""
    cfg, cities = plan.config, plan.market.cities
    c = pop.customers
    seg = c["segment_idx"].to_numpy()
    rate = np.array([s.trips_per_year for s in plan.behaviour.segments])[seg] * cfg.days / 365.0
    n_trips = rng.poisson(rate)
    owner = np.repeat(np.arange(len(c)), n_trips)
    if len(owner) == 0:
        return pd.DataFrame(
            {
                k: np.array([], dtype=np.int64)
                for k in ("owner", "dest", "depart", "arrive", "leave", "back")
            }
        )
    home = c["city_idx"].to_numpy()[owner]
    dest = categorical(rng, cities["weight"].to_numpy(), size=len(owner))
    dest = np.where(
        dest == home, (dest + 1 + rng.integers(0, len(cities) - 1, len(owner))) % len(cities), dest
    )
    lat, lon = cities["lat"].to_numpy(), cities["lon"].to_numpy()
    dist = haversine_km(lat[home], lon[home], lat[dest], lon[dest])
    transit_h = np.where(dist > 400, dist / FLIGHT_KMH + 2.5, dist / ROAD_KMH + 0.5)
    depart = rng.integers(0, cfg.days, len(owner)) * 86400 + rng.integers(
        6 * 3600, 20 * 3600, len(owner)
    )
    transit = np.ceil(transit_h * 3600).astype(np.int64)
    stay = rng.integers(2, 8, len(owner)) * 86400
    trips = pd.DataFrame(
        {
            "owner": owner,
            "dest": dest,
            "depart": depart,
            "arrive": depart + transit,
            "leave": depart + stay,
            "back": depart + stay + transit,
        }
    ).sort_values(["owner", "depart"], kind="stable")
    while True:  # drop trips that start before the previous kept trip of the same customer ends
        prev_back = trips["back"].shift(1).to_numpy()
        same = trips["owner"].to_numpy() == trips["owner"].shift(1).to_numpy()
        bad = same & (trips["depart"].to_numpy() < prev_back)
        if not bad.any():
            return trips.reset_index(drop=True)
        trips = trips[~bad]


def locate(
    trips: pd.DataFrame, cust: np.ndarray, sec: np.ndarray, home_city: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Current city of each (customer, second) and whether that moment is in transit."""
    if len(trips) == 0:
        return home_city[cust], np.zeros(len(cust), dtype=bool)
    span = np.int64(10**10)
    tkey = trips["owner"].to_numpy() * span + trips["depart"].to_numpy()
    pos = np.searchsorted(tkey, cust * span + sec, side="right") - 1
    valid = pos >= 0
    p = np.maximum(pos, 0)
    t = {k: trips[k].to_numpy()[p] for k in ("owner", "dest", "arrive", "leave", "back")}
    inside = valid & (t["owner"] == cust) & (sec < t["back"])
    at_dest = inside & (sec >= t["arrive"]) & (sec < t["leave"])
    return np.where(at_dest, t["dest"], home_city[cust]), inside & ~at_dest


def category_weights(plan: GlobalPlan) -> np.ndarray:
    """(segments, market categories) purchase-category weights."""
    beh = plan.behaviour
    return np.array(
        [
            [s.categories.get(k.name, beh.default_category_weight) for k in plan.market.categories]
            for s in beh.segments
        ]
    )


def sample_payment_mode(
    plan: GlobalPlan,
    rng: np.random.Generator,
    channel: np.ndarray,
    amount: np.ndarray,
    sav: np.ndarray,
) -> np.ndarray:
    """Payment mode index per transaction from the market's (channel, amount band) mix and
    savviness."""
    m = plan.market
    n_b = len(m.amount_bands) + 1
    table = np.array(
        [
            [m.mode_mix[ch][:, b] * m.savviness_mode[s] for s in ("low", "medium", "high")]
            for ch in REMOTE_AND_POS
            for b in range(n_b)
        ]
    ).reshape(-1, len(m.modes))
    band = np.searchsorted(m.amount_bands, amount, side="right")
    return categorical(rng, table, (channel * n_b + band) * 3 + sav)


def pick_ip(
    plan: GlobalPlan,
    rng: np.random.Generator,
    city: np.ndarray,
    home_ip: np.ndarray,
    mix: np.ndarray,
) -> np.ndarray:
    """An IP id per row: the home IP, a shared public IP of ``city``, or a VPN exit, drawn from
    ``mix`` rows."""
    which = (
        categorical(rng, mix, np.arange(len(city)))
        if mix.ndim == 2
        else categorical(rng, mix, size=len(city))
    )
    public = plan.shared_ips["ip_id"].to_numpy()[
        np.maximum(pick_in_group(rng, city, *plan.public_ip_groups), 0)
    ]
    vpn = plan.vpn_ip_ids[rng.integers(0, len(plan.vpn_ip_ids), len(city))]
    return np.select([which == 0, which == 1], [home_ip, public], vpn)


def purchases(
    plan: GlobalPlan, pop: Population, rng: np.random.Generator, t0_us: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchase intents of the shard, and its trips."""
    cfg, market = plan.config, plan.market
    c = pop.customers
    counts = rng.poisson(expected_counts(plan, pop))
    cust = np.repeat(np.arange(len(c)), counts.sum(axis=1))
    day = np.repeat(np.tile(np.arange(cfg.days), len(c)), counts.ravel())
    occ_hours = np.array(list(plan.behaviour.occupations.values()))
    hour = categorical(rng, occ_hours, c["occupation_idx"].to_numpy()[cust])
    sec = day * 86400 + hour * 3600 + rng.integers(0, 3600, len(cust))
    trips = _trips(plan, pop, rng)
    home_city = c["city_idx"].to_numpy()
    city, transit = locate(trips, cust, sec, home_city)
    keep = ~transit  # nobody shops while on a plane or a highway
    cust, sec, city = cust[keep], sec[keep], city[keep]
    n = len(cust)
    seg, sav = c["segment_idx"].to_numpy()[cust], c["savviness_idx"].to_numpy()[cust]
    at_home = city == home_city[cust]

    n_cat = len(market.categories)
    cat = categorical(rng, category_weights(plan), seg)
    ch_table = (
        np.array([k.channels for k in market.categories])[:, None, :]
        * SAVVINESS_CHANNEL[None, :, :]
    ).reshape(-1, 3)
    channel = categorical(rng, ch_table, cat * 3 + sav)

    # Merchants: loyal customers return to one of three favourites per category at home.
    fav = pick_in_group(
        rng,
        np.repeat(home_city * n_cat, n_cat * 3) + np.tile(np.repeat(np.arange(n_cat), 3), len(c)),
        *plan.merchant_groups,
    ).reshape(len(c), n_cat, 3)
    loyalty = np.array([s.loyalty for s in plan.behaviour.segments])[seg]
    loyal = at_home & (rng.random(n) < loyalty)
    random_merchant = pick_in_group(rng, city * n_cat + cat, *plan.merchant_groups)
    merchant = np.where(
        loyal, fav[cust, cat, categorical(rng, FAVOURITES, size=n)], random_merchant
    )

    # Amounts: log-normal around the category's median for the city tier, scaled by income.
    tier = pd.Index(TIERS).get_indexer(market.cities["tier"].to_numpy())[city]
    median = np.array([[k.median[t] for t in TIERS] for k in market.categories])[cat, tier]
    sigma = np.array([k.sigma for k in market.categories])[cat]
    _, _, fest, _ = day_calendar(plan)
    scale = amount_scale(plan, c["monthly_income"].to_numpy()[cust]) * (
        1 + 0.25 * (fest[sec // 86400] - 1)
    )
    amount = np.maximum(np.round(median * scale * rng.lognormal(0.0, sigma), 2), 1.0)

    mode = sample_payment_mode(plan, rng, channel, amount, sav)
    acc, mode = accounts_for(plan, pop, cust, mode, t0_us + sec * 1_000_000)

    # Devices and IPs for remote channels; card-present POS carries neither (-1).
    remote = channel > 0
    n_dev = np.bincount(pop.devices["owner_idx"].to_numpy(), minlength=len(c))
    first_dev = np.cumsum(n_dev) - n_dev
    other_device = (channel == 1) & (rng.random(n) < plan.behaviour.rates.online_other_device)
    dev_k = np.where(other_device, rng.integers(0, 3, n) % n_dev[cust], 0)
    seen = (
        pop.devices["first_seen"]
        .to_numpy()
        .astype("datetime64[us]")
        .astype(np.int64)[first_dev[cust] + dev_k]
        <= t0_us + sec * 1_000_000
    )
    dev_k = np.where(seen, dev_k, 0)
    device = np.where(remote, pop.devices["device_id"].to_numpy()[first_dev[cust] + dev_k], -1)
    ip_mix = np.where(
        at_home[:, None],
        np.where((channel == 1)[:, None], IP_MIX_HOME["online"], IP_MIX_HOME["mobile"]),
        IP_MIX_AWAY,
    )
    ip = np.where(
        remote, pick_ip(plan, rng, city, pop.home_ips["ip_id"].to_numpy()[cust], ip_mix), -1
    )

    lat, lon = place(plan, rng, remote, merchant, city)
    card_modes = [
        market.modes.index(m) for m in ("credit_card", "debit_card") if m in market.modes
    ]
    remote_card = remote & np.isin(mode, card_modes)
    decline = np.where(
        rng.random(n) < cfg.technical_decline_rate,
        DECLINE["technical"],
        np.where(
            remote_card & (rng.random(n) < cfg.verification_failure_rate),
            DECLINE["card_verification"],
            DECLINE["none"],
        ),
    )
    ships = np.array([k.ships for k in market.categories])[cat] & (channel > 0)
    intents = frame(
        INTENT_COLUMNS,
        n,
        cust=cust,
        acc=acc,
        ts=t0_us + sec * 1_000_000,
        kind=np.full(n, KIND["purchase"]),
        amount_c=np.round(amount * 100),
        merchant_id=plan.merchants["merchant_id"].to_numpy()[merchant],
        category=cat,
        channel=channel,
        mode=mode,
        city=city,
        lat=lat,
        lon=lon,
        device_id=device,
        ip_id=ip,
        decline_code=decline,
        ship_elsewhere=ships & (rng.random(n) < cfg.ship_elsewhere_rate),
    )
    return intents, trips


def place(
    plan: GlobalPlan,
    rng: np.random.Generator,
    remote: np.ndarray,
    merchant: np.ndarray,
    city: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of purchases: the merchant's for card-present rows, near the customer's
    current city for remote ones (rounded to 6 decimals like every coordinate)."""
    jitter = rng.normal(0, 0.02, size=(len(merchant), 2))
    lat = np.where(remote, plan.city_lat[city] + jitter[:, 0], plan.m_lat[merchant])
    lon = np.where(remote, plan.city_lon[city] + jitter[:, 1], plan.m_lon[merchant])
    return np.round(lat, 6), np.round(lon, 6)


def accounts_for(
    plan: GlobalPlan, pop: Population, cust: np.ndarray, mode: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Account row per purchase: the credit card for card-credit payments when the customer
    holds one that is open, else the primary bank account (and ``credit_card`` becomes
    ``debit_card``)."""
    modes = plan.market.modes
    acc = pop.accounts
    primary = primary_rows(pop)
    credit_row = credit_card_rows(pop)
    wants_credit = (
        mode == modes.index("credit_card") if "credit_card" in modes else np.zeros(len(mode), bool)
    )
    card = credit_row[cust]
    opened = acc["opened_at"].to_numpy().astype("datetime64[us]").astype(np.int64)
    usable = wants_credit & (card >= 0) & (opened[np.maximum(card, 0)] <= ts)
    if "debit_card" in modes:
        mode = np.where(wants_credit & ~usable, modes.index("debit_card"), mode)
    return np.where(usable, card, primary[cust]), mode


def credit_card_rows(pop: Population) -> np.ndarray:
    """Row of each customer's first credit card in the accounts frame (-1 without one)."""
    acc = pop.accounts
    out = np.full(len(pop.customers), -1)
    credit = np.flatnonzero(acc["account_type"].to_numpy() == "credit")
    out[acc["owner_idx"].to_numpy()[credit][::-1]] = credit[::-1]  # reversed: the first wins
    return out


def primary_rows(pop: Population) -> np.ndarray:
    """Row of each customer's primary (first, debit) account in the accounts frame."""
    acc = pop.accounts
    first = np.flatnonzero(acc["slot"].to_numpy() == 0)
    out = np.empty(len(pop.customers), dtype=np.int64)
    out[acc["owner_idx"].to_numpy()[first]] = first
    return out


def income_and_bills(
    plan: GlobalPlan, pop: Population, rng: np.random.Generator, t0_us: int
) -> pd.DataFrame:
    """Salary credits on salary day and credit-card bill payments five days later."""
    cfg = plan.config
    _, _, _, is_payday = day_calendar(plan)
    paydays = np.flatnonzero(is_payday)
    c = pop.customers
    alive = alive_matrix(pop, cfg.days)[:, paydays] > 0
    cust, k = np.nonzero(alive)
    day = paydays[k]
    sec = day * 86400 + rng.integers(8 * 3600, 11 * 3600, len(cust))
    salary = frame(
        INTENT_COLUMNS,
        len(cust),
        cust=cust,
        acc=primary_rows(pop)[cust],
        ts=t0_us + sec * 1_000_000,
        kind=np.full(len(cust), KIND["salary"]),
        amount_c=np.round(c["monthly_income"].to_numpy()[cust] * 100),
        channel=np.full(len(cust), CHANNEL["bank"]),
        mode=np.full(len(cust), -1),
        city=c["city_idx"].to_numpy()[cust],
        lat=c["home_lat"].to_numpy()[cust],
        lon=c["home_lon"].to_numpy()[cust],
    )
    acc = pop.accounts
    cards = np.flatnonzero(acc["account_type"].to_numpy() == "credit")
    bill_days = paydays + 5
    bill_days = bill_days[bill_days < cfg.days]
    row = np.repeat(cards, len(bill_days))
    bday = np.tile(bill_days, len(cards))
    owner = acc["owner_idx"].to_numpy()[row]
    ok = alive_matrix(pop, cfg.days)[owner, bday] > 0
    row, bday, owner = row[ok], bday[ok], owner[ok]
    bsec = bday * 86400 + rng.integers(10 * 3600, 18 * 3600, len(row))
    bills = frame(
        INTENT_COLUMNS,
        len(row),
        cust=owner,
        acc=row,
        ts=t0_us + bsec * 1_000_000,
        kind=np.full(len(row), KIND["card_payment"]),
        amount_c=np.full(len(row), -1),  # settled by the ledger
        channel=np.full(len(row), CHANNEL["bank"]),
        mode=np.full(len(row), -1),
        city=c["city_idx"].to_numpy()[owner],
        lat=c["home_lat"].to_numpy()[owner],
        lon=c["home_lon"].to_numpy()[owner],
    )
    return concat([(salary, True), (bills, True)])


def transfers(
    plan: GlobalPlan, pop: Population, rng: np.random.Generator, t0_us: int
) -> pd.DataFrame:
    """P2P transfers between customers of the shard (same city more often): out and in legs."""
    cfg, c = plan.config, pop.customers
    alive = alive_matrix(pop, cfg.days) > 0
    n_alive = alive.sum(axis=1)
    n_send = rng.poisson(cfg.p2p_rate * n_alive)
    sender = np.repeat(np.arange(len(c)), n_send)
    if len(c) < 2 or len(sender) == 0:
        return frame(
            INTENT_COLUMNS, 0, **{k: np.array([], dtype=v) for k, v in INTENT_COLUMNS.items()}
        )
    # a day uniformly among the sender's alive days
    first_alive = np.argmax(alive, axis=1)
    day = first_alive[sender] + np.floor(rng.random(len(sender)) * n_alive[sender]).astype(
        np.int64
    )
    home = c["city_idx"].to_numpy()
    same_city = pick_in_group(rng, home[sender], *group_offsets(home, len(plan.market.cities)))
    local = rng.random(len(sender)) < plan.behaviour.rates.p2p_same_city
    receiver = np.where(local, same_city, rng.integers(0, len(c), len(sender)))
    ok = (receiver != sender) & (receiver >= 0)
    sender, receiver, day = sender[ok], receiver[ok], day[ok]
    ok = alive[receiver, np.minimum(day, cfg.days - 1)] & (day < cfg.days)
    sender, receiver, day = sender[ok], receiver[ok], day[ok]
    n = len(sender)
    sec = day * 86400 + rng.integers(7 * 3600, 23 * 3600, n)
    median = c["monthly_income"].to_numpy()[sender] * plan.behaviour.rates.p2p_income_share
    amount = np.maximum(np.round(median * rng.lognormal(0, 0.8, n), 2), 10.0)
    mode = sample_payment_mode(
        plan, rng, np.full(n, CHANNEL["mobile"]), amount, c["savviness_idx"].to_numpy()[sender]
    )
    prim = primary_rows(pop)
    device = entity_id(
        "device", c["customer_id"].to_numpy()[sender], 0
    )  # the sender's primary (mobile) device
    city = home[sender]
    ip = pick_ip(
        plan, rng, city, pop.home_ips["ip_id"].to_numpy()[sender], np.array(IP_MIX_HOME["mobile"])
    )
    acc_id = pop.accounts["account_id"].to_numpy()
    # a share of transfers goes to, or comes from, accounts at other banks (counterparty -1)
    external = rng.random(n) < cfg.external_transfer_share
    incoming = external & (
        rng.random(n) < 0.5
    )  # an external sender pays `receiver`; no out leg here
    common = dict(
        ts=t0_us + sec * 1_000_000,
        amount_c=np.round(amount * 100),
        channel=np.full(n, CHANNEL["mobile"]),
        mode=mode,
    )
    out = frame(
        INTENT_COLUMNS,
        n,
        cust=sender,
        acc=prim[sender],
        kind=np.full(n, KIND["p2p_out"]),
        city=city,
        lat=c["home_lat"].to_numpy()[sender],
        lon=c["home_lon"].to_numpy()[sender],
        device_id=device,
        ip_id=ip,
        cp_account_id=np.where(external, -1, acc_id[prim[receiver]]),
        decline_code=np.where(
            rng.random(n) < cfg.technical_decline_rate, DECLINE["technical"], DECLINE["none"]
        ),
        **common,
    )
    inn = frame(
        INTENT_COLUMNS,
        n,
        cust=receiver,
        acc=prim[receiver],
        kind=np.full(n, KIND["p2p_in"]),
        city=home[receiver],
        lat=c["home_lat"].to_numpy()[receiver],
        lon=c["home_lon"].to_numpy()[receiver],
        cp_account_id=np.where(external, -1, acc_id[prim[sender]]),
        related=np.where(external, -1, np.arange(n)),
        **common,
    )
    out, inn = out[~incoming], inn[~external | incoming]
    keep_idx = np.cumsum(~incoming) - 1  # position of each kept out leg
    inn = inn.assign(
        related=np.where(
            inn["related"] >= 0, keep_idx[np.maximum(inn["related"].to_numpy(), 0)], -1
        )
    )
    return pd.concat(
        [out, inn], ignore_index=True
    )  # each internal in leg's `related` is its out leg


def redemptions(
    plan: GlobalPlan, pop: Population, rng: np.random.Generator, t0_us: int
) -> pd.DataFrame:
    """Reward-point redemptions credited to credit cards (small, occasional)."""
    cfg, c, acc = plan.config, pop.customers, pop.accounts
    cards = np.flatnonzero(acc["account_type"].to_numpy() == "credit")
    owner = acc["owner_idx"].to_numpy()[cards]
    alive = alive_matrix(pop, cfg.days) > 0
    n_alive = alive[owner].sum(axis=1)
    count = rng.poisson(cfg.reward_redemption_rate * n_alive)
    row = np.repeat(cards, count)
    own = acc["owner_idx"].to_numpy()[row]
    first = np.argmax(alive[own], axis=1)
    sec = (
        first * 86400 + np.floor(rng.random(len(row)) * np.repeat(n_alive, count) * 86400)
    ).astype(np.int64)
    opened = (
        acc["opened_at"].to_numpy().astype("datetime64[us]").astype(np.int64)[row] - t0_us
    ) // 1_000_000
    ok = sec >= opened
    row, own, sec = row[ok], own[ok], sec[ok]
    median = c["monthly_income"].to_numpy()[own] * plan.behaviour.rates.redemption_income_share
    amount = np.maximum(np.round(median * rng.lognormal(0, 0.5, len(row)), 2), 1.0)
    return frame(
        INTENT_COLUMNS,
        len(row),
        cust=own,
        acc=row,
        ts=t0_us + sec * 1_000_000,
        kind=np.full(len(row), KIND["reward_redemption"]),
        amount_c=np.round(amount * 100),
        channel=np.full(len(row), CHANNEL["mobile"]),
        mode=np.full(len(row), -1),
        city=c["city_idx"].to_numpy()[own],
        lat=c["home_lat"].to_numpy()[own],
        lon=c["home_lon"].to_numpy()[own],
    )


def reversals(
    plan: GlobalPlan, pop: Population, intents: pd.DataFrame, rng: np.random.Generator, t0_us: int
) -> pd.DataFrame:
    """Refunds (1-14 days later) and genuine chargebacks (15-60 days later) of purchases,
    posted only while the window lasts and the customer has not churned (account closed)."""
    cfg = plan.config
    churn = pop.customers["churn_day"].to_numpy()
    closes = t0_us + np.where(churn >= 0, churn, cfg.days) * US_PER_DAY
    is_purchase = np.flatnonzero(intents["kind"].to_numpy() == KIND["purchase"])
    parts = []
    for kind, rate, lo, hi in (
        ("refund", cfg.refund_rate, 1, 15),
        ("chargeback", cfg.chargeback_rate, 15, 61),
    ):
        rows = is_purchase[rng.random(len(is_purchase)) < rate]
        ts = (
            intents["ts"].to_numpy()[rows]
            + rng.integers(lo, hi, len(rows)) * US_PER_DAY
            + rng.integers(0, 12, len(rows)) * US_PER_HOUR
        )
        ok = ts < closes[intents["cust"].to_numpy()[rows]]
        rows, ts = rows[ok], ts[ok]
        src = intents.iloc[rows]
        parts.append(
            frame(
                INTENT_COLUMNS,
                len(rows),
                **{
                    k: src[k].to_numpy()
                    for k in (
                        "cust",
                        "acc",
                        "amount_c",
                        "merchant_id",
                        "category",
                        "channel",
                        "mode",
                        "city",
                        "lat",
                        "lon",
                    )
                },
                ts=ts,
                kind=np.full(len(rows), KIND[kind]),
                related=rows,
            )
        )
    return pd.concat(
        parts, ignore_index=True
    )  # `related` points at rows of `intents`: append with shift=False
