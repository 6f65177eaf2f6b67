"""Online features: a time-ordered stream of transactions, label confirmations and account
events, encoded for the compiled state (``online_state``), and the state itself.

The stream scorer (``workbench.models.stream``) adds rows micro-batch by micro-batch; the
feature store (``workbench.features.store.write_features``) runs the same state over a
whole dataset in batches of rows and writes the features to Parquet, faster than DuckDB's
window operators for the same definitions at 10 million rows (``benchmarks/bench_features.py``;
tests check both engines give the same values, columns and types).
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.features.catalogue import (
    CATALOGUE,
    DEFAULT_LABEL_DELAY_DAYS,
    DEFAULT_NIGHT_END_HOUR,
    FORMULAS,
    LAYOUT,
    ONLINE_NAMES,
    Slot,
)
from workbench.features.online_state import (
    ALL,
    BANK_LINK,
    BEFORE,
    BEFORE_NOW,
    CARD,
    CHARGEBACK,
    CUST,
    DAY,
    DEVICE,
    EMAIL,
    IP,
    KIND,
    MERCHANT,
    MERCHANT_CARD,
    NONE,
    PAIRS,
    PHONE,
    PTR,
    PURCHASE,
    REFUND,
    RING,
    UP_TO,
    advance,
)
from workbench.validation import InputError

# the kernel's output columns, generated from the registry (its online features in order)
ONLINE_FEATURES = list(ONLINE_NAMES)
EPOCH = dt.datetime(1970, 1, 1)
# an entity's column of ``ids`` and of ``following`` (the SHARING chains of online_state)
ENTITY_COLUMNS = {"merchant": (MERCHANT, 2), "device": (DEVICE, 0), "ip": (IP, 1)}


def kernel_windows(delay_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The registry's entity windows as the kernel reads them (see ``online_state``), for a
    label delay of ``delay_us``: ``edges`` rows (ids column, following column, kind, x,
    index among the entity's edges), ``wins`` rows (end edge, start edge, empty) and
    ``aggs`` rows (output slot, formula, window a, window b or -1), in registry order."""
    edges: dict[tuple, int] = {}
    per_entity: dict[str, int] = {}

    def edge(entity: str, kind: int, at: int) -> int:
        key = (entity, kind, at)
        if key not in edges:
            walking = kind < ALL
            edges[key] = len(edges)
            per_entity[entity] = per_entity.get(entity, 0) + walking
        return edges[key]

    wins: dict[object, int] = {}
    win_rows, aggs = [], []
    for f in CATALOGUE:
        if f.aggregate is None or not f.online:
            continue
        index = []
        for w in f.aggregate.windows():
            if w not in wins:
                start, end = w.bounds(delay_us)
                kind = ALL if end == 0 else (BEFORE_NOW if end == 1 else UP_TO)
                wins[w] = len(wins)
                win_rows.append(
                    (edge(w.entity, kind, end), edge(w.entity, BEFORE, start), int(start < end))
                )
            index.append(wins[w])
        aggs.append(
            (
                Slot[f.name.upper()],
                FORMULAS.index(f.aggregate.formula),
                index[0],
                index[1] if len(index) > 1 else -1,
            )
        )
    slots: dict[str, int] = {}
    edge_rows = []
    for entity, kind, at in edges:
        slot = slots.get(entity, 0)
        if kind < ALL:
            slots[entity] = slot + 1
        edge_rows.append((*ENTITY_COLUMNS[entity], kind, at, slot if kind < ALL else 0))
    return (
        np.array(edge_rows, dtype=np.int64).reshape(-1, 5),
        np.array(win_rows, dtype=np.int64).reshape(-1, 3),
        np.array(aggs, dtype=np.int64).reshape(-1, 4),
    )


@dataclass(frozen=True)
class Stream:
    """What the replay reads: the transactions as the stream sees them (the batch store's
    base columns without labels, in (time, txn_id) order) as arrays in ``rows`` (ids with
    -1 for missing, floats with NaN, ``ts_us``, and ``city``, ``channel``, ``txn_type`` as
    codes into ``vocab``), the label confirmations (``confirmed_us``, ``row``: the fraud's
    position in ``rows``), the account events the features use (``ts_us``, ``customer_id``,
    ``event_type``) and the market parameters."""

    rows: dict[str, np.ndarray]
    vocab: dict[str, list]
    labels: pd.DataFrame
    events: pd.DataFrame
    params: dict

    def __len__(self) -> int:
        return len(self.rows["ts_us"])


@dataclass(frozen=True)
class StreamInputs:
    """A :class:`Stream` as the compiled state reads it (see ``online_state``): times in
    microseconds, integer codes (entities, transaction kind, first-use pairs), floats
    (amount, balance, coordinates), the calendar table from ``first_day``, the market's
    reporting threshold, the night's end hour, the label delay (microseconds), the label
    confirmations (time, row) and the account events (time, customer code, kind);
    ``codes`` (all entities), ``customers``, ``histories`` (customers and cards), ``pairs``
    (first-use pairs) and ``shared_pairs`` (those and the (merchant, card) pairs) size the
    state's arrays, ``widest_instant`` (most rows at one time) its batch buffer."""

    ts: np.ndarray
    ids: np.ndarray
    vals: np.ndarray
    calendar: np.ndarray
    first_day: int
    threshold: float
    night_end: int
    delay_us: int
    labels: np.ndarray
    events: np.ndarray
    codes: int
    customers: int
    histories: int
    pairs: int
    shared_pairs: int
    widest_instant: int


def _calendar_table(first_day: int, last_day: int, params: dict) -> np.ndarray:
    """(weekday, days to salary, is festival) of each day from ``first_day`` to ``last_day``
    (day numbers since 1970-01-01 of the local wall-clock times, as stored)."""
    salary_day, festivals = int(params["salary_day"]), set(params["festivals"])
    rows = []
    for number in range(first_day, last_day + 1):
        stamp = EPOCH + dt.timedelta(days=number)
        day = stamp.day
        to_salary = (
            salary_day - day
            if day <= salary_day
            else calendar.monthrange(stamp.year, stamp.month)[1] - day + salary_day
        )
        rows.append((stamp.weekday(), to_salary, int(stamp.date() in festivals)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _dense(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..k-1 of non-negative integer keys: by direct lookup when the keys are small
    (generated customer ids are), else by hashing (pandas.factorize)."""
    top = int(keys.max(initial=-1)) + 1
    if top <= len(keys) + 1024:
        used = np.zeros(top, dtype=np.int32)
        used[keys] = 1
        lookup = np.cumsum(used, dtype=np.int32) - 1
        return lookup[keys], int(lookup[-1]) + 1 if top else 0
    codes, uniques = pd.factorize(keys)
    return codes, len(uniques)


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of ids, -1 where the id is missing (< 0)."""
    present = values >= 0
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present], size = _dense(values[present])
    return codes, size


def stream_inputs(stream: Stream) -> StreamInputs:
    """Encode a :class:`Stream` for the compiled state: ids become dense codes in one code
    space (-1 for a missing id; a live service's dictionary encoder would hand them out as
    ids arrive; customers first, so a customer's code indexes the per-customer arrays), each
    first-use flag's (customer, value) pair and each (merchant, card) pair a code of its own.
    Codes say nothing about time: any one-to-one numbering gives the same features."""
    rows, n = stream.rows, len(stream)
    ids = np.full((n, MERCHANT_CARD + 1), -1, dtype=np.int32)
    customers, offset = _dense(
        np.concatenate([rows["customer_id"], stream.events["customer_id"].to_numpy(np.int64)])
    )
    ids[:, CUST], local, histories = customers[:n], {}, 0
    for column, field in (
        (CARD, "card_id"),
        (MERCHANT, "merchant_id"),
        (DEVICE, "device_id"),
        (IP, "ip_id"),
    ):
        codes, size = local[field] = _codes(rows[field])
        ids[:, column] = np.where(codes >= 0, codes + offset, -1)
        offset += size
        histories = (
            offset if column == CARD else histories
        )  # customers and cards keep rings of recent rows
    kinds = np.array(
        [
            {"purchase": PURCHASE, "refund": REFUND, "chargeback": CHARGEBACK}.get(v, 0)
            for v in stream.vocab["txn_type"]
        ]
        + [0]
    )
    ids[:, KIND] = kinds[rows["txn_type"]]  # -1 (missing) takes the last entry: no kind
    pairs = 0
    for f, field in enumerate(("merchant_id", "device_id", "ip_id", "city", "channel")):
        codes, size = local[field] if field in local else (rows[field], len(stream.vocab[field]))
        pair_codes, count = _dense(
            customers[:n] * (size + 1) + (codes + 1)
        )  # a missing value is a value
        ids[:, PAIRS + f] = pair_codes + pairs
        pairs += count
    codes, _ = local[
        "merchant_id"
    ]  # (merchant, card) pairs: after the first-use pairs, in the sharing counts' space
    present = codes >= 0
    pair_codes, count = _dense(codes[present] * (offset + 1) + ids[present, CARD])
    ids[present, MERCHANT_CARD] = pair_codes + pairs
    shared = pairs + count
    if offset >= 2**31 or shared >= 2**31:
        raise InputError(
            "stream", f"{offset:,} ids, {pairs:,} pairs", "fewer than 2**31 of each (32-bit codes)"
        )
    ts = rows["ts_us"]
    vals = np.column_stack([rows[c] for c in FLOAT_COLUMNS])
    first_day = int(ts[0] // DAY) if n else 0
    table = _calendar_table(first_day, int(ts[-1] // DAY) if n else 0, stream.params)
    labels = stream.labels[["confirmed_us", "row"]].to_numpy(np.int64).reshape(-1, 2)
    kind = stream.events["event_type"].map(
        {"email_change": EMAIL, "phone_change": PHONE, "bank_link": BANK_LINK}
    )
    events = np.column_stack(
        [stream.events["ts_us"].to_numpy(np.int64), customers[n:], kind.to_numpy(np.int64)]
    ).reshape(-1, 3)
    starts = np.flatnonzero(np.diff(ts, prepend=ts[:1] - 1))  # first row of each instant
    widest = int(np.diff(np.append(starts, n)).max(initial=1))
    params = stream.params
    night_end = int(params.get("night_end_hour", DEFAULT_NIGHT_END_HOUR))
    delay = int(round(float(params.get("label_delay_days", DEFAULT_LABEL_DELAY_DAYS)) * DAY))
    return StreamInputs(
        ts,
        ids,
        vals,
        table,
        first_day,
        float(params["threshold"]),
        night_end,
        delay,
        np.ascontiguousarray(labels),
        np.ascontiguousarray(events),
        offset,
        int(customers.max(initial=-1)) + 1,
        histories,
        pairs,
        shared,
        widest,
    )


class OnlineState:
    """The online state over one stream (``online_state`` holds the compiled kernel): each
    entity's latest row, each row's previous row per entity, the first-use pairs seen, the
    confirmed frauds, each customer's last email/phone change and bank links, and the
    features (``features``: rows x ONLINE_FEATURES, NaN for missing) of every row, or with
    ``buffer_rows`` of the rows added by the last :meth:`advance` only (row ``start + i`` in
    line ``i``; a batch writer's bounded buffer)."""

    def __init__(self, inputs: StreamInputs, buffer_rows: int | None = None) -> None:
        n = len(inputs.ts)
        self.inputs = inputs
        self.buffered = buffer_rows is not None
        self.last = np.full(inputs.codes, -1, dtype=np.int32)
        self.prev = np.full((n, 5), -1, dtype=np.int32)
        self.seen = np.zeros(inputs.pairs, dtype=np.bool_)
        # sliding sharing windows (device, IP, merchant): each row's next row of the entity,
        # per entity its oldest row in the window and distinct count, rows per pair
        self.following = np.full((n, 3), -1, dtype=np.int32)
        self.share = np.zeros((inputs.codes, 2), dtype=np.int64)
        self.share[:, 0] = -1
        self.pair_count = np.zeros(inputs.shared_pairs, dtype=np.int32)
        self.confirmed = np.zeros(n, dtype=np.bool_)
        # entity windows (merchant, device and IP codes follow the customers' and cards'):
        # per code its edges' pointers, rows and known frauds behind them, and its totals
        self.edges, self.wins, self.aggs = kernel_windows(inputs.delay_us)
        self.win_base = inputs.histories
        entities = max(inputs.codes - inputs.histories, 1)
        width = int(self.edges[:, 4].max(initial=0)) + 1
        self.edge_state = np.zeros((entities, width, 3), dtype=np.int64)
        self.edge_state[:, :, PTR] = -1
        self.totals = np.zeros((entities, 2), dtype=np.int64)
        self.account = np.full((inputs.customers, 3), NONE, dtype=np.int64)
        self.account[:, BANK_LINK] = -1
        self.links = np.full(len(inputs.events), -1, dtype=np.int64)
        self.cursor = np.zeros(2, dtype=np.int64)  # next label, next account event
        # the latest rows of each customer and card: (time, amount, balance, row) as float64
        # (times in microseconds and row numbers are exact below 2**53), and their kinds
        self.hist = np.zeros((inputs.histories, RING, 4))
        self.hist_kind = np.zeros((inputs.histories, RING), dtype=np.int8)
        self.hist_n = np.zeros(inputs.histories, dtype=np.int64)
        rows = n if buffer_rows is None else min(n, buffer_rows + inputs.widest_instant)
        self.features = np.full((rows, len(ONLINE_FEATURES)), np.nan)

    def out_start(self, start: int) -> int:
        """The row whose features go to the first line of ``features``."""
        return start if self.buffered else 0

    def advance(self, start: int, max_batch: int) -> int:
        """Add the rows from ``start`` instant by instant until at least ``max_batch`` rows
        were added (an instant is never split) and return the next row to read."""
        x = self.inputs
        for _ in range(2):  # a build of an older registry layout is compiled afresh once
            nxt = advance(
                x.ts,
                x.ids,
                x.vals,
                x.calendar,
                x.first_day,
                x.threshold,
                x.night_end,
                x.labels,
                x.events,
                self.last,
                self.prev,
                self.following,
                self.seen,
                self.share,
                self.pair_count,
                self.confirmed,
                self.edges,
                self.wins,
                self.aggs,
                self.edge_state,
                self.totals,
                self.win_base,
                self.account,
                self.links,
                self.hist,
                self.hist_kind,
                self.hist_n,
                self.cursor,
                self.features,
                self.out_start(start),
                start,
                max_batch,
                LAYOUT,
            )
            if nxt >= 0:
                return nxt
            advance.recompile()
        raise RuntimeError("the compiled online state does not match the feature registry")


ID_COLUMNS = ("txn_id", "customer_id", "card_id", "merchant_id", "device_id", "ip_id")
FLOAT_COLUMNS = (
    "amount",
    "balance_before",
    "lat",
    "lon",
    "home_lat",
    "home_lon",
)  # the order of online_state's AMOUNT..HOME_LON
CODED_COLUMNS = ("city", "channel", "txn_type")


def source_stream(source, limit: int | None = None, batch_rows: int = 1_000_000) -> Stream:
    """The :class:`Stream` of a feature source with everything (a workbench dataset: its
    ``base_all`` and ``events_all`` views): its first ``limit`` transactions in (time,
    txn_id) order, the label confirmations of their frauds and the account events up to the
    last of them. Rows are read ``batch_rows`` at a time into preallocated arrays (no
    DataFrame of all rows: at 10 million rows that copy is gigabytes)."""
    con = source.con
    limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
    n = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM base_all{limit_sql})").fetchall()[0][0]
    rows = {c: np.empty(n, np.int64) for c in (*ID_COLUMNS, "ts_us", *CODED_COLUMNS)} | {
        c: np.empty(n) for c in FLOAT_COLUMNS
    }
    vocab: dict[str, dict] = {c: {} for c in CODED_COLUMNS}
    ids = ", ".join(f"coalesce({c}, -1) AS {c}" for c in ID_COLUMNS)
    # all rows: read as stored and put in (time, txn_id) order here (a DuckDB sort would hold
    # every column of every row in memory at once); a prefix of ``limit`` rows: sorted there
    query = (
        f"SELECT {ids}, epoch_us(ts) AS ts_us, "
        f"{', '.join(FLOAT_COLUMNS + CODED_COLUMNS)} FROM base_all"
        + ("" if limit is None else f" ORDER BY ts, txn_id{limit_sql}")
    )
    at = 0
    for batch in con.sql(query).to_arrow_reader(batch_rows):
        m = batch.num_rows
        for c in (*ID_COLUMNS, "ts_us"):
            rows[c][at : at + m] = batch.column(c).to_numpy()
        for c in FLOAT_COLUMNS:
            rows[c][at : at + m] = batch.column(c).to_numpy(
                zero_copy_only=False
            )  # nulls become NaN
        for (
            c
        ) in CODED_COLUMNS:  # small vocabularies: codes in order of first appearance, -1 for null
            encoded = batch.column(c).dictionary_encode()
            known = vocab[c]
            lookup = np.array(
                [known.setdefault(v, len(known)) for v in encoded.dictionary.to_pylist()] + [-1],
                dtype=np.int64,
            )
            rows[c][at : at + m] = lookup[encoded.indices.fill_null(-1).to_numpy()]
        at += m
    if limit is None:
        order = np.lexsort((rows["txn_id"], rows["ts_us"]))
        for c, values in rows.items():
            rows[c] = values[order]
        del order
    end = int(rows["ts_us"][-1]) if n else 0
    labels = con.execute(f"""SELECT epoch_us(confirmed_at) AS confirmed_us, txn_id FROM base_all
        WHERE is_fraud AND confirmed_at IS NOT NULL AND epoch_us(confirmed_at) <= {end}
        ORDER BY confirmed_at, txn_id""").df()
    txn = rows["txn_id"]
    order = np.argsort(txn, kind="stable")
    wanted = labels["txn_id"].to_numpy(np.int64)
    pos = np.searchsorted(txn, wanted, sorter=order).clip(0, max(n - 1, 0))
    known = (
        (txn[order[pos]] == wanted) if n else np.zeros(len(wanted), bool)
    )  # frauds of rows past ``limit`` at the last instant
    labels = pd.DataFrame(
        {
            "confirmed_us": labels["confirmed_us"].to_numpy(np.int64)[known],
            "row": order[pos][known],
        }
    )
    events = con.execute(f"""SELECT epoch_us(timestamp) AS ts_us, customer_id, event_type
        FROM events_all
        WHERE event_type IN ('email_change', 'phone_change', 'bank_link')
        AND epoch_us(timestamp) <= {end} ORDER BY timestamp, event_id""").df()
    return Stream(rows, {c: list(v) for c, v in vocab.items()}, labels, events, source.params)


def write_online_features(
    source, path: str | os.PathLike, schema: pa.Schema, batch_rows: int = 1_000_000
) -> int:
    """Run the state over every transaction of ``source`` and write the features to the
    Parquet file ``path`` in (time, txn_id) order, ``batch_rows`` rows at a time, with the
    columns and types of ``schema`` (the DuckDB engine's: keys, then features). Returns the
    row count."""
    stream = source_stream(source, batch_rows=batch_rows)
    keys = {
        "txn_id": stream.rows["txn_id"],
        "customer_id": stream.rows["customer_id"],
        "card_id": stream.rows["card_id"],
    }
    inputs = stream_inputs(stream)
    keys["ts"] = inputs.ts
    del stream  # the encoded inputs hold what the state needs
    state = OnlineState(inputs, buffer_rows=batch_rows)
    column = {name: i for i, name in enumerate(ONLINE_FEATURES)}
    n, i = len(inputs.ts), 0
    with pq.ParquetWriter(Path(path), schema, compression="zstd") as writer:
        while i < n:
            j = state.advance(i, batch_rows)
            values = state.features[: j - i]
            arrays = []
            for field in schema:
                if field.name in keys:
                    arrays.append(
                        pa.array(keys[field.name][i:j]).cast(field.type)
                    )  # ts: microseconds -> timestamp[us]
                    continue
                v = values[:, column[field.name]]
                missing = np.isnan(v)
                mask = missing if missing.any() else None
                if pa.types.is_integer(field.type):
                    arrays.append(
                        pa.array(np.where(missing, 0, v).astype(np.int64), mask=mask).cast(
                            field.type
                        )
                    )
                else:
                    arrays.append(pa.array(v, mask=mask).cast(field.type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            i = j
    return n


def online_frame(source, max_batch: int = 1_000_000) -> pd.DataFrame:
    """The online engine's features of every row of a source with every input (a workbench
    dataset, or a table mapping every input: its account-event features see no events), in
    (time, txn_id) order: txn_id, then ONLINE_FEATURES (float64, NaN for missing)."""
    stream = source_stream(source)
    state = OnlineState(stream_inputs(stream))
    i = 0
    while i < len(stream):
        i = state.advance(i, max_batch)
    frame = pd.DataFrame(state.features, columns=ONLINE_FEATURES)
    frame.insert(0, "txn_id", stream.rows["txn_id"])
    return frame
