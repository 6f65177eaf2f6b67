"""Market and behaviour profiles: load the YAML data files and validate them at the boundary.

A market profile (``workbench/data/markets/<name>.yaml``) holds everything specific to a
market: cities, merchant categories, payment modes, festivals, salary day, currency and
the Faker locale. The behaviour profile (``workbench/data/behaviour.yaml``) holds the
customer segments and occupations, which are market-independent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workbench._resources import resource
from workbench.validation import InputError, check_float, check_int

DATA_DIR = resource("data")
MARKETS_DIR = DATA_DIR / "markets"
CHANNELS = ("pos", "online", "mobile")
SAVVINESS = ("low", "medium", "high")
TIERS = ("metro", "major", "smaller")


def available_markets() -> list[str]:
    """Names of the market profiles shipped with the package."""
    return sorted(p.stem for p in MARKETS_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class Category:
    """A merchant category: log-normal amounts per city tier, channel mix and chains."""

    name: str
    median: dict[str, float]
    sigma: float
    channels: np.ndarray  # weights over CHANNELS
    merchants_per_city: int
    chains: tuple[str, ...]
    ships: bool = False  # online orders of this category are shipped to an address


@dataclass(frozen=True)
class Festival:
    """A spending period: its start dates (explicit or yearly), length and multiplier."""

    name: str
    dates: tuple[dt.date, ...]
    month_day: str | None
    days: int
    multiplier: float

    def starts_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Start dates whose festival window overlaps [first, last]."""
        starts = list(self.dates)
        if self.month_day:
            month, day = (int(x) for x in self.month_day.split("-"))
            starts += [dt.date(y, month, day) for y in range(first.year - 1, last.year + 1)]
        return [s for s in starts if s <= last and s + dt.timedelta(days=self.days - 1) >= first]


@dataclass(frozen=True)
class Market:
    """A validated market profile."""

    name: str
    currency: str
    faker_locale: str
    phone_prefix: str
    phone_digits: int
    phone_first_digits: tuple[int, ...]
    salary_day: int
    reporting_threshold: float
    income_brackets: dict[str, tuple[float, float]]
    credit_limit_months: tuple[float, float]
    opening_balance_months: tuple[float, float]
    tier_cost: dict[str, float]
    cities: pd.DataFrame  # name, tier, lat, lon, weight
    categories: tuple[Category, ...]
    modes: tuple[str, ...]
    amount_bands: np.ndarray
    mode_mix: dict[str, np.ndarray]  # channel -> (n_modes, n_bands) weights
    savviness_mode: dict[str, np.ndarray]  # savviness -> (n_modes,) multipliers
    festivals: tuple[Festival, ...]

    def check_window(self, start: dt.date, days: int) -> None:
        """Raise InputError when the window [start, start + days) has years the market's
        dated festivals have no date for (they would silently not happen)."""
        years = set(range(start.year, (start + dt.timedelta(days=days - 1)).year + 1))
        for fest in self.festivals:
            have = {d.year for d in fest.dates}
            if fest.dates and years - have:
                raise InputError(
                    "start",
                    start.isoformat(),
                    f"a window within the years market {self.name} has "
                    f"festival dates for ({min(have)}-{max(have)}; {fest.name} has none for "
                    f"{', '.join(map(str, sorted(years - have)))}: add them to the market file)",
                )

    def festival_multipliers(self, start: dt.date, days: int) -> np.ndarray:
        """Spending multiplier for each simulated day (the largest festival that day)."""
        mult = np.ones(days)
        last = start + dt.timedelta(days=days - 1)
        for fest in self.festivals:
            for s in fest.starts_between(start, last):
                lo = max((s - start).days, 0)
                hi = min((s - start).days + fest.days, days)
                mult[lo:hi] = np.maximum(mult[lo:hi], fest.multiplier)
        return mult


@dataclass(frozen=True)
class Segment:
    """A customer segment: demographics, activity, preferences and product holdings."""

    name: str
    share: float
    age: tuple[int, int]
    income: dict[str, float]
    occupations: dict[str, float]
    savviness: dict[str, float]
    daily_rate: float
    weekday: np.ndarray
    categories: dict[str, float]
    loyalty: float
    trips_per_year: float
    accounts: np.ndarray
    credit_card: float


@dataclass(frozen=True)
class Behaviour:
    """A validated behaviour profile."""

    segments: tuple[Segment, ...]
    occupations: dict[str, np.ndarray]  # occupation -> 24 hourly weights
    salary_cycle: np.ndarray
    salary_cycle_tail: float
    default_category_weight: float
    rates: BehaviourRates


@dataclass(frozen=True)
class BehaviourRates:
    """Shares and amount scales of everyday activity (``rates:`` of behaviour.yaml)."""

    online_other_device: float  # online purchases on one of the customer's other devices
    p2p_same_city: float  # P2P transfers to a customer of the sender's home city
    p2p_income_share: float  # median P2P amount / the sender's monthly income
    redemption_income_share: float  # median reward redemption / monthly income


def _rates(raw: Any, where: str) -> BehaviourRates:
    """The ``rates:`` section: every field of :class:`BehaviourRates`, each in [0, 1]."""
    names = [f.name for f in fields(BehaviourRates)]
    node = _get(raw, "rates", where)
    if not isinstance(node, dict) or set(node) != set(names):
        raise InputError(
            f"{where}.rates", node, "a mapping with exactly the keys " + ", ".join(names)
        )
    return BehaviourRates(
        **{k: check_float(f"{where}.rates.{k}", node[k], 0.0, 1.0) for k in names}
    )


def _get(node: Any, key: str, where: str) -> Any:
    if not isinstance(node, dict) or key not in node:
        raise InputError(f"{where}.{key}", None, "a required field of the profile")
    return node[key]


def _weights(values: Any, keys: tuple[str, ...] | list[str], where: str) -> np.ndarray:
    """Validate a mapping of non-negative weights over ``keys`` with a positive sum."""
    if not isinstance(values, dict) or set(values) - set(keys):
        raise InputError(where, values, "a mapping with keys among " + ", ".join(keys))
    out = np.array([check_float(f"{where}.{k}", values.get(k, 0.0), 0.0) for k in keys])
    if out.sum() <= 0:
        raise InputError(where, values, "weights with a positive sum")
    return out


def _pair(values: Any, where: str, minimum: float = 0.0) -> tuple[float, float]:
    if not isinstance(values, (list, tuple)) or len(values) != 2:
        raise InputError(where, values, "a [low, high] pair")
    lo, hi = (check_float(where, v, minimum) for v in values)
    if lo > hi:
        raise InputError(where, values, "a [low, high] pair with low <= high")
    return lo, hi


def _read_yaml(path: Path, param: str) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(param, str(path), f"a readable YAML file ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(param, str(path), "a YAML file holding a mapping")
    return data


@lru_cache(maxsize=16)
def load_market(market: str) -> Market:
    """Load and validate a market profile by name (``india``, ``us``) or by YAML path."""
    if not isinstance(market, str) or not market:
        raise InputError(
            "market", market, "one of " + ", ".join(available_markets()) + " or a YAML path"
        )
    path = Path(market)
    if not (market.endswith((".yaml", ".yml")) and path.is_file()):
        if market not in available_markets():
            raise InputError(
                "market", market, "one of " + ", ".join(available_markets()) + " or a YAML path"
            )
        path = MARKETS_DIR / f"{market}.yaml"
    raw = _read_yaml(path, "market")
    where = f"market[{path.name}]"
    _check_fields(raw, MARKET_KEYS, where)
    try:
        return _market(raw, where)
    except InputError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise InputError(
            where,
            str(path),
            f"a market profile of the shape of india.yaml ({type(exc).__name__}: {exc})",
        ) from None


MARKET_KEYS = (
    "name",
    "currency",
    "faker_locale",
    "phone",
    "salary_day",
    "reporting_threshold",
    "income_brackets",
    "credit_limit_months",
    "opening_balance_months",
    "city_tiers",
    "cities",
    "categories",
    "payment_modes",
    "festivals",
)


def _check_fields(node: Any, known: tuple[str, ...], where: str) -> None:
    """Raise InputError on a key the profile does not know (it would be silently ignored)."""
    unknown = sorted(set(node) - set(known)) if isinstance(node, dict) else []
    if unknown:
        raise InputError(
            f"{where}.{unknown[0]}", node[unknown[0]], "one of the keys " + ", ".join(known)
        )


def _nonempty(node: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(node, kind) or not node:
        raise InputError(where, node, what)
    return node


def _date(value: Any, where: str) -> dt.date:
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(where, value, "dates written YYYY-MM-DD") from None


def _locale(value: Any, where: str) -> str:
    from faker.config import AVAILABLE_LOCALES

    if not isinstance(value, str) or value not in AVAILABLE_LOCALES:
        raise InputError(
            f"{where}.faker_locale", value, "a Faker locale such as en_IN, en_US, de_DE"
        )
    return value


def _market(raw: dict, where: str) -> Market:
    """The body of :func:`load_market`: every field of the profile, validated."""
    phone = _get(raw, "phone", where)
    tiers = {
        t: check_float(
            f"{where}.city_tiers.{t}",
            _get(_get(raw, "city_tiers", where), t, where)["cost_multiplier"],
            0.01,
        )
        for t in TIERS
    }
    cities = _nonempty(
        _get(raw, "cities", where),
        list,
        f"{where}.cities",
        "a list of cities (name, tier, lat, lon, weight)",
    )
    if not all(isinstance(c, dict) for c in cities):
        raise InputError(
            f"{where}.cities",
            cities,
            "a list of cities, each a mapping of name, tier, lat, lon, weight",
        )
    cities = pd.DataFrame(cities)
    missing = {"name", "tier", "lat", "lon", "weight"} - set(cities.columns)
    if (
        missing
        or len(cities) < 2
        or not cities["tier"].isin(TIERS).all()
        or cities["name"].duplicated().any()
    ):
        raise InputError(
            f"{where}.cities",
            f"{len(cities)} cities",
            "distinct cities with name, tier (metro/major/smaller), lat, lon, weight",
        )
    if (
        (cities["weight"] <= 0).any()
        or not cities["lat"].between(-90, 90).all()
        or not cities["lon"].between(-180, 180).all()
    ):
        raise InputError(
            f"{where}.cities", "weights/coordinates", "positive weights and valid coordinates"
        )
    cats = []
    categories = _nonempty(
        _get(raw, "categories", where),
        dict,
        f"{where}.categories",
        "a non-empty mapping of merchant categories",
    )
    for name, c in categories.items():
        cw = f"{where}.categories.{name}"
        median = {
            t: check_float(f"{cw}.median.{t}", _get(_get(c, "median", cw), t, cw), 0.01)
            for t in TIERS
        }
        cats.append(
            Category(
                name,
                median,
                check_float(f"{cw}.sigma", _get(c, "sigma", cw), 0.0, 3.0),
                _weights(_get(c, "channels", cw), CHANNELS, f"{cw}.channels"),
                int(check_float(f"{cw}.merchants_per_city", _get(c, "merchants_per_city", cw), 1)),
                tuple(c.get("chains", [])),
                bool(c.get("ships", False)),
            )
        )
    pm = _get(raw, "payment_modes", where)
    modes = tuple(_get(pm, "modes", where))
    bands = np.array(
        [
            check_float(f"{where}.payment_modes.amount_bands", b, 0)
            for b in _get(pm, "amount_bands", where)
        ]
    )
    if np.any(np.diff(bands) <= 0):
        raise InputError(
            f"{where}.payment_modes.amount_bands", bands.tolist(), "increasing band edges"
        )
    mix = {}
    for ch in CHANNELS:
        table = _get(_get(pm, "mix", where), ch, where)
        rows = []
        for m in modes:
            w = table.get(m, [0.0] * (len(bands) + 1))
            if len(w) != len(bands) + 1:
                raise InputError(
                    f"{where}.payment_modes.mix.{ch}.{m}",
                    w,
                    f"{len(bands) + 1} weights, one per amount band",
                )
            rows.append([check_float(f"{where}.payment_modes.mix.{ch}.{m}", x, 0) for x in w])
        mix[ch] = np.array(rows)
        if np.any(mix[ch].sum(axis=0) <= 0):
            raise InputError(
                f"{where}.payment_modes.mix.{ch}", table, "a positive weight in every amount band"
            )
    sav = {
        s: _weights(
            _get(_get(pm, "savviness", where), s, where),
            modes,
            f"{where}.payment_modes.savviness.{s}",
        )
        for s in SAVVINESS
    }
    fests = []
    for f in raw.get("festivals", []):
        fw = f"{where}.festivals.{f.get('name', '?')}"
        dates = tuple(_date(d, f"{fw}.dates") for d in f.get("dates", []))
        month_day = f.get("month_day")
        if month_day:
            _date(f"2024-{month_day}", f"{fw}.month_day")  # a leap year: 02-29 is a day
        if not dates and not month_day:
            raise InputError(fw, f, "explicit dates or a month_day")
        fests.append(
            Festival(
                str(_get(f, "name", fw)),
                dates,
                month_day,
                int(check_float(f"{fw}.days", _get(f, "days", fw), 1, 60)),
                check_float(f"{fw}.multiplier", _get(f, "multiplier", fw), 0.1, 10),
            )
        )
    return Market(
        name=str(_get(raw, "name", where)),
        currency=str(_get(raw, "currency", where)),
        faker_locale=_locale(_get(raw, "faker_locale", where), where),
        phone_prefix=str(_get(phone, "prefix", where)),
        phone_digits=check_int(f"{where}.phone.digits", _get(phone, "digits", where), 4, 15),
        phone_first_digits=tuple(
            check_int(f"{where}.phone.first_digits", d, 0, 9)
            for d in _get(phone, "first_digits", where)
        ),
        salary_day=int(check_float(f"{where}.salary_day", _get(raw, "salary_day", where), 1, 28)),
        reporting_threshold=check_float(
            f"{where}.reporting_threshold", _get(raw, "reporting_threshold", where), 1
        ),
        income_brackets={
            k: _pair(v, f"{where}.income_brackets.{k}", 1)
            for k, v in _get(raw, "income_brackets", where).items()
        },
        credit_limit_months=_pair(
            _get(raw, "credit_limit_months", where), f"{where}.credit_limit_months"
        ),
        opening_balance_months=_pair(
            _get(raw, "opening_balance_months", where), f"{where}.opening_balance_months"
        ),
        tier_cost=tiers,
        cities=cities[["name", "tier", "lat", "lon", "weight"]].reset_index(drop=True),
        categories=tuple(cats),
        modes=modes,
        amount_bands=bands,
        mode_mix=mix,
        savviness_mode=sav,
        festivals=tuple(fests),
    )


@lru_cache(maxsize=4)
def load_behaviour(path: str | None = None) -> Behaviour:
    """Load and validate the behaviour profile (segments, occupations, salary cycle)."""
    file = Path(path) if path else DATA_DIR / "behaviour.yaml"
    raw = _read_yaml(file, "behaviour")
    where = f"behaviour[{file.name}]"
    occupations = {}
    for name, hours in _get(raw, "occupations", where).items():
        if not isinstance(hours, list) or len(hours) != 24:
            raise InputError(f"{where}.occupations.{name}", hours, "24 hourly weights")
        occupations[name] = _weights(
            dict(enumerate(hours)), list(range(24)), f"{where}.occupations.{name}"
        )
    segments = []
    for name, s in _get(raw, "segments", where).items():
        sw = f"{where}.segments.{name}"
        occ = _get(s, "occupations", sw)
        if set(occ) - set(occupations):
            raise InputError(
                f"{sw}.occupations", sorted(occ), "occupations defined under occupations:"
            )
        weekday = [check_float(f"{sw}.weekday", x, 0) for x in _get(s, "weekday", sw)]
        accounts = [check_float(f"{sw}.accounts", x, 0) for x in _get(s, "accounts", sw)]
        if len(weekday) != 7 or len(accounts) != 3 or sum(accounts) <= 0:
            raise InputError(
                sw,
                {"weekday": weekday, "accounts": accounts},
                "7 weekday multipliers and 3 account-count weights",
            )
        age = _pair(_get(s, "age", sw), f"{sw}.age", 16)
        segments.append(
            Segment(
                name=name,
                share=check_float(f"{sw}.share", _get(s, "share", sw), 0),
                age=(int(age[0]), int(age[1])),
                income=dict(_get(s, "income", sw)),
                occupations=dict(occ),
                savviness=dict(_get(s, "savviness", sw)),
                daily_rate=check_float(f"{sw}.daily_rate", _get(s, "daily_rate", sw), 0.01, 100),
                weekday=np.array(weekday),
                categories=dict(_get(s, "categories", sw)),
                loyalty=check_float(f"{sw}.loyalty", _get(s, "loyalty", sw), 0, 1),
                trips_per_year=check_float(
                    f"{sw}.trips_per_year", _get(s, "trips_per_year", sw), 0, 52
                ),
                accounts=np.array(accounts) / sum(accounts),
                credit_card=check_float(f"{sw}.credit_card", _get(s, "credit_card", sw), 0, 1),
            )
        )
    return Behaviour(
        segments=tuple(segments),
        occupations=occupations,
        salary_cycle=np.array(
            [check_float(f"{where}.salary_cycle", x, 0) for x in _get(raw, "salary_cycle", where)]
        ),
        salary_cycle_tail=check_float(
            f"{where}.salary_cycle_tail", _get(raw, "salary_cycle_tail", where), 0
        ),
        default_category_weight=check_float(
            f"{where}.default_category_weight", raw.get("default_category_weight", 0.5), 0
        ),
        rates=_rates(raw, where),
    )
