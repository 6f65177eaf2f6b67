"""Episodes, label delay and per-transaction evaluation metadata.

How to split without leakage: train on rows with ``is_train_eligible`` using
``label_observed`` (the label as known when the data ends: fraud confirmed in time, later
or never confirmed fraud looks clean), with features computed only from rows before each
transaction; evaluate against ``is_fraud`` (the truth). A label may be used as a feature
for a later transaction only if its ``fraud_confirmed_at`` is before that transaction.
``is_pre_fraud`` and ``days_to_fraud`` place a row relative to its customer's first fraud
episode (for studying early warning); they are analysis columns, never features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

US_PER_DAY = 86_400_000_000


@dataclass
class Episode:
    """One fraud episode: its customer (row in the shard), scenario, ring and label delay."""

    episode_id: int
    cust: int
    fraud_type: str
    ring_id: int
    delay_us: int  # from the episode's last fraudulent row to confirmation; -1 = never confirmed


def label_tables(
    tx: pa.Table,
    ev: pa.Table,
    episodes: list[Episode],
    customer_ids: np.ndarray,
    end_us: int,
    maturity_days: float,
) -> tuple[pa.Table, pa.Table]:
    """The shard's ``labels`` (one row per transaction) and ``episodes`` tables."""
    ts = tx.column("timestamp").cast(pa.int64()).to_numpy()
    cust = tx.column("customer_id").to_numpy()
    is_fraud = tx.column("is_fraud").to_numpy(zero_copy_only=False)
    ep_of = tx.column("fraud_episode_id").to_numpy()
    amount = tx.column("amount").to_numpy()
    approved = pc.equal(tx.column("status").cast(pa.string()), "approved").to_numpy(
        zero_copy_only=False
    )
    ev_ts = ev.column("timestamp").cast(pa.int64()).to_numpy()
    ev_ep = ev.column("fraud_episode_id").to_numpy()

    n_ep = len(episodes)
    ids = np.array([e.episode_id for e in episodes], dtype=np.int64)
    pos = {int(e): i for i, e in enumerate(ids)}
    first = np.full(n_ep, np.iinfo(np.int64).max)
    last = np.full(n_ep, -1, dtype=np.int64)
    n_tx = np.zeros(n_ep, dtype=np.int64)
    n_ev = np.zeros(n_ep, dtype=np.int64)
    money = np.zeros(n_ep)
    if n_ep:
        for times, eps, counter, amounts in (
            (ts, ep_of, n_tx, amount * approved),
            (ev_ts, ev_ep, n_ev, None),
        ):
            has = eps >= 0
            k = np.array([pos[int(e)] for e in eps[has]], dtype=np.int64)
            np.minimum.at(first, k, times[has])
            np.maximum.at(last, k, times[has])
            np.add.at(counter, k, 1)
            if amounts is not None:
                np.add.at(money, k, amounts[has])
    delay = np.array([e.delay_us for e in episodes], dtype=np.int64)
    happened = last >= 0
    confirmed_at = np.where((delay >= 0) & happened, last + np.maximum(delay, 0), -1)
    episodes_tab = pa.table(
        {
            "episode_id": ids,
            "customer_id": customer_ids[np.array([e.cust for e in episodes], dtype=np.int64)]
            if n_ep
            else np.array([], np.int64),
            "fraud_type": pa.array([e.fraud_type for e in episodes], pa.string()),
            "ring_id": np.array([e.ring_id for e in episodes], dtype=np.int64),
            "first_fraud_at": pa.array(
                np.where(happened, first, 0), pa.timestamp("us"), mask=~happened
            ),
            "last_fraud_at": pa.array(
                np.where(happened, last, 0), pa.timestamp("us"), mask=~happened
            ),
            "n_transactions": n_tx,
            "n_events": n_ev,
            "amount": np.round(money, 2),
            "fraud_confirmed_at": pa.array(
                np.maximum(confirmed_at, 0), pa.timestamp("us"), mask=confirmed_at < 0
            ),
            "confirmed_by_end": (confirmed_at >= 0) & (confirmed_at < end_us),
        }
    ).filter(pa.array(happened))

    # per transaction
    row_confirm = np.full(len(ts), -1, dtype=np.int64)
    has = ep_of >= 0
    if has.any():
        row_confirm[has] = confirmed_at[
            np.array([pos[int(e)] for e in ep_of[has]], dtype=np.int64)
        ]
    observed = is_fraud & (row_confirm >= 0) & (row_confirm < end_us)
    order = np.lexsort((tx.column("txn_id").to_numpy(), ts, cust))
    seq = np.empty(len(ts), dtype=np.int64)
    c_sorted = cust[order]
    starts = np.r_[True, c_sorted[1:] != c_sorted[:-1]]
    seq[order] = (
        np.arange(len(ts)) - np.maximum.accumulate(np.where(starts, np.arange(len(ts)), 0)) + 1
    )
    # the customer's first fraud (from the episodes, events included)
    first_fraud = {}
    for e, f, ok in zip(episodes, first, happened):
        if ok:
            cid = int(customer_ids[e.cust])
            first_fraud[cid] = min(first_fraud.get(cid, f), f)
    ff = np.full(len(ts), -1, dtype=np.int64)
    if first_fraud:
        keys = np.array(sorted(first_fraud), dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, cust), len(keys) - 1)
        ff = np.where(
            keys[at] == cust, np.array([first_fraud[int(k)] for k in keys], dtype=np.int64)[at], -1
        )
    victim = ff >= 0
    days_to = np.where(victim, (ff - ts) / US_PER_DAY, 0.0)
    mature = ts <= end_us - int(maturity_days * US_PER_DAY)
    labels = pa.table(
        {
            "txn_id": tx.column("txn_id"),
            "sequence_number": seq,
            "fraud_confirmed_at": pa.array(
                np.maximum(row_confirm, 0), pa.timestamp("us"), mask=row_confirm < 0
            ),
            "label_observed": observed,
            "is_pre_fraud": victim & (ts < ff),
            "days_to_fraud": pa.array(days_to, pa.float64(), mask=~victim),
            "is_train_eligible": observed | mature,
        }
    )
    return labels, episodes_tab
