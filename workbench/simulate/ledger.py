"""The ledger: settle a shard's intents in time order per account, in integer cents.

A debit is approved when the account can cover it (bank balance, or available credit on a
credit card) and no technical decline hit it; credits always post. A credit-card bill
payment pays the whole outstanding amount at that moment. Rows that depend on another row
(a refund on its purchase, an incoming transfer on its outgoing leg) only happen if that
row was approved; since removing a credit can decline later debits, settlement repeats
until nothing changes (a fixpoint: the masks only grow, so it ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.simulate.intents import CREDIT_TYPES, KIND, TXN_TYPES

CREDIT_KINDS = np.array([name in CREDIT_TYPES for name in TXN_TYPES])
DECLINE_REASONS = ("none", "insufficient_funds", "technical")


@dataclass
class Settlement:
    """Per intent row: whether it happened, its status, amount and balances (cents)."""

    happened: np.ndarray
    approved: np.ndarray
    reason: np.ndarray  # index into DECLINE_REASONS
    amount_c: np.ndarray
    before_c: np.ndarray
    after_c: np.ndarray


def settle(intents: pd.DataFrame, opening_c: np.ndarray, limit_c: np.ndarray) -> Settlement:
    """Settle ``intents`` against accounts with the given opening balances and limits (cents)."""
    n = len(intents)
    acc = intents["acc"].to_numpy()
    kind = intents["kind"].to_numpy()
    related = intents["related"].to_numpy()
    tech = intents["tech_decline"].to_numpy()
    # time order within each account; ties broken by row order for determinism
    order = np.lexsort((np.arange(n), intents["ts"].to_numpy(), acc))
    acc_sorted = acc[order]
    first = np.r_[True, acc_sorted[1:] != acc_sorted[:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - starts
    by_rank = order[np.argsort(rank, kind="stable")]
    rank_counts = np.bincount(rank) if n else np.array([], dtype=np.int64)
    rank_starts = np.r_[0, np.cumsum(rank_counts)]

    credit = CREDIT_KINDS[kind]
    is_bill = kind == KIND["card_payment"]
    has_parent = related >= 0
    is_parent = np.zeros(n, dtype=bool)
    is_parent[related[has_parent]] = True
    void = np.zeros(n, dtype=bool)
    forced = np.zeros(n, dtype=bool)
    while True:
        amount = intents["amount_c"].to_numpy().copy()
        before = np.zeros(n, dtype=np.int64)
        approved = np.zeros(n, dtype=bool)
        balance = opening_c.astype(np.int64).copy()
        for k in range(len(rank_counts)):
            idx = by_rank[rank_starts[k]:rank_starts[k + 1]]
            a = acc[idx]
            bal = balance[a]
            amount[idx] = np.where(is_bill[idx], limit_c[a] - bal, amount[idx])
            ok = ~void[idx] & ~forced[idx] & (credit[idx] | (~tech[idx] & (bal >= amount[idx]))) & (amount[idx] > 0)
            before[idx] = bal
            approved[idx] = ok
            balance[a] = bal + np.where(ok, np.where(credit[idx], amount[idx], -amount[idx]), 0)
        new_forced = forced | (is_parent & ~approved & ~void)
        new_void = void | (has_parent & ~approved[np.maximum(related, 0)] & has_parent) | (is_bill & (amount <= 0))
        if np.array_equal(new_forced, forced) and np.array_equal(new_void, void):
            break
        forced, void = new_forced, new_void
    after = before + np.where(approved, np.where(credit, amount, -amount), 0)
    reason = np.where(approved, 0, np.where(tech & ~credit, 2, 1))
    return Settlement(~void, approved, reason, amount, before, after)
