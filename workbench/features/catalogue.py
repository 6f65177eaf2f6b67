"""The feature registry: every feature declared once, with its name, role, entity, window,
label use, inputs, DuckDB SQL and the online kernel's output slot.

The DuckDB stages (``workbench.features.store``), the online name list
(``workbench.features.online.ONLINE_FEATURES``) and the kernel's output slots
(:data:`Slot`, read by ``workbench.features.online_state``) are all generated from
:data:`CATALOGUE`; ``workbench.features.consistency.check_registry`` checks the four agree
and compares both engines' values on a fixture. The column roles
(``workbench.features.roles``) read their feature names from here.

**Window boundaries.** Every window is closed at both ends, as DuckDB's ``RANGE BETWEEN a
PRECEDING AND b PRECEDING`` is: a row exactly one window length before the transaction is
*inside* its window (for a 7-day window, a row at ``t - 7 days`` counts; pandas'
``rolling('7d')`` would leave it out). Windows ending at CURRENT ROW include the transaction
itself and rows at the same instant; "strictly preceding" windows end ``1 MICROSECOND
PRECEDING`` and exclude them where the row would leak into its own baseline. Delayed windows
of width ``w`` end one label delay ``D`` before the transaction: rows at ``t - D - w`` and at
``t - D`` are both inside.

**Labels.** Label-derived features only count frauds whose label is known before the
transaction: confirmed (``confirmed_at``) before it, or, for a table without confirmation
times, ``D`` after the fraud (the field's standard assumption, which the delayed windows
respect). The delay ``D`` is a parameter (``label_delay_days``: a dataset's label-delay
setting from its card, else :data:`DEFAULT_LABEL_DELAY_DAYS`).

**Parameters** a source gives (``Source.params``): ``threshold`` (reporting threshold),
``salary_day``, ``festivals``, ``label_delay_days`` and ``night_end_hour`` (night is
``hour < night_end_hour``; default 5, the hours our simulated night-time takeovers use; the
reference handbook's ``hour <= 6`` is ``night_end_hour=7``).

Researchers add their own features with :func:`register_feature`: a DuckDB window expression
or a Python function over the time-ordered frame, with the same metadata.
"""

from __future__ import annotations

import enum
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from workbench.validation import InputError

DEFAULT_LABEL_DELAY_DAYS = 7.0  # for tables whose card does not say (the reference's delay)
DEFAULT_NIGHT_END_HOUR = 5
US = 1_000_000
DAY_US = 86_400 * US
RISK_DAYS = (1, 7, 30)  # widths of the label-derived windows
SPANS = {"1h": 3600 * US, "24h": DAY_US, "7d": 7 * DAY_US, "30d": 30 * DAY_US}
# entities with their own windows across customers: key column and the online kernel's
# sharing index (its chain of the entity's next rows)
ENTITY_KEYS = {"merchant": "merchant_id", "device": "device_id", "ip": "ip_id"}


@dataclass(frozen=True)
class Window:
    """A window of an entity's rows, relative to the transaction time ``t``: rows with time
    in ``[t - start, t - end]`` (both in microseconds; ``shift`` adds the label delay to
    ``both`` bounds, to the ``end`` only, or to ``none``). ``count`` counts its rows,
    ``frauds`` the frauds among them whose label is known before ``t``."""

    entity: str
    start: int
    end: int
    shift: str = "none"

    def bounds(self, delay_us: int) -> tuple[int, int]:
        """(start, end) in microseconds before the transaction for a label delay."""
        start = self.start + (delay_us if self.shift == "both" else 0)
        return start, self.end + (delay_us if self.shift != "none" else 0)

    @property
    def delayed(self) -> bool:
        return self.shift != "none"

    @property
    def tag(self) -> str:
        return f"{self.entity}_{self.start}_{self.end}_{self.shift}"


@dataclass(frozen=True)
class Aggregate:
    """A feature computed from entity windows: ``count`` (rows of ``a``), ``share`` (known
    frauds / rows of ``a``) or ``known_share`` (known frauds of ``a`` / rows of ``a`` whose
    label could be known: the frauds of ``a`` known by then plus the rows of ``b``, the
    part of ``a`` at least one delay old, that are not known frauds)."""

    formula: str
    a: Window
    b: Window | None = None

    def windows(self) -> tuple[Window, ...]:
        return (self.a,) if self.b is None else (self.a, self.b)


FORMULAS = ("count", "share", "known_share")


@dataclass(frozen=True)
class Feature:
    """One feature of the registry. ``stage`` is the DuckDB stage computing it (see
    ``workbench.features.store``), ``sql`` its expression there (``$name`` placeholders
    are the source's parameters), ``aggregate`` the windows it is computed from (entity
    window features; both engines generate their windows from it), ``online`` whether the
    online kernel computes it (its slot: its position among the online features), ``func``
    a registered Python feature's function, ``origin`` "catalogue" or "registered"."""

    name: str
    stage: str
    sql: str
    definition: str
    window: str
    entity: str
    uses_labels: bool
    requires: frozenset[str]
    role: str = "feature"
    aggregate: Aggregate | None = None
    online: bool = True
    func: Callable[[pd.DataFrame], object] | None = None
    origin: str = "catalogue"


def _f(name, stage, sql, definition, window, entity, requires=(), uses_labels=False):
    return Feature(name, stage, sql, definition, window, entity, uses_labels, frozenset(requires))


def _velocity() -> list[Feature]:
    out = []
    for entity, ent in (("cust", "customer"), ("card", "card")):
        spans = ("1h", "24h", "7d", "30d") if entity == "cust" else ("1h", "24h", "7d")
        for span in spans:
            w = f"{entity}_{span}"
            out.append(
                _f(
                    f"{entity}_n_{span}",
                    "main",
                    f"count(*) OVER {w}",
                    f"transactions of the {ent} in the last {span}, this one included",
                    span,
                    ent,
                )
            )
            if entity == "cust" or span == "24h":
                out.append(
                    _f(
                        f"{entity}_sum_{span}",
                        "main",
                        f"sum(amount) OVER {w}",
                        f"amount spent by the {ent} in the last {span}, this one included",
                        span,
                        ent,
                    )
                )
    return out


def _means() -> list[Feature]:
    return [
        _f(
            f"cust_mean_{span}",
            "main",
            f"avg(amount) OVER cust_{span}",
            f"mean amount of the customer's transactions in the last {span}, this one included",
            span,
            "customer",
        )
        for span in SPANS
    ]


def _novelty() -> list[Feature]:
    """First use by the customer of a merchant, device, IP, city or channel (rows without a
    device or IP are never "new")."""
    out = []
    for thing, column, optional in (
        ("merchant", "merchant_id", False),
        ("device", "device_id", True),
        ("ip", "ip_id", True),
        ("city", "city", False),
        ("channel", "channel", False),
    ):
        first = f"row_number() OVER cust_{thing} = 1"
        sql = (
            f"CAST({column} IS NOT NULL AND {first} AS INTEGER)"
            if optional
            else f"CAST({first} AS INTEGER)"
        )
        out.append(
            _f(
                f"is_new_{thing}",
                "main",
                sql,
                f"first transaction of the customer with this {thing}",
                "history",
                f"customer-{thing}",
                [column] if column != "merchant_id" else [],
            )
        )
    return out


def _window_feature(name: str, aggregate: Aggregate, definition: str, window: str) -> Feature:
    entity = aggregate.a.entity
    key = ENTITY_KEYS[entity]
    labels = aggregate.formula != "count"
    requires = {key} - {"merchant_id"}
    if aggregate.formula == "known_share":
        requires.add("confirmed_at")
    return Feature(
        name,
        f"window_{entity}",
        window_sql(aggregate),
        definition,
        window,
        entity,
        labels,
        frozenset(requires),
        aggregate=aggregate,
    )


def window_sql(aggregate: Aggregate) -> str:
    """The feature's expression over the columns its stage computes (``n_<tag>``: rows of a
    window, ``fr_<tag>``: its known frauds)."""
    a, b = aggregate.a.tag, aggregate.b.tag if aggregate.b is not None else None
    if aggregate.formula == "count":
        return f"n_{a}"
    if aggregate.formula == "share":
        return f"fr_{a} / nullif(n_{a}, 0)"
    return f"fr_{a} / nullif(fr_{a} + n_{b} - fr_{b}, 0)"


def _entity_windows() -> list[Feature]:
    out = []
    for span, width in SPANS.items():  # transactions at the merchant, this one included
        out.append(
            _window_feature(
                f"merchant_n_{span}",
                Aggregate("count", Window("merchant", width, 0)),
                f"transactions at the merchant in the last {span}, this one included",
                span,
            )
        )
    for d in RISK_DAYS:
        width = d * DAY_US
        out.append(
            _window_feature(
                f"merchant_fraud_rate_{d}d",
                Aggregate(
                    "known_share",
                    Window("merchant", width, 1),
                    Window("merchant", width, 0, "end"),
                ),
                f"frauds confirmed before this transaction / the merchant's transactions of "
                f"the previous {d} days whose label could be known (at least one label delay "
                "old, or a confirmed fraud)",
                f"{d}d strictly preceding",
            )
        )
    for entity in ENTITY_KEYS:
        for d in RISK_DAYS:
            win = Window(entity, d * DAY_US, 0, "both")
            where = f"{d}d ending one label delay before"
            out.append(
                _window_feature(
                    f"{entity}_n_{d}d_delayed",
                    Aggregate("count", win),
                    f"transactions of the {entity} in the {d} days ending one label delay "
                    "before this one",
                    where,
                )
            )
            out.append(
                _window_feature(
                    f"{entity}_risk_{d}d_delayed",
                    Aggregate("share", win),
                    f"share of the {entity}'s transactions in the {d} days ending one label "
                    "delay before this one that are frauds known before it (the terminal risk "
                    "of the reference handbook)",
                    where,
                )
            )
    return out


def _sharing(name: str, key: str, what: str, span: str, interval: str, entity: str) -> Feature:
    counted = "card_id" if what == "cards" else "customer_id"
    sql = (
        f"count(DISTINCT {counted}) OVER (PARTITION BY {key} ORDER BY ts "
        f"RANGE BETWEEN INTERVAL {interval} PRECEDING AND CURRENT ROW)"
    )
    at = "at" if entity == "merchant" else ("on" if entity == "device" else "through")
    return _f(
        name,
        entity,
        sql,
        f"distinct {what} {at} this {entity} in the last {span}",
        span,
        entity,
        [key] if key != "merchant_id" else [],
    )


PREV = "30d strictly preceding"
HAVERSINE_PREV = "$haversine(lat, lon, lag(lat) OVER cust_seq, lag(lon) OVER cust_seq)"
CATALOGUE: tuple[Feature, ...] = tuple(
    _velocity()
    + _means()
    + [
        _f(
            "cust_secs_since_prev",
            "main",
            "epoch(ts - lag(ts) OVER cust_seq)",
            "seconds since the customer's previous transaction",
            "previous row",
            "customer",
        ),
        _f(
            "card_secs_since_prev",
            "main",
            "epoch(ts - lag(ts) OVER card_seq)",
            "seconds since the card's previous transaction",
            "previous row",
            "card",
        ),
        _f(
            "log_amount",
            "main",
            "ln(1 + amount)",
            "natural log of 1 + amount",
            "row",
            "transaction",
        ),
        _f(
            "amt_ratio_mean_30d",
            "main",
            "amount / nullif(avg(amount) OVER cust_30d_prev, 0)",
            "amount / customer's mean amount over the previous 30 days",
            PREV,
            "customer",
        ),
        _f(
            "amt_ratio_median_30d",
            "main",
            "amount / nullif(median(amount) OVER cust_30d_prev, 0)",
            "amount / customer's median amount over the previous 30 days",
            PREV,
            "customer",
        ),
        _f(
            "amt_zscore_30d",
            "main",
            "(amount - avg(amount) OVER cust_30d_prev) "
            "/ nullif(stddev_samp(amount) OVER cust_30d_prev, 0)",
            "z-score of the amount against the customer's previous 30 days",
            PREV,
            "customer",
        ),
        _f(
            "amt_ratio_max_30d",
            "main",
            "amount / nullif(max(amount) OVER cust_30d_prev, 0)",
            "amount / customer's largest amount over the previous 30 days",
            PREV,
            "customer",
        ),
        _f(
            "is_round_amount",
            "main",
            "CAST(amount >= 100 AND amount % 100 = 0 AS INTEGER)",
            "amount is a whole multiple of 100",
            "row",
            "transaction",
        ),
        _f(
            "near_threshold",
            "main",
            "CAST(amount >= 0.85 * $threshold AND amount < $threshold AS INTEGER)",
            "amount within 85-100% of the market's reporting threshold",
            "row",
            "transaction",
            ["threshold"],
        ),
        *_novelty(),
        _f(
            "dist_home_km",
            "main",
            "$haversine(lat, lon, home_lat, home_lon)",
            "distance from the customer's home",
            "row",
            "customer",
            ["lat", "lon", "home_lat", "home_lon"],
        ),
        _f(
            "dist_prev_km",
            "main",
            HAVERSINE_PREV,
            "distance from the customer's previous transaction",
            "previous row",
            "customer",
            ["lat", "lon"],
        ),
        _f(
            "speed_prev_kmh",
            "main",
            f"{HAVERSINE_PREV} / nullif(epoch(ts - lag(ts) OVER cust_seq) / 3600.0, 0)",
            "implied speed since the customer's previous transaction",
            "previous row",
            "customer",
            ["lat", "lon"],
        ),
        _sharing("device_customers_7d", "device_id", "customers", "7 days", "7 DAY", "device"),
        _sharing("ip_customers_7d", "ip_id", "customers", "7 days", "7 DAY", "ip"),
        _sharing("merchant_cards_1h", "merchant_id", "cards", "hour", "1 HOUR", "merchant"),
        *_entity_windows(),
        _f(
            "balance_before",
            "main",
            "balance_before",
            "account balance (available credit for cards) before the transaction",
            "row",
            "card",
            ["balance_before"],
        ),
        _f(
            "balance_zscore_30d",
            "main",
            "(balance_before - avg(balance_before) OVER card_30d_prev) "
            "/ nullif(stddev_samp(balance_before) OVER card_30d_prev, 0)",
            "z-score of the balance against the previous 30 days",
            PREV,
            "card",
            ["balance_before"],
        ),
        _f(
            "refund_rate_30d",
            "main",
            "sum(CAST(txn_type = 'refund' AS INTEGER)) OVER cust_30d_prev "
            "/ nullif(sum(CAST(txn_type = 'purchase' AS INTEGER)) OVER cust_30d_prev, 0)",
            "refunds / purchases of the customer over the previous 30 days",
            PREV,
            "customer",
            ["txn_type"],
        ),
        _f(
            "chargeback_rate_30d",
            "main",
            "sum(CAST(txn_type = 'chargeback' AS INTEGER)) OVER cust_30d_prev "
            "/ nullif(sum(CAST(txn_type = 'purchase' AS INTEGER)) OVER cust_30d_prev, 0)",
            "chargebacks / purchases of the customer over the previous 30 days",
            PREV,
            "customer",
            ["txn_type"],
        ),
        _f(
            "hours_since_email_change",
            "events",
            "epoch(b.ts - em.ts) / 3600.0",
            "hours since the customer's last email change",
            "history",
            "customer",
            ["events"],
        ),
        _f(
            "hours_since_phone_change",
            "events",
            "epoch(b.ts - ph.ts) / 3600.0",
            "hours since the customer's last phone change",
            "history",
            "customer",
            ["events"],
        ),
        _f(
            "bank_links_24h",
            "events",
            "coalesce(l0.n, 0) - coalesce(l1.n, 0)",
            "bank-link connections of the customer in the last 24 h",
            "24h",
            "customer",
            ["events"],
        ),
        _f(
            "bank_links_7d",
            "events",
            "coalesce(l0.n, 0) - coalesce(l7.n, 0)",
            "bank-link connections of the customer in the last 7 days",
            "7d",
            "customer",
            ["events"],
        ),
        _f("hour", "main", "hour(ts)", "hour of day", "row", "transaction"),
        _f("weekday", "main", "isodow(ts) - 1", "day of week, 0 = Monday", "row", "transaction"),
        _f(
            "is_weekend",
            "main",
            "CAST(isodow(ts) >= 6 AS INTEGER)",
            "Saturday or Sunday",
            "row",
            "transaction",
        ),
        _f(
            "is_night",
            "main",
            "CAST(hour(ts) < $night_end_hour AS INTEGER)",
            "between midnight and the night's end (hour < night_end_hour, default 5)",
            "row",
            "transaction",
        ),
        _f(
            "is_off_hours",
            "main",
            "CAST(hour(ts) >= 22 OR hour(ts) < 6 AS INTEGER)",
            "between 10 pm and 6 am",
            "row",
            "transaction",
        ),
        _f(
            "days_to_salary",
            "main",
            "CASE WHEN day(ts) <= $salary_day THEN $salary_day - day(ts) "
            "ELSE day(last_day(ts)) - day(ts) + $salary_day END",
            "days until the next salary day of the market",
            "row",
            "transaction",
            ["salary_day"],
        ),
        _f(
            "is_festival",
            "main",
            "CAST(CAST(ts AS DATE) IN (SELECT d FROM festival_days) AS INTEGER)",
            "the day is in one of the market's festival periods",
            "row",
            "transaction",
            ["festivals"],
        ),
    ]
)

# the online kernel's output columns: the online features in registry order
ONLINE_NAMES: tuple[str, ...] = tuple(f.name for f in CATALOGUE if f.online)
Slot = enum.IntEnum("Slot", [(name.upper(), i) for i, name in enumerate(ONLINE_NAMES)])
# the layout's fingerprint: the compiled kernel (cached on disk) checks it was compiled for
# this layout, since numba freezes the Slot values into the cached machine code
LAYOUT = zlib.crc32(",".join(ONLINE_NAMES).encode())

# named windows used by the "main" stage
WINDOWS = {
    **{
        f"cust_{s}": "PARTITION BY customer_id ORDER BY ts RANGE BETWEEN INTERVAL "
        f"{i} PRECEDING AND CURRENT ROW"
        for s, i in (("1h", "1 HOUR"), ("24h", "1 DAY"), ("7d", "7 DAY"), ("30d", "30 DAY"))
    },
    **{
        f"card_{s}": "PARTITION BY card_id ORDER BY ts RANGE BETWEEN INTERVAL "
        f"{i} PRECEDING AND CURRENT ROW"
        for s, i in (("1h", "1 HOUR"), ("24h", "1 DAY"), ("7d", "7 DAY"))
    },
    **{
        f"{e}_30d_prev": f"PARTITION BY {key} ORDER BY ts RANGE BETWEEN INTERVAL 30 DAY "
        "PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING"
        for e, key in (("cust", "customer_id"), ("card", "card_id"))
    },
    "cust_seq": "PARTITION BY customer_id ORDER BY ts, txn_id",
    "card_seq": "PARTITION BY card_id ORDER BY ts, txn_id",
    **{
        f"cust_{thing}": f"PARTITION BY customer_id, {column} ORDER BY ts, txn_id"
        for thing, column in (
            ("merchant", "merchant_id"),
            ("device", "device_id"),
            ("ip", "ip_id"),
            ("city", "city"),
            ("channel", "channel"),
        )
    },
}

# features a researcher registered (name -> feature), after the catalogue's
_registered: dict[str, Feature] = {}
USER_STAGES = ("user_sql", "user_python")


def register_feature(
    name: str,
    *,
    sql: str | None = None,
    func: Callable[[pd.DataFrame], object] | None = None,
    entity: str,
    window: str,
    uses_labels: bool,
    inputs: tuple[str, ...] | list[str] = (),
    definition: str = "",
) -> Feature:
    """Register a researcher's feature: either ``sql``, a DuckDB expression over the
    ``base`` rows (canonical input names, see ``workbench.features.store.INPUTS``; window
    functions allowed, e.g. ``avg(amount) OVER (PARTITION BY merchant_id ORDER BY ts RANGE
    BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW)``), or ``func``, a function of the
    frame of those rows in (time, txn_id) order returning one value per row. ``entity``,
    ``window``, ``uses_labels`` and ``inputs`` (the canonical inputs it reads) are its
    catalogue metadata; a source without one of the inputs skips it with the reason. It
    joins the catalogue, ``write_features`` (DuckDB engine) and the model features by name
    (``workbench.features.roles``); the online engine does not compute it and says so.
    Returns the feature."""
    from workbench.features.roles import register_feature_columns, role

    if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise InputError("name", name, "a lower-case identifier (letters, digits, _)")
    if any(f.name == name for f in CATALOGUE):
        raise InputError("name", name, "a name that is not a catalogue feature")
    if role(name) not in (None, "feature") or name in _registered:
        raise InputError(
            "name", name, "a name not yet registered and not a key, label or metadata column"
        )
    if (sql is None) == (func is None):
        raise InputError(
            "sql",
            sql,
            "exactly one of sql (a DuckDB expression) or func "
            "(a Python function of the ordered frame)",
        )
    if sql is not None and (not isinstance(sql, str) or not sql.strip()):
        raise InputError("sql", sql, "a non-empty DuckDB expression")
    if func is not None and not callable(func):
        raise InputError("func", func, "a function of a DataFrame")
    for param, value in (("entity", entity), ("window", window)):
        if not isinstance(value, str) or not value:
            raise InputError(param, value, "a non-empty description")
    if not isinstance(uses_labels, bool):
        raise InputError("uses_labels", uses_labels, "True or False")
    from workbench.features.store import INPUTS

    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    unknown = [i for i in inputs if i not in INPUTS]
    if unknown:
        raise InputError("inputs", unknown, "canonical inputs among " + ", ".join(INPUTS))
    if uses_labels and "confirmed_at" not in inputs:
        raise InputError(
            "inputs",
            inputs,
            "inputs including confirmed_at for a feature that "
            "uses labels (a label counts only once confirmed)",
        )
    feature = Feature(
        name,
        USER_STAGES[sql is None],
        sql or "",
        definition or name,
        window,
        entity,
        uses_labels,
        frozenset(inputs),
        online=False,
        func=func,
        origin="registered",
    )
    register_feature_columns([name], source="registered feature")
    _registered[name] = feature
    return feature


def unregister_feature(name: str) -> None:
    """Remove a registered feature (catalogue features stay)."""
    from workbench.features.roles import unregister_feature_columns

    if _registered.pop(name, None) is not None:
        unregister_feature_columns([name])


def all_features() -> tuple[Feature, ...]:
    """The catalogue's features, then the registered ones."""
    return CATALOGUE + tuple(_registered.values())


def _window_text(f: Feature, delay_days: float) -> str:
    if f.aggregate is not None and any(w.delayed for w in f.aggregate.windows()):
        return f"{f.window} (label delay {delay_days:g} d)"
    return f.window


def catalogue_frame(label_delay_days: float = DEFAULT_LABEL_DELAY_DAYS) -> pd.DataFrame:
    """The catalogue as a table (for the notebook and the docs), registered features
    included; windows that depend on the label delay show ``label_delay_days``."""
    return pd.DataFrame(
        [
            {
                "name": f.name,
                "definition": f.definition,
                "window": _window_text(f, label_delay_days),
                "entity": f.entity,
                "uses_labels": f.uses_labels,
                "requires": ", ".join(sorted(f.requires)) or "-",
                "online": f.online,
                "origin": f.origin,
            }
            for f in all_features()
        ]
    )
