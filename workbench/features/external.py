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
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise InputError("mapping", str(path), "a YAML mapping of canonical input names to column names")
    return raw


# How each canonical input is read from an external table: the typed value (TRY_CAST, so a
# bad value becomes NULL and is reported rather than failing inside DuckDB) and the rule
# its values follow. Times with a UTC offset are converted to UTC; times without one are
# taken as UTC already (the connection's time zone is set to UTC).
TIME = "CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP)"
ID = "TRY_CAST({c} AS BIGINT)"
LABELS = "('true', 'false', 't', 'f', '1', '0', '1.0', '0.0', 'yes', 'no')"
TYPED = {"txn_id": ID, "customer_id": ID, "card_id": ID, "merchant_id": ID, "device_id": ID, "ip_id": ID, "ts": TIME, "confirmed_at": TIME, "amount": "TRY_CAST({c} AS DOUBLE)", "is_fraud": "TRY_CAST({c} AS BOOLEAN)",
         "lat": "TRY_CAST({c} AS DOUBLE)", "lon": "TRY_CAST({c} AS DOUBLE)", "home_lat": "TRY_CAST({c} AS DOUBLE)",
         "home_lon": "TRY_CAST({c} AS DOUBLE)", "balance_before": "TRY_CAST({c} AS DOUBLE)"}
REQUIRED = ("txn_id", "ts", "customer_id", "card_id", "amount", "is_fraud")  # no nulls
FINITE = "({v} IS NULL OR isfinite({v}))"
RULES: dict[str, tuple[str, str]] = {
    **{k: ("{v} IS NOT NULL OR {c} IS NULL", "a whole-number id") for k in ("txn_id", "customer_id", "card_id", "merchant_id",
                                                                         "device_id", "ip_id")},
    "ts": ("{v} IS NOT NULL OR {c} IS NULL", "a timestamp (YYYY-MM-DD HH:MM:SS, optionally with a UTC offset)"),
    "confirmed_at": ("{v} IS NOT NULL OR {c} IS NULL", "a timestamp or empty (not confirmed)"),
    "amount": ("{v} IS NOT NULL AND isfinite({v}) AND {v} >= 0 OR {c} IS NULL",
               "a finite number >= 0 (the sign of a flow is its txn_type, not its amount)"),
    "is_fraud": ("{c} IS NULL OR {v} IS NOT NULL AND lower(trim(CAST({c} AS VARCHAR))) IN " + LABELS,
                 "a boolean label (true/false or 1/0)"),
    "lat": (FINITE + " AND ({v} IS NULL OR {v} BETWEEN -90 AND 90)", "a latitude from -90 to 90 or empty"),
    "lon": (FINITE + " AND ({v} IS NULL OR {v} BETWEEN -180 AND 180)", "a longitude from -180 to 180 or empty"),
    "home_lat": (FINITE + " AND ({v} IS NULL OR {v} BETWEEN -90 AND 90)", "a latitude from -90 to 90 or empty"),
    "home_lon": (FINITE + " AND ({v} IS NULL OR {v} BETWEEN -180 AND 180)", "a longitude from -180 to 180 or empty"),
    "balance_before": (FINITE + " OR {c} IS NULL", "a finite number or empty"),
}


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def typed_columns(mapping: dict[str, str]) -> list[str]:
    """The SELECT list reading ``source_table`` in canonical names and types
    (``card_id`` defaults to ``customer_id``)."""
    cols = {**({"card_id": mapping["customer_id"]} if "card_id" not in mapping else {}), **mapping}
    return [f"{TYPED.get(k, '{c}').format(c=_quote(src))} AS {k}" for k, src in cols.items()]


def check_table(con, mapping: dict[str, str], show: int = 5) -> None:
    """Check the values of the mapped columns of ``source_table`` on ``con`` in one pass;
    raise InputError naming the table column, its first bad values and their row numbers
    (1-based data rows) on the first rule broken: no missing ids, times, customers, cards,
    amounts or labels; unique ``txn_id``; parseable times; finite amounts >= 0; coordinates
    in range. Sets the connection's time zone to UTC (see ``TIME``)."""
    con.execute("SET TimeZone = 'UTC'")
    cols = {**({"card_id": mapping["customer_id"]} if "card_id" not in mapping else {}), **mapping}
    typed = ", ".join(f"{TYPED[k].format(c=_quote(src))} AS {_quote('v_' + k)}" for k, src in cols.items() if k in TYPED)
    checks: list[tuple[str, str, str]] = []  # (canonical name, condition of a bad row, allowed)
    for key in REQUIRED:
        if key in cols:
            checks.append((key, f"{_quote(cols[key])} IS NULL", "a value in every row (this one is empty)"))
    checks.append(("txn_id", "__n_id > 1 AND v_txn_id IS NOT NULL", "unique transaction ids (this one is repeated)"))
    for key, (ok, allowed) in RULES.items():
        if key in cols:
            checks.append((key, f"NOT ({ok.format(c=_quote(cols[key]), v=_quote('v_' + key))})", allowed))
    rows = f"""WITH r AS (SELECT row_number() OVER () AS __row, *{', ' + typed if typed else ''} FROM source_table),
               c AS (SELECT *, count(*) OVER (PARTITION BY {_quote('v_txn_id')}) AS __n_id FROM r)"""
    try:
        counts = con.execute(f"{rows} SELECT {', '.join(f'count(*) FILTER (WHERE {bad})' for _, bad, _ in checks)} FROM c").fetchall()[0]
    except duckdb.Error as exc:
        raise InputError("table", "unreadable", f"a table DuckDB can read ({str(exc).splitlines()[0]})") from None
    for (key, bad, allowed), n in zip(checks, counts):
        if n:
            first = con.execute(f"{rows} SELECT __row, CAST({_quote(cols[key])} AS VARCHAR) FROM c WHERE {bad} "
                                f"ORDER BY __row LIMIT {int(show)}").fetchall()
            raise InputError(f"table.{cols[key]}", [v for _, v in first],
                             f"{allowed}, for {key} ({n:,} bad rows; first at rows {', '.join(str(r) for r, _ in first)})")
