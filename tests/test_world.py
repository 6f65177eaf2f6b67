"""Properties of a generated world: keys, time, money, profiles, travel, lifecycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulate import behaviour_views as explore
from workbench.simulate import load_market
from workbench.simulate.sampling import haversine_km


def test_foreign_keys_are_valid(tables):
    c, a, m, d, ip, t, e = (
        tables[k]
        for k in (
            "customers",
            "accounts",
            "merchants",
            "devices",
            "ip_addresses",
            "transactions",
            "events",
        )
    )
    assert (
        c["customer_id"].is_unique
        and a["account_id"].is_unique
        and t["txn_id"].is_unique
        and e["event_id"].is_unique
    )
    assert a["customer_id"].isin(c["customer_id"]).all()
    assert d["customer_id"].isin(c["customer_id"]).all()
    owner = a.set_index("account_id")["customer_id"]
    assert (t["account_id"].map(owner) == t["customer_id"]).all(), (
        "an account used by someone else"
    )
    purchases = t[t["txn_type"].isin(["purchase", "refund", "chargeback"])]
    assert purchases["merchant_id"].isin(m["merchant_id"]).all()
    assert (
        t.loc[~t["txn_type"].isin(["purchase", "refund", "chargeback"]), "merchant_id"] == -1
    ).all()
    for frame in (t, e):
        used_dev = frame.loc[frame["device_id"] >= 0, "device_id"]
        used_ip = frame.loc[frame["ip_id"] >= 0, "ip_id"]
        assert used_dev.isin(d["device_id"]).all() and used_ip.isin(ip["ip_id"]).all()
    dev_owner = d.set_index("device_id")["customer_id"]
    remote = t[t["device_id"] >= 0]
    assert (remote["device_id"].map(dev_owner) == remote["customer_id"]).all()
    p2p = t[t["counterparty_account_id"] >= 0]
    assert p2p["counterparty_account_id"].isin(a["account_id"]).all()
    rel = t[t["related_txn_id"] >= 0]
    assert rel["related_txn_id"].isin(t["txn_id"]).all()


def test_timestamps_in_window_and_ordered(tables, small_config):
    t = tables["transactions"]
    lo, hi = pd.Timestamp(small_config.start), pd.Timestamp(small_config.end)
    assert t["timestamp"].between(lo, hi, inclusive="left").all()
    assert tables["events"]["timestamp"].between(lo, hi, inclusive="left").all()
    # txn_id follows time within each account (shard * 10^12 + rank in time)
    for _, grp in t.groupby("account_id"):
        assert grp.sort_values("txn_id")["timestamp"].is_monotonic_increasing


def test_amounts_positive_two_decimals(tables):
    amt = tables["transactions"]["amount"].to_numpy()
    assert (amt > 0).all()
    assert np.allclose(np.round(amt * 100), amt * 100, atol=1e-6)


def test_balances_follow_from_transactions(dataset, tables):
    assert explore.balance_breaks(dataset) == 0
    t, a = tables["transactions"], tables["accounts"]
    kind = t["account_id"].map(a.set_index("account_id")["account_type"])
    assert (t["balance_after"] >= -0.005).all(), "no overdraft and no credit beyond the limit"
    # Available credit only exceeds the limit when a refund, chargeback or reward lands on a
    # paid-off card.
    limit = t["account_id"].map(a.set_index("account_id")["credit_limit"])
    over = t[(kind == "credit") & (t["balance_after"] > limit + 0.005)].sort_values("txn_id")
    first_over = over.groupby("account_id").head(1)
    assert first_over["txn_type"].isin(["refund", "chargeback", "reward_redemption"]).all()
    declined = t[t["status"] == "declined"]
    assert (declined["balance_after"] == declined["balance_before"]).all()
    short = declined["decline_reason"] == "insufficient_funds"
    # funds were short, or a dependent row (e.g. the refunded purchase) was declined earlier
    # in settlement
    assert (declined.loc[short, "amount"] > declined.loc[short, "balance_before"]).mean() > 0.9
    assert set(declined["decline_reason"]) == {
        "insufficient_funds",
        "technical",
        "card_verification",
    }
    verif = declined[declined["decline_reason"] == "card_verification"]
    assert (
        verif["channel"].isin(["online", "mobile"]).all()
        and verif["payment_mode"].isin(["credit_card", "debit_card"]).all()
    )
    shipped = t[t["ship_elsewhere"]]
    assert len(shipped) > 0 and shipped["channel"].isin(["online", "mobile"]).all()
    assert shipped["category"].isin(["electronics", "fashion", "jewellery", "groceries"]).all()
    assert set(t.loc[t["status"] == "approved", "decline_reason"]) == {"none"}
    assert 0 < len(declined) / len(t) < 0.05


def test_no_nulls_in_transactions_and_events(tables):
    # Nullness must never depend on the label: transactions and events have no nulls at all.
    for name in ("transactions", "events"):
        frame = tables[name]
        assert not frame.isna().any().any(), frame.columns[frame.isna().any()].tolist()
        assert (frame["fraud_type"] == "none").all() and not frame["is_fraud"].any()
        assert (frame["fraud_episode_id"] == -1).all() and (frame["ring_id"] == -1).all()


def test_population_profile(tables, small_config):
    c, a, d = tables["customers"], tables["accounts"], tables["devices"]
    n_acc = a.groupby("customer_id").size()
    assert n_acc.between(1, 3).all() and set(n_acc.unique()) == {1, 2, 3}
    first = a.groupby("customer_id").head(1)  # accounts are listed in slot order per customer
    assert (first["account_type"] == "debit").all() and len(first) == len(c)
    assert (a.loc[a["account_type"] == "credit", "credit_limit"] > 0).all()
    assert (a.loc[a["account_type"] == "debit", "credit_limit"] == 0).all()
    n_dev = d.groupby("customer_id").size()
    assert (
        n_dev.between(1, 3).all()
        and (d.groupby("customer_id").head(1)["device_type"] == "mobile").all()
    )
    assert c["phone"].is_unique and c["email"].is_unique and c["name"].str.len().gt(3).all()
    assert c["phone"].str.startswith("+91").all()
    shares = c["segment"].value_counts(normalize=True)
    from workbench.simulate import load_behaviour

    expected = {s.name: s.share for s in load_behaviour().segments}
    for seg, share in expected.items():
        assert abs(shares.get(seg, 0) - share / sum(expected.values())) < 0.04, seg
    seniors = c[c["segment"] == "senior_conservative"]
    assert seniors["age"].min() >= 60 and (seniors["occupation"] == "retired").mean() > 0.8
    market = load_market("india")
    for bracket, (lo, hi) in market.income_brackets.items():
        inc = c.loc[c["income_bracket"] == bracket, "monthly_income"]
        assert inc.between(lo - 50, hi + 50).all(), bracket
    assert set(c["city_tier"]) == {"metro", "major", "smaller"}


def test_hourly_weekly_and_payment_mix_match_profiles(dataset):
    hours = explore.hourly_profile(dataset)
    for occ, grp in hours.groupby("occupation"):
        if grp["n"].sum() >= 3000:
            assert explore.total_variation(grp["observed"], grp["expected"]) < 0.08, occ
    week = explore.weekday_profile(dataset).set_index("day")
    # festivals and the salary cycle add noise on top of the weekday multipliers
    assert (week["observed"] - week["expected"]).abs().max() < 0.12
    assert week.loc["Sat", "observed"] > week.loc["Tue", "observed"]
    mix = explore.payment_mix(dataset)
    for (ch, band), grp in mix.groupby(["channel", "band"]):
        if grp["n"].iloc[0] >= 1000:
            assert explore.total_variation(grp["observed"], grp["expected"]) < 0.06, (ch, band)


def test_upi_dominates_small_amounts(tables):
    t = tables["transactions"]
    small = t[(t["txn_type"] == "purchase") & (t["amount"] < 500)]
    assert small["payment_mode"].value_counts(normalize=True).idxmax() == "upi"
    assert (small["payment_mode"] == "upi").mean() > 0.5
    big = t[(t["txn_type"] == "purchase") & (t["amount"] >= 10000)]
    assert (big["payment_mode"] == "upi").mean() < (small["payment_mode"] == "upi").mean()


def test_amounts_follow_category_and_tier(tables):
    t, c = tables["transactions"], tables["customers"]
    p = t[t["txn_type"] == "purchase"].merge(
        c[["customer_id", "monthly_income"]], on="customer_id"
    )
    med = p.groupby("category")["amount"].median()
    assert med["jewellery"] > med["electronics"] > med["groceries"] > med["small_retail"]
    rich = p["monthly_income"] > p["monthly_income"].quantile(0.8)
    poor = p["monthly_income"] < p["monthly_income"].quantile(0.2)
    assert p.loc[rich, "amount"].median() > 1.3 * p.loc[poor, "amount"].median()
    tier = p["city"].map(load_market("india").cities.set_index("name")["tier"])
    g = (
        p[p["category"] == "groceries"]
        .groupby(tier[p["category"] == "groceries"])["amount"]
        .median()
    )
    assert g["metro"] > g["major"] > g["smaller"]
    # heavy tail: the 99th percentile is far above the median
    assert p["amount"].quantile(0.99) > 8 * p["amount"].median()


def test_merchant_loyalty_and_home_city(tables):
    t, c = tables["transactions"], tables["customers"]
    p = t[t["txn_type"] == "purchase"].merge(
        c[["customer_id", "home_city", "segment"]], on="customer_id"
    )
    assert (p["city"] == p["home_city"]).mean() > 0.85
    repeat = p.groupby("customer_id")["merchant_id"].agg(lambda s: 1 - s.nunique() / len(s))
    assert repeat[p.groupby("customer_id").size() >= 20].median() > 0.4
    by_seg = p.groupby("segment").apply(
        lambda g: 1 - g.groupby("customer_id")["merchant_id"].nunique().sum() / len(g),
        include_groups=False,
    )
    assert by_seg["senior_conservative"] > by_seg["tech_savvy_millennial"]


def test_trips_imply_plausible_speeds(tables):
    t = tables["transactions"]
    p = t[(t["txn_type"] == "purchase") & (t["channel"] == "pos")].sort_values(
        ["customer_id", "timestamp"]
    )
    same = p["customer_id"].to_numpy()[1:] == p["customer_id"].to_numpy()[:-1]
    moved = same & (p["city"].to_numpy()[1:] != p["city"].to_numpy()[:-1])
    assert moved.sum() > 20, "customers travel"
    dist = haversine_km(
        p["lat"].to_numpy()[:-1],
        p["lon"].to_numpy()[:-1],
        p["lat"].to_numpy()[1:],
        p["lon"].to_numpy()[1:],
    )
    hours = np.diff(p["timestamp"].to_numpy()).astype("timedelta64[s]").astype(float) / 3600
    speed = dist[moved] / np.maximum(hours[moved], 1e-9)
    assert speed.max() < 800, speed.max()


def test_salary_bills_refunds_transfers(tables, small_config):
    t, c, a = tables["transactions"], tables["customers"], tables["accounts"]
    market = load_market(small_config.market)
    sal = t[t["txn_type"] == "salary"]
    assert (sal["timestamp"].dt.day == market.salary_day).all()
    assert (
        sal["amount"] == sal["customer_id"].map(c.set_index("customer_id")["monthly_income"])
    ).all()
    primary = a.groupby("customer_id").head(1).set_index("customer_id")["account_id"]
    assert (sal["account_id"] == sal["customer_id"].map(primary)).all() and (
        sal["status"] == "approved"
    ).all()
    bills = t[t["txn_type"] == "card_payment"]
    assert bills["account_id"].map(a.set_index("account_id")["account_type"]).eq("credit").all()
    limit = bills["account_id"].map(a.set_index("account_id")["credit_limit"])
    assert np.allclose(bills["balance_after"], limit)  # bill payments restore the full limit
    by_id = t.set_index("txn_id")
    for kind, lo_days, hi_days in (("refund", 1, 15), ("chargeback", 15, 61)):
        r = t[t["txn_type"] == kind]
        assert len(r) > 0, kind
        orig = by_id.loc[r["related_txn_id"]]
        assert (orig["txn_type"] == "purchase").all() and (orig["status"] == "approved").all()
        assert (orig["amount"].to_numpy() == r["amount"].to_numpy()).all()
        assert (orig["account_id"].to_numpy() == r["account_id"].to_numpy()).all()
        lag = (r["timestamp"].to_numpy() - orig["timestamp"].to_numpy()).astype(
            "timedelta64[h]"
        ).astype(int) / 24
        assert lag.min() >= lo_days and lag.max() < hi_days + 1
    # transfers inside the bank: every approved out leg has exactly one in leg (same time and
    # amount, accounts swapped), and every in leg has its approved out leg
    inn = t[(t["txn_type"] == "p2p_in") & (t["counterparty_account_id"] >= 0)]
    out = t[(t["txn_type"] == "p2p_out") & (t["counterparty_account_id"] >= 0)]
    key = ["timestamp", "amount", "from", "to"]
    legs_in = inn.rename(columns={"counterparty_account_id": "from", "account_id": "to"})[key]
    legs_out = out.rename(columns={"account_id": "from", "counterparty_account_id": "to"})
    matched = legs_in.merge(legs_out[key + ["status"]], on=key, how="left", validate="one_to_one")
    assert (matched["status"] == "approved").all()
    assert len(legs_out[legs_out["status"] == "approved"]) == len(legs_in)
    assert (t.loc[t["txn_type"].isin(["p2p_in", "p2p_out"]), "related_txn_id"] == -1).all()
    external = (
        t[t["txn_type"].isin(["p2p_in", "p2p_out"])]["counterparty_account_id"].eq(-1).mean()
    )
    assert 0.15 < external < 0.45  # about a third of transfers cross to other banks
    assert (
        t.loc[t["txn_type"] == "reward_redemption", "account_id"].map(
            a.set_index("account_id")["account_type"]
        )
        == "credit"
    ).all()


def test_signup_and_churn_bound_activity(tables):
    t, c = tables["transactions"], tables["customers"]
    churned = c[c["churn_date"].notna()]
    assert 0.01 < len(churned) / len(c) < 0.1
    after = t[t["customer_id"].isin(churned["customer_id"])]
    after = after[
        after["timestamp"]
        >= after["customer_id"].map(churned.set_index("customer_id")["churn_date"])
    ]
    assert after.empty, after["txn_type"].value_counts()
    first = t[t["txn_type"] == "purchase"].groupby("customer_id")["timestamp"].min()
    signup = c.set_index("customer_id")["signup_date"]
    assert (first >= signup.reindex(first.index).dt.normalize()).all()
    new = c[c["signup_date"] >= t["timestamp"].min().normalize()]
    assert len(new) > 0


def test_event_stream(tables, small_config):
    e, c = tables["events"], tables["customers"]
    counts = e["event_type"].value_counts()
    assert {
        "login",
        "email_change",
        "phone_change",
        "address_change",
        "password_reset",
        "bank_link",
    } <= set(counts.index)
    customer_days = len(c) * small_config.days
    assert (
        abs(counts["email_change"] / customer_days - small_config.event_rates["email_change"])
        < small_config.event_rates["email_change"]
    )
    logins = e[e["event_type"] == "login"].groupby("customer_id").size()
    sav = c.set_index("customer_id")["digital_savviness"].reindex(logins.index)
    assert logins[sav == "high"].mean() > logins[sav == "low"].mean()


def test_ip_pools(tables):
    ip, t = tables["ip_addresses"], tables["transactions"]
    assert set(ip["kind"]) == {"home", "public", "vpn"}
    used = t.loc[t["ip_id"] >= 0, "ip_id"].map(ip.set_index("ip_id")["kind"])
    share = used.value_counts(normalize=True)
    assert share["home"] > 0.2 and share["public"] > 0.2 and 0 < share["vpn"] < 0.1
    # shared public IPs are seen from many customers; home IPs from one
    per_ip = t[t["ip_id"] >= 0].groupby("ip_id")["customer_id"].nunique()
    kinds = per_ip.index.map(ip.set_index("ip_id")["kind"])
    assert per_ip[kinds == "home"].max() == 1 and per_ip[kinds == "public"].max() > 3
