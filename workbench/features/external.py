"""Column mappings for external transaction tables (YAML files of canonical: column)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import yaml

from workbench.simulate.profiles import DATA_DIR
from workbench.validation import InputError

EXAMPLE_TABLE = DATA_DIR / "examples" / "minimal_transactions.csv"
EXAMPLE_MAPPING = DATA_DIR / "examples" / "minimal_mapping.yaml"


def load_mapping(path: str | os.PathLike) -> dict[str, str]:
    """Read a mapping file; raise InputError if it is not a mapping of names to column names."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("mapping", str(path), f"a readable YAML mapping file ({exc})") from None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise InputError(
            "mapping", str(path), "a YAML mapping of canonical input names to column names"
        )
    return raw


# How each canonical input is read from an external table: the typed value (TRY_CAST, so a
# bad value becomes NULL and is reported rather than failing inside DuckDB) and the rule
# its values follow. Times with a UTC offset are converted to UTC; times without one are
# taken as UTC already (the connection's time zone is set to UTC).
ID, NUMBER = "TRY_CAST({c} AS BIGINT)", "TRY_CAST({c} AS DOUBLE)"
TIME = "CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP)"
IDS = ("txn_id", "customer_id", "card_id", "merchant_id", "device_id", "ip_id")
NUMBERS = ("amount", "lat", "lon", "home_lat", "home_lon", "balance_before")
TYPED = {
    **dict.fromkeys(IDS, ID),
    **dict.fromkeys(NUMBERS, NUMBER),
    "ts": TIME,
    "confirmed_at": TIME,
    "is_fraud": "TRY_CAST({c} AS BOOLEAN)",
}
REQUIRED = ("txn_id", "ts", "customer_id", "card_id", "amount", "is_fraud")  # no nulls
LABELS = "('true', 'false', 't', 'f', '1', '0', '1.0', '0.0', 'yes', 'no')"
PARSED = "{v} IS NOT NULL OR {c} IS NULL"
FINITE = "({v} IS NULL OR isfinite({v}))"
LAT = (
    FINITE + " AND ({v} IS NULL OR {v} BETWEEN -90 AND 90)",
    "a latitude from -90 to 90 or empty",
)
LON = (
    FINITE + " AND ({v} IS NULL OR {v} BETWEEN -180 AND 180)",
    "a longitude from -180 to 180 or empty",
)
RULES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(IDS, (PARSED, "a whole-number id")),
    "ts": (PARSED, "a timestamp (YYYY-MM-DD HH:MM:SS, optionally with a UTC offset)"),
    "confirmed_at": (PARSED, "a timestamp or empty (not confirmed)"),
    "amount": (
        "{v} IS NOT NULL AND isfinite({v}) AND {v} >= 0 OR {c} IS NULL",
        "a finite number >= 0 (the sign of a flow is its txn_type, not its amount)",
    ),
    "is_fraud": (
        "{c} IS NULL OR {v} IS NOT NULL AND lower(trim(CAST({c} AS VARCHAR))) IN " + LABELS,
        "a boolean label (true/false or 1/0)",
    ),
    "lat": LAT,
    "lon": LON,
    "home_lat": LAT,
    "home_lon": LON,
    "balance_before": (FINITE + " OR {c} IS NULL", "a finite number or empty"),
}


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _columns(mapping: dict[str, str]) -> dict[str, str]:
    """The mapping with ``card_id`` defaulting to ``customer_id``."""
    return {**({"card_id": mapping["customer_id"]} if "card_id" not in mapping else {}), **mapping}


def typed_columns(mapping: dict[str, str]) -> list[str]:
    """The SELECT list reading ``source_table`` in canonical names and types
    (``card_id`` defaults to ``customer_id``)."""
    cols = _columns(mapping)
    return [f"{TYPED.get(k, '{c}').format(c=_quote(src))} AS {k}" for k, src in cols.items()]


def check_table(con: duckdb.DuckDBPyConnection, mapping: dict[str, str], show: int = 5) -> None:
    """Check the values of the mapped columns of ``source_table`` on ``con`` in one pass;
    raise InputError naming the table column, its first bad values and their row numbers
    (1-based data rows) on the first rule broken: no missing ids, times, customers, cards,
    amounts or labels; unique ``txn_id``; parseable times; finite amounts >= 0; coordinates
    in range. Sets the connection's time zone to UTC (see ``TIME``)."""
    con.execute("SET TimeZone = 'UTC'")
    cols = _columns(mapping)
    value = {k: _quote("v_" + k) for k in cols}
    typed = "".join(
        f", {TYPED[k].format(c=_quote(src))} AS {value[k]}"
        for k, src in cols.items()
        if k in TYPED
    )
    checks: list[tuple[str, str, str]] = []  # (canonical name, condition of a bad row, allowed)
    for key in REQUIRED:
        if key in cols:
            checks.append(
                (key, f"{_quote(cols[key])} IS NULL", "a value in every row (this one is empty)")
            )
    checks.append(
        (
            "txn_id",
            f"__n_id > 1 AND {value['txn_id']} IS NOT NULL",
            "unique transaction ids (this one is repeated)",
        )
    )
    for key, (ok, allowed) in RULES.items():
        if key in cols:
            checks.append((key, f"NOT ({ok.format(c=_quote(cols[key]), v=value[key])})", allowed))
    rows = f"""WITH r AS (SELECT row_number() OVER () AS __row, *{typed} FROM source_table),
               c AS (SELECT *, count(*) OVER (PARTITION BY {value["txn_id"]}) AS __n_id FROM r)"""
    counts = ", ".join(f"count(*) FILTER (WHERE {bad})" for _, bad, _ in checks)
    try:
        found = con.execute(f"{rows} SELECT {counts} FROM c").fetchall()[0]
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        raise InputError("table", "unreadable", f"a table DuckDB can read ({reason})") from None
    for (key, bad, allowed), n in zip(checks, found):
        if n:
            text = f"CAST({_quote(cols[key])} AS VARCHAR)"
            first = con.execute(
                f"{rows} SELECT __row, {text} FROM c WHERE {bad} ORDER BY __row LIMIT {int(show)}"
            ).fetchall()
            where = ", ".join(str(r) for r, _ in first)
            raise InputError(
                f"table.{cols[key]}",
                [v for _, v in first],
                f"{allowed}, for {key} ({n:,} bad rows; first at rows {where})",
            )
