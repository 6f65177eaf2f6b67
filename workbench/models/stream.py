"""Stream scoring: replay a dataset's transactions in time order through an online feature
state and a model package, producing a score and a latency per transaction.

The online state keeps, per customer, card, device, IP and merchant, the history a feature
needs, and computes each feature with the batch definition of the catalogue
(``workbench.features.catalogue``): windows ending at the current row include rows at the
same instant (rows sharing a timestamp arrive as one micro-batch and are added before any of
them is computed), "strictly preceding" windows exclude them, sequence features follow
(time, txn_id) order. A parity test checks online against batch features on a generated
dataset (exact for counts, within 1e-9 for floats).

``ONLINE_FEATURES`` are the 43 catalogue features the state computes. Not online yet: the
label-derived merchant fraud rates (they need the stream of label confirmations) and the
account-event features (email/phone changes, bank links: they need the event stream); a
package for stream scoring must be trained on ``ONLINE_FEATURES`` only (the feature-list
check of the package enforces it).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
import os
import statistics
import time
from collections import defaultdict, deque

import numpy as np
import pandas as pd

from workbench.features.catalogue import CATALOGUE
from workbench.features.store import dataset_source
from workbench.models.package import load_package
from workbench.validation import InputError, check_int

EXCLUDED = {"merchant_fraud_rate_1d", "merchant_fraud_rate_7d", "merchant_fraud_rate_30d", "hours_since_email_change",
            "hours_since_phone_change", "bank_links_24h", "bank_links_7d"}
ONLINE_FEATURES = [f.name for f in CATALOGUE if f.name not in EXCLUDED]
US = 1_000_000
HOUR, DAY = 3600 * US, 86400 * US
SPANS = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
EPOCH = dt.datetime(1970, 1, 1)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The same formula as the batch store's DuckDB macro."""
    r = math.radians
    return 2 * 6371.0088 * math.asin(math.sqrt(math.sin(r(lat2 - lat1) / 2) ** 2
                                               + math.cos(r(lat1)) * math.cos(r(lat2)) * math.sin(r(lon2 - lon1) / 2) ** 2))


class _Series:
    """Append-only history of one customer or card, in arrival order (times ascending), as
    parallel lists (slices of float lists are summed in C by ``math.fsum``) plus prefix
    counts of purchases, refunds and chargebacks (exact window counts by subtraction)."""

    __slots__ = ("ts", "amount", "balance", "kinds")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.amount: list[float] = []
        self.balance: list[float] = []
        self.kinds: list[tuple[int, int, int]] = [(0, 0, 0)]  # prefix (purchases, refunds, chargebacks)

    def add(self, t: int, amount: float, balance: float, txn_type: str) -> None:
        self.ts.append(t)
        self.amount.append(amount)
        self.balance.append(balance)
        p, r, c = self.kinds[-1]
        self.kinds.append((p + (txn_type == "purchase"), r + (txn_type == "refund"), c + (txn_type == "chargeback")))


class _Distinct:
    """Distinct values seen in a sliding time window ending now: a queue of (time, value) and
    a count per value; times only move forward, so expired entries leave from the front."""

    __slots__ = ("queue", "counts", "width")

    def __init__(self, width: int) -> None:
        self.queue: deque[tuple[int, object]] = deque()
        self.counts: dict[object, int] = {}
        self.width = width

    def add(self, t: int, value: object) -> None:
        self.queue.append((t, value))
        self.counts[value] = self.counts.get(value, 0) + 1

    def size(self, t: int) -> int:
        """Distinct values with time in [t - width, t]."""
        lo, queue, counts = t - self.width, self.queue, self.counts
        while queue and queue[0][0] < lo:
            _, v = queue.popleft()
            left = counts[v] - 1
            if left:
                counts[v] = left
            else:
                del counts[v]
        return len(counts)


def _mean_std(xs: list[float]) -> tuple[float | None, float | None]:
    if not xs:
        return None, None
    mean = math.fsum(xs) / len(xs)
    if len(xs) < 2:
        return mean, None
    return mean, math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / (len(xs) - 1))


def _ratio(a: float, b: float | None) -> float | None:
    return None if b is None or b == 0 else a / b


# (kind, its id field, feature, window, who is counted); names are built once, not per row
SHARED = (("device", "device_id", "device_customers_7d", 7 * DAY, "customer_id"), ("ip", "ip_id", "ip_customers_7d", 7 * DAY, "customer_id"),
          ("merchant", "merchant_id", "merchant_cards_1h", HOUR, "card_id"))
# widest first: each narrower window starts at or after the wider one
WINDOWS = tuple((span, width, f"cust_n_{span}", f"cust_sum_{span}", f"card_n_{span}") for span, width in tuple(SPANS.items())[::-1])
NOVELTY = (("merchant", "merchant_id", True), ("device", "device_id", False), ("ip", "ip_id", False), ("city", "city", True),
           ("channel", "channel", True))  # (thing, field, whether a missing value still counts as new)
NOVELTY_NAMES = {thing: f"is_new_{thing}" for thing, _, _ in NOVELTY}


class OnlineFeatures:
    """Online state of the ONLINE_FEATURES; ``update`` takes the rows of one timestamp.

    Per customer and card a :class:`_Series`; per device, IP and merchant a sliding
    :class:`_Distinct` window; per customer the set of merchants, devices, IPs, cities and
    channels seen; per calendar day its time features (computed once)."""

    def __init__(self, params: dict) -> None:
        self.threshold = float(params["threshold"])
        self.salary_day = int(params["salary_day"])
        self.festivals = set(params["festivals"])
        self.cust: dict[int, _Series] = defaultdict(_Series)
        self.card: dict[int, _Series] = defaultdict(_Series)
        self.shared: dict[str, dict] = {kind: {} for kind, *_ in SHARED}
        self.seen: dict[int, set] = defaultdict(set)              # customer -> {(kind, value)}
        self.last: dict[tuple, tuple] = {}                        # ("cust"|"card", id) -> (ts, lat, lon)
        self.days: dict[int, tuple] = {}                          # day number -> calendar features

    def update(self, rows: list[dict]) -> list[dict]:
        """Add the rows of one instant (sorted by txn_id) and return their features."""
        t = rows[0]["ts"]
        for r in rows:
            self.cust[r["customer_id"]].add(t, r["amount"], 0.0, r["txn_type"])
            self.card[r["card_id"]].add(t, r["amount"], r["balance_before"], "")
            for kind, field, _, width, who in SHARED:
                key = r[field]
                if key is not None:
                    windows = self.shared[kind]
                    if key not in windows:
                        windows[key] = _Distinct(width)
                    windows[key].add(t, r[who])
        return [self._features(r, t) for r in rows]

    def _calendar(self, t: int) -> tuple:
        """(day of month, weekday, days to salary, is festival) of the day of ``t``."""
        number = t // DAY
        if number not in self.days:
            stamp = EPOCH + dt.timedelta(days=number)  # local wall-clock time, as stored
            day = stamp.day
            to_salary = (self.salary_day - day if day <= self.salary_day
                         else calendar.monthrange(stamp.year, stamp.month)[1] - day + self.salary_day)
            self.days[number] = (stamp.weekday(), to_salary, int(stamp.date() in self.festivals))
        return self.days[number]

    def _features(self, r: dict, t: int) -> dict:
        out: dict = {}
        amount = r["amount"]
        cust, card = self.cust[r["customer_id"]], self.card[r["card_id"]]
        cust_ts, card_ts = cust.ts, card.ts
        n, lo = len(cust_ts), 0
        start30 = bisect.bisect_left(cust_ts, t - 30 * DAY)
        for span, width, n_name, sum_name, _ in WINDOWS:  # all rows so far are at or before t: windows end at the last row
            lo = bisect.bisect_left(cust_ts, t - width, max(lo, start30))
            out[n_name] = n - lo
            out[sum_name] = math.fsum(cust.amount[lo:])
        nc = len(card_ts)
        lo = card30 = bisect.bisect_left(card_ts, t - 30 * DAY)
        for span, width, _, _, n_name in WINDOWS[1:]:
            lo = bisect.bisect_left(card_ts, t - width, lo)
            out[n_name] = nc - lo
            if span == "24h":
                out["card_sum_24h"] = math.fsum(card.amount[lo:])
        lat, lon = r["lat"], r["lon"]
        key = ("cust", r["customer_id"])
        prev = self.last.get(key)
        if prev is None:
            out["cust_secs_since_prev"] = out["dist_prev_km"] = out["speed_prev_kmh"] = None
        else:
            secs = (t - prev[0]) / US
            out["cust_secs_since_prev"] = secs
            if lat is None or prev[1] is None:
                out["dist_prev_km"] = out["speed_prev_kmh"] = None
            else:
                d = _haversine(lat, lon, prev[1], prev[2])
                out["dist_prev_km"] = d
                out["speed_prev_kmh"] = _ratio(d, (t - prev[0]) / US / 3600.0)
        self.last[key] = (t, lat, lon)
        key = ("card", r["card_id"])
        prev = self.last.get(key)
        out["card_secs_since_prev"] = None if prev is None else (t - prev[0]) / US
        self.last[key] = (t, lat, lon)
        out["log_amount"] = math.log(1 + amount)
        end = bisect.bisect_left(cust_ts, t, start30)  # strictly preceding: rows before this instant
        amounts = cust.amount[start30:end]
        mean, std = _mean_std(amounts)
        out["amt_ratio_mean_30d"] = _ratio(amount, mean)
        out["amt_ratio_median_30d"] = _ratio(amount, statistics.median(amounts) if amounts else None)
        out["amt_zscore_30d"] = None if mean is None or std is None or std == 0 else (amount - mean) / std
        out["amt_ratio_max_30d"] = _ratio(amount, max(amounts) if amounts else None)
        (p1, r1, c1), (p0, r0, c0) = cust.kinds[end], cust.kinds[start30]
        out["refund_rate_30d"] = _ratio(r1 - r0, p1 - p0)
        out["chargeback_rate_30d"] = _ratio(c1 - c0, p1 - p0)
        balances = card.balance[card30:bisect.bisect_left(card_ts, t, card30)]
        bmean, bstd = _mean_std(balances)
        out["balance_before"] = r["balance_before"]
        out["balance_zscore_30d"] = None if bmean is None or bstd is None or bstd == 0 else (r["balance_before"] - bmean) / bstd
        out["is_round_amount"] = int(amount >= 100 and math.fmod(amount, 100) == 0)
        out["near_threshold"] = int(0.85 * self.threshold <= amount < self.threshold)
        seen = self.seen[r["customer_id"]]
        for thing, field, missing_counts in NOVELTY:
            item = (thing, r[field])
            new = item not in seen
            if new:
                seen.add(item)
            out[NOVELTY_NAMES[thing]] = int(new and (missing_counts or item[1] is not None))
        out["dist_home_km"] = None if lat is None else _haversine(lat, lon, r["home_lat"], r["home_lon"])
        for kind, field, name, _, _ in SHARED:
            key = r[field]
            out[name] = 0 if key is None else self.shared[kind][key].size(t)
        hour = (t // HOUR) % 24
        weekday, to_salary, festival = self._calendar(t)
        out["hour"], out["weekday"] = hour, weekday
        out["is_weekend"] = int(weekday >= 5)
        out["is_night"] = int(hour < 5)
        out["is_off_hours"] = int(hour >= 22 or hour < 6)
        out["days_to_salary"] = to_salary
        out["is_festival"] = festival
        return out


def stream_rows(data: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """The dataset's transactions as the stream sees them (the batch store's base columns), in
    (time, txn_id) order, and the market parameters of the features."""
    src = dataset_source(data)
    frame = src.con.execute("SELECT * EXCLUDE (is_fraud, confirmed_at), epoch_us(ts) AS ts_us FROM base_all ORDER BY ts, txn_id").df()
    return frame, src.params


def replay(data: str | os.PathLike, package: str | os.PathLike | None = None, max_batch: int = 64, limit: int | None = None) -> pd.DataFrame:
    """Replay the dataset through the online state (and a model package trained on
    ONLINE_FEATURES): per transaction its online features, score and latency (seconds from
    the moment the replay read it to its score; rows are scored in micro-batches of up to
    ``max_batch`` rows, never waiting for rows of a later instant)."""
    check_int("max_batch", max_batch, 1, 100_000)
    model = load_package(package, features=ONLINE_FEATURES) if package is not None else None
    frame, params = stream_rows(data)
    if limit is not None:
        frame = frame.iloc[:check_int("limit", limit, 1)]
    state = OnlineFeatures(params)
    cols = ["txn_id", "customer_id", "card_id", "merchant_id", "amount", "lat", "lon", "device_id", "ip_id", "home_lat", "home_lon",
            "balance_before", "city", "channel", "txn_type"]
    ts = frame["ts_us"].tolist()
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in cols]  # nulls as None
    records = [dict(zip(cols, values), ts=t) for *values, t in zip(*columns, ts)]
    out_feats, scores, latency = [], np.full(len(records), np.nan), np.zeros(len(records))
    pending: list[int] = []
    arrived = np.zeros(len(records))

    def flush() -> None:
        if model is not None and pending:
            values = np.array([[out_feats[i][f] for f in ONLINE_FEATURES] for i in pending], dtype=np.float64)  # None -> NaN
            scores[pending] = model.score_values(values)
        now = time.perf_counter()
        latency[pending] = now - arrived[pending]
        pending.clear()

    _run(records, ts, state, out_feats, pending, arrived, flush, max_batch)
    result = pd.DataFrame(out_feats, columns=ONLINE_FEATURES)
    result.insert(0, "txn_id", frame["txn_id"].to_numpy())
    result["score"], result["latency_s"] = scores, latency
    if model is None:
        result = result.drop(columns="score")
    return result


def _run(records: list[dict], ts: list[int], state: OnlineFeatures, out_feats: list, pending: list, arrived: np.ndarray,
         flush, max_batch: int) -> None:
    """The replay loop: rows of one instant enter the state together; a micro-batch is
    scored when it holds ``max_batch`` rows, and at the end."""
    i = 0
    while i < len(records):
        j = i
        while j < len(records) and ts[j] == ts[i]:
            j += 1
        arrived[i:j] = time.perf_counter()
        out_feats += state.update(records[i:j])
        pending += list(range(i, j))
        if len(pending) >= max_batch:
            flush()
        i = j
    flush()


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
