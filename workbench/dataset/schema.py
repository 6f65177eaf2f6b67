"""The dataset schema: every table's columns, types and meanings, in one place.

Writers validate each table against it; ``docs/schema.md`` is rendered from it by
``python -m workbench schema``. Transactions and events have no nulls at all: columns that
do not apply hold a sentinel (-1 ids, ``none`` strings), the same way for fraud and
legitimate rows, so nullness can never leak a label. String columns may be dictionary-encoded.
"""

from __future__ import annotations

import pyarrow as pa

S, N, F, B, T = pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.timestamp("us")

FRAUD_COLUMNS = [
    ("is_fraud", B, "Ground-truth label: the row belongs to a fraud episode."),
    ("fraud_type", S, "Scenario name of the episode, `none` for legitimate rows."),
    ("fraud_episode_id", N, "Episode id shared by all rows of one fraud episode, -1 if none."),
    ("ring_id", N, "Fraud ring id when the episode belongs to a planned ring, -1 if none."),
]

SCHEMA: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "customers": [
        ("customer_id", N, "Customer id, unique across the dataset."),
        ("name", S, "Full name (Faker, market locale)."),
        ("email", S, "Email address at the start of the window."),
        (
            "phone",
            S,
            "Phone number at the start of the window "
            "(unique per customer unless a fraud ring shares it).",
        ),
        (
            "address",
            S,
            "Postal address at the start of the window (Faker street address and home city).",
        ),
        ("segment", S, "Behaviour segment (see workbench/data/behaviour.yaml)."),
        ("age", N, "Age in years."),
        ("income_bracket", S, "Income bracket name."),
        ("monthly_income", F, "Monthly income in the market currency."),
        ("occupation", S, "Occupation; drives the hour-of-day profile."),
        ("home_city", S, "Home city."),
        ("city_tier", S, "Tier of the home city: metro, major or smaller."),
        ("home_lat", F, "Latitude of the home city."),
        ("home_lon", F, "Longitude of the home city."),
        ("digital_savviness", S, "low, medium or high; drives channel and payment-mode mix."),
        ("signup_date", T, "When the customer joined (may precede the window)."),
        ("churn_date", T, "When a churning customer left; null for customers who did not churn."),
        ("shard", N, "Generation shard of the customer."),
    ],
    "accounts": [
        ("account_id", N, "Account (or card) id, opaque (a bijection of customer and slot)."),
        ("customer_id", N, "Owner."),
        ("account_type", S, "debit (bank account with debit card) or credit (credit card)."),
        ("credit_limit", F, "Credit limit of a credit card; 0 for debit accounts."),
        ("opening_balance", F, "Balance at the window start (available credit for credit cards)."),
        ("opened_at", T, "When the account was opened."),
    ],
    "merchants": [
        ("merchant_id", N, "Merchant id."),
        ("name", S, "Merchant name (chain branch or local business)."),
        ("category", S, "Merchant category from the market profile."),
        ("city", S, "City of the merchant."),
        ("lat", F, "Latitude of the merchant."),
        ("lon", F, "Longitude of the merchant."),
        ("is_chain", B, "Whether the merchant is a branch of a national chain."),
        ("risk_score", N, "Static merchant risk score 0-100 (acquirer view)."),
    ],
    "devices": [
        ("device_id", N, "Device id, opaque (a bijection of customer and slot)."),
        ("customer_id", N, "The customer on whose account the device was first seen."),
        ("device_type", S, "mobile, desktop or tablet."),
        ("os", S, "Operating system."),
        ("first_seen", T, "When the device was first used."),
    ],
    "ip_addresses": [
        ("ip_id", N, "IP id."),
        ("address", S, "IPv4 address."),
        ("kind", S, "home (one customer), public (shared, per city) or vpn (shared proxy exits)."),
        ("city", S, "City of the IP, `(vpn exit)` for VPN exits."),
        ("customer_id", N, "Owner of a home IP, -1 for shared IPs."),
    ],
    "transactions": [
        ("txn_id", N, "Transaction id: shard * 10^12 + rank in time within the shard."),
        ("timestamp", T, "Local time of the transaction."),
        ("customer_id", N, "Customer who owns the account."),
        ("account_id", N, "Account debited or credited."),
        (
            "txn_type",
            S,
            "purchase, refund, chargeback, salary, card_payment, p2p_out, p2p_in "
            "or reward_redemption.",
        ),
        ("amount", F, "Amount in the market currency, positive, two decimals."),
        (
            "is_credit",
            B,
            "True when money flows into the account "
            "(refund, chargeback, salary, card_payment, p2p_in, reward_redemption).",
        ),
        ("currency", S, "ISO currency code of the market."),
        ("merchant_id", N, "Merchant of purchases, refunds and chargebacks; -1 otherwise."),
        ("category", S, "Merchant category; `none` when there is no merchant."),
        ("channel", S, "pos, online, mobile, or bank for salary and bill payments."),
        (
            "payment_mode",
            S,
            "Payment mode from the market profile; bank_transfer for salary and bill payments.",
        ),
        ("city", S, "City where the transaction took place (where the customer was)."),
        ("lat", F, "Latitude: the merchant for POS, the customer's location for remote channels."),
        ("lon", F, "Longitude, as lat."),
        (
            "device_id",
            N,
            "Customer device for remote channels; -1 for card-present and bank rows.",
        ),
        ("ip_id", N, "IP for remote channels; -1 for card-present and bank rows."),
        (
            "counterparty_account_id",
            N,
            "Other account of a P2P transfer inside the bank; "
            "-1 for other banks and non-transfers.",
        ),
        (
            "related_txn_id",
            N,
            "The purchase a refund or chargeback reverses, or the out leg of a p2p_in; "
            "-1 otherwise.",
        ),
        ("status", S, "approved or declined."),
        ("decline_reason", S, "none, insufficient_funds, technical or card_verification."),
        (
            "ship_elsewhere",
            B,
            "An online order shipped to an address other than the customer's address on file.",
        ),
        (
            "balance_before",
            F,
            "Account balance before the row (available credit for credit cards).",
        ),
        ("balance_after", F, "Balance after the row; equals balance_before when declined."),
    ]
    + FRAUD_COLUMNS,
    "events": [
        ("event_id", N, "Event id: shard * 10^12 + rank in time within the shard."),
        ("timestamp", T, "Time of the event."),
        ("customer_id", N, "Customer."),
        ("account_id", N, "Primary account of the customer."),
        (
            "event_type",
            S,
            "login, email_change, phone_change, address_change, password_reset or bank_link.",
        ),
        ("device_id", N, "Device used."),
        ("ip_id", N, "IP used."),
    ]
    + FRAUD_COLUMNS,
    "labels": [
        (
            "txn_id",
            N,
            "Transaction (join with transactions on txn_id "
            "for is_fraud, the episode and the ring).",
        ),
        ("sequence_number", N, "1-based position of the transaction in its customer's history."),
        (
            "fraud_confirmed_at",
            T,
            "When the row's episode was confirmed as fraud; "
            "null if legitimate or never confirmed.",
        ),
        (
            "label_observed",
            B,
            "The label as known when the data ends: fraud confirmed before the end.",
        ),
        ("is_pre_fraud", B, "The row precedes its customer's first fraud episode (victims only)."),
        (
            "days_to_fraud",
            F,
            "Days from the row to its customer's first fraud (negative after it); "
            "null for customers never defrauded.",
        ),
        (
            "is_train_eligible",
            B,
            "The row's label is settled: confirmed fraud, "
            "or older than the label-maturity horizon.",
        ),
    ],
    "episodes": [
        ("episode_id", N, "Episode id: shard * 10^8 + rank within the shard."),
        ("customer_id", N, "Victim or perpetrator customer."),
        ("fraud_type", S, "Scenario or ring shape."),
        ("ring_id", N, "Ring of the episode, -1 if none."),
        ("first_fraud_at", T, "First fraudulent transaction or event."),
        ("last_fraud_at", T, "Last fraudulent transaction or event."),
        ("n_transactions", N, "Fraudulent transactions of the episode."),
        ("n_events", N, "Fraudulent account events of the episode."),
        ("amount", F, "Money moved by its approved fraudulent transactions."),
        ("fraud_confirmed_at", T, "last_fraud_at plus the label delay; null if never confirmed."),
        ("confirmed_by_end", B, "Confirmed before the end of the simulated window."),
    ],
    "rings": [
        ("ring_id", N, "Ring id (global)."),
        (
            "shape",
            S,
            "device_sharing, ip_recycling, kiting, mule_network or synthetic_identity_ring.",
        ),
        (
            "variant",
            S,
            "Mule-network shape (fan_in_out, scatter_gather, gather_scatter); `none` otherwise.",
        ),
        ("size", N, "Number of member customers."),
        ("start", T, "When the ring's activity starts."),
        ("members", S, "Member customer ids, comma-separated, in ring order."),
    ],
}
NULLABLE = {
    ("customers", "churn_date"),
    ("labels", "fraud_confirmed_at"),
    ("labels", "days_to_fraud"),
    ("episodes", "first_fraud_at"),
    ("episodes", "last_fraud_at"),
    ("episodes", "fraud_confirmed_at"),
}
TABLES = tuple(SCHEMA)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table`` (plain strings)."""
    return pa.schema(
        [pa.field(name, typ, nullable=(table, name) in NULLABLE) for name, typ, _ in SCHEMA[table]]
    )


def conform(table: str, data: pa.Table) -> pa.Table:
    """Check ``data`` against the schema of ``table`` and return it in schema column order.

    Raises ValueError naming the table and column on a missing, extra or mistyped column, or
    a null in a column that must not have one.
    """
    expected = [name for name, _, _ in SCHEMA[table]]
    if sorted(data.column_names) != sorted(expected):
        missing, extra = (
            set(expected) - set(data.column_names),
            set(data.column_names) - set(expected),
        )
        raise ValueError(
            f"table {table}: columns differ from the schema "
            f"(missing {sorted(missing)}, extra {sorted(extra)})"
        )
    data = data.select(expected)
    for name, typ, _ in SCHEMA[table]:
        col = data.column(name)
        actual = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if actual != typ:
            raise ValueError(
                f"table {table}: column {name} has type {col.type}, the schema says {typ}"
            )
        if col.null_count and (table, name) not in NULLABLE:
            raise ValueError(
                f"table {table}: column {name} has {col.null_count} nulls and may have none"
            )
    return data


def markdown() -> str:
    """The schema as Markdown tables (the source of docs/schema.md)."""
    lines = [
        "# Dataset schema",
        "",
        "Generated from `workbench/dataset/schema.py`; do not edit by hand.",
        "",
    ]
    for table, cols in SCHEMA.items():
        lines += [f"## {table}", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{n}` | {t} | {m} |" for n, t, m in cols] + [""]
    return "\n".join(lines)
