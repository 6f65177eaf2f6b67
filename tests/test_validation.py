"""Bad input gets a clear error naming the parameter, the value and what is allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.simulate import SimulationConfig, generate
from workbench.validation import InputError, check_choice, check_date, check_float, check_int


def test_check_int_accepts_whole_numbers_and_numeric_strings():
    assert check_int("n", 5) == 5
    assert check_int("n", "7", 1) == 7
    assert check_int("n", 3.0) == 3


@pytest.mark.parametrize("value", [-1, 0, 2.5, "x", None, True, float("nan")])
def test_check_int_rejects(value):
    with pytest.raises(InputError) as err:
        check_int("customers", value, 1)
    assert (
        "customers" in str(err.value)
        and repr(value) in str(err.value)
        and ">= 1" in str(err.value)
    )


def test_check_float_and_choice_and_date():
    assert check_float("r", "0.5", 0, 1) == 0.5
    with pytest.raises(InputError, match="r=2"):
        check_float("r", 2, 0, 1)
    with pytest.raises(InputError, match="one of a, b"):
        check_choice("backend", "c", ["b", "a"])
    assert check_date("start", "2025-02-03") == dt.date(2025, 2, 3)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        check_date("start", "2025-13-01")


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"customers": -5}, "customers"),
        ({"customers": 0}, "customers"),
        ({"days": 0}, "days"),
        ({"market": "atlantis"}, "market"),
        ({"start": "01/02/2025"}, "start"),
        ({"seed": -1}, "seed"),
        ({"shard_size": 1}, "shard_size"),
        ({"churn_rate": 0.9}, "churn_rate"),
        ({"segment_shares": {"pirates": 1.0}}, "segment_shares"),
        ({"event_rates": {"login": 1.0}}, "event_rates"),
    ],
)
def test_config_rejects_bad_values_naming_the_parameter(kwargs, param):
    with pytest.raises(InputError) as err:
        SimulationConfig(**kwargs)
    assert err.value.param == param
    assert f"invalid {param}=" in str(err.value) and "allowed is" in str(err.value)


def test_unknown_market_lists_the_known_ones():
    with pytest.raises(InputError, match="india") as err:
        SimulationConfig(market="atlantis")
    assert "us" in err.value.allowed


def test_generate_rejects_bad_backend_workers_and_config(tmp_path):
    cfg = SimulationConfig(customers=20, days=3)
    with pytest.raises(InputError, match="backend"):
        generate(cfg, tmp_path / "a", backend="cloud")
    with pytest.raises(InputError, match="workers"):
        generate(cfg, tmp_path / "a", workers=0)
    with pytest.raises(InputError, match="config"):
        generate({"customers": 3}, tmp_path / "a")
    assert list(tmp_path.iterdir()) == []


def test_generate_rejects_unwritable_output(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.access(
            locked, os.W_OK
        ):  # running as root: permissions do not bind, use a file in the way
            blocker = tmp_path / "file"
            blocker.write_text("x")
            target = blocker / "ds"
        else:
            target = locked / "ds"
        with pytest.raises(InputError, match="out"):
            generate(SimulationConfig(customers=20, days=3), target)
    finally:
        locked.chmod(0o700)
