"""Terminal-grid transactions: a simulator of the kind the field's reference handbook
("Reproducible Machine Learning for Credit Card Fraud Detection") uses, written from its
published description, the handbook's 15 baseline features and its evaluation split.

The world:

- customers and terminals placed uniformly at random on a 100 x 100 grid; a customer pays
  only at terminals closer than ``radius`` (a customer with none makes no transactions);
- each customer has a mean amount (uniform 5-100), a standard deviation of half of it and a
  mean number of transactions per day (uniform 0-4); every day the count is Poisson, each
  time of day normal around noon (sd 20,000 s; draws outside the day are dropped), each
  amount normal (a negative draw is replaced by a uniform one from 0 to twice the mean),
  each terminal uniform among the customer's;
- fraud, in the handbook's order (a later scenario relabels an earlier one's rows):
  scenario 1, every amount above ``amount_threshold``; scenario 2, every day
  ``compromised_terminals_per_day`` terminals are compromised and all their transactions
  of the next ``terminal_days`` days are fraud; scenario 3, every day
  ``compromised_cards_per_day`` customers' cards are compromised and a third of their
  transactions of the next ``card_days`` days (drawn at random) have their amount
  multiplied by 5 and are fraud;
- ``TX_FRAUD_CONFIRMED_AT``: when a fraud is confirmed, ``label_delay_days`` after it
  (empty for legitimate rows), so the workbench's label-timing protocols apply.

Randomness comes from one ``numpy`` generator per part (profiles, transactions, each
scenario) spawned from ``seed``: the same seed gives the same bytes. Everything is
vectorised: loops run over blocks of customers and over feature windows, never over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.features.splits import Split, drop_known_compromised, train_delay_test
from workbench.validation import InputError, check_date, check_float, check_int

START = "2018-04-01"
GRID = 100.0
SCENARIOS = {0: "none", 1: "large_amount", 2: "compromised_terminal", 3: "compromised_card"}
WINDOWS = (1, 7, 30)
# the table's columns in canonical names: what the workbench's external path reads
MAPPING = {
    "txn_id": "TRANSACTION_ID",
    "ts": "TX_DATETIME",
    "customer_id": "CUSTOMER_ID",
    "merchant_id": "TERMINAL_ID",
    "amount": "TX_AMOUNT",
    "is_fraud": "TX_FRAUD",
    "confirmed_at": "TX_FRAUD_CONFIRMED_AT",
}
DAY_NS = 86_400 * 10**9
_CHUNK = 512  # customers per block of the customer-terminal distance matrix


def _baseline_names(windows: Sequence[int] = WINDOWS) -> tuple[str, ...]:
    customer = [
        f"CUSTOMER_ID_{kind}_{w}DAY_WINDOW" for w in windows for kind in ("NB_TX", "AVG_AMOUNT")
    ]
    terminal = [f"TERMINAL_ID_{kind}_{w}DAY_WINDOW" for w in windows for kind in ("NB_TX", "RISK")]
    return ("TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT", *customer, *terminal)


BASELINE_FEATURES = _baseline_names()


def customer_profiles(customers: int, rng: np.random.Generator) -> pd.DataFrame:
    """Customers' grid positions and spending profiles (see the module docstring)."""
    n = check_int("customers", customers, 1, 10_000_000)
    mean = rng.uniform(5, 100, n)
    return pd.DataFrame(
        {
            "CUSTOMER_ID": np.arange(n),
            "x": rng.uniform(0, GRID, n),
            "y": rng.uniform(0, GRID, n),
            "mean_amount": mean,
            "std_amount": mean / 2,
            "mean_nb_tx_per_day": rng.uniform(0, 4, n),
        }
    )


def terminal_profiles(terminals: int, rng: np.random.Generator) -> pd.DataFrame:
    """Terminals' grid positions."""
    n = check_int("terminals", terminals, 1, 10_000_000)
    return pd.DataFrame(
        {"TERMINAL_ID": np.arange(n), "x": rng.uniform(0, GRID, n), "y": rng.uniform(0, GRID, n)}
    )


def terminals_within(
    customers: pd.DataFrame, terminals: pd.DataFrame, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's terminals closer than ``radius``, as (offsets, terminal ids): the
    terminals of customer ``i`` are ``ids[offsets[i]:offsets[i + 1]]``, in id order."""
    radius = check_float("radius", radius, 0.0)
    cx, cy = customers["x"].to_numpy(), customers["y"].to_numpy()
    tx, ty = terminals["x"].to_numpy(), terminals["y"].to_numpy()
    ids, counts = [], []
    for a in range(0, len(cx), _CHUNK):  # blocks bound the distance matrix's memory
        dx = cx[a : a + _CHUNK, None] - tx[None, :]
        dy = cy[a : a + _CHUNK, None] - ty[None, :]
        d2 = dx * dx + dy * dy
        rows, cols = np.nonzero(d2 < radius * radius)
        ids.append(cols)
        counts.append(np.bincount(rows, minlength=len(d2)))
    offsets = np.r_[0, np.cumsum(np.concatenate(counts))]
    return offsets.astype(np.int64), np.concatenate(ids).astype(np.int64)


def _spans(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For spans ``[starts[i], starts[i] + lengths[i])``: (span index, position) of each
    member, spans in order."""
    which = np.repeat(np.arange(len(starts)), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return which, starts[which] + np.arange(len(which)) - first


def _daily_draws(
    population: int, per_day: int, days: int, rng: np.random.Generator, param: str
) -> tuple[np.ndarray, np.ndarray]:
    """(day, member) of ``per_day`` distinct members drawn each day."""
    per_day = check_int(param, per_day, 0, population)
    keys = rng.random((days, population))
    members = np.argsort(keys, axis=1, kind="stable")[:, :per_day]
    return np.repeat(np.arange(days), per_day), members.ravel()


def _transactions(
    profiles: pd.DataFrame,
    offsets: np.ndarray,
    ids: np.ndarray,
    days: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The legitimate transactions (customer, day, second of day, terminal, amount), in
    (customer, day) order before the time sort."""
    n_cust = len(profiles)
    counts = rng.poisson(np.repeat(profiles["mean_nb_tx_per_day"].to_numpy(), days))
    cell = np.repeat(np.arange(n_cust * days), counts)
    cust, day = cell // days, cell % days
    second = np.trunc(rng.normal(86_400 / 2, 20_000, len(cell))).astype(np.int64)
    mean = profiles["mean_amount"].to_numpy()[cust]
    amount = rng.normal(mean, profiles["std_amount"].to_numpy()[cust])
    fallback = rng.uniform(0, 2 * mean)
    amount = np.round(np.where(amount < 0, fallback, amount), 2)
    n_terms = np.diff(offsets)[cust]
    pick = np.floor(rng.random(len(cell)) * np.maximum(n_terms, 1)).astype(np.int64)
    # a customer without a terminal in reach makes no transactions: its rows are dropped
    slot = np.minimum(offsets[cust] + pick, len(ids) - 1)
    terminal = ids[slot] if len(ids) else np.zeros(len(cell), np.int64)
    keep = (second > 0) & (second < 86_400) & (n_terms > 0)
    return pd.DataFrame(
        {
            "CUSTOMER_ID": cust[keep],
            "TX_TIME_DAYS": day[keep],
            "TX_TIME_SECONDS": day[keep] * 86_400 + second[keep],
            "TERMINAL_ID": terminal[keep],
            "TX_AMOUNT": amount[keep],
        }
    )


def _active(
    members: np.ndarray, start_days: np.ndarray, length: int, population: int, days: int
) -> np.ndarray:
    """(population, days) boolean: member compromised on that day by a draw at most
    ``length - 1`` days earlier (a difference array, summed along days)."""
    marks = np.zeros((population, days + 1), np.int32)
    np.add.at(marks, (members, start_days), 1)
    np.add.at(marks, (members, np.minimum(start_days + length, days)), -1)
    return np.cumsum(marks, axis=1)[:, :days] > 0


@dataclass(frozen=True)
class TerminalGrid:
    """A generated world: its transactions (see :func:`terminal_grid_transactions`), the
    customer and terminal profiles, and the fraud plan: the (day, terminal) of each
    compromised-terminal draw and the (day, customer) of each compromised-card draw."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    terminals: pd.DataFrame
    compromised_terminals: pd.DataFrame
    compromised_cards: pd.DataFrame


def terminal_grid(
    customers: int = 5000,
    terminals: int = 10_000,
    days: int = 183,
    start: str = START,
    seed: int = 0,
    radius: float = 5.0,
    amount_threshold: float = 220.0,
    compromised_terminals_per_day: int = 2,
    terminal_days: int = 28,
    compromised_cards_per_day: int = 3,
    card_days: int = 14,
    label_delay_days: float = 7.0,
) -> TerminalGrid:
    """A terminal-grid world (see the module docstring) with its fraud plan. The defaults
    are the handbook's: 5,000 customers, 10,000 terminals, 183 days from 2018-04-01, two
    terminals and three cards compromised a day."""
    days = check_int("days", days, 1, 3660)
    t0 = pd.Timestamp(check_date("start", start))
    threshold = check_float("amount_threshold", amount_threshold, 0.0)
    terminal_days = check_int("terminal_days", terminal_days, 1, 3660)
    card_days = check_int("card_days", card_days, 1, 3660)
    delay = check_float("label_delay_days", label_delay_days, 0.0, 3660.0)
    rngs = [
        np.random.default_rng(s)
        for s in np.random.SeedSequence(check_int("seed", seed, 0)).spawn(5)
    ]
    cust = customer_profiles(customers, rngs[0])
    term = terminal_profiles(terminals, rngs[1])
    offsets, ids = terminals_within(cust, term, radius)
    tx = _transactions(cust, offsets, ids, days, rngs[2])
    order = np.lexsort((tx["CUSTOMER_ID"].to_numpy(), tx["TX_TIME_SECONDS"].to_numpy()))
    tx = tx.iloc[order].reset_index(drop=True)
    amount = tx["TX_AMOUNT"].to_numpy().copy()
    day, c_id, t_id = (tx[c].to_numpy() for c in ("TX_TIME_DAYS", "CUSTOMER_ID", "TERMINAL_ID"))
    seconds = tx["TX_TIME_SECONDS"].to_numpy()
    scenario = np.where(amount > threshold, 1, 0).astype(np.int8)
    d2, m2 = _daily_draws(
        len(term), compromised_terminals_per_day, days, rngs[3], "compromised_terminals_per_day"
    )
    scenario[_active(m2, d2, terminal_days, len(term), days)[t_id, day]] = 2
    d3, m3 = _daily_draws(
        len(cust), compromised_cards_per_day, days, rngs[4], "compromised_cards_per_day"
    )
    scenario[_card_frauds(c_id, day, seconds, days, d3, m3, card_days, rngs[4])] = 3
    amount[scenario == 3] = np.round(amount[scenario == 3] * 5, 2)
    fraud = (scenario > 0).astype(np.int8)
    when = t0 + pd.to_timedelta(seconds, unit="s")
    confirmed = pd.Series(when + pd.Timedelta(days=delay)).where(fraud == 1)
    table = pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(len(tx), dtype=np.int64),
            "TX_DATETIME": when,
            "CUSTOMER_ID": c_id,
            "TERMINAL_ID": t_id,
            "TX_AMOUNT": amount,
            "TX_TIME_SECONDS": seconds,
            "TX_TIME_DAYS": day,
            "TX_FRAUD": fraud,
            "TX_FRAUD_SCENARIO": scenario,
            "TX_FRAUD_CONFIRMED_AT": confirmed.to_numpy(),
        }
    )
    return TerminalGrid(
        table,
        cust,
        term,
        pd.DataFrame({"day": d2, "TERMINAL_ID": m2}),
        pd.DataFrame({"day": d3, "CUSTOMER_ID": m3}),
    )


def terminal_grid_transactions(
    customers: int = 5000,
    terminals: int = 10_000,
    days: int = 183,
    start: str = START,
    seed: int = 0,
    **params: Any,
) -> pd.DataFrame:
    """The transactions of :func:`terminal_grid` (``params``: its other parameters), ordered
    by time: TRANSACTION_ID (0..n-1 in that order), TX_DATETIME, CUSTOMER_ID, TERMINAL_ID,
    TX_AMOUNT, TX_TIME_SECONDS and TX_TIME_DAYS (since ``start``), TX_FRAUD,
    TX_FRAUD_SCENARIO (0 legitimate, 1 amount, 2 terminal, 3 card; :data:`SCENARIOS`) and
    TX_FRAUD_CONFIRMED_AT (empty for legitimate rows)."""
    return terminal_grid(customers, terminals, days, start, seed, **params).transactions


def _card_frauds(
    cust: np.ndarray,
    day: np.ndarray,
    seconds: np.ndarray,
    days: int,
    start: np.ndarray,
    member: np.ndarray,
    length: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Row positions of scenario 3: for each draw (``start`` day, ``member`` customer), a
    third (rounded down) of the customer's transactions of the next ``length`` days, drawn
    at random."""
    order = np.lexsort((seconds, cust))  # by customer, then time
    key = cust[order].astype(np.int64) * (days + 1) + day[order]
    lo = np.searchsorted(key, member * (days + 1) + start)
    hi = np.searchsorted(key, member * (days + 1) + np.minimum(start + length, days))
    which, pos = _spans(lo, hi - lo)
    rank_key = rng.random(len(pos))
    ranked = np.lexsort((rank_key, which))  # within each draw, in random order
    which, pos = which[ranked], pos[ranked]
    first = np.r_[0, np.cumsum(hi - lo)][which]
    chosen = np.arange(len(pos)) - first < ((hi - lo) // 3)[which]
    return np.unique(order[pos[chosen]])


def _at_or_before(entity: np.ndarray, t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """For rows sorted by (entity, t): for each row ``i``, how many rows sort at or before
    (entity[i], q[i]), i.e. rows of earlier entities plus rows of its entity with
    t <= q[i]. One merge of rows and queries (a query after rows at the same time)."""
    n = len(t)
    kind = np.r_[np.zeros(n, np.int8), np.ones(n, np.int8)]
    merged = np.lexsort((kind, np.r_[t, q], np.r_[entity, entity]))
    where = np.flatnonzero(merged >= n)
    out = np.empty(n, np.int64)
    out[merged[where] - n] = where - np.arange(n)
    return out


def _window_sums(
    entity: np.ndarray, t: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Count and sum of ``values`` over the rows of each row's entity with time in
    (lo, hi]; ``hi=None`` ends the window at the row itself (rows at the same instant
    ordered after it are out, as in pandas' ``rolling``). Inputs in (entity, t) order."""
    prefix = np.r_[0.0, np.cumsum(values, dtype=np.float64)]
    upper = np.arange(1, len(t) + 1) if hi is None else _at_or_before(entity, t, hi)
    lower = _at_or_before(entity, t, lo)
    return upper - lower, prefix[upper] - prefix[lower]


def baseline_features(
    transactions: pd.DataFrame, delay_days: int = 7, windows: Sequence[int] = WINDOWS
) -> pd.DataFrame:
    """The handbook's baseline features of each row, in the input's row order, with its
    TRANSACTION_ID: TX_AMOUNT; TX_DURING_WEEKEND (Saturday, Sunday); TX_DURING_NIGHT
    (hour <= 6); per window ``w`` days, the customer's transaction count and mean amount
    over (t - w, t] (the row itself included) and the terminal's transaction count and
    fraud share over (t - delay - w, t - delay] (0 without transactions). Times are
    TX_DATETIME; labels TX_FRAUD."""
    need = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"]
    missing = [c for c in need if c not in transactions.columns]
    if missing:
        raise InputError("transactions", missing, "a frame with the columns " + ", ".join(need))
    delay = check_int("delay_days", delay_days, 0, 3660)
    windows = [check_int("windows", w, 1, 3660) for w in windows]
    when = pd.to_datetime(transactions["TX_DATETIME"])
    t = when.to_numpy().astype("datetime64[ns]").astype(np.int64)
    out = pd.DataFrame(
        {
            "TRANSACTION_ID": transactions["TRANSACTION_ID"].to_numpy(),
            "TX_AMOUNT": transactions["TX_AMOUNT"].to_numpy(np.float64),
            "TX_DURING_WEEKEND": (when.dt.weekday >= 5).astype(np.int8).to_numpy(),
            "TX_DURING_NIGHT": (when.dt.hour <= 6).astype(np.int8).to_numpy(),
        }
    )
    amount = out["TX_AMOUNT"].to_numpy()
    fraud = transactions["TX_FRAUD"].to_numpy(np.float64)
    for entity, kind in (("CUSTOMER_ID", "customer"), ("TERMINAL_ID", "terminal")):
        ent = transactions[entity].to_numpy()
        order = np.lexsort((np.arange(len(t)), t, ent))
        e, ts = ent[order], t[order]
        for w in windows:
            name = f"{entity}_NB_TX_{w}DAY_WINDOW"
            if kind == "customer":
                n, total = _window_sums(e, ts, amount[order], ts - w * DAY_NS, None)
                ratio, ratio_name = total / n, f"{entity}_AVG_AMOUNT_{w}DAY_WINDOW"
            else:
                edge = ts - delay * DAY_NS
                n, total = _window_sums(e, ts, fraud[order], edge - w * DAY_NS, edge)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(n > 0, total / np.maximum(n, 1), 0.0)
                ratio_name = f"{entity}_RISK_{w}DAY_WINDOW"
            for col, v in ((name, n), (ratio_name, ratio)):
                values = np.empty(len(t), np.float64)
                values[order] = v
                out[col] = values
    return out[["TRANSACTION_ID", *_baseline_names(windows)]]


def evaluation_frame(transactions: pd.DataFrame) -> pd.DataFrame:
    """The transactions in the workbench's evaluation-frame names (see
    :mod:`workbench.evaluate.frame`): keys, labels and their confirmation time, the
    scenario as ``fraud_type``; a card is its customer; no episodes or rings."""
    fraud = transactions["TX_FRAUD"].to_numpy().astype(np.int8)
    scenario = transactions["TX_FRAUD_SCENARIO"].map(SCENARIOS).astype(str).to_numpy()
    return pd.DataFrame(
        {
            "txn_id": transactions["TRANSACTION_ID"].to_numpy(),
            "ts": pd.to_datetime(transactions["TX_DATETIME"]).to_numpy(),
            "customer_id": transactions["CUSTOMER_ID"].to_numpy(),
            "card_id": transactions["CUSTOMER_ID"].to_numpy(),
            "amount": transactions["TX_AMOUNT"].to_numpy(),
            "loss": transactions["TX_AMOUNT"].to_numpy(),
            "is_fraud": fraud,
            "fraud_type": scenario,
            "ring_shape": "none",
            "fraud_episode_id": -1,
            "episode_start": pd.NaT,
            "fraud_confirmed_at": pd.to_datetime(transactions["TX_FRAUD_CONFIRMED_AT"]).to_numpy(),
        }
    )


def reference_split(
    frame: pd.DataFrame,
    start: str | pd.Timestamp,
    train_days: float = 7.0,
    delay_days: float = 7.0,
    test_days: float = 7.0,
) -> Split:
    """The reference protocol's split of an evaluation frame (``ts``, ``card_id``,
    ``is_fraud``, ``fraud_confirmed_at``): train | delay | test from ``start``, and the test
    rows of cards already known to be compromised removed (a fraud from the training start
    on, confirmed before the test row's day: with a label delay of ``delay_days``, the
    training block's frauds and, day by day, those of the delay block)."""
    split = train_delay_test(frame["ts"], start, train_days, delay_days, test_days)
    test = drop_known_compromised(
        split.test,
        frame["ts"],
        frame["card_id"],
        frame["fraud_confirmed_at"],
        frame["is_fraud"],
        start,
    )
    return Split(split.train, split.validation, test)
