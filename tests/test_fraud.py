"""The fraud scenario library: every scenario and ring leaves its signature, rarely seen
among legitimate customers; labels, label delay and evaluation metadata behave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.fraud.mix import FRAUD_TYPES, RING_SHAPES, load_mix
from workbench.fraud.scenarios import SCENARIOS
from workbench.simulate import load_market
from workbench.simulate.sampling import haversine_km

H = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def tx(fraud_tables):
    return fraud_tables["transactions"].sort_values(["timestamp", "txn_id"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def ev(fraud_tables):
    return fraud_tables["events"]


@pytest.fixture(scope="module")
def avg(tx):
    """Each customer's mean legitimate purchase."""
    return (
        tx[(tx["txn_type"] == "purchase") & ~tx["is_fraud"]]
        .groupby("customer_id")["amount"]
        .mean()
    )


def episodes_of(tx, name):
    rows = tx[tx["fraud_type"] == name]
    assert rows["fraud_episode_id"].nunique() >= 3, f"too few {name} episodes to test"
    return rows.groupby("fraud_episode_id")


def share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags)


def legit_customers(tx):
    return tx.groupby("customer_id")["is_fraud"].any().loc[lambda s: ~s].index


def test_every_scenario_and_ring_shape_is_present(fraud_tables):
    types = set(fraud_tables["episodes"]["fraud_type"])
    assert set(SCENARIOS) | set(RING_SHAPES) <= types
    assert set(fraud_tables["transactions"]["fraud_type"]) <= set(FRAUD_TYPES)


def test_card_testing(tx, avg):
    tiny = 0.2 * min(min(k.median.values()) for k in load_market("india").categories)
    ok = []
    for _, g in episodes_of(tx, "card_testing"):
        tests = g[g["amount"] <= tiny]
        burst = len(tests) >= 5 and tests["timestamp"].max() - tests["timestamp"].min() <= 2 * H
        declined = (tests["decline_reason"] == "card_verification").any()
        large = g[
            (g["timestamp"] > tests["timestamp"].max())
            & (g["amount"] > 4 * avg.get(g["customer_id"].iloc[0], np.inf))
        ]
        ok.append(burst and declined and len(large) >= 1 and g["channel"].eq("online").all())
    assert share(ok) > 0.9
    legit = tx[~tx["is_fraud"] & (tx["amount"] <= tiny) & (tx["txn_type"] == "purchase")]
    bursts = legit.groupby("customer_id").size()
    assert (bursts >= 5).sum() / tx["customer_id"].nunique() < 0.01


def test_card_cloning(tx):
    pos = tx[(tx["channel"] == "pos") & (tx["txn_type"] == "purchase")].sort_values(
        ["account_id", "timestamp"]
    )
    prev = pos.groupby("account_id").shift(1)
    hours = (pos["timestamp"] - prev["timestamp"]).dt.total_seconds() / 3600
    speed = haversine_km(
        prev["lat"].to_numpy(),
        prev["lon"].to_numpy(),
        pos["lat"].to_numpy(),
        pos["lon"].to_numpy(),
    ) / hours.clip(lower=1e-6)
    pos = pos.assign(speed=speed.fillna(0))
    clones = pos[pos["fraud_type"] == "card_cloning"]
    assert clones.groupby("fraud_episode_id")["speed"].max().gt(800).mean() > 0.9
    genuine = pos[~pos["is_fraud"]]
    prev = genuine.groupby("account_id").shift(1)
    moved = (genuine["city"] != prev["city"]) & prev["city"].notna()
    hours = (genuine["timestamp"] - prev["timestamp"]).dt.total_seconds() / 3600
    legit_speed = haversine_km(
        prev["lat"].to_numpy(),
        prev["lon"].to_numpy(),
        genuine["lat"].to_numpy(),
        genuine["lon"].to_numpy(),
    ) / hours.clip(lower=1e-6)
    assert (
        legit_speed[moved.to_numpy()].max() < 800
    )  # genuine use alone never moves between cities that fast


def test_stolen_card(tx, avg):
    ok = []
    for _, g in episodes_of(tx, "stolen_card"):
        acc, start = g["account_id"].iloc[0], g["timestamp"].min()
        before = tx[
            (tx["account_id"] == acc) & (tx["timestamp"] < start) & (tx["txn_type"] == "purchase")
        ]
        dormant = before.empty or start - before["timestamp"].max() >= pd.Timedelta(days=14)
        known = set(before["merchant_id"])
        new = (~g["merchant_id"].isin(known)).mean() >= 0.8
        spike = len(g) >= 4 and g["timestamp"].max() - start <= pd.Timedelta(hours=48)
        ok.append(
            dormant
            and new
            and spike
            and g["amount"].mean() > 2 * avg.get(g["customer_id"].iloc[0], np.inf)
        )
    assert share(ok) > 0.8


def test_account_takeover(tx, ev, avg):
    ok = []
    for eid, g in episodes_of(tx, "account_takeover"):
        changes = ev[
            (ev["fraud_episode_id"] == eid)
            & ev["event_type"].isin(["email_change", "phone_change"])
        ]
        if changes.empty:
            ok.append(False)
            continue
        t, device = changes["timestamp"].iloc[0], changes["device_id"].iloc[0]
        cust = g["customer_id"].iloc[0]
        new_device = not (
            (ev["customer_id"] == cust) & (ev["device_id"] == device) & (ev["timestamp"] < t - H)
        ).any()
        thefts = g[
            (g["timestamp"] > t)
            & (g["timestamp"] <= t + pd.Timedelta(hours=72))
            & g["timestamp"].dt.hour.lt(5)
            & (g["amount"] > 5 * avg.get(cust, np.inf))
        ]
        ok.append(new_device and len(thefts) >= 1)
    assert share(ok) > 0.8
    # chained: part of the proceeds go through a mule inside the bank
    inside = tx[
        (tx["fraud_type"] == "account_takeover")
        & (tx["txn_type"] == "p2p_out")
        & (tx["counterparty_account_id"] >= 0)
    ]
    assert len(inside) >= 1
    mule_in = tx[(tx["fraud_type"] == "mule_account") & (tx["txn_type"] == "p2p_in")]
    assert set(inside["counterparty_account_id"]) <= set(mule_in["account_id"])


def test_sleeper_ato(tx, ev):
    ok = []
    for eid, g in episodes_of(tx, "sleeper_ato"):
        links = ev[(ev["fraud_episode_id"] == eid) & (ev["event_type"] == "bank_link")]
        cust, t = g["customer_id"].iloc[0], links["timestamp"].min()
        own = tx[
            (tx["customer_id"] == cust)
            & (tx["timestamp"] < t)
            & tx["txn_type"].isin(["purchase", "p2p_out"])
        ]
        dormant = own.empty or t - own["timestamp"].max() >= pd.Timedelta(days=30)
        burst = len(links) >= 3 and links["timestamp"].max() - t <= H
        ok.append(
            dormant and burst and (g["txn_type"] == "p2p_out").any() and g["timestamp"].min() > t
        )
    assert share(ok) > 0.9
    legit_links = ev[(ev["event_type"] == "bank_link") & ~ev["is_fraud"]].sort_values("timestamp")
    per_hour = legit_links.groupby(["customer_id", legit_links["timestamp"].dt.floor("h")]).size()
    assert (per_hour >= 3).sum() == 0


def test_velocity_abuse(tx):
    ok = [
        len(g) >= 5 and g["timestamp"].max() - g["timestamp"].min() <= H
        for _, g in episodes_of(tx, "velocity_abuse")
    ]
    assert share(ok) > 0.95
    legit = tx[~tx["is_fraud"] & (tx["txn_type"] == "purchase")].sort_values(
        ["customer_id", "timestamp"]
    )
    fifth = legit.groupby("customer_id")["timestamp"].shift(-4)
    fast = legit[(fifth - legit["timestamp"]) <= H]["customer_id"].nunique()
    assert fast / legit["customer_id"].nunique() < 0.02


def test_bust_out(tx):
    ok = []
    for _, g in episodes_of(tx, "bust_out"):
        acc, start = g["account_id"].iloc[0], g["timestamp"].min()
        build = tx[
            (tx["account_id"] == acc)
            & (tx["timestamp"] < start)
            & (tx["txn_type"] == "purchase")
            & ~tx["is_fraud"]
        ]
        recent = build[build["timestamp"] >= start - pd.Timedelta(days=45)]
        bills = tx[
            (tx["account_id"] == acc)
            & (tx["txn_type"] == "card_payment")
            & (tx["timestamp"] > start)
        ]
        ok.append(
            20 <= len(recent) <= 60
            and (g["amount"] > 5 * recent["amount"].mean()).all()
            and bills.empty
        )
    assert share(ok) > 0.8


def test_synthetic_identity(fraud_tables, tx):
    c = fraud_tables["customers"]
    members = tx.loc[tx["fraud_type"] == "synthetic_identity", "customer_id"].unique()
    assert len(members) >= 4
    phone_count = c["phone"].value_counts()
    m = c[c["customer_id"].isin(members)]
    assert (m["phone"].map(phone_count) >= 2).mean() > 0.9 and (
        m["address"].map(c["address"].value_counts()) >= 2
    ).mean() > 0.9
    assert (m["signup_date"] >= tx["timestamp"].min().normalize()).all()  # new identities
    rows = tx[tx["customer_id"].isin(members)]
    assert rows["is_fraud"].all()
    thin = rows.groupby("customer_id").size().median()
    assert thin < tx[~tx["is_fraud"]].groupby("customer_id").size().median() / 2
    legit = c[c["customer_id"].isin(legit_customers(tx))]
    assert (legit["phone"].map(phone_count) >= 2).mean() < 0.01


def test_structuring(tx):
    threshold = load_market("india").reporting_threshold
    ok = []
    for _, g in episodes_of(tx, "structuring"):
        outs = g[g["txn_type"] == "p2p_out"]
        ok.append(
            len(outs) >= 3
            and outs["amount"].between(0.85 * threshold, threshold, inclusive="left").all()
            and outs["timestamp"].max() - outs["timestamp"].min() <= pd.Timedelta(days=8)
        )
    assert share(ok) > 0.9
    legit = tx[
        ~tx["is_fraud"]
        & (tx["txn_type"] == "p2p_out")
        & tx["amount"].between(0.85 * threshold, threshold, inclusive="left")
    ]
    assert (legit.groupby("customer_id").size() >= 3).sum() / tx["customer_id"].nunique() < 0.005


def test_merchant_collusion(tx, fraud_tables):
    rows = tx[tx["fraud_type"] == "merchant_collusion"]
    assert (
        rows["merchant_id"].nunique() <= 3
        and rows.groupby("merchant_id")["account_id"].nunique().max() >= 3
    )
    assert ((rows["amount"] % 100) == 0).mean() > 0.95
    acc = fraud_tables["accounts"].set_index("account_id")
    credit = rows[rows["account_id"].map(acc["account_type"]) == "credit"]
    near = (
        credit["amount"]
        * credit.groupby("fraud_episode_id")["amount"].transform("size")
        / credit["account_id"].map(acc["credit_limit"])
    )
    assert near.between(0.7, 1.0).mean() > 0.9
    legit = tx[~tx["is_fraud"] & (tx["txn_type"] == "purchase")]
    assert ((legit["amount"] % 100) == 0).mean() < 0.02


def test_compromised_merchant(tx, fraud_config):
    from workbench.simulate.world_plan import make_plan

    plan = make_plan(fraud_config)
    merchant_ids = plan.merchants["merchant_id"].to_numpy()
    comp = plan.fraud.compromised.assign(merchant_id=lambda d: merchant_ids[d["merchant"]])
    eps = tx[tx["fraud_type"] == "compromised_merchant"]
    assert eps["fraud_episode_id"].nunique() >= 3
    first = (
        eps.groupby("fraud_episode_id")
        .agg(acc=("account_id", "first"), t=("timestamp", "min"))
        .reset_index()
    )
    visits = tx[
        (tx["txn_type"] == "purchase") & tx["merchant_id"].isin(comp["merchant_id"])
    ].merge(comp, on="merchant_id")
    visits = visits[
        (visits["timestamp"] >= pd.to_datetime(visits["start_us"], unit="us"))
        & (visits["timestamp"] < pd.to_datetime(visits["end_us"], unit="us"))
    ]
    hit = first.merge(visits[["account_id", "timestamp"]], left_on="acc", right_on="account_id")
    # every victim card was used at a compromised terminal during its compromise, before the fraud
    assert hit[hit["timestamp"] < hit["t"]]["fraud_episode_id"].nunique() == len(first)
    assert (eps["channel"] == "online").all()


def test_refund_fraud(tx):
    base = (tx["txn_type"].eq("refund") & ~tx["is_fraud"]).sum() / (
        tx["txn_type"] == "purchase"
    ).sum()
    ok = []
    for _, g in episodes_of(tx, "refund_fraud"):
        cust, lo, hi = (
            g["customer_id"].iloc[0],
            g["timestamp"].min() - pd.Timedelta(days=30),
            g["timestamp"].max(),
        )
        span = tx[(tx["customer_id"] == cust) & tx["timestamp"].between(lo, hi)]
        rate = (span["txn_type"] == "refund").sum() / max(
            (span["txn_type"] == "purchase").sum(), 1
        )
        ok.append(rate > 3 * base)
    assert share(ok) > 0.9


def test_friendly_fraud(tx):
    cb = tx[tx["fraud_type"] == "friendly_fraud"]
    assert (cb["txn_type"] == "chargeback").all() and len(cb) >= 3
    orig = tx.set_index("txn_id").loc[cb["related_txn_id"]]
    assert (~orig["is_fraud"]).all() and (orig["status"] == "approved").all()


def test_transaction_replay(tx):
    rep = tx[tx["fraud_type"] == "transaction_replay"]
    key = ["account_id", "merchant_id", "amount"]
    originals = tx[~tx["is_fraud"]].merge(
        rep[key + ["timestamp"]].rename(columns={"timestamp": "t_rep"}), on=key
    )
    lag = originals["t_rep"] - originals["timestamp"]
    found = originals[(lag > pd.Timedelta(0)) & (lag <= pd.Timedelta(minutes=12))]
    assert len(found.drop_duplicates(["t_rep"] + key)) >= 0.95 * len(rep)
    legit = tx[~tx["is_fraud"] & (tx["txn_type"] == "purchase")].sort_values("timestamp")
    dup = legit.duplicated(key, keep=False)
    assert dup.mean() < 0.01


def test_liquidity_crunch(tx):
    ok = []
    for _, g in episodes_of(tx, "liquidity_crunch"):
        acc, start = g["account_id"].iloc[0], g["timestamp"].min()
        hist = tx[
            (tx["account_id"] == acc)
            & tx["timestamp"].between(start - pd.Timedelta(days=30), start, inclusive="left")
        ]
        returned = g[(g["status"] == "declined") & (g["decline_reason"] == "insufficient_funds")]
        after = g["balance_after"].min()
        z = (
            (after - hist["balance_after"].mean()) / max(hist["balance_after"].std(), 1e-9)
            if len(hist) > 2
            else -np.inf
        )
        ok.append(len(returned) >= 2 and z < -2.5)
    assert share(ok) > 0.8


def test_link_burst(tx, fraud_tables):
    ev = fraud_tables["events"]
    eps = ev[ev["fraud_type"] == "link_burst"]
    per_ep = eps.groupby("fraud_episode_id").agg(
        n=("event_id", "size"), span=("timestamp", lambda s: s.max() - s.min())
    )
    assert (
        len(per_ep) >= 3
        and per_ep["n"].between(5, 15).all()
        and (per_ep["span"] <= pd.Timedelta(hours=24)).all()
    )
    legit = ev[(ev["event_type"] == "bank_link") & ~ev["is_fraud"]]
    assert (
        legit.groupby(["customer_id", legit["timestamp"].dt.floor("D")]).size() >= 5
    ).sum() == 0


def test_mule_account(tx):
    ok = []
    ato_accounts = set(tx.loc[tx["fraud_type"] == "account_takeover", "account_id"])
    for _, g in episodes_of(tx, "mule_account"):
        inn, out = (
            g[g["txn_type"] == "p2p_in"],
            g[(g["txn_type"] == "p2p_out") & (g["status"] == "approved")],
        )
        passed_on = out["amount"].sum() >= 0.75 * inn["amount"].sum()
        if (
            inn["counterparty_account_id"].isin(ato_accounts).all()
        ):  # chained: one takeover's proceeds, passed on within hours
            ok.append(
                passed_on
                and (out["timestamp"].max() - inn["timestamp"].min()) <= pd.Timedelta(hours=7)
            )
        else:
            ok.append(len(inn) >= 3 and passed_on)
    assert share(ok) > 0.9
    legit_in = tx[~tx["is_fraud"] & (tx["txn_type"] == "p2p_in")]
    busy = legit_in.groupby(["customer_id", legit_in["timestamp"].dt.to_period("W")]).size()
    assert (busy >= 8).sum() == 0


def test_shipping_fraud(tx, ev, avg):
    ok = []
    for eid, g in episodes_of(tx, "shipping_fraud"):
        change = ev[(ev["fraud_episode_id"] == eid) & (ev["event_type"] == "address_change")]
        orders = g[g["ship_elsewhere"] & (g["channel"] == "online")]
        ok.append(
            len(change) == 1
            and len(orders) >= 2
            and (orders["timestamp"] > change["timestamp"].iloc[0]).all()
            and orders["timestamp"].max() - change["timestamp"].iloc[0] <= pd.Timedelta(days=5.1)
            and orders["amount"].mean() > 3 * avg.get(g["customer_id"].iloc[0], np.inf)
        )
    assert share(ok) > 0.9
    assert tx.loc[~tx["is_fraud"], "ship_elsewhere"].mean() < 0.02


def test_loyalty_abuse(tx):
    ok = []
    for _, g in episodes_of(tx, "loyalty_abuse"):
        red = g[g["txn_type"] == "reward_redemption"]
        farm = g[g["txn_type"] == "purchase"]
        ok.append(
            len(red) >= 3
            and red["timestamp"].max() - red["timestamp"].min() <= 3 * H
            and len(farm) >= 10
            and farm["merchant_id"].nunique() == 1
            and (g["txn_type"] == "refund").any()
        )
    assert share(ok) > 0.9
    legit = tx[~tx["is_fraud"] & (tx["txn_type"] == "reward_redemption")]
    assert (
        legit.groupby(["customer_id", legit["timestamp"].dt.floor("D")]).size() >= 3
    ).sum() == 0


# --- rings -----------------------------------------------------------------------------


def ring_rows(tx, shape):
    rows = tx[tx["fraud_type"] == shape]
    assert rows["ring_id"].nunique() >= 1 and (rows["ring_id"] >= 0).all()
    return rows


def test_rings_span_shards_and_carry_ring_id(fraud_tables, tx):
    rings, c = fraud_tables["rings"], fraud_tables["customers"]
    assert set(rings["shape"]) == set(RING_SHAPES)
    shard = c.set_index("customer_id")["shard"]
    spans = [shard.loc[[int(x) for x in m.split(",")]].nunique() for m in rings["members"]]
    assert max(spans) >= 2
    for r in rings.itertuples():
        members = {int(x) for x in r.members.split(",")}
        ring_tx = tx[tx["ring_id"] == r.ring_id]
        assert set(ring_tx["customer_id"]) <= members and len(
            set(ring_tx["customer_id"])
        ) >= 0.8 * len(members)


def test_device_sharing_ring(tx):
    rows = ring_rows(tx, "device_sharing")
    for _, g in rows.groupby("ring_id"):
        top = g.groupby("device_id")["customer_id"].nunique()
        dev = top.idxmax()
        used = g[g["device_id"] == dev]
        assert top.max() > 5 and used["timestamp"].max() - used["timestamp"].min() <= pd.Timedelta(
            days=7
        )
    legit = tx[~tx["is_fraud"] & (tx["device_id"] >= 0)]
    assert legit.groupby("device_id")["customer_id"].nunique().max() == 1


def test_ip_recycling_ring(tx, fraud_tables):
    ip = fraud_tables["ip_addresses"].set_index("ip_id")["kind"]
    rows = ring_rows(tx, "ip_recycling")
    ring_load = []
    for _, g in rows.groupby("ring_id"):
        assert (
            g["ip_id"].nunique() <= 2
            and g["ip_id"].map(ip).eq("vpn").all()
            and g["customer_id"].nunique() >= 10
        )
        assert g["timestamp"].max() - g["timestamp"].min() <= pd.Timedelta(days=14)
        ring_load.append(g["customer_id"].nunique())
    # legitimate customers share VPN exits too, but never that many within two weeks
    legit = tx[~tx["is_fraud"] & (tx["ip_id"] >= 0)]
    vpn = legit[legit["ip_id"].map(ip) == "vpn"]
    per_fortnight = vpn.groupby(
        ["ip_id", vpn["timestamp"].dt.to_period("W").apply(lambda p: p.ordinal // 2)]
    )["customer_id"].nunique()
    assert per_fortnight.max() < min(ring_load)


def test_kiting_ring(tx):
    import networkx as nx

    rows = ring_rows(tx, "kiting")
    for _, g in rows.groupby("ring_id"):
        outs = g[(g["txn_type"] == "p2p_out") & (g["counterparty_account_id"] >= 0)]
        graph = nx.DiGraph(list(zip(outs["account_id"], outs["counterparty_account_id"])))
        cycles = list(nx.simple_cycles(graph))
        assert cycles and max(len(c) for c in cycles) == g["customer_id"].nunique() >= 3
        assert (g["status"] == "approved").all() and (g["balance_after"] >= 0).all()  # afloat


def test_mule_network_ring(tx, fraud_tables):
    rows = ring_rows(tx, "mule_network")
    variants = fraud_tables["rings"].set_index("ring_id")["variant"]
    for rid, g in rows.groupby("ring_id"):
        assert (g["status"] == "approved").all()
        external_in = g[(g["txn_type"] == "p2p_in") & (g["counterparty_account_id"] == -1)][
            "amount"
        ].sum()
        external_out = g[(g["txn_type"] == "p2p_out") & (g["counterparty_account_id"] == -1)][
            "amount"
        ].sum()
        internal = g[(g["txn_type"] == "p2p_out") & (g["counterparty_account_id"] >= 0)]
        assert len(internal) >= 2 and 0.6 * external_in <= external_out <= external_in
        fan_in = internal.groupby("counterparty_account_id").size().max()
        fan_out = internal.groupby("account_id").size().max()
        if variants[rid] == "scatter_gather":
            assert fan_out >= 2 and fan_in >= 2
        elif variants[rid] == "gather_scatter":
            assert fan_in >= 2


def test_synthetic_identity_ring(tx, fraud_tables):
    c = fraud_tables["customers"].set_index("customer_id")
    start = fraud_tables["rings"].set_index("ring_id")["start"]
    rows = ring_rows(tx, "synthetic_identity_ring")
    for rid, g in rows.groupby("ring_id"):
        members = g["customer_id"].unique()
        assert c.loc[members, "phone"].nunique() == 1 and c.loc[members, "address"].nunique() == 1
        remote = g[g["device_id"] >= 0]
        assert remote["device_id"].nunique() == 1
        thin = g[g["timestamp"] < start[rid]]
        bust = g[
            (g["timestamp"] >= start[rid])
            & (g["timestamp"] < start[rid] + pd.Timedelta(days=3))
            & (g["amount"] > 4 * thin["amount"].median())
        ]
        assert bust["customer_id"].nunique() >= 0.8 * len(members)  # they bust out together


# --- labels, delay, metadata -----------------------------------------------------------


def test_label_delay_matches_its_parameters(fraud_tables, fraud_config):
    delay = fraud_config.mix().label_delay
    ep = fraud_tables["episodes"]
    confirmed = ep[ep["fraud_confirmed_at"].notna()]
    days = (
        confirmed["fraud_confirmed_at"] - confirmed["last_fraud_at"]
    ).dt.total_seconds() / 86400
    logs = np.log(days)
    assert abs(logs.mean() - delay.mu) < 0.15 and abs(logs.std() - delay.sigma) < 0.12
    assert abs(days.mean() - delay.mean_days) < 1.0
    assert abs(ep["fraud_confirmed_at"].isna().mean() - delay.never_confirmed) < 0.05


def test_labels_and_metadata(fraud_tables, fraud_config):
    tx = fraud_tables["transactions"].merge(
        fraud_tables["labels"], on="txn_id", validate="one_to_one"
    )
    end = pd.Timestamp(fraud_config.end)
    assert len(tx) == len(fraud_tables["transactions"])
    # observed labels: confirmed before the end; undetected fraud looks clean
    assert (tx["label_observed"] <= tx["is_fraud"]).all()
    assert (tx.loc[tx["label_observed"], "fraud_confirmed_at"] < end).all()
    hidden = tx["is_fraud"] & ~tx["label_observed"]
    assert hidden.sum() > 0 and tx.loc[~tx["is_fraud"], "fraud_confirmed_at"].isna().all()
    # sequence numbers run 1..n per customer in time order
    seq = tx.sort_values(["customer_id", "timestamp", "txn_id"]).groupby("customer_id")[
        "sequence_number"
    ]
    assert seq.apply(lambda s: (s.to_numpy() == np.arange(1, len(s) + 1)).all()).all()
    # pre-fraud rows precede the customer's first fraud; days_to_fraud agrees in sign
    victims = tx[tx["days_to_fraud"].notna()]
    assert ((victims["days_to_fraud"] > 0) == victims["is_pre_fraud"]).mean() > 0.999
    assert tx.loc[tx["days_to_fraud"].isna(), "is_pre_fraud"].eq(False).all()
    # train eligibility: settled labels only (confirmed fraud, or mature rows)
    maturity = pd.Timedelta(days=fraud_config.mix().label_delay.maturity_days)
    late = tx["timestamp"] > end - maturity
    assert not (tx["is_train_eligible"] & late & ~tx["label_observed"]).any()
    assert tx.loc[~late, "is_train_eligible"].all()


def test_no_label_leak_through_nulls_defaults_or_formats(fraud_tables):
    """Every column is filled the same way for fraud and legitimate rows unless the fraud
    itself changes it: null rates, id formats, decimals and category values."""
    label_cols = {"is_fraud", "fraud_type", "fraud_episode_id", "ring_id"}
    for name in ("transactions", "events"):
        t = fraud_tables[name]
        fraud, legit = t[t["is_fraud"]], t[~t["is_fraud"]]
        assert len(fraud) > 100
        for col in set(t.columns) - label_cols:
            assert fraud[col].isna().mean() == legit[col].isna().mean() == 0, (name, col)
            if t[col].dtype == object or str(t[col].dtype).startswith("str"):
                assert set(fraud[col]) <= set(legit[col]) or col in {"city"}, (
                    name,
                    col,
                    set(fraud[col]) - set(legit[col]),
                )
            elif col.endswith("_id") and col not in {"txn_id", "event_id"}:
                sizes = lambda s: set(s[s >= 0].astype(str).str.len())  # noqa: E731
                assert sizes(fraud[col]) <= sizes(legit[col]) | {
                    max(sizes(legit[col]), default=0)
                }, (name, col)
                assert (fraud[col] == -1).mean() <= max((legit[col] == -1).mean(), 0.0) + 0.6, (
                    name,
                    col,
                )
        if name == "transactions":
            for col in ("amount", "balance_before", "balance_after"):
                cents = lambda s: np.allclose(np.round(s * 100), s * 100, atol=1e-6)  # noqa: E731
                assert cents(fraud[col]) and cents(legit[col]), col
    acc, dev = fraud_tables["accounts"], fraud_tables["devices"]
    assert acc["account_id"].is_unique and dev["device_id"].is_unique


def test_fraud_dataset_keeps_world_invariants(fraud_dataset, fraud_tables):
    from workbench.simulate import behaviour_views as explore

    assert explore.balance_breaks(fraud_dataset) == 0
    t, a = fraud_tables["transactions"], fraud_tables["accounts"]
    assert t["account_id"].isin(a["account_id"]).all()
    assert (t["balance_after"] >= -0.005).all()
    owner = a.set_index("account_id")["customer_id"]
    assert (t["account_id"].map(owner) == t["customer_id"]).all()
    dev = fraud_tables["devices"]
    used = pd.concat([t["device_id"], fraud_tables["events"]["device_id"]])
    assert used[used >= 0].isin(dev["device_id"]).all()


# --- the mix ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("scenarios: {pirates: {prevalence: 0.1}}", "mix.scenarios.pirates"),
        ("scenarios: {card_testing: {prevalence: 1.5}}", "mix.scenarios.card_testing.prevalence"),
        (
            "scenarios: {card_testing: {prevalence: 0.6}, stolen_card: {prevalence: 0.6}}",
            "mix.scenarios",
        ),
        (
            "scenarios: {card_testing: {params: {speed: 3}}}",
            "mix.scenarios.card_testing.params.speed",
        ),
        (
            "scenarios: {card_testing: {params: {tests: [9, 2]}}}",
            "mix.scenarios.card_testing.params.tests",
        ),
        ("rings: {triangle: {per_10k: 1}}", "mix.rings.triangle"),
        ("rings: {kiting: {size: [1, 2]}}", "mix.rings.kiting.size"),
        ("label_delay: {mean_days: -1}", "mix.label_delay.mean_days"),
        ("colour: blue", "mix.colour"),
    ],
)
def test_bad_mix_names_the_key(tmp_path, text, key):
    from workbench.validation import InputError

    path = tmp_path / "mix.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_mix(str(path))
    assert err.value.param == key


def test_fraud_rate_rescales_the_mix():
    mix = load_mix("default", fraud_rate=0.1)
    assert mix.total_prevalence == pytest.approx(0.1)
    default = load_mix("default")
    ratio = {s.name: s.prevalence for s in mix.scenarios}
    for s in default.scenarios:
        if s.prevalence:
            assert ratio[s.name] / s.prevalence == pytest.approx(0.1 / default.total_prevalence)
    assert load_mix("none") is None


def test_bad_mix_file_on_the_cli_leaves_nothing(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: {card_testing: {prevalence: 2}}")
    out = tmp_path / "ds"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "generate",
            "--customers",
            "30",
            "--days",
            "5",
            "--scenarios",
            str(bad),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "mix.scenarios.card_testing.prevalence" in res.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "generate",
            "--customers",
            "30",
            "--days",
            "5",
            "--fraud-rate",
            "1.5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "fraud_rate" in res.stderr and not out.exists()
