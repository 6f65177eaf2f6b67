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
from collections import defaultdict
from dataclasses import dataclass, field

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


@dataclass
class _History:
    """Append-only history of one entity, in arrival order (times ascending)."""

    ts: list[int] = field(default_factory=list)
    values: list[tuple] = field(default_factory=list)

    def add(self, t: int, value: tuple) -> None:
        self.ts.append(t)
        self.values.append(value)

    def since(self, lo: int, hi_inclusive: int) -> list[tuple]:
        """Values with lo <= ts <= hi_inclusive."""
        a = bisect.bisect_left(self.ts, lo)
        b = bisect.bisect_right(self.ts, hi_inclusive)
        return self.values[a:b]


def _mean_std(xs: list[float]) -> tuple[float | None, float | None]:
    if not xs:
        return None, None
    mean = math.fsum(xs) / len(xs)
    if len(xs) < 2:
        return mean, None
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def _ratio(a: float, b: float | None) -> float | None:
    return None if b is None or b == 0 else a / b


class OnlineFeatures:
    """Online state of the ONLINE_FEATURES; ``update`` takes the rows of one timestamp."""

    def __init__(self, params: dict) -> None:
        self.threshold = float(params["threshold"])
        self.salary_day = int(params["salary_day"])
        self.festivals = set(params["festivals"])
        self.cust: dict[int, _History] = defaultdict(_History)   # (amount, txn_type, lat, lon, txn_id)
        self.card: dict[int, _History] = defaultdict(_History)   # (amount, balance_before)
        self.shared: dict[tuple, _History] = defaultdict(_History)  # (kind, key) -> (who,)
        self.seen: dict[int, set] = defaultdict(set)              # customer -> {(kind, value)}
        self.last: dict[tuple, tuple] = {}                        # ("cust"|"card", id) -> (ts, lat, lon)

    def update(self, rows: list[dict]) -> list[dict]:
        """Add the rows of one instant (sorted by txn_id) and return their features."""
        t = rows[0]["ts"]
        for r in rows:
            self.cust[r["customer_id"]].add(t, (r["amount"], r["txn_type"], r["txn_id"]))
            self.card[r["card_id"]].add(t, (r["amount"], r["balance_before"]))
            for kind, key, who in (("device", r["device_id"], r["customer_id"]), ("ip", r["ip_id"], r["customer_id"]),
                                   ("merchant", r["merchant_id"], r["card_id"])):
                if key is not None:
                    self.shared[(kind, key)].add(t, (who,))
        return [self._features(r, t) for r in rows]

    def _features(self, r: dict, t: int) -> dict:
        out: dict = {}
        amount = r["amount"]
        cust, card = self.cust[r["customer_id"]], self.card[r["card_id"]]
        for span, width in SPANS.items():
            window = cust.since(t - width, t)
            out[f"cust_n_{span}"] = len(window)
            out[f"cust_sum_{span}"] = math.fsum(v[0] for v in window)
            if span != "30d":
                cw = card.since(t - width, t)
                out[f"card_n_{span}"] = len(cw)
                if span == "24h":
                    out["card_sum_24h"] = math.fsum(v[0] for v in cw)
        for name, key in (("cust", ("cust", r["customer_id"])), ("card", ("card", r["card_id"]))):
            prev = self.last.get(key)
            out[f"{name}_secs_since_prev"] = None if prev is None else (t - prev[0]) / US
            if name == "cust":
                if prev is None or r["lat"] is None or prev[1] is None:
                    out["dist_prev_km"] = out["speed_prev_kmh"] = None
                else:
                    d = _haversine(r["lat"], r["lon"], prev[1], prev[2])
                    out["dist_prev_km"] = d
                    out["speed_prev_kmh"] = _ratio(d, (t - prev[0]) / US / 3600.0)
            self.last[key] = (t, r["lat"], r["lon"])
        out["log_amount"] = math.log(1 + amount)
        past = [v for v in cust.since(t - 30 * DAY, t - 1)]
        amounts = [v[0] for v in past]
        mean, std = _mean_std(amounts)
        out["amt_ratio_mean_30d"] = _ratio(amount, mean)
        out["amt_ratio_median_30d"] = _ratio(amount, statistics.median(amounts) if amounts else None)
        out["amt_zscore_30d"] = None if mean is None or std is None or std == 0 else (amount - mean) / std
        out["amt_ratio_max_30d"] = _ratio(amount, max(amounts) if amounts else None)
        purchases = sum(1 for v in past if v[1] == "purchase")
        out["refund_rate_30d"] = _ratio(sum(1 for v in past if v[1] == "refund"), purchases)
        out["chargeback_rate_30d"] = _ratio(sum(1 for v in past if v[1] == "chargeback"), purchases)
        balances = [v[1] for v in card.since(t - 30 * DAY, t - 1)]
        bmean, bstd = _mean_std(balances)
        out["balance_before"] = r["balance_before"]
        out["balance_zscore_30d"] = None if bmean is None or bstd is None or bstd == 0 else (r["balance_before"] - bmean) / bstd
        out["is_round_amount"] = int(amount >= 100 and math.fmod(amount, 100) == 0)
        out["near_threshold"] = int(0.85 * self.threshold <= amount < self.threshold)
        seen = self.seen[r["customer_id"]]
        for thing in ("merchant", "device", "ip", "city", "channel"):
            value = r[f"{thing}_id"] if thing in ("merchant", "device", "ip") else r[thing]
            new = (thing, value) not in seen
            seen.add((thing, value))
            out[f"is_new_{thing}"] = int(new and (value is not None or thing in ("merchant", "city", "channel")))
        out["dist_home_km"] = None if r["lat"] is None else _haversine(r["lat"], r["lon"], r["home_lat"], r["home_lon"])
        for kind, name, width in (("device", "device_customers_7d", 7 * DAY), ("ip", "ip_customers_7d", 7 * DAY),
                                  ("merchant", "merchant_cards_1h", HOUR)):
            key = r[f"{kind}_id"]
            out[name] = 0 if key is None else len({v[0] for v in self.shared[(kind, key)].since(t - width, t)})
        stamp = EPOCH + dt.timedelta(microseconds=t)  # local wall-clock time, as stored
        day, hour, weekday = stamp.day, stamp.hour, stamp.weekday()
        out["hour"], out["weekday"] = hour, weekday
        out["is_weekend"] = int(weekday >= 5)
        out["is_night"] = int(hour < 5)
        out["is_off_hours"] = int(hour >= 22 or hour < 6)
        out["days_to_salary"] = (self.salary_day - day if day <= self.salary_day
                                 else calendar.monthrange(stamp.year, stamp.month)[1] - day + self.salary_day)
        out["is_festival"] = int(stamp.date() in self.festivals)
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
    records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    ts = frame["ts_us"].to_numpy()
    out_feats, scores, latency = [], np.full(len(records), np.nan), np.zeros(len(records))
    pending: list[int] = []
    arrived = np.zeros(len(records))

    def flush() -> None:
        if model is not None and pending:
            X = pd.DataFrame([out_feats[i] for i in pending], columns=ONLINE_FEATURES).astype(float)
            scores[pending] = model.score(X)
        now = time.perf_counter()
        latency[pending] = now - arrived[pending]
        pending.clear()

    i = 0
    while i < len(records):
        j = i
        while j < len(records) and ts[j] == ts[i]:
            j += 1
        arrived[i:j] = time.perf_counter()
        for k, r in zip(range(i, j), records[i:j]):
            r["ts"] = int(ts[k])
        out_feats += state.update(records[i:j])
        pending += list(range(i, j))
        if len(pending) >= max_batch:
            flush()
        i = j
    flush()
    result = pd.DataFrame(out_feats, columns=ONLINE_FEATURES)
    result.insert(0, "txn_id", frame["txn_id"].to_numpy())
    result["score"], result["latency_s"] = scores, latency
    if model is None:
        result = result.drop(columns="score")
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
