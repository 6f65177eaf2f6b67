"""Edge tables of the entity graph, read with DuckDB from a :class:`GraphSource` window.

Use edges link a customer to what it used (devices, IPs, accounts, optionally merchants)
with first and last time, count and amount; money edges are the approved in-bank transfers
between accounts. Usage windows count the distinct customers of each device and IP per time
bucket, the input of burst detection (a device or IP suddenly used by many customers).
"""

from __future__ import annotations

import pandas as pd

from workbench.graph.source import US_PER_DAY, GraphSource
from workbench.validation import check_choice

USE_KINDS = ("device", "ip", "account", "merchant")
PII_KINDS = ("phone", "email", "address")
_USE_COLUMN = {
    "device": "device_id",
    "ip": "ip_id",
    "account": "account_id",
    "merchant": "merchant_id",
}


def _uses(src: GraphSource, kinds: tuple[str, ...], fresh_ip_days: float | None = None) -> str:
    """SQL of every (kind, entity_id, customer_id, ts, amount) use in the window; devices and
    IPs are used by transactions and by account events (logins, changes). With
    ``fresh_ip_days``, IP uses count only from devices first seen at most that many days
    before the use (see :mod:`workbench.graph.projection`)."""
    parts = []
    for kind in kinds:
        check_choice("kinds", kind, USE_KINDS)
        col = _USE_COLUMN[kind]
        for table, amount in (("transactions", "amount"), ("events", "0.0")):
            if table == "events" and kind not in ("device", "ip"):
                continue
            rows = table
            if kind == "ip" and fresh_ip_days is not None:
                rows = (
                    f"(SELECT x.* FROM {table} x JOIN devices d USING (device_id) "
                    f"WHERE epoch_us(x.timestamp) - epoch_us(d.first_seen) "
                    f"<= {int(fresh_ip_days * US_PER_DAY)})"
                )
            parts.append(
                f"SELECT '{kind}' AS kind, {col} AS entity_id, customer_id, timestamp AS ts, "
                f"{amount} AS amount FROM {rows} "
                f"WHERE {col} >= 0 AND {src.window()}"
            )
    return " UNION ALL ".join(parts)


def use_edges(
    src: GraphSource, kinds: tuple[str, ...] = ("device", "ip", "account")
) -> pd.DataFrame:
    """Customer-entity use edges: customer_id, kind, entity_id, first_ts, last_ts, n, amount."""
    return src.frame(f"""
        SELECT customer_id, kind, entity_id, min(ts) AS first_ts, max(ts) AS last_ts,
               count(*) AS n, round(sum(amount), 2) AS amount
        FROM ({_uses(src, kinds)}) GROUP BY ALL ORDER BY kind, entity_id, customer_id""")


def transfers(src: GraphSource) -> pd.DataFrame:
    """Approved transfer rows of the window, both directions: account_id, customer_id,
    direction (out/in), counterparty_account_id (-1 = another bank), ts_us, amount."""
    return src.frame(f"""
        SELECT account_id, customer_id,
               CASE WHEN txn_type = 'p2p_out' THEN 'out' ELSE 'in' END AS direction,
               counterparty_account_id, epoch_us(timestamp) AS ts_us, amount
        FROM transactions
        WHERE txn_type IN ('p2p_out', 'p2p_in') AND status = 'approved' AND {src.window()}
        ORDER BY ts_us, account_id""")


def money_edges(moves: pd.DataFrame) -> pd.DataFrame:
    """In-bank account-to-account edges from :func:`transfers`: src, dst, first_us, last_us,
    n, amount (each transfer counted once, from its outgoing leg)."""
    out = moves[(moves["direction"] == "out") & (moves["counterparty_account_id"] >= 0)]
    return (
        out.groupby(["account_id", "counterparty_account_id"], as_index=False)
        .agg(
            first_us=("ts_us", "min"),
            last_us=("ts_us", "max"),
            n=("ts_us", "size"),
            amount=("amount", "sum"),
        )
        .rename(columns={"account_id": "src", "counterparty_account_id": "dst"})
    )


def account_owners(src: GraphSource) -> pd.Series:
    """Account id -> owning customer id, for accounts opened before the window's end."""
    frame = src.frame(
        f"SELECT account_id, customer_id FROM accounts WHERE epoch_us(opened_at) < {src.end_us}"
    )
    return frame.set_index("account_id")["customer_id"]


def pii_members(src: GraphSource, min_users: int, max_users: int) -> pd.DataFrame:
    """Customers sharing a phone, email or address with at least ``min_users - 1`` others
    (customers signed up before the window's end): customer_id, kind, entity, users."""
    union = " UNION ALL ".join(
        f"SELECT customer_id, '{k}' AS kind, '{k}:' || {k} AS entity FROM customers "
        f"WHERE epoch_us(signup_date) < {src.end_us}"
        for k in PII_KINDS
    )
    return src.frame(f"""
        SELECT customer_id, kind, entity, count(*) OVER (PARTITION BY entity) AS users
        FROM ({union})
        QUALIFY users BETWEEN {min_users} AND {max_users} ORDER BY entity, customer_id""")


def usage_windows(
    src: GraphSource, bucket_days: float, fresh_ip_days: float | None = None, min_users: int = 1
) -> pd.DataFrame:
    """Distinct customers per device and IP per time bucket, with two bucket grids offset by
    half a bucket (so a burst is never split in two): kind, entity_id, grid, bucket, users,
    plus the entity's total over all buckets of its grid (``total_users``), over this bucket
    and its two neighbours (``local_users``) and the number of buckets in the window
    (``buckets``); only buckets with at least ``min_users`` are
    returned. ``fresh_ip_days`` as in :func:`_uses`."""
    width = int(bucket_days * US_PER_DAY)
    buckets = -(-(src.end_us - src.start_us) // width) + 1
    return src.frame(f"""
        WITH u AS ({_bucketed(src, width, fresh_ip_days)}),
             w AS (SELECT kind, entity_id, grid, bucket, count(*) AS users FROM u GROUP BY ALL),
             t AS (SELECT *, sum(users) OVER (PARTITION BY kind, entity_id, grid) AS total_users,
                          sum(users) OVER (PARTITION BY kind, entity_id, grid ORDER BY bucket
                              RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS local_users
                   FROM w)
        SELECT *, {buckets} AS buckets FROM t WHERE users >= {int(min_users)}""")


def _bucketed(src: GraphSource, width: int, fresh_ip_days: float | None) -> str:
    """SQL of the distinct (kind, entity_id, customer_id, grid, bucket) device and IP uses."""
    return f"""SELECT DISTINCT kind, entity_id, customer_id, grid,
                      (epoch_us(ts) - {src.start_us} + grid * {width // 2}) // {width} AS bucket
               FROM ({_uses(src, ("device", "ip"), fresh_ip_days)})
               CROSS JOIN (VALUES (0), (1)) g(grid)"""


def window_members(
    src: GraphSource, windows: pd.DataFrame, bucket_days: float, fresh_ip_days: float | None = None
) -> pd.DataFrame:
    """The customers of the given usage windows (kind, entity_id, grid, bucket)."""
    width = int(bucket_days * US_PER_DAY)
    src.con.register("_flagged_windows", windows[["kind", "entity_id", "grid", "bucket"]])
    try:
        return src.frame(f"""
            WITH u AS ({_bucketed(src, width, fresh_ip_days)})
            SELECT u.* FROM u JOIN _flagged_windows USING (kind, entity_id, grid, bucket)
            ORDER BY kind, entity_id, grid, bucket, customer_id""")
    finally:
        src.con.unregister("_flagged_windows")
