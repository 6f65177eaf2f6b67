"""Compute the catalogue's features in DuckDB and write them to Parquet.

Every source becomes a ``base`` view with canonical column names (see ``INPUTS``): a
workbench dataset directly, any other transaction table through a column mapping. Features
whose inputs are missing are skipped with a logged note. ``cut`` truncates the data at a
time (rows and events at or before it), which the leakage tests use: features of rows at or
before the cut must not change.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from workbench.dataset.reader import open_dataset
from workbench.features.catalogue import CATALOGUE, WINDOWS, Feature
from workbench.features.external import check_table, typed_columns
from workbench.features.online import write_online_features
from workbench.products import check_target, writing
from workbench.simulate.profiles import load_market
from workbench.validation import InputError, check_choice, check_int

log = logging.getLogger(__name__)

MINIMAL = ("txn_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud")
OPTIONAL = ("card_id", "confirmed_at", "lat", "lon", "device_id", "ip_id", "home_lat", "home_lon", "balance_before",
            "city", "channel", "txn_type")
INPUTS = MINIMAL + OPTIONAL
KEYS = ("txn_id", "ts", "customer_id", "card_id")
ENGINES = ("auto", "duckdb", "online")
HAVERSINE = """CREATE OR REPLACE MACRO haversine(lat1, lon1, lat2, lon2) AS
    2 * 6371.0088 * asin(sqrt(pow(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2)))"""


@dataclass
class Source:
    """A ``base`` view registered on a connection, what it offers, and market parameters."""

    con: duckdb.DuckDBPyConnection
    available: set[str]
    params: dict[str, Any] = field(default_factory=dict)  # threshold, salary_day, festivals

    def features(self) -> tuple[list[Feature], list[tuple[str, list[str]]]]:
        """Computable features and the skipped ones with their missing inputs."""
        have = self.available | set(self.params)
        keep, skipped = [], []
        for f in CATALOGUE:
            missing = sorted(f.requires - have)
            (skipped.append((f.name, missing)) if missing else keep.append(f))
        return keep, skipped


def dataset_source(path: str | os.PathLike, con: duckdb.DuckDBPyConnection | None = None) -> Source:
    """A workbench dataset as a feature source (everything available, events included)."""
    ds = open_dataset(path)
    con = ds.attach(con or duckdb.connect())
    con.execute("""CREATE OR REPLACE TEMP VIEW base_all AS
        SELECT t.txn_id, t.timestamp AS ts, t.customer_id, t.account_id AS card_id,
               nullif(t.merchant_id, -1) AS merchant_id, t.amount, t.is_fraud, l.fraud_confirmed_at AS confirmed_at,
               t.lat, t.lon, nullif(t.device_id, -1) AS device_id, nullif(t.ip_id, -1) AS ip_id,
               c.home_lat, c.home_lon, t.balance_before, CAST(t.city AS VARCHAR) AS city,
               CAST(t.channel AS VARCHAR) AS channel, CAST(t.txn_type AS VARCHAR) AS txn_type
        FROM transactions t JOIN labels l USING (txn_id) JOIN customers c USING (customer_id)""")
    con.execute("CREATE OR REPLACE TEMP VIEW events_all AS SELECT customer_id, timestamp, event_id, CAST(event_type AS VARCHAR) AS event_type FROM events")
    market = load_market(ds.card["market"])
    cfg = ds.card["config"]
    fest = market.festival_multipliers(pd.Timestamp(cfg["start"]).date(), int(cfg["days"]))
    days = pd.date_range(cfg["start"], periods=int(cfg["days"]), freq="D")[fest > 1]
    return Source(con, set(INPUTS) | {"events"}, {"threshold": market.reporting_threshold, "salary_day": market.salary_day,
                                                  "festivals": [d.date() for d in days]})


def table_source(table: str | os.PathLike | pd.DataFrame, mapping: dict[str, str], params: dict[str, Any] | None = None,
                 con: duckdb.DuckDBPyConnection | None = None) -> Source:
    """Any transaction table (CSV, Parquet or a DataFrame) as a feature source.

    ``mapping`` maps canonical input names (``INPUTS``) to the table's columns; the minimal
    schema (``MINIMAL``) is required, ``card_id`` defaults to ``customer_id``. ``params`` may
    give ``threshold`` (reporting threshold), ``salary_day`` and ``festivals`` (dates).
    The values are checked first (:func:`workbench.features.external.check_table`: unique
    ids, no missing keys, times or amounts, finite amounts >= 0, parseable times; times
    with a UTC offset are converted to UTC).
    """
    if not isinstance(mapping, dict):
        raise InputError("mapping", mapping, "a mapping from canonical names to column names")
    unknown = set(mapping) - set(INPUTS)
    if unknown:
        raise InputError("mapping", sorted(unknown), "keys among " + ", ".join(INPUTS))
    missing = [k for k in MINIMAL if k not in mapping]
    if missing:
        raise InputError("mapping", sorted(mapping), "a mapping with at least " + ", ".join(MINIMAL) + f" (missing {', '.join(missing)})")
    con = con or duckdb.connect()
    if isinstance(table, pd.DataFrame):
        # mixed Python objects in a column stop DuckDB's scan midway: read them as text,
        # which the typed reading of the mapped columns checks
        text = {c: "string" for c in table.columns if table[c].dtype == object}
        con.register("source_table", table.astype(text) if text else table)
    else:
        path = Path(table)
        if not path.is_file():
            raise InputError("table", str(table), "a CSV or Parquet file")
        # CSV cells are read as text: the mapped columns are typed and checked row by row
        # (the sniffer's guess from a sample would fail midway on a later odd row)
        reader = f"read_parquet('{path.as_posix()}')" if path.suffix == ".parquet" else f"read_csv('{path.as_posix()}', all_varchar=true)"
    try:
        if not isinstance(table, pd.DataFrame):
            con.execute(f"CREATE OR REPLACE TEMP VIEW source_table AS SELECT * FROM {reader}")
        columns = set(con.execute("SELECT * FROM source_table LIMIT 0").df().columns)
    except duckdb.Error as exc:
        raise InputError("table", str(table) if not isinstance(table, pd.DataFrame) else "DataFrame",
                         f"a readable CSV or Parquet table ({str(exc).splitlines()[0]})") from None
    absent = {k: v for k, v in mapping.items() if v not in columns}
    if absent:
        key = sorted(absent)[0]
        raise InputError(f"mapping.{key}", absent[key], "a column of the table: " + ", ".join(sorted(columns)))
    check_table(con, mapping)
    con.execute(f"CREATE OR REPLACE TEMP VIEW base_all AS SELECT {', '.join(typed_columns(mapping))} FROM source_table")
    available = set(mapping) | {"card_id"}
    for name in sorted(set(INPUTS) - available):
        log.info("input %s not mapped: features that need it are skipped", name)
    return Source(con, available, dict(params or {}))


GLOBAL_STAGES = frozenset({"device", "ip", "merchant", "risk"})  # windows across customers
GLOBAL_COLUMNS = ("txn_id", "ts", "customer_id", "card_id", "merchant_id", "device_id", "ip_id", "is_fraud", "confirmed_at")


def _sql(source: Source, features: list[Feature], extra_join: str | None = None) -> str:
    """One query computing ``features`` over the ``base`` relation (optionally joined with
    ``extra_join``, a table of already computed features keyed by txn_id)."""
    p = source.params
    def expr(f: Feature) -> str:
        out = f.sql.replace("$haversine", "haversine")
        if "threshold" in p:
            out = out.replace("$threshold", repr(float(p["threshold"])))
        if "salary_day" in p:
            out = out.replace("$salary_day", str(int(p["salary_day"])))
        return f"{out} AS {f.name}"

    by_stage: dict[str, list[Feature]] = {}
    for f in features:
        by_stage.setdefault(f.stage, []).append(f)
    ctes, joins = [], []
    # one stage for every window over the row's own partitions: DuckDB chains the window
    # operators over the same rows, which beats one join per window family
    main = by_stage.get("main", [])
    windows = sorted({w for f in main for w in WINDOWS if re.search(rf"\b{w}\b", f.sql)})
    window = " WINDOW " + ", ".join(f"{w} AS ({WINDOWS[w]})" for w in windows) if windows else ""
    ctes.append(f"main AS (SELECT {', '.join(KEYS)}{''.join(', ' + expr(f) for f in main)} FROM base{window})")
    for stage, key in (("device", "device_id"), ("ip", "ip_id"), ("merchant", "merchant_id")):
        if stage in by_stage:
            ctes.append(f"{stage} AS (SELECT txn_id, {', '.join(expr(f) for f in by_stage[stage])} FROM base WHERE {key} IS NOT NULL)")
            joins.append(stage)
    if "risk" in by_stage:
        n = ", ".join(f"count(*) OVER (PARTITION BY merchant_id ORDER BY ts RANGE BETWEEN INTERVAL {d} DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING) AS n_{d}d" for d in (1, 7, 30))
        fr = ", ".join(f"count(*) FILTER (WHERE f.ts >= b.ts - INTERVAL {d} DAY) AS fraud_{d}d" for d in (1, 7, 30))
        ctes += [
            f"risk_n AS (SELECT txn_id, {n} FROM base WHERE merchant_id IS NOT NULL)",
            "frauds AS (SELECT merchant_id, ts, confirmed_at FROM base WHERE is_fraud AND confirmed_at IS NOT NULL AND merchant_id IS NOT NULL)",
            f"""risk_f AS (SELECT b.txn_id, {fr} FROM base b JOIN frauds f ON f.merchant_id = b.merchant_id
                          AND f.ts >= b.ts - INTERVAL 30 DAY AND f.ts < b.ts AND f.confirmed_at < b.ts GROUP BY b.txn_id)""",
            f"risk AS (SELECT m.txn_id, {', '.join(expr(f) for f in by_stage['risk'])} FROM risk_n m LEFT JOIN risk_f r USING (txn_id))",
        ]
        joins.append("risk")
    if "events" in by_stage:
        ctes += [
            "em AS (SELECT customer_id, timestamp AS ts FROM ev WHERE event_type = 'email_change')",
            "ph AS (SELECT customer_id, timestamp AS ts FROM ev WHERE event_type = 'phone_change')",
            "links AS (SELECT customer_id, timestamp AS ts, row_number() OVER (PARTITION BY customer_id ORDER BY timestamp, event_id) AS n FROM ev WHERE event_type = 'bank_link')",
            f"""events AS (SELECT b.txn_id, {', '.join(expr(f) for f in by_stage['events'])} FROM base b
                ASOF LEFT JOIN em ON b.customer_id = em.customer_id AND b.ts >= em.ts
                ASOF LEFT JOIN ph ON b.customer_id = ph.customer_id AND b.ts >= ph.ts
                ASOF LEFT JOIN links l0 ON b.customer_id = l0.customer_id AND b.ts >= l0.ts
                ASOF LEFT JOIN links l1 ON b.customer_id = l1.customer_id AND b.ts - INTERVAL 1 DAY >= l1.ts
                ASOF LEFT JOIN links l7 ON b.customer_id = l7.customer_id AND b.ts - INTERVAL 7 DAY >= l7.ts)""",
        ]
        joins.append("events")
    zero_fill = {f.name for s in ("device", "ip", "merchant") for f in by_stage.get(s, [])}
    select = [f"main.{k}" for k in KEYS] + [f"main.{f.name}" for f in main]
    for stage in joins:
        select += [f"coalesce({stage}.{f.name}, 0) AS {f.name}" if f.name in zero_fill else f"{stage}.{f.name}" for f in by_stage[stage]]
    if extra_join:
        select.append(f"{extra_join}.* EXCLUDE (txn_id)")
        joins.append(extra_join)
        ctes.append(f"{extra_join} AS (SELECT * FROM {extra_join}_table)")
    from_ = "main" + "".join(f" LEFT JOIN {s} USING (txn_id)" for s in joins)
    return f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM {from_}"


def _prepare(source: Source, cut: pd.Timestamp | None = None) -> tuple[list[Feature], list[str]]:
    """Register the helpers every stage uses (macro, events view, festival days); return
    the computable features and log and return the skipped ones."""
    con = source.con
    con.execute(HAVERSINE)
    con.execute("SET preserve_insertion_order = false")  # row order is not part of the result (txn_id is the key)
    if "events" in source.available:
        ev_where = f" WHERE timestamp <= TIMESTAMP '{pd.Timestamp(cut)}'" if cut is not None else ""
        con.execute(f"CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM events_all{ev_where}")
    if "festivals" in source.params:
        days = pd.DataFrame({"d": pd.to_datetime(list(source.params["festivals"]) or [pd.Timestamp("1900-01-01")]).date})
        con.register("festival_days_df", days)
        con.execute("CREATE OR REPLACE TEMP TABLE festival_days AS SELECT CAST(d AS DATE) AS d FROM festival_days_df")
    keep, skipped = source.features()
    for name, missing in skipped:
        log.info("feature %s skipped: needs %s", name, ", ".join(missing))
    return keep, [name for name, _ in skipped]


def feature_query(source: Source, cut: pd.Timestamp | None = None) -> tuple[str, list[str]]:
    """The feature SQL over ``source`` (truncated at ``cut``) and the names of skipped features."""
    keep, skipped = _prepare(source, cut)
    where = f" WHERE ts <= TIMESTAMP '{pd.Timestamp(cut)}'" if cut is not None else ""
    # materialised once: every stage reads it, and a view would redo its joins each time
    source.con.execute(f"CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all{where}")
    return _sql(source, keep), skipped


def compute_features(source: Source, cut: pd.Timestamp | None = None) -> pd.DataFrame:
    """The features as a pandas frame in time order (for tests and small data)."""
    sql, _ = feature_query(source, cut)
    return source.con.execute(sql).df().sort_values(["ts", "txn_id"], ignore_index=True)


def write_features(source: Source, out: str | os.PathLike, overwrite: bool = False, batch_rows: int = 1_000_000,
                   engine: str = "auto") -> dict[str, Any]:
    """Compute the features and write them to one Parquet file, atomically.

    Two engines compute the same values (tests compare them): ``online`` runs the compiled
    online state of the stream scorer (``workbench.features.online``) over all rows in time
    order, ``batch_rows`` at a time; it needs every input of the catalogue and the account
    events (a workbench dataset). ``duckdb`` evaluates the catalogue's SQL: features whose
    windows cross customers (device, IP, merchant, merchant risk) once over a narrow
    projection of all rows, the rest, which only look at one customer's rows, in batches of
    about ``batch_rows`` rows by customer, so memory stays bounded. ``auto`` (default) takes
    the online engine where it can. The file appears at ``out`` only when complete; an
    existing file is replaced only with ``overwrite``. Returns the row count, the skipped
    features and the engine used.
    """
    batch_rows = check_int("batch_rows", batch_rows, 1)
    engine = check_choice("engine", engine, ENGINES)
    out = check_target(out, overwrite)
    keep, skipped = _prepare(source)
    complete = not skipped and "events" in source.available
    if engine == "online" and not complete:
        raise InputError("engine", engine, f"'duckdb' or 'auto' for this source (the online engine needs every input; missing for {skipped[:3]})")
    engine = "online" if engine == "online" or (engine == "auto" and complete) else "duckdb"
    global_feats = [f for f in keep if f.stage in GLOBAL_STAGES]
    local_feats = [f for f in keep if f.stage not in GLOBAL_STAGES]
    with writing(out, overwrite=overwrite, checked=True) as tmp:
        if engine == "online":
            write_online_features(source, tmp, _schema(source, local_feats, global_feats), batch_rows)
        else:
            _write_duckdb(source, tmp, local_feats, global_feats, batch_rows)
    con = source.con
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out.as_posix()}')").fetchall()[0][0]
    return {"rows": rows, "features": len(CATALOGUE) - len(skipped), "skipped": skipped, "path": str(out), "engine": engine}


def _schema(source: Source, local_feats: list[Feature], global_feats: list[Feature]) -> pa.Schema:
    """The columns and types the DuckDB engine writes (keys, customer-local features, then
    cross-customer ones), read from its queries over a slice of 1,000 rows."""
    con = source.con
    con.execute("CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all LIMIT 1000")
    local = con.sql(_sql(source, local_feats)).to_arrow_table().schema
    shared = con.sql(_sql(source, global_feats)).to_arrow_table().schema
    return pa.schema([*local, *(f for f in shared if f.name not in KEYS)])


def _write_duckdb(source: Source, path: Path, local_feats: list[Feature], global_feats: list[Feature], batch_rows: int) -> None:
    """The DuckDB engine of :func:`write_features`: cross-customer features once, then
    customer batches of about ``batch_rows`` rows joined to them, written to ``path``."""
    con = source.con
    cols = [c for c in GLOBAL_COLUMNS if c in source.available or c == "card_id"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE base AS SELECT {', '.join(cols)} FROM base_all")
    con.execute(f"CREATE OR REPLACE TEMP TABLE shared_table AS {_sql(source, global_feats)}")
    con.execute("ALTER TABLE shared_table DROP COLUMN ts; ALTER TABLE shared_table DROP COLUMN customer_id; ALTER TABLE shared_table DROP COLUMN card_id")
    n = con.execute("SELECT count(*) FROM base_all").fetchall()[0][0]
    batches = max(1, -(-n // batch_rows))
    edges = con.execute(f"SELECT quantile_disc(customer_id, [{', '.join(str(i / batches) for i in range(1, batches))}]) FROM base_all").fetchall()[0][0] if batches > 1 else []
    bounds = [None, *sorted(set(edges)), None]
    parts = path.with_name(path.name + ".parts")  # beside the per-run temporary: a rerun cleans it
    parts.mkdir()
    try:
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            where = " AND ".join([c for c in (f"customer_id >= {lo}" if lo is not None else "", f"customer_id < {hi}" if hi is not None else "") if c]) or "TRUE"
            con.execute(f"CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all WHERE {where}")
            if "events" in source.available:
                con.execute(f"CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM events_all WHERE {where}")
            sql = _sql(source, local_feats, extra_join="shared")
            con.execute(f"COPY ({sql}) TO '{(parts / f'part-{i:04d}.parquet').as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY (SELECT * FROM read_parquet('{parts.as_posix()}/*.parquet')) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        for p in parts.glob("*"):
            p.unlink()
        parts.rmdir()
