"""The ledger: settle a shard's intents in time order per account, in integer cents.

A debit is approved when the account can cover it (bank balance, or available credit on a
credit card) and carries no decline code (technical, card verification); credits always
post. Suppressed intents (legitimate activity a fraud scenario removed) never happen. A
credit-card bill payment pays the whole outstanding amount at that moment; a sweep
(``sweep_bp`` > 0, used by drains and cash-outs) debits that many basis points of the balance
at that moment. Rows that depend on another row (a refund on its purchase, an incoming
transfer on its outgoing leg) only happen if that row was approved; since removing a credit
can decline later debits, settlement repeats until nothing changes (a fixpoint: the masks
only grow, so it ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.simulate.intents import CREDIT_TYPES, DECLINE, DECLINE_REASONS, KIND, TXN_TYPES

CREDIT_KINDS = np.array([name in CREDIT_TYPES for name in TXN_TYPES])
__all__ = ["CREDIT_KINDS", "DECLINE_REASONS", "Settlement", "settle"]


@dataclass
class Settlement:
    """Per intent row: whether it happened, its status, amount and balances (cents)."""

    happened: np.ndarray
    approved: np.ndarray
    reason: np.ndarray  # index into DECLINE_REASONS
    amount_c: np.ndarray
    before_c: np.ndarray
    after_c: np.ndarray


def _scan(
    rows: np.ndarray,
    acc: np.ndarray,
    ts: np.ndarray,
    base: np.ndarray,
    credit: np.ndarray,
    blocked: np.ndarray,
    is_bill: np.ndarray,
    sweep: np.ndarray,
    void: np.ndarray,
    forced: np.ndarray,
    opening_c: np.ndarray,
    limit_c: np.ndarray,
    amount: np.ndarray,
    before: np.ndarray,
    approved: np.ndarray,
) -> None:
    """Settle ``rows`` (all rows of the accounts they touch) in time order per account,
    writing ``amount``, ``before`` and ``approved`` in place. Vectorised across accounts: step
    k settles every account's k-th row at once."""
    order = rows[np.lexsort((rows, ts[rows], acc[rows]))]
    a_sorted = acc[order]
    n = len(order)
    first = np.r_[True, a_sorted[1:] != a_sorted[:-1]]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    by_rank = order[np.argsort(rank, kind="stable")]
    bounds = np.r_[0, np.cumsum(np.bincount(rank))] if n else np.array([0])
    balance = opening_c.astype(np.int64).copy()
    for k in range(len(bounds) - 1):
        idx = by_rank[bounds[k] : bounds[k + 1]]
        a = acc[idx]
        bal = balance[a]
        amt = np.where(
            is_bill[idx],
            limit_c[a] - bal,
            np.where(sweep[idx] > 0, np.maximum(bal, 0) * sweep[idx] // 10_000, base[idx]),
        )
        ok = ~void[idx] & ~forced[idx] & (credit[idx] | (~blocked[idx] & (bal >= amt))) & (amt > 0)
        amount[idx], before[idx], approved[idx] = amt, bal, ok
        balance[a] = bal + np.where(ok, np.where(credit[idx], amt, -amt), 0)


def settle(intents: pd.DataFrame, opening_c: np.ndarray, limit_c: np.ndarray) -> Settlement:
    """Settle ``intents`` against accounts with the given opening balances and limits (cents)."""
    n = len(intents)
    acc = intents["acc"].to_numpy()
    kind = intents["kind"].to_numpy()
    related = intents["related"].to_numpy()
    code = intents["decline_code"].to_numpy()
    ts = intents["ts"].to_numpy()
    base = intents["amount_c"].to_numpy()
    sweep = intents["sweep_bp"].to_numpy().astype(np.int64)
    blocked = code != DECLINE["none"]
    credit = CREDIT_KINDS[kind]
    is_bill = kind == KIND["card_payment"]
    has_parent = related >= 0
    parent = np.maximum(related, 0)
    is_parent = np.zeros(n, dtype=bool)
    is_parent[related[has_parent]] = True
    void = intents["suppressed"].to_numpy().copy()
    forced = np.zeros(n, dtype=bool)
    amount = base.copy()
    before = np.zeros(n, dtype=np.int64)
    approved = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    while len(rows):
        _scan(
            rows,
            acc,
            ts,
            base,
            credit,
            blocked,
            is_bill,
            sweep,
            void,
            forced,
            opening_c,
            limit_c,
            amount,
            before,
            approved,
        )
        new_forced = forced | (is_parent & ~approved & ~void)
        new_void = (
            void | (has_parent & ~approved[parent]) | ((is_bill | (sweep > 0)) & (amount <= 0))
        )
        changed = (new_forced != forced) | (new_void != void)
        forced, void = new_forced, new_void
        # only accounts with a changed row need settling again
        rows = np.flatnonzero(np.isin(acc, np.unique(acc[changed]))) if changed.any() else rows[:0]
    after = before + np.where(approved, np.where(credit, amount, -amount), 0)
    reason = np.where(
        approved, DECLINE["none"], np.where(blocked & ~credit, code, DECLINE["insufficient_funds"])
    )
    return Settlement(~void, approved, reason, amount, before, after)
