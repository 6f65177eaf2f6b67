"""The intent frame: transactions a shard *tries* to make, before the ledger decides them.

Intents are a columnar frame of codes (not strings) so that behaviour models and fraud
scenarios can add rows cheaply; the ledger then settles them in time order per account
and the finaliser turns codes into the published schema. Fraud scenarios add or rewrite
intents and events, and everything downstream (balances, declines, ids) stays consistent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TXN_TYPES = (
    "purchase",
    "refund",
    "chargeback",
    "salary",
    "card_payment",
    "p2p_out",
    "p2p_in",
    "reward_redemption",
)
CREDIT_TYPES = frozenset(
    {"refund", "chargeback", "salary", "card_payment", "p2p_in", "reward_redemption"}
)
# decline_code of an intent: a reason the issuer declines it whatever the balance
DECLINE_REASONS = ("none", "insufficient_funds", "technical", "card_verification")
DECLINE = {name: i for i, name in enumerate(DECLINE_REASONS)}
CHANNELS = ("pos", "online", "mobile", "bank")
EVENT_TYPES = (
    "login",
    "email_change",
    "phone_change",
    "address_change",
    "password_reset",
    "bank_link",
)
KIND = {name: i for i, name in enumerate(TXN_TYPES)}
CHANNEL = {name: i for i, name in enumerate(CHANNELS)}
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
US_PER_MIN = 60_000_000

# column -> dtype of the intent frame; `acc` and `cust` are row positions in the shard's
# accounts and customers frames, `related` a row position in the intent frame itself.
INTENT_COLUMNS = {
    "cust": np.int64,
    "acc": np.int64,
    "ts": np.int64,
    "kind": np.int8,
    "amount_c": np.int64,
    "merchant_id": np.int64,
    "category": np.int16,
    "channel": np.int8,
    "mode": np.int16,
    "city": np.int16,
    "lat": np.float64,
    "lon": np.float64,
    "device_id": np.int64,
    "ip_id": np.int64,
    "cp_account_id": np.int64,
    "related": np.int64,
    "decline_code": np.int8,
    "suppressed": bool,
    "ship_elsewhere": bool,
    "sweep_bp": np.int16,
    "is_fraud": bool,
    "fraud_type": np.int16,
    "fraud_episode_id": np.int64,
    "ring_id": np.int64,
}
EVENT_COLUMNS = {
    "cust": np.int64,
    "ts": np.int64,
    "event_type": np.int8,
    "device_id": np.int64,
    "ip_id": np.int64,
    "is_fraud": bool,
    "fraud_type": np.int16,
    "fraud_episode_id": np.int64,
    "ring_id": np.int64,
}
DEFAULTS = {
    "merchant_id": -1,
    "category": -1,
    "device_id": -1,
    "ip_id": -1,
    "cp_account_id": -1,
    "related": -1,
    "decline_code": 0,
    "suppressed": False,
    "ship_elsewhere": False,
    "sweep_bp": 0,
    "is_fraud": False,
    "fraud_type": 0,
    "fraud_episode_id": -1,
    "ring_id": -1,
}


def frame(columns: dict[str, type], n: int, **values: object) -> pd.DataFrame:
    """A frame of ``n`` rows with the given columns; unnamed ones take their default."""
    data = {}
    for name, dtype in columns.items():
        if name in values:
            data[name] = np.asarray(values[name]).astype(dtype, copy=False)
        elif name in DEFAULTS:
            data[name] = np.full(n, DEFAULTS[name], dtype=dtype)
        else:
            raise KeyError(f"intent column {name!r} needs a value")
    return pd.DataFrame(data)


def concat(parts: list[tuple[pd.DataFrame, bool]]) -> pd.DataFrame:
    """Concatenate intent frames in one copy. Each part says whether its ``related``
    references point at its own rows (True: shifted by the rows before it) or are already
    absolute (False)."""
    offset, frames = 0, []
    for part, own in parts:
        if own and offset:
            rel = part["related"].to_numpy()
            part = part.assign(related=np.where(rel >= 0, rel + offset, -1))
        frames.append(part)
        offset += len(part)
    return pd.concat(frames, ignore_index=True)


def append(base: pd.DataFrame, extra: pd.DataFrame, shift: bool = True) -> pd.DataFrame:
    """Append ``extra`` rows to ``base``.

    With ``shift`` (the default) ``extra``'s ``related`` references point at its own rows and
    are shifted past ``base``; without it they already point at rows of ``base``.
    """
    if shift and "related" in extra and len(base):
        extra = extra.assign(
            related=np.where(extra["related"] >= 0, extra["related"] + len(base), -1)
        )
    return pd.concat([base, extra], ignore_index=True)
