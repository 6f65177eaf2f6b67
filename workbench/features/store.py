"""Compute the catalogue's features in DuckDB and write them to Parquet.

Every source becomes a ``base`` view with canonical column names (see ``INPUTS``): a
workbench dataset directly, any other transaction table through a column mapping. Features
whose inputs are missing are skipped: the reason is returned (and logged). The stages' SQL
is generated from the feature registry (``workbench.features.catalogue``). ``cut``
truncates the data at a time (rows and events at or before it), which the leakage tests
use: features of rows at or before the cut must not change.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.dataset.reader import open_dataset
from workbench.features.catalogue import (
    DEFAULT_LABEL_DELAY_DAYS,
    DEFAULT_NIGHT_END_HOUR,
    ENTITY_KEYS,
    WINDOWS,
    Feature,
    all_features,
)
from workbench.features.external import check_table, typed_columns
from workbench.features.online import write_online_features
from workbench.products import check_target, writing
from workbench.simulate.profiles import load_market
from workbench.validation import InputError, check_choice, check_float, check_int

log = logging.getLogger(__name__)

MINIMAL = ("txn_id", "ts", "customer_id", "merchant_id", "amount", "is_fraud")
OPTIONAL = (
    "card_id",
    "confirmed_at",
    "lat",
    "lon",
    "device_id",
    "ip_id",
    "home_lat",
    "home_lon",
    "balance_before",
    "city",
    "channel",
    "txn_type",
)
INPUTS = MINIMAL + OPTIONAL
KEYS = ("txn_id", "ts", "customer_id", "card_id")
ENGINES = ("auto", "duckdb", "online")
HAVERSINE = """CREATE OR REPLACE MACRO haversine(lat1, lon1, lat2, lon2) AS
    2 * 6371.0088 * asin(sqrt(pow(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2)))"""


@dataclass
class Source:
    """A ``base`` view registered on a connection, what it offers, its parameters
    (``threshold``, ``salary_day``, ``festivals``, ``label_delay_days``,
    ``night_end_hour``) and its kind (``dataset`` or ``table``)."""

    con: duckdb.DuckDBPyConnection
    available: set[str]
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "table"

    def features(self) -> tuple[list[Feature], dict[str, str]]:
        """Computable features (catalogue and registered) and the skipped ones with the
        reason (the inputs or parameters missing)."""
        have = self.available | set(self.params)
        keep, skipped = [], {}
        for f in all_features():
            missing = sorted(f.requires - have)
            if missing:
                skipped[f.name] = "needs " + ", ".join(missing) + " (not in the source)"
            else:
                keep.append(f)
        return keep, skipped


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    """The source parameters with the label delay and night end checked and defaulted."""
    out = dict(params)
    out["label_delay_days"] = check_float(
        "label_delay_days", out.get("label_delay_days", DEFAULT_LABEL_DELAY_DAYS), 0.0, 365.0
    )
    out["night_end_hour"] = check_int(
        "night_end_hour", out.get("night_end_hour", DEFAULT_NIGHT_END_HOUR), 0, 24
    )
    return out


def dataset_source(
    path: str | os.PathLike,
    con: duckdb.DuckDBPyConnection | None = None,
    label_delay_days: float | None = None,
    night_end_hour: int = DEFAULT_NIGHT_END_HOUR,
) -> Source:
    """A workbench dataset as a feature source (everything available, events included).
    The label delay defaults to the one the dataset was generated with (its card's fraud
    mix: the mean delay), else :data:`DEFAULT_LABEL_DELAY_DAYS`."""
    ds = open_dataset(path)
    con = ds.attach(con or duckdb.connect())
    con.execute("""CREATE OR REPLACE TEMP VIEW base_all AS
        SELECT t.txn_id, t.timestamp AS ts, t.customer_id, t.account_id AS card_id,
               nullif(t.merchant_id, -1) AS merchant_id, t.amount, t.is_fraud,
               l.fraud_confirmed_at AS confirmed_at,
               t.lat, t.lon, nullif(t.device_id, -1) AS device_id, nullif(t.ip_id, -1) AS ip_id,
               c.home_lat, c.home_lon, t.balance_before, CAST(t.city AS VARCHAR) AS city,
               CAST(t.channel AS VARCHAR) AS channel, CAST(t.txn_type AS VARCHAR) AS txn_type
        FROM transactions t JOIN labels l USING (txn_id) JOIN customers c USING (customer_id)""")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW events_all AS SELECT customer_id, timestamp, event_id, "
        "CAST(event_type AS VARCHAR) AS event_type FROM events"
    )
    market = load_market(ds.card["market"])
    cfg = ds.card["config"]
    fest = market.festival_multipliers(pd.Timestamp(cfg["start"]).date(), int(cfg["days"]))
    days = pd.date_range(cfg["start"], periods=int(cfg["days"]), freq="D")[fest > 1]
    if label_delay_days is None:
        mix = ds.card.get("fraud_mix") or {}
        label_delay_days = (mix.get("label_delay") or {}).get(
            "mean_days", DEFAULT_LABEL_DELAY_DAYS
        )
    params = {
        "threshold": market.reporting_threshold,
        "salary_day": market.salary_day,
        "festivals": [d.date() for d in days],
        "label_delay_days": label_delay_days,
        "night_end_hour": night_end_hour,
    }
    return Source(con, set(INPUTS) | {"events"}, _check_params(params), kind="dataset")


def table_source(
    table: str | os.PathLike | pd.DataFrame,
    mapping: dict[str, str],
    params: dict[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Source:
    """Any transaction table (CSV, Parquet or a DataFrame) as a feature source.

    ``mapping`` maps canonical input names (``INPUTS``) to the table's columns; the minimal
    schema (``MINIMAL``) is required, ``card_id`` defaults to ``customer_id``. ``params`` may
    give ``threshold`` (reporting threshold), ``salary_day``, ``festivals`` (dates),
    ``label_delay_days`` (default :data:`DEFAULT_LABEL_DELAY_DAYS`) and ``night_end_hour``.
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
        raise InputError(
            "mapping",
            sorted(mapping),
            "a mapping with at least " + ", ".join(MINIMAL) + f" (missing {', '.join(missing)})",
        )
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
        reader = (
            f"read_parquet('{path.as_posix()}')"
            if path.suffix == ".parquet"
            else f"read_csv('{path.as_posix()}', all_varchar=true)"
        )
    try:
        if not isinstance(table, pd.DataFrame):
            con.execute(f"CREATE OR REPLACE TEMP VIEW source_table AS SELECT * FROM {reader}")
        columns = set(con.execute("SELECT * FROM source_table LIMIT 0").df().columns)
    except duckdb.Error as exc:
        raise InputError(
            "table",
            str(table) if not isinstance(table, pd.DataFrame) else "DataFrame",
            f"a readable CSV or Parquet table ({str(exc).splitlines()[0]})",
        ) from None
    absent = {k: v for k, v in mapping.items() if v not in columns}
    if absent:
        key = sorted(absent)[0]
        raise InputError(
            f"mapping.{key}", absent[key], "a column of the table: " + ", ".join(sorted(columns))
        )
    check_table(con, mapping)
    if params is not None and not isinstance(params, dict):
        raise InputError("params", params, "a mapping of parameter names to values")
    checked = _check_params(params or {})
    con.execute(
        "CREATE OR REPLACE TEMP VIEW base_all AS "
        f"SELECT {', '.join(typed_columns(mapping))} FROM source_table"
    )
    # no account events in a table: an empty stream (the events features are skipped)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW events_all AS SELECT CAST(NULL AS BIGINT) AS "
        "customer_id, CAST(NULL AS TIMESTAMP) AS timestamp, CAST(NULL AS BIGINT) AS "
        "event_id, CAST(NULL AS VARCHAR) AS event_type WHERE FALSE"
    )
    available = set(mapping) | {"card_id"}
    for name in sorted(set(INPUTS) - available):
        log.info("input %s not mapped: features that need it are skipped", name)
    return Source(con, available, checked, kind="table")


LOCAL_STAGES = frozenset({"main", "events"})  # windows over one customer's rows only
GLOBAL_COLUMNS = (
    "txn_id",
    "ts",
    "customer_id",
    "card_id",
    "merchant_id",
    "device_id",
    "ip_id",
    "is_fraud",
    "confirmed_at",
)
SHARING_STAGES = ("device", "ip", "merchant")


def _interval(us: int) -> str:
    return f"INTERVAL ({int(us)}) MICROSECOND"


def _bound(us: int) -> str:
    return "CURRENT ROW" if us == 0 else f"{_interval(us)} PRECEDING"


def _window_stage(source: Source, entity: str, feats: list[Feature]) -> list[str]:
    """The CTEs of one entity's window features (``window_<entity>``): each window's row
    count as a DuckDB RANGE window, its known frauds through a join with the entity's frauds
    (a label known before the transaction: confirmed before it, or without confirmation
    times one delay after the fraud, which a delayed window's end respects)."""
    key, stage = ENTITY_KEYS[entity], f"window_{entity}"
    delay = delay_us(source.params)
    wins = sorted({w for f in feats for w in f.aggregate.windows()}, key=lambda w: w.tag)
    frauds = sorted(
        {w for f in feats if f.aggregate.formula != "count" for w in f.aggregate.windows()},
        key=lambda w: w.tag,
    )
    counts = ", ".join(
        f"count(*) OVER (PARTITION BY {key} ORDER BY ts RANGE BETWEEN "
        f"{_bound(w.bounds(delay)[0])} AND {_bound(w.bounds(delay)[1])}) AS n_{w.tag}"
        for w in wins
    )
    ctes = [f"{stage}_n AS (SELECT txn_id, {counts} FROM base WHERE {key} IS NOT NULL)"]
    source_cte = f"{stage}_n"
    if frauds:
        timed = "confirmed_at" in source.available
        known = " AND f.confirmed_at < b.ts" if timed else ""
        oldest = max(w.bounds(delay)[0] for w in frauds)
        newest = min(w.bounds(delay)[1] for w in frauds)
        fr = ", ".join(
            f"count(*) FILTER (WHERE f.ts BETWEEN b.ts - {_interval(w.bounds(delay)[0])} "
            f"AND b.ts - {_interval(w.bounds(delay)[1])}) AS fr_{w.tag}"
            for w in frauds
        )
        ctes += [
            f"{stage}_fraud AS (SELECT {key} AS k, ts{', confirmed_at' if timed else ''} "
            f"FROM base WHERE is_fraud AND {key} IS NOT NULL"
            f"{' AND confirmed_at IS NOT NULL' if timed else ''})",
            f"{stage}_j AS (SELECT b.txn_id, {fr} FROM base b JOIN {stage}_fraud f "
            f"ON f.k = b.{key} AND f.ts >= b.ts - {_interval(oldest)} "
            f"AND f.ts <= b.ts - {_interval(newest)}{known} GROUP BY b.txn_id)",
            f"{stage}_x AS (SELECT n.*, "
            + ", ".join(f"coalesce(j.fr_{w.tag}, 0) AS fr_{w.tag}" for w in frauds)
            + f" FROM {stage}_n n LEFT JOIN {stage}_j j USING (txn_id))",
        ]
        source_cte = f"{stage}_x"
    ctes.append(
        f"{stage} AS (SELECT txn_id, {', '.join(_expr(source, f) for f in feats)} "
        f"FROM {source_cte})"
    )
    return ctes


def delay_us(params: dict[str, Any]) -> int:
    """The label delay of a source's parameters in microseconds."""
    days = params.get("label_delay_days", DEFAULT_LABEL_DELAY_DAYS)
    return int(round(float(days) * 86_400_000_000))


def _expr(source: Source, f: Feature) -> str:
    p = source.params
    out = f.sql.replace("$haversine", "haversine")
    out = out.replace("$night_end_hour", str(int(p.get("night_end_hour", DEFAULT_NIGHT_END_HOUR))))
    if "threshold" in p:
        out = out.replace("$threshold", repr(float(p["threshold"])))
    if "salary_day" in p:
        out = out.replace("$salary_day", str(int(p["salary_day"])))
    return f"{out} AS {f.name}"


def _python_table(source: Source, feats: list[Feature]) -> None:
    """Run the registered Python features over the ``base`` rows in (time, txn_id) order
    into the table ``user_python_table`` (txn_id and one column per feature)."""
    frame = source.con.execute("SELECT * FROM base ORDER BY ts, txn_id").df()
    out = pd.DataFrame({"txn_id": frame["txn_id"].to_numpy()})
    for f in feats:
        try:
            values = np.asarray(f.func(frame.copy()))
        except Exception as exc:
            raise InputError(
                f"feature {f.name}",
                type(exc).__name__,
                f"a function that runs on the ordered frame ({exc})",
            ) from exc
        if values.shape != (len(frame),):
            raise InputError(
                f"feature {f.name}",
                f"shape {values.shape}",
                f"one value per row ({len(frame)} rows)",
            )
        out[f.name] = values
    source.con.register("user_python_df", out)
    source.con.execute(
        "CREATE OR REPLACE TEMP TABLE user_python_table AS SELECT * FROM user_python_df"
    )
    source.con.unregister("user_python_df")


def _sql(source: Source, features: list[Feature], extra_join: str | None = None) -> str:
    """One query computing ``features`` over the ``base`` relation (optionally joined with
    ``extra_join``, a table of already computed features keyed by txn_id). Every stage is
    generated from the features' registry entries."""
    by_stage: dict[str, list[Feature]] = {}
    for f in features:
        by_stage.setdefault(f.stage, []).append(f)
    ctes, joins = [], []
    # one stage for every window over the row's own partitions: DuckDB chains the window
    # operators over the same rows, which beats one join per window family
    main = by_stage.get("main", [])
    windows = sorted({w for f in main for w in WINDOWS if re.search(rf"\b{w}\b", f.sql)})
    window = " WINDOW " + ", ".join(f"{w} AS ({WINDOWS[w]})" for w in windows) if windows else ""
    ctes.append(
        f"main AS (SELECT {', '.join(KEYS)}"
        f"{''.join(', ' + _expr(source, f) for f in main)} FROM base{window})"
    )
    for stage in SHARING_STAGES:
        if stage in by_stage:
            key = ENTITY_KEYS[stage]
            ctes.append(
                f"{stage} AS (SELECT txn_id, "
                f"{', '.join(_expr(source, f) for f in by_stage[stage])} "
                f"FROM base WHERE {key} IS NOT NULL)"
            )
            joins.append(stage)
    for entity in ENTITY_KEYS:
        if f"window_{entity}" in by_stage:
            ctes += _window_stage(source, entity, by_stage[f"window_{entity}"])
            joins.append(f"window_{entity}")
    if "events" in by_stage:
        ctes += [
            "em AS (SELECT customer_id, timestamp AS ts FROM ev "
            "WHERE event_type = 'email_change')",
            "ph AS (SELECT customer_id, timestamp AS ts FROM ev "
            "WHERE event_type = 'phone_change')",
            "links AS (SELECT customer_id, timestamp AS ts, row_number() OVER "
            "(PARTITION BY customer_id ORDER BY timestamp, event_id) AS n FROM ev "
            "WHERE event_type = 'bank_link')",
            f"""events AS (SELECT b.txn_id,
                {", ".join(_expr(source, f) for f in by_stage["events"])} FROM base b
                ASOF LEFT JOIN em ON b.customer_id = em.customer_id AND b.ts >= em.ts
                ASOF LEFT JOIN ph ON b.customer_id = ph.customer_id AND b.ts >= ph.ts
                ASOF LEFT JOIN links l0 ON b.customer_id = l0.customer_id AND b.ts >= l0.ts
                ASOF LEFT JOIN links l1 ON b.customer_id = l1.customer_id
                    AND b.ts - INTERVAL 1 DAY >= l1.ts
                ASOF LEFT JOIN links l7 ON b.customer_id = l7.customer_id
                    AND b.ts - INTERVAL 7 DAY >= l7.ts)""",
        ]
        joins.append("events")
    if "user_sql" in by_stage:
        ctes.append(
            "user_sql AS (SELECT txn_id, "
            f"{', '.join(_expr(source, f) for f in by_stage['user_sql'])} FROM base)"
        )
        joins.append("user_sql")
    if "user_python" in by_stage:
        _python_table(source, by_stage["user_python"])
        ctes.append("user_python AS (SELECT * FROM user_python_table)")
        joins.append("user_python")
    zero_fill = {f.name for s in SHARING_STAGES for f in by_stage.get(s, [])}
    zero_fill |= {
        f.name for f in features if f.aggregate is not None and f.aggregate.formula == "count"
    }
    select = [f"main.{k}" for k in KEYS]
    for f in features:  # in the registry's order
        stage = f.stage
        select.append(
            f"coalesce({stage}.{f.name}, 0) AS {f.name}"
            if f.name in zero_fill
            else f"{stage}.{f.name}"
        )
    if extra_join:
        select.append(f"{extra_join}.* EXCLUDE (txn_id)")
        joins.append(extra_join)
        ctes.append(f"{extra_join} AS (SELECT * FROM {extra_join}_table)")
    from_ = "main" + "".join(f" LEFT JOIN {s} USING (txn_id)" for s in joins)
    return f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM {from_}"


def _prepare(
    source: Source, cut: pd.Timestamp | None = None
) -> tuple[list[Feature], dict[str, str]]:
    """Register the helpers every stage uses (macro, events view, festival days); return
    the computable features and the skipped ones with their reason (also logged)."""
    con = source.con
    con.execute(HAVERSINE)
    # row order is not part of the result (txn_id is the key)
    con.execute("SET preserve_insertion_order = false")
    if "events" in source.available:
        ev_where = (
            f" WHERE timestamp <= TIMESTAMP '{pd.Timestamp(cut)}'" if cut is not None else ""
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM events_all{ev_where}")
    if "festivals" in source.params:
        days = pd.DataFrame(
            {
                "d": pd.to_datetime(
                    list(source.params["festivals"]) or [pd.Timestamp("1900-01-01")]
                ).date
            }
        )
        con.register("festival_days_df", days)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE festival_days AS "
            "SELECT CAST(d AS DATE) AS d FROM festival_days_df"
        )
    keep, skipped = source.features()
    for name, reason in skipped.items():
        log.info("feature %s skipped: %s", name, reason)
    return keep, skipped


def feature_query(source: Source, cut: pd.Timestamp | None = None) -> tuple[str, dict[str, str]]:
    """The feature SQL over ``source`` (truncated at ``cut``) and the skipped features with
    their reason."""
    keep, skipped = _prepare(source, cut)
    where = f" WHERE ts <= TIMESTAMP '{pd.Timestamp(cut)}'" if cut is not None else ""
    # materialised once: every stage reads it, and a view would redo its joins each time
    source.con.execute(f"CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all{where}")
    return _sql(source, keep), skipped


def compute_features(source: Source, cut: pd.Timestamp | None = None) -> pd.DataFrame:
    """The features as a pandas frame in time order (for tests and small data); the skipped
    features and their reason are in ``frame.attrs["skipped"]``."""
    sql, skipped = feature_query(source, cut)
    frame = source.con.execute(sql).df().sort_values(["ts", "txn_id"], ignore_index=True)
    frame.attrs["skipped"] = skipped
    return frame


def label_columns_sql(source: Source) -> str:
    """The labels and evaluation columns of an external table's rows (what the protocols
    and metrics read besides the features; see ``workbench.evaluate.frame.external_frame``):
    txn_id, amount, is_fraud, fraud_confirmed_at (when mapped), loss (the amount), fraud
    type ("unknown" for a fraud), no ring or episode, every row train-eligible."""
    confirmed = (
        ", confirmed_at AS fraud_confirmed_at" if "confirmed_at" in source.available else ""
    )
    return (
        "SELECT txn_id, amount, CAST(is_fraud AS TINYINT) AS is_fraud"
        + confirmed
        + ", amount AS loss, CASE WHEN is_fraud THEN 'unknown' ELSE 'none' END AS fraud_type"
        ", 'none' AS ring_shape, CAST(-1 AS BIGINT) AS fraud_episode_id"
        ", CAST(NULL AS TIMESTAMP) AS episode_start, TRUE AS is_train_eligible FROM base_all"
    )


def write_features(
    source: Source,
    out: str | os.PathLike,
    overwrite: bool = False,
    batch_rows: int = 1_000_000,
    engine: str = "auto",
    labels: bool = False,
) -> dict[str, Any]:
    """Compute the features and write them to one Parquet file, atomically.

    Two engines compute the same values (tests compare them): ``online`` runs the compiled
    online state of the stream scorer (``workbench.features.online``) over all rows in time
    order, ``batch_rows`` at a time; it needs every input of the catalogue and the account
    events (a workbench dataset), and computes the catalogue only. ``duckdb`` evaluates the
    registry's SQL: features whose windows cross customers (device, IP, merchant, entity
    windows, registered features) once over a narrow projection of all rows, the rest,
    which only look at one customer's rows, in batches of about ``batch_rows`` rows by
    customer, so memory stays bounded. ``auto`` (default) takes the online engine where it
    can (not with registered features, which it does not compute: the returned ``notes``
    say so). ``labels`` (an external table only) also writes its labels and evaluation
    columns (:func:`label_columns_sql`), so the file can be evaluated as it is. The file
    appears at ``out`` only when complete; an existing file is replaced only with
    ``overwrite``. Returns the row count, the number of features, the skipped features with
    their reason, notes, the engine used and the path.
    """
    batch_rows = check_int("batch_rows", batch_rows, 1)
    engine = check_choice("engine", engine, ENGINES)
    if not isinstance(labels, bool):
        raise InputError("labels", labels, "True or False")
    if labels and source.kind != "table":
        raise InputError(
            "labels",
            labels,
            "False for a workbench dataset (its labels and "
            "evaluation columns are in the dataset: "
            "workbench.models.model_frame joins them)",
        )
    out = check_target(out, overwrite)
    keep, skipped = _prepare(source)
    registered = [f.name for f in keep if not f.online]
    complete = not skipped and "events" in source.available
    notes = []
    if engine == "online" and (not complete or registered):
        why = (
            f"registered features it does not compute: {', '.join(registered)}"
            if registered
            else f"it needs every input; missing for {sorted(skipped)[:3]}"
        )
        raise InputError("engine", engine, f"'duckdb' or 'auto' for this source ({why})")
    if engine == "auto" and complete and registered:
        notes.append(
            "engine duckdb: the online engine does not compute the registered "
            f"features {', '.join(registered)}"
        )
    online = engine == "online" or (engine == "auto" and complete and not registered)
    engine = "online" if online else "duckdb"
    global_feats = [f for f in keep if f.stage not in LOCAL_STAGES]
    local_feats = [f for f in keep if f.stage in LOCAL_STAGES]
    with writing(out, overwrite=overwrite, checked=True) as tmp:
        if engine == "online":
            write_online_features(
                source, tmp, _schema(source, local_feats, global_feats), batch_rows
            )
        else:
            _write_duckdb(source, tmp, local_feats, global_feats, batch_rows, labels)
    con = source.con
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out.as_posix()}')").fetchall()[0][0]
    return {
        "rows": rows,
        "features": len(keep),
        "skipped": skipped,
        "notes": notes,
        "path": str(out),
        "engine": engine,
        "labels": labels,
    }


def _schema(source: Source, local_feats: list[Feature], global_feats: list[Feature]) -> pa.Schema:
    """The columns and types the DuckDB engine writes (keys, customer-local features, then
    cross-customer ones), read from its queries over a slice of 1,000 rows."""
    con = source.con
    con.execute("CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all LIMIT 1000")
    local = con.sql(_sql(source, local_feats)).to_arrow_table().schema
    shared = con.sql(_sql(source, global_feats)).to_arrow_table().schema
    return pa.schema([*local, *(f for f in shared if f.name not in KEYS)])


def _write_duckdb(
    source: Source,
    path: Path,
    local_feats: list[Feature],
    global_feats: list[Feature],
    batch_rows: int,
    labels: bool = False,
) -> None:
    """The DuckDB engine of :func:`write_features`: cross-customer features once, then
    customer batches of about ``batch_rows`` rows joined to them, written to ``path``
    (with the label columns of :func:`label_columns_sql` when ``labels``)."""
    con = source.con
    wanted = set(GLOBAL_COLUMNS).union(*(f.requires for f in global_feats if not f.online))
    cols = [c for c in INPUTS if c in wanted and (c in source.available or c == "card_id")]
    con.execute(f"CREATE OR REPLACE TEMP TABLE base AS SELECT {', '.join(cols)} FROM base_all")
    con.execute(f"CREATE OR REPLACE TEMP TABLE shared_table AS {_sql(source, global_feats)}")
    con.execute(
        "ALTER TABLE shared_table DROP COLUMN ts; "
        "ALTER TABLE shared_table DROP COLUMN customer_id; "
        "ALTER TABLE shared_table DROP COLUMN card_id"
    )
    n = con.execute("SELECT count(*) FROM base_all").fetchall()[0][0]
    batches = max(1, -(-n // batch_rows))
    edges = (
        con.execute(
            "SELECT quantile_disc(customer_id, "
            f"[{', '.join(str(i / batches) for i in range(1, batches))}]) FROM base_all"
        ).fetchall()[0][0]
        if batches > 1
        else []
    )
    bounds = [None, *sorted(set(edges)), None]
    parts = path.with_name(path.name + ".parts")  # beside the per-run temporary: a rerun cleans it
    parts.mkdir()
    try:
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            where = (
                " AND ".join(
                    [
                        c
                        for c in (
                            f"customer_id >= {lo}" if lo is not None else "",
                            f"customer_id < {hi}" if hi is not None else "",
                        )
                        if c
                    ]
                )
                or "TRUE"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all WHERE {where}"
            )
            if "events" in source.available:
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM events_all WHERE {where}"
                )
            sql = _sql(source, local_feats, extra_join="shared")
            con.execute(
                f"COPY ({sql}) TO '{(parts / f'part-{i:04d}.parquet').as_posix()}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        every = f"read_parquet('{parts.as_posix()}/*.parquet')"
        query = (
            f"SELECT * FROM {every}"
            if not labels
            else f"SELECT p.*, l.* EXCLUDE (txn_id) FROM {every} p "
            f"JOIN ({label_columns_sql(source)}) l USING (txn_id)"
        )
        con.execute(f"COPY ({query}) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        for p in parts.glob("*"):
            p.unlink()
        parts.rmdir()
