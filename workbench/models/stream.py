"""Stream scoring: replay a dataset's transactions in time order through an online feature
state and a model package, producing a score and a latency per transaction.

The replay merges three time-ordered streams, as a bank's scoring service would see them:
the transactions, the label confirmations (a fraud's label arrives at its ``confirmed_at``)
and the account events (email and phone changes, bank links). The online state
(``workbench.models.online_state``, compiled with numba) keeps per customer, card, device,
IP and merchant the history a feature needs and computes all 50 catalogue features
(``workbench.features.catalogue``) with the batch definitions: windows ending at the current
row include rows at the same instant (the rows of one instant are added before any of them
is computed), "strictly preceding" windows exclude them, sequence features follow (time,
txn_id) order, merchant fraud rates count only labels confirmed before the transaction,
account events count at or before it. A parity test checks online against batch features
on a generated dataset (exact for counts, within 1e-9 for floats).

Any package whose features are catalogue features (``ONLINE_FEATURES``, in any subset and
order) can be replayed; its columns are taken from the state's.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.features.catalogue import CATALOGUE
from workbench.features.store import dataset_source
from workbench.models.online_state import BANK_LINK, CARD, CHARGEBACK, CUST, DAY, DEVICE, EMAIL, IP, KERNEL_FEATURES, KIND, MERCHANT, \
    NONE, PAIRS, PHONE, PURCHASE, REFUND, TAIL, advance
from workbench.models.package import load_package
from workbench.validation import InputError, check_int

ONLINE_FEATURES = [f.name for f in CATALOGUE]
EPOCH = dt.datetime(1970, 1, 1)


if tuple(ONLINE_FEATURES) != KERNEL_FEATURES:  # the compiled state writes its columns in this order
    raise ImportError("workbench.models.online_state.KERNEL_FEATURES is out of step with the feature catalogue")


@dataclass(frozen=True)
class Stream:
    """What the replay reads: the transactions as the stream sees them (the batch store's
    base columns without labels, in (time, txn_id) order), the label confirmations
    (``confirmed_us``, ``row``: the fraud's position in ``rows``), the account events the
    features use (``ts_us``, ``customer_id``, ``event_type``) and the market parameters."""

    rows: pd.DataFrame
    labels: pd.DataFrame
    events: pd.DataFrame
    params: dict


@dataclass(frozen=True)
class StreamInputs:
    """A :class:`Stream` as the compiled state reads it (see ``online_state``): times in
    microseconds, integer codes (entities, transaction kind, first-use pairs), floats
    (amount, balance, coordinates), the calendar table from ``first_day``, the market's
    reporting threshold, the label confirmations (time, row) and the account events (time,
    customer code, kind); ``codes``, ``customers`` and ``pairs`` size the state's arrays."""

    ts: np.ndarray
    ids: np.ndarray
    vals: np.ndarray
    calendar: np.ndarray
    first_day: int
    threshold: float
    labels: np.ndarray
    events: np.ndarray
    codes: int
    customers: int
    pairs: int


def _calendar_table(first_day: int, last_day: int, params: dict) -> np.ndarray:
    """(weekday, days to salary, is festival) of each day from ``first_day`` to ``last_day``
    (day numbers since 1970-01-01 of the local wall-clock times, as stored)."""
    salary_day, festivals = int(params["salary_day"]), set(params["festivals"])
    rows = []
    for number in range(first_day, last_day + 1):
        stamp = EPOCH + dt.timedelta(days=number)
        day = stamp.day
        to_salary = (salary_day - day if day <= salary_day
                     else calendar.monthrange(stamp.year, stamp.month)[1] - day + salary_day)
        rows.append((stamp.weekday(), to_salary, int(stamp.date() in festivals)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def stream_inputs(stream: Stream) -> StreamInputs:
    """Encode a :class:`Stream` for the compiled state: ids become codes in one code space
    (in order of first appearance, -1 for a missing id, as a live dictionary encoder would
    hand them out; customers first, so a customer's code indexes the per-customer arrays),
    each first-use flag's (customer, value) pair a code of its own."""
    frame, n = stream.rows, len(stream.rows)
    ids = np.full((n, PAIRS + 5), -1, dtype=np.int64)
    customers, uniques = pd.factorize(pd.concat([frame["customer_id"], stream.events["customer_id"]], ignore_index=True))
    ids[:, CUST], offset, local = customers[:n], len(uniques), {}
    for column, field in ((CARD, "card_id"), (MERCHANT, "merchant_id"), (DEVICE, "device_id"), (IP, "ip_id")):
        codes, uniques = pd.factorize(frame[field])
        local[field] = (codes, len(uniques))
        ids[:, column] = np.where(codes >= 0, codes + offset, -1)
        offset += len(uniques)
    kinds = {"purchase": PURCHASE, "refund": REFUND, "chargeback": CHARGEBACK}
    ids[:, KIND] = frame["txn_type"].map(kinds).fillna(0).to_numpy(np.int64)
    pairs = 0
    for f, field in enumerate(("merchant_id", "device_id", "ip_id", "city", "channel")):
        if field not in local:
            codes, uniques = pd.factorize(frame[field])
            local[field] = (codes, len(uniques))
        codes, size = local[field]
        pair_codes, uniques = pd.factorize(ids[:, CUST] * (size + 1) + (codes.astype(np.int64) + 1))  # a missing value is a value
        ids[:, PAIRS + f] = pair_codes + pairs
        pairs += len(uniques)
    ts = frame["ts_us"].to_numpy(np.int64)
    vals = frame[["amount", "balance_before", "lat", "lon", "home_lat", "home_lon"]].to_numpy(np.float64, na_value=np.nan)
    first_day = int(ts[0] // DAY) if n else 0
    table = _calendar_table(first_day, int(ts[-1] // DAY) if n else 0, stream.params)
    labels = stream.labels[["confirmed_us", "row"]].to_numpy(np.int64).reshape(-1, 2)
    kind = stream.events["event_type"].map({"email_change": EMAIL, "phone_change": PHONE, "bank_link": BANK_LINK})
    events = np.column_stack([stream.events["ts_us"].to_numpy(np.int64), customers[n:], kind.to_numpy(np.int64)]).reshape(-1, 3)
    return StreamInputs(ts, ids, np.ascontiguousarray(vals), table, first_day, float(stream.params["threshold"]),
                        np.ascontiguousarray(labels), np.ascontiguousarray(events), offset, int(customers.max(initial=-1)) + 1, pairs)


class OnlineState:
    """The online state over one stream (``online_state`` holds the compiled kernel): each
    entity's latest row, each row's previous row per entity, the first-use pairs seen, the
    confirmed frauds, each customer's last email/phone change and bank links, and the
    features of the rows added so far (``features``: rows x ONLINE_FEATURES, NaN for
    missing)."""

    def __init__(self, inputs: StreamInputs) -> None:
        n = len(inputs.ts)
        self.inputs = inputs
        self.last = np.full(inputs.codes, -1, dtype=np.int64)
        self.prev = np.full((n, 5), -1, dtype=np.int64)
        self.seen = np.zeros(inputs.pairs, dtype=np.bool_)
        self.mark = np.full(inputs.codes, -1, dtype=np.int64)
        self.following = np.full(n, -1, dtype=np.int64)  # the merchant's next row
        self.confirmed = np.zeros(n, dtype=np.bool_)
        self.risk = np.zeros((3, inputs.codes, 3), dtype=np.int64)
        self.risk[:, :, TAIL] = -1
        self.account = np.full((inputs.customers, 3), NONE, dtype=np.int64)
        self.account[:, BANK_LINK] = -1
        self.links = np.full(len(inputs.events), -1, dtype=np.int64)
        self.cursor = np.zeros(2, dtype=np.int64)  # next label, next account event
        self.features = np.full((n, len(ONLINE_FEATURES)), np.nan)

    def advance(self, start: int, max_batch: int) -> int:
        """Add the rows from ``start`` instant by instant until at least ``max_batch`` rows
        were added (an instant is never split) and return the next row to read."""
        x = self.inputs
        return advance(x.ts, x.ids, x.vals, x.calendar, x.first_day, x.threshold, x.labels, x.events, self.last, self.prev,
                       self.following, self.seen, self.mark, self.confirmed, self.risk, self.account, self.links, self.cursor, self.features, start, max_batch)


def stream_rows(data: str | os.PathLike, limit: int | None = None) -> Stream:
    """The :class:`Stream` of a dataset (its first ``limit`` transactions, and the labels
    and events up to the last of them)."""
    src = dataset_source(data)
    con = src.con
    con.execute("CREATE OR REPLACE TEMP TABLE stream_base AS SELECT *, row_number() OVER (ORDER BY ts, txn_id) - 1 AS row FROM base_all"
                + ("" if limit is None else f" QUALIFY row < {int(limit)}"))
    rows = con.execute("SELECT * EXCLUDE (is_fraud, confirmed_at, row), epoch_us(ts) AS ts_us FROM stream_base ORDER BY row").df()
    end = "(SELECT max(ts) FROM stream_base)"
    labels = con.execute(f"""SELECT epoch_us(confirmed_at) AS confirmed_us, row FROM stream_base
        WHERE is_fraud AND confirmed_at IS NOT NULL AND confirmed_at <= {end} ORDER BY confirmed_at, row""").df()
    events = con.execute(f"""SELECT epoch_us(timestamp) AS ts_us, customer_id, event_type FROM events_all
        WHERE event_type IN ('email_change', 'phone_change', 'bank_link') AND timestamp <= {end} ORDER BY timestamp, event_id""").df()
    return Stream(rows, labels, events, src.params)


def stream_model(package: str | os.PathLike) -> tuple[object, np.ndarray | None]:
    """Load a package for the stream: the detector and the state's columns of its features
    (``None`` when they are all of ONLINE_FEATURES in order). Its features must be catalogue
    features; the error names the others."""
    model = load_package(package)
    features = list(model.features_ or [])
    unknown = [f for f in features if f not in ONLINE_FEATURES]
    if not features or unknown:
        raise InputError("package", f"features {unknown[:5] or features}", "a package trained on catalogue features (ONLINE_FEATURES)")
    return model, None if features == ONLINE_FEATURES else np.array([ONLINE_FEATURES.index(f) for f in features])


def replay(data: str | os.PathLike, package: str | os.PathLike | None = None, max_batch: int = 64, limit: int | None = None) -> pd.DataFrame:
    """Replay the dataset through the online state (and a model package trained on
    catalogue features): per transaction its online features (float64, NaN for missing),
    score and latency. Rows are scored in micro-batches of ``max_batch`` rows (more when the
    last instant would be split: the rows of one instant enter together); a row's latency
    runs from the moment the replay began its micro-batch (read the batch's first row) to
    the batch's scores, an upper bound for every row but the first. The first replay in a
    fresh installation compiles the state (numba, cached on disk afterwards)."""
    check_int("max_batch", max_batch, 1, 100_000)
    if limit is not None:
        check_int("limit", limit, 1)
    model, columns = stream_model(package) if package is not None else (None, None)
    stream = stream_rows(data, limit)
    state = OnlineState(stream_inputs(stream))
    n = len(stream.rows)
    scores, latency = np.full(n, np.nan), np.zeros(n)
    i, clock = 0, time.perf_counter
    while i < n:
        began = clock()
        j = state.advance(i, max_batch)
        if model is not None:
            values = state.features[i:j]
            scores[i:j] = model.score_values(values if columns is None else values[:, columns])
        latency[i:j] = clock() - began
        i = j
    result = pd.DataFrame(state.features, columns=ONLINE_FEATURES)
    result.insert(0, "txn_id", stream.rows["txn_id"].to_numpy())
    if model is not None:
        result["score"] = scores
    result["latency_s"] = latency
    return result


def parity(online: pd.DataFrame, batch: pd.DataFrame, rtol: float = 1e-9) -> pd.DataFrame:
    """Per feature: rows compared and rows differing (counts exactly, floats within ``rtol``
    relative and 1e-9 absolute; both null counts as equal)."""
    if "txn_id" not in online or "txn_id" not in batch:
        raise InputError("online", list(online.columns)[:3], "frames with a txn_id column")
    m = online.merge(batch, on="txn_id", suffixes=("_online", "_batch"))
    rows = []
    for f in ONLINE_FEATURES:
        a, b = m[f"{f}_online"].astype(float).to_numpy(), m[f"{f}_batch"].astype(float).to_numpy()
        both_null = np.isnan(a) & np.isnan(b)
        if pd.api.types.is_integer_dtype(batch[f]):
            bad = ~(both_null | (a == b))
        else:
            bad = ~(both_null | np.isclose(a, b, rtol=rtol, atol=1e-9))
        rows.append({"feature": f, "rows": len(m), "differing": int(bad.sum())})
    return pd.DataFrame(rows)
