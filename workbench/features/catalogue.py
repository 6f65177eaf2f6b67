"""The feature catalogue: every feature's name, definition, window, entity, whether it may
use labels, and which inputs it needs (features whose inputs are missing are skipped).

Windows ending at CURRENT ROW include the transaction itself and rows at the same instant;
windows ending ``1 MICROSECOND PRECEDING`` ("strictly preceding") exclude them where the
current row would leak into its own baseline. Label-derived features only count labels
confirmed (``confirmed_at``) before the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Feature:
    """One feature of the catalogue."""

    name: str
    stage: str          # which SQL stage computes it (see workbench.features.store)
    sql: str            # expression in that stage
    definition: str
    window: str
    entity: str
    uses_labels: bool
    requires: frozenset[str]


def _f(name, stage, sql, definition, window, entity, requires=(), uses_labels=False):
    return Feature(name, stage, sql, definition, window, entity, uses_labels, frozenset(requires))


def _velocity() -> list[Feature]:
    out = []
    for entity, key, ent in (("cust", "customer_id", "customer"), ("card", "card_id", "card")):
        spans = ("1h", "24h", "7d", "30d") if entity == "cust" else ("1h", "24h", "7d")
        for span in spans:
            out.append(_f(f"{entity}_n_{span}", "main", f"count(*) OVER {entity}_{span}",
                          f"transactions of the {ent} in the last {span}, this one included", span, ent))
            if entity == "cust" or span == "24h":
                out.append(_f(f"{entity}_sum_{span}", "main", f"sum(amount) OVER {entity}_{span}",
                              f"amount spent by the {ent} in the last {span}, this one included", span, ent))
    return out


def _novelty() -> list[Feature]:
    """First use by the customer of a merchant, device, IP, city or channel (rows without a
    device or IP are never "new")."""
    out = []
    for thing, column, optional in (("merchant", "merchant_id", False), ("device", "device_id", True), ("ip", "ip_id", True),
                                    ("city", "city", False), ("channel", "channel", False)):
        first = f"row_number() OVER cust_{thing} = 1"
        out.append(_f(f"is_new_{thing}", "main", f"CAST({column} IS NOT NULL AND {first} AS INTEGER)" if optional else f"CAST({first} AS INTEGER)",
                      f"first transaction of the customer with this {thing}", "history", f"customer-{thing}",
                      [column] if column != "merchant_id" else []))
    return out


CATALOGUE: tuple[Feature, ...] = tuple(_velocity() + [
    _f("cust_secs_since_prev", "main", "epoch(ts - lag(ts) OVER cust_seq)", "seconds since the customer's previous transaction", "previous row", "customer"),
    _f("card_secs_since_prev", "main", "epoch(ts - lag(ts) OVER card_seq)", "seconds since the card's previous transaction", "previous row", "card"),
    _f("log_amount", "main", "ln(1 + amount)", "natural log of 1 + amount", "row", "transaction"),
    _f("amt_ratio_mean_30d", "main", "amount / nullif(avg(amount) OVER cust_30d_prev, 0)", "amount / customer's mean amount over the previous 30 days", "30d strictly preceding", "customer"),
    _f("amt_ratio_median_30d", "main", "amount / nullif(median(amount) OVER cust_30d_prev, 0)", "amount / customer's median amount over the previous 30 days", "30d strictly preceding", "customer"),
    _f("amt_zscore_30d", "main", "(amount - avg(amount) OVER cust_30d_prev) / nullif(stddev_samp(amount) OVER cust_30d_prev, 0)", "z-score of the amount against the customer's previous 30 days", "30d strictly preceding", "customer"),
    _f("amt_ratio_max_30d", "main", "amount / nullif(max(amount) OVER cust_30d_prev, 0)", "amount / customer's largest amount over the previous 30 days", "30d strictly preceding", "customer"),
    _f("is_round_amount", "main", "CAST(amount >= 100 AND amount % 100 = 0 AS INTEGER)", "amount is a whole multiple of 100", "row", "transaction"),
    _f("near_threshold", "main", "CAST(amount >= 0.85 * $threshold AND amount < $threshold AS INTEGER)", "amount within 85-100% of the market's reporting threshold", "row", "transaction", ["threshold"]),
    *_novelty(),
    _f("dist_home_km", "main", "$haversine(lat, lon, home_lat, home_lon)", "distance from the customer's home", "row", "customer", ["lat", "lon", "home_lat", "home_lon"]),
    _f("dist_prev_km", "main", "$haversine(lat, lon, lag(lat) OVER cust_seq, lag(lon) OVER cust_seq)", "distance from the customer's previous transaction", "previous row", "customer", ["lat", "lon"]),
    _f("speed_prev_kmh", "main", "$haversine(lat, lon, lag(lat) OVER cust_seq, lag(lon) OVER cust_seq) / nullif(epoch(ts - lag(ts) OVER cust_seq) / 3600.0, 0)", "implied speed since the customer's previous transaction", "previous row", "customer", ["lat", "lon"]),
    _f("device_customers_7d", "device", "count(DISTINCT customer_id) OVER (PARTITION BY device_id ORDER BY ts RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW)", "distinct customers on this device in the last 7 days", "7d", "device", ["device_id"]),
    _f("ip_customers_7d", "ip", "count(DISTINCT customer_id) OVER (PARTITION BY ip_id ORDER BY ts RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW)", "distinct customers through this IP in the last 7 days", "7d", "ip", ["ip_id"]),
    _f("merchant_cards_1h", "merchant", "count(DISTINCT card_id) OVER (PARTITION BY merchant_id ORDER BY ts RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW)", "distinct cards at this merchant in the last hour", "1h", "merchant"),
    *[_f(f"merchant_fraud_rate_{d}d", "risk", f"coalesce(r.fraud_{d}d, 0) / nullif(m.n_{d}d, 0)",
         f"confirmed frauds / transactions at the merchant in the previous {d} days, counting only labels confirmed before this transaction",
         f"{d}d strictly preceding", "merchant", ["confirmed_at"], uses_labels=True) for d in (1, 7, 30)],
    _f("balance_before", "main", "balance_before", "account balance (available credit for cards) before the transaction", "row", "card", ["balance_before"]),
    _f("balance_zscore_30d", "main", "(balance_before - avg(balance_before) OVER card_30d_prev) / nullif(stddev_samp(balance_before) OVER card_30d_prev, 0)", "z-score of the balance against the previous 30 days", "30d strictly preceding", "card", ["balance_before"]),
    _f("refund_rate_30d", "main", "sum(CAST(txn_type = 'refund' AS INTEGER)) OVER cust_30d_prev / nullif(sum(CAST(txn_type = 'purchase' AS INTEGER)) OVER cust_30d_prev, 0)", "refunds / purchases of the customer over the previous 30 days", "30d strictly preceding", "customer", ["txn_type"]),
    _f("chargeback_rate_30d", "main", "sum(CAST(txn_type = 'chargeback' AS INTEGER)) OVER cust_30d_prev / nullif(sum(CAST(txn_type = 'purchase' AS INTEGER)) OVER cust_30d_prev, 0)", "chargebacks / purchases of the customer over the previous 30 days", "30d strictly preceding", "customer", ["txn_type"]),
    _f("hours_since_email_change", "events", "epoch(b.ts - em.ts) / 3600.0", "hours since the customer's last email change", "history", "customer", ["events"]),
    _f("hours_since_phone_change", "events", "epoch(b.ts - ph.ts) / 3600.0", "hours since the customer's last phone change", "history", "customer", ["events"]),
    _f("bank_links_24h", "events", "coalesce(l0.n, 0) - coalesce(l1.n, 0)", "bank-link connections of the customer in the last 24 h", "24h", "customer", ["events"]),
    _f("bank_links_7d", "events", "coalesce(l0.n, 0) - coalesce(l7.n, 0)", "bank-link connections of the customer in the last 7 days", "7d", "customer", ["events"]),
    _f("hour", "main", "hour(ts)", "hour of day", "row", "transaction"),
    _f("weekday", "main", "isodow(ts) - 1", "day of week, 0 = Monday", "row", "transaction"),
    _f("is_weekend", "main", "CAST(isodow(ts) >= 6 AS INTEGER)", "Saturday or Sunday", "row", "transaction"),
    _f("is_night", "main", "CAST(hour(ts) < 5 AS INTEGER)", "between midnight and 5 am", "row", "transaction"),
    _f("is_off_hours", "main", "CAST(hour(ts) >= 22 OR hour(ts) < 6 AS INTEGER)", "between 10 pm and 6 am", "row", "transaction"),
    _f("days_to_salary", "main", "CASE WHEN day(ts) <= $salary_day THEN $salary_day - day(ts) ELSE day(last_day(ts)) - day(ts) + $salary_day END", "days until the next salary day of the market", "row", "transaction", ["salary_day"]),
    _f("is_festival", "main", "CAST(CAST(ts AS DATE) IN (SELECT d FROM festival_days) AS INTEGER)", "the day is in one of the market's festival periods", "row", "transaction", ["festivals"]),
])

# named windows used by the "main" stage
WINDOWS = {
    **{f"cust_{s}": f"PARTITION BY customer_id ORDER BY ts RANGE BETWEEN INTERVAL {i} PRECEDING AND CURRENT ROW"
       for s, i in (("1h", "1 HOUR"), ("24h", "1 DAY"), ("7d", "7 DAY"), ("30d", "30 DAY"))},
    **{f"card_{s}": f"PARTITION BY card_id ORDER BY ts RANGE BETWEEN INTERVAL {i} PRECEDING AND CURRENT ROW"
       for s, i in (("1h", "1 HOUR"), ("24h", "1 DAY"), ("7d", "7 DAY"))},
    "cust_30d_prev": "PARTITION BY customer_id ORDER BY ts RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING",
    "card_30d_prev": "PARTITION BY card_id ORDER BY ts RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING",
    "cust_seq": "PARTITION BY customer_id ORDER BY ts, txn_id",
    "card_seq": "PARTITION BY card_id ORDER BY ts, txn_id",
    "cust_merchant": "PARTITION BY customer_id, merchant_id ORDER BY ts, txn_id",
    "cust_device": "PARTITION BY customer_id, device_id ORDER BY ts, txn_id",
    "cust_ip": "PARTITION BY customer_id, ip_id ORDER BY ts, txn_id",
    "cust_city": "PARTITION BY customer_id, city ORDER BY ts, txn_id",
    "cust_channel": "PARTITION BY customer_id, channel ORDER BY ts, txn_id",
}


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table (for the notebook and the docs)."""
    return pd.DataFrame([{"name": f.name, "definition": f.definition, "window": f.window, "entity": f.entity,
                          "uses_labels": f.uses_labels, "requires": ", ".join(sorted(f.requires)) or "-"} for f in CATALOGUE])
