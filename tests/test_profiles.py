"""Market and behaviour profiles are data: validated on load; a new market is a new file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from workbench.dataset.reader import open_dataset
from workbench.simulate import (
    SimulationConfig,
    available_markets,
    generate,
    load_behaviour,
    load_market,
)
from workbench.simulate.profiles import DATA_DIR, MARKETS_DIR
from workbench.validation import InputError


def test_shipped_markets():
    assert {"india", "us"} <= set(available_markets())
    india = load_market("india")
    assert len(india.cities) >= 20 and set(india.cities["tier"]) == {"metro", "major", "smaller"}
    assert india.currency == "INR" and india.faker_locale == "en_IN"
    assert {"upi", "credit_card", "debit_card", "net_banking", "wallet"} == set(india.modes)
    assert any(f.name == "Diwali" for f in india.festivals)
    us = load_market("us")
    assert us.currency == "USD" and len(us.cities) >= 20


def test_festival_multipliers():
    india = load_market("india")
    mult = india.festival_multipliers(dt.date(2025, 10, 10), 20)
    diwali = (dt.date(2025, 10, 18) - dt.date(2025, 10, 10)).days
    assert mult[diwali] == pytest.approx(1.9) and mult[0] == 1.0
    xmas = india.festival_multipliers(
        dt.date(2026, 12, 20), 10
    )  # month_day festivals recur every year
    assert xmas[4] == pytest.approx(1.2)


def test_behaviour_profile():
    beh = load_behaviour()
    names = {s.name for s in beh.segments}
    assert names == {
        "young_professional",
        "family_oriented",
        "budget_conscious",
        "tech_savvy_millennial",
        "affluent_shopper",
        "senior_conservative",
        "student",
    }
    assert all(len(h) == 24 for h in beh.occupations.values())
    assert beh.rates.p2p_same_city == 0.6 and beh.rates.redemption_income_share == 0.004


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r["rates"].update(p2p_same_city=1.5), "rates.p2p_same_city"),
        (lambda r: r["rates"].pop("online_other_device"), "rates"),
        (lambda r: r["rates"].update(tip_share=0.1), "rates"),
        (lambda r: r.pop("rates"), "rates"),
    ],
)
def test_bad_behaviour_rates_name_the_field(tmp_path, mutate, field):
    with pytest.raises(InputError) as err:
        load_behaviour(str(_mutated(DATA_DIR / "behaviour.yaml", mutate, tmp_path / "bad.yaml")))
    assert err.value.param.endswith(field)


def _mutated(source, mutate, path):
    """A copy of the profile ``source`` changed by ``mutate``, written to ``path``."""
    raw = yaml.safe_load(source.read_text())
    mutate(raw)
    path.write_text(yaml.safe_dump(raw))
    return path


def test_behaviour_rates_drive_the_simulation(tmp_path):
    path = _mutated(
        DATA_DIR / "behaviour.yaml",
        lambda r: r["rates"].update(p2p_same_city=1.0),
        tmp_path / "local.yaml",
    )
    out = generate(
        SimulationConfig(customers=150, days=10, behaviour=str(path), scenarios="none"),
        tmp_path / "ds",
        backend="serial",
    )
    ds = open_dataset(out)
    tx, cust = ds.table("transactions"), ds.table("customers").set_index("customer_id")
    owner = ds.table("accounts").set_index("account_id")["customer_id"]
    sent = tx[(tx["txn_type"] == "p2p_out") & (tx["counterparty_account_id"] >= 0)]
    receiver = owner.loc[sent["counterparty_account_id"]].to_numpy()
    assert len(sent) > 20  # every transfer between customers stays in the sender's city
    home = cust["home_city"]
    assert (home.loc[sent["customer_id"]].to_numpy() == home.loc[receiver].to_numpy()).all()


def test_new_market_needs_only_a_new_file(tmp_path):
    raw = yaml.safe_load((MARKETS_DIR / "us.yaml").read_text())
    raw["name"], raw["currency"] = "atlantis", "ATL"
    raw["phone"]["prefix"] = "+999"
    path = tmp_path / "atlantis.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = generate(
        SimulationConfig(customers=60, days=10, market=str(path)),
        tmp_path / "ds",
        backend="serial",
    )
    ds = open_dataset(out)
    tx, cust = ds.table("transactions"), ds.table("customers")
    assert set(tx["currency"]) == {"ATL"} and cust["phone"].str.startswith("+999").all()
    assert set(cust["home_city"]) <= set(c["name"] for c in raw["cities"])


def test_us_market_generates(tmp_path):
    ds = open_dataset(
        generate(
            SimulationConfig(customers=200, days=20, market="us"),
            tmp_path / "us",
            backend="serial",
        )
    )
    tx = ds.table("transactions")
    purchases = tx[tx["txn_type"] == "purchase"]
    assert set(tx["currency"]) == {"USD"} and "upi" not in set(purchases["payment_mode"])
    assert purchases["payment_mode"].value_counts().idxmax() in {"credit_card", "debit_card"}


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.pop("currency"), "currency"),
        (lambda r: r["cities"][0].update(tier="village"), "cities"),
        (
            lambda r: r["payment_modes"]["mix"]["pos"].update(upi=[1, 2]),
            "payment_modes.mix.pos.upi",
        ),
        (lambda r: r["categories"]["fuel"].update(sigma=-1), "categories.fuel.sigma"),
    ],
)
def test_bad_market_file_names_the_field(tmp_path, mutate, field):
    # a name per case: load_market caches by path
    path = tmp_path / f"bad-{abs(hash(field))}.yaml"
    with pytest.raises(InputError) as err:
        load_market(str(_mutated(MARKETS_DIR / "india.yaml", mutate, path)))
    assert field in err.value.param


def test_segment_shares_override(tmp_path):
    cfg = SimulationConfig(customers=300, days=5, segment_shares={"student": 1.0})
    ds = open_dataset(generate(cfg, tmp_path / "students", backend="serial"))
    assert set(ds.table("customers")["segment"]) == {"student"}
