"""The live feature state of the scoring service: the online state of
``workbench.features.online`` over a stream that grows as requests arrive.

The compiled state reads a stream as arrays of a known length; here the arrays are
preallocated with room to spare and the state sees their filled prefix (views, no copies),
so adding a transaction writes one row and advances the state by it. Ids get dense codes as
they arrive (a dictionary per entity; any one-to-one numbering gives the same features).
Customers, cards and the other entities share one code space here, and the first-use and
(merchant, card) pairs another, so a warm state's codes stay valid when the arrays grow.

Time order is the state's contract: a transaction, label confirmation or account event
earlier than the state's clock (the latest time it has seen) is refused, and the state is
left as it was. Transactions at the clock's instant are accepted in arrival order; the batch
features link every row of an instant before computing any of them, so for exact parity a
client sends the rows of one instant in one request (a batch).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import numpy as np

from workbench.features.online import (CODED_COLUMNS, FLOAT_COLUMNS, ID_COLUMNS,
                                       OnlineState, Stream, StreamInputs,
                                       _calendar_table, stream_inputs)
from workbench.features.online_state import (BANK_LINK, CARD, CHARGEBACK, CUST, DAY, DEVICE,
                                             EMAIL, IP, KIND, MERCHANT, MERCHANT_CARD, PAIRS,
                                             PHONE, PURCHASE, REFUND)
from workbench.validation import InputError

EPOCH = dt.datetime(1970, 1, 1)
EVENT_KINDS = {"email_change": EMAIL, "phone_change": PHONE, "bank_link": BANK_LINK}
TXN_KINDS = {"purchase": PURCHASE, "refund": REFUND, "chargeback": CHARGEBACK}
ENTITY_COLUMNS = (("customer_id", CUST), ("card_id", CARD), ("merchant_id", MERCHANT),
                  ("device_id", DEVICE), ("ip_id", IP))
# the first-use flags' (customer, value) pairs, in the order of the PAIRS columns
PAIR_FIELDS = ("merchant_id", "device_id", "ip_id", "city", "channel")
CALENDAR_DAYS = 366  # the calendar table grows a year at a time


def epoch_us(stamp: dt.datetime) -> int:
    """Microseconds since 1970-01-01 of a naive (market local) timestamp, as stored."""
    return (stamp - EPOCH) // dt.timedelta(microseconds=1)


def _grown(array: np.ndarray, rows: int, fill) -> np.ndarray:
    """``array`` with ``rows`` rows: its own, then ``fill``."""
    out = np.full((rows, *array.shape[1:]), fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


class LiveState:
    """An online feature state that grows with the requests (see the module docstring).

    ``stream`` is the history to warm from (a :class:`~workbench.features.online.Stream`,
    possibly empty: it also gives the market parameters); ``max_rows`` bounds the rows one
    call adds (the features buffer). Every public method validates before it changes
    anything and runs under one lock, so concurrent callers are serialised in arrival
    order."""

    def __init__(self, stream: Stream, max_rows: int = 10_000) -> None:
        self.lock = threading.Lock()
        self.max_rows = max_rows
        template = stream_inputs(stream)
        n = len(stream)
        self.n, self.n_labels, self.n_events = n, len(template.labels), len(template.events)
        self.clock = -(2**62)
        if n:
            self.clock = int(template.ts[-1])
        if self.n_events:
            self.clock = max(self.clock, int(template.events[-1, 0]))
        if self.n_labels:
            self.clock = max(self.clock, int(template.labels[-1, 0]))
        self.params = stream.params
        self.vocab = {c: {v: i for i, v in enumerate(stream.vocab[c])} for c in CODED_COLUMNS}
        self._dictionaries(stream, template)
        self.codes, self.pairs = template.codes, template.shared_pairs
        self.first_day = template.first_day if n else None
        self.ts, self.ids, self.vals = template.ts, template.ids, template.vals
        self.labels, self.events = template.labels, template.events
        self.template = template
        self.state: OnlineState | None = None
        self._reserve(max(n, 1024), max(self.codes, 1024), max(self.pairs, 1024))
        self.first_row = 0
        i = 0
        while i < n:  # the warm-up: the history's rows through the state
            i = self._advance(i, max_rows)  # within the features buffer
        self.warm_rows = n

    def _dictionaries(self, stream: Stream, inputs: StreamInputs) -> None:
        """The id -> code dictionaries of the history, read off its encoded inputs."""
        rows = stream.rows
        self.entity = {}
        for field, column in ENTITY_COLUMNS:
            raw, codes = rows[field], inputs.ids[:, column]
            self.entity[field] = dict(zip(raw[codes >= 0].tolist(), codes[codes >= 0].tolist()))
        customers = self.entity["customer_id"]
        customers.update(zip(stream.events["customer_id"].astype("int64").tolist(),
                             inputs.events[:, 1].tolist()))
        self.pair = {}
        for f, field in enumerate(PAIR_FIELDS):
            keys = zip(inputs.ids[:, CUST].tolist(), rows[field].tolist())
            self.pair[field] = dict(zip(keys, inputs.ids[:, PAIRS + f].tolist()))
        present = inputs.ids[:, MERCHANT] >= 0
        keys = zip(inputs.ids[present, MERCHANT].tolist(), inputs.ids[present, CARD].tolist())
        self.pair["merchant_card"] = dict(zip(keys, inputs.ids[present, MERCHANT_CARD].tolist()))
        self.rows_of = dict(zip(rows["txn_id"].tolist(), range(len(stream))))

    def _reserve(self, rows: int, codes: int, pairs: int, labels: int = 0, events: int = 0,
                 day: int | None = None) -> None:
        """Room for ``rows`` rows, ``codes`` entity codes, ``pairs`` pairs, ``labels`` labels,
        ``events`` events and a calendar through ``day``: arrays grow by doubling, and a
        grown state takes over the old state's arrays (the same values, in a larger
        shape)."""
        size = len(self.ids) if self.state is not None else 0
        need = (rows > size or codes > self.template.codes or pairs > self.template.pairs
                or labels > len(self.labels) or events > len(self.events))
        if need or self.state is None:
            x = self.template
            rows_cap, codes_cap, pairs_cap = (max(rows, 2 * size),
                                              max(codes, 2 * x.codes) if codes > x.codes else x.codes,
                                              max(pairs, 2 * x.pairs) if pairs > x.pairs else x.pairs)
            if self.state is None:
                codes_cap, pairs_cap = codes, pairs
            self.ts = _grown(self.ts, rows_cap, np.iinfo(np.int64).max)
            self.ids = _grown(self.ids, rows_cap, -1)
            self.vals = _grown(self.vals, rows_cap, np.nan)
            self.labels = _grown(self.labels, max(labels, 2 * len(self.labels), 64), 0)
            self.events = _grown(self.events, max(events, 2 * len(self.events), 64), 0)
            # one code space for all entities (customers index the per-customer arrays, customers
            # and cards the recent-row rings) and one for all pairs
            self.template = dataclasses.replace(x, ts=self.ts, ids=self.ids, vals=self.vals,
                                                labels=self.labels, events=self.events,
                                                codes=codes_cap, customers=codes_cap,
                                                histories=codes_cap, pairs=pairs_cap,
                                                shared_pairs=pairs_cap)
            old, self.state = self.state, OnlineState(self.template, buffer_rows=self.max_rows)
            if old is not None:
                for name, array in vars(old).items():
                    if isinstance(array, np.ndarray):
                        getattr(self.state, name)[tuple(slice(0, s) for s in array.shape)] = array
        if day is not None and (self.first_day is None
                                or day - self.first_day >= len(self.template.calendar)):
            first = self.first_day if self.first_day is not None else day
            self.first_day = first
            table = _calendar_table(first, day + CALENDAR_DAYS, self.params)
            self.template = dataclasses.replace(self.template, calendar=table, first_day=first)

    def _advance(self, start: int, rows: int) -> int:
        """Advance the state over the filled prefix from ``start`` (at most ``rows`` rows
        and the rest of their last instant)."""
        self.state.inputs = dataclasses.replace(
            self.template, ts=self.ts[: self.n], ids=self.ids[: self.n], vals=self.vals[: self.n],
            labels=self.labels[: self.n_labels], events=self.events[: self.n_events])
        return self.state.advance(start, rows)

    def _check_time(self, param: str, first_us: int) -> None:
        if first_us < self.clock:
            clock = (EPOCH + dt.timedelta(microseconds=self.clock)).isoformat()
            raise InputError(param, (EPOCH + dt.timedelta(microseconds=first_us)).isoformat(),
                             f"a time at or after the state's clock {clock} (time order)")

    def _code(self, table: dict, key) -> int:
        code = table.get(key)
        if code is None:
            code = table[key] = self.codes
            self.codes += 1
        return code

    def _pair(self, table: dict, key) -> int:
        code = table.get(key)
        if code is None:
            code = table[key] = self.pairs
            self.pairs += 1
        return code

    def add_transactions(self, columns: dict[str, list]) -> np.ndarray:
        """Add transactions (``columns``: ID_COLUMNS with None for a missing id, ``ts_us``,
        FLOAT_COLUMNS with None or NaN for missing, CODED_COLUMNS as strings or None) in
        order and return their features (rows x ONLINE_FEATURES). Refused, with the state
        unchanged: an empty or too large call, times out of order, a known or repeated
        txn_id, a missing customer or card."""
        with self.lock:
            txn = columns["txn_id"]
            k = len(txn)
            if not 1 <= k <= self.max_rows:
                raise InputError("transactions", f"{k} rows", f"1 to {self.max_rows} rows per call")
            ts = np.asarray(columns["ts_us"], dtype=np.int64)
            self._check_time("ts", int(ts[0]))
            if k > 1 and (np.diff(ts) < 0).any():
                bad = int(np.flatnonzero(np.diff(ts) < 0)[0]) + 1
                raise InputError(f"transactions[{bad}].ts", "earlier than the row before it",
                                 "rows in time order")
            seen = [t for t in txn if t in self.rows_of]
            if seen or len(set(txn)) < k:
                raise InputError("txn_id", seen[0] if seen else "repeated in the request",
                                 "a txn_id the state has not seen")
            for field in ("customer_id", "card_id"):
                if any(v is None for v in columns[field]):
                    raise InputError(field, None, "an id on every transaction")
            self._reserve(self.n + k, self.codes + 5 * k, self.pairs + 6 * k,
                          day=int(ts[-1]) // DAY)
            n = self.n
            ids = self.ids[n: n + k]
            for field, column in ENTITY_COLUMNS:
                table = self.entity[field]
                ids[:, column] = [-1 if v is None else self._code(table, v) for v in columns[field]]
            coded = {}
            for c in CODED_COLUMNS:
                vocab = self.vocab[c]
                coded[c] = [-1 if v is None else vocab.setdefault(v, len(vocab)) for v in columns[c]]
            ids[:, KIND] = [TXN_KINDS.get(v, 0) for v in columns["txn_type"]]
            customers = ids[:, CUST].tolist()
            for f, field in enumerate(PAIR_FIELDS):
                table = self.pair[field]
                values = coded[field] if field in coded else [-1 if v is None else v for v in columns[field]]
                ids[:, PAIRS + f] = [self._pair(table, key) for key in zip(customers, values)]
            table = self.pair["merchant_card"]
            ids[:, MERCHANT_CARD] = [-1 if m < 0 else self._pair(table, (m, c))
                                     for m, c in zip(ids[:, MERCHANT].tolist(), ids[:, CARD].tolist())]
            self.ts[n: n + k] = ts
            self.vals[n: n + k] = np.array([columns[c] for c in FLOAT_COLUMNS], dtype=np.float64).T
            self.rows_of.update(zip(txn, range(n, n + k)))
            self.n = n + k
            self.clock = int(ts[-1])
            end = self._advance(n, k)
            assert end == n + k  # the prefix ends at the last row added
            return self.state.features[:k].copy()

    def add_label(self, txn_id: int, confirmed_us: int) -> None:
        """A confirmed fraud: transaction ``txn_id`` (known to the state) confirmed at
        ``confirmed_us``; it reaches the features of transactions after that time."""
        with self.lock:
            row = self.rows_of.get(txn_id)
            if row is None:
                raise InputError("txn_id", txn_id, "the id of a transaction the state has seen")
            self._check_time("confirmed_at", confirmed_us)
            if confirmed_us < self.ts[row]:
                raise InputError("confirmed_at", confirmed_us, "a time after the transaction's")
            if (self.labels[: self.n_labels, 1] == row).any():
                raise InputError("txn_id", txn_id, "a transaction not confirmed before")
            self._reserve(self.n, self.codes, self.pairs, labels=self.n_labels + 1)
            self.labels[self.n_labels] = (confirmed_us, row)
            self.n_labels += 1
            self.clock = confirmed_us

    def add_event(self, customer_id: int, event_type: str, ts_us: int) -> None:
        """An account event (email or phone change, bank link) of ``customer_id`` at
        ``ts_us``; it reaches the features of transactions at or after that time."""
        with self.lock:
            if event_type not in EVENT_KINDS:
                raise InputError("event_type", event_type, "one of " + ", ".join(EVENT_KINDS))
            self._check_time("ts", ts_us)
            self._reserve(self.n, self.codes + 1, self.pairs, events=self.n_events + 1)
            code = self._code(self.entity["customer_id"], customer_id)
            self.events[self.n_events] = (ts_us, code, EVENT_KINDS[event_type])
            self.n_events += 1
            self.clock = ts_us

    def summary(self) -> dict:
        """Counts and clock of the state (what /health reports)."""
        clock = None if self.clock < -(2**61) else (EPOCH + dt.timedelta(microseconds=self.clock)).isoformat()
        return {"transactions": self.n, "warm_transactions": self.warm_rows, "labels": self.n_labels,
                "events": self.n_events, "entities": self.codes, "clock": clock}
