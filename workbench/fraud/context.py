"""What a fraud scenario sees of a shard, and the only ways it changes it.

Scenarios add transactions and events through :meth:`FraudContext.txns` and
:meth:`FraudContext.events`, which fill every column the way legitimate rows are filled
(same defaults, precision and id formats), hijack existing rows with :meth:`mark`, and
remove legitimate activity (dormancy) with :meth:`suppress`. New rows are appended after
the existing intents, so :meth:`txns` returns their absolute row positions and a scenario
can chain rows (``related``) to rows it created earlier. The ledger settles everything
afterwards, so balances and declines stay consistent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulate import behaviour as bh
from workbench.simulate.intents import (
    CHANNEL,
    DEFAULTS,
    EVENT_COLUMNS,
    EVENT_TYPES,
    INTENT_COLUMNS,
    KIND,
    US_PER_DAY,
    US_PER_HOUR,
    append,
)
from workbench.simulate.labels import Episode
from workbench.simulate.sampling import group_offsets, haversine_km, pick_in_group
from workbench.simulate.shard import ShardWorld
from workbench.simulate.world_plan import entity_id

EPISODE_SPAN = 10**8  # episode ids are shard * EPISODE_SPAN + rank within the shard
EVENT = {name: i for i, name in enumerate(EVENT_TYPES)}


def columns(
    spec: dict[str, type], n: int, values: dict, keep: np.ndarray
) -> dict[str, np.ndarray]:
    """Columns of ``n`` new rows (scalars broadcast, unnamed columns take their default),
    filtered by ``keep``."""
    out = {}
    every = bool(keep.all())
    for name, dtype in spec.items():
        v = np.asarray(values[name] if name in values else DEFAULTS[name])
        if v.dtype != dtype:
            v = v.astype(dtype)
        if v.shape != (n,):
            v = np.broadcast_to(v, (n,))
        out[name] = v if every else v[keep]
    return out


def set_rows(frame: pd.DataFrame, column: str, rows: np.ndarray, value) -> None:
    """Set ``frame[column]`` at positional ``rows``, keeping the column's dtype."""
    values = frame[column].to_numpy().copy()
    values[np.asarray(rows, dtype=np.int64)] = value
    frame[column] = values


class FraudContext:
    """Helpers over a :class:`ShardWorld` for fraud scenarios (see module docstring)."""

    def __init__(self, world: ShardWorld, fraud_types: list[str], delay_sampler) -> None:
        self.world, self.plan, self.pop = world, world.plan, world.population
        self.market, self.config = world.plan.market, world.plan.config
        self.t0 = world.t0_us
        self.end = world.t0_us + self.config.days * US_PER_DAY
        world.fraud_types = fraud_types
        self._type_code = {name: i for i, name in enumerate(fraud_types)}
        self._delay_sampler = delay_sampler
        self._new_txns: list[dict[str, np.ndarray]] = []
        self._new_events: list[dict[str, np.ndarray]] = []
        self._new_devices: list[dict] = []
        self._new_accounts: list[dict] = []
        self._next_slot: dict[tuple[str, int], int] = {}
        self._n_rows = len(world.intents)
        self.episodes: list[Episode] = []
        c = self.pop.customers
        self.n_customers = len(c)
        self.customer_id = c["customer_id"].to_numpy()
        self.home_city = c["city_idx"].to_numpy()
        self.savviness = c["savviness_idx"].to_numpy()
        self.income = c["monthly_income"].to_numpy()
        self.primary = bh.primary_rows(self.pop)
        self.card = bh.credit_card_rows(self.pop)
        self.fraud_plan = None  # the global FraudPlan (colluding and compromised merchants)
        self.reserved = np.array([], dtype=np.int64)  # customers already in an episode or a ring
        it = world.intents
        # columns no scenario rewrites, read once
        self.col = {
            k: it[k].to_numpy()
            for k in (
                "cust",
                "acc",
                "ts",
                "kind",
                "amount_c",
                "merchant_id",
                "category",
                "channel",
                "mode",
                "city",
                "lat",
                "lon",
                "device_id",
                "ip_id",
            )
        }
        # columns scenarios may rewrite on existing rows, written back once by commit()
        self._mutable = {
            k: it[k].to_numpy().copy()
            for k in (
                "is_fraud",
                "fraud_type",
                "fraud_episode_id",
                "ring_id",
                "suppressed",
                "device_id",
            )
        }
        self._by_cust = group_offsets(self.col["cust"], self.n_customers)
        self._ts = self.col["ts"]
        self._n_accounts = len(self.pop.accounts)

    # --- reading the legitimate world -------------------------------------------------
    def rows_of(self, cust: int, kinds: tuple[str, ...] = ("purchase",)) -> np.ndarray:
        """Existing intent rows of a customer of the given kinds, in time order."""
        order, start, count = self._by_cust
        rows = order[start[cust] : start[cust] + count[cust]]
        rows = rows[np.isin(self.col["kind"][rows], [KIND[k] for k in kinds])]
        return rows[np.argsort(self._ts[rows], kind="stable")]

    def card_of(self, cust: int) -> tuple[int, str]:
        """The customer's credit card row and mode if any, else the primary debit account."""
        return (
            (int(self.card[cust]), "credit_card")
            if self.card[cust] >= 0
            else (int(self.primary[cust]), "debit_card")
        )

    def mode_code(self, mode: str) -> int:
        """Index of a payment mode in the market (falls back to the first mode)."""
        return self.market.modes.index(mode) if mode in self.market.modes else 0

    def merchants(
        self, rng: np.random.Generator, city: np.ndarray, categories: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A random merchant per city (in one of ``categories``): (merchant row, category
        index)."""
        names = [k.name for k in self.market.categories]
        pool = [names.index(c) for c in (categories or names) if c in names] or list(
            range(len(names))
        )
        cat = np.asarray(pool)[rng.integers(0, len(pool), len(city))]
        merchant = pick_in_group(
            rng, np.asarray(city) * len(names) + cat, *self.plan.merchant_groups
        )
        return merchant, cat

    def far_city(self, rng: np.random.Generator, city: int, min_km: float = 800.0) -> int:
        """A city at least ``min_km`` from ``city`` (the farthest one if none is that far)."""
        cities = self.market.cities
        d = haversine_km(
            cities["lat"].iloc[city],
            cities["lon"].iloc[city],
            cities["lat"].to_numpy(),
            cities["lon"].to_numpy(),
        )
        far = np.flatnonzero(d >= min_km)
        return int(rng.choice(far)) if len(far) else int(np.argmax(d))

    def vpn_ip(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """Random VPN / proxy exit IPs from the shared pool."""
        return self.plan.vpn_ip_ids[rng.integers(0, len(self.plan.vpn_ip_ids), n)]

    def public_ip(self, rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
        """A shared public IP of each given city."""
        pos = pick_in_group(rng, np.asarray(city), *self.plan.public_ip_groups)
        return self.plan.shared_ips["ip_id"].to_numpy()[pos]

    def average_purchase(self, cust: int) -> float:
        """The customer's mean legitimate purchase amount (falls back to a share of income)."""
        rows = self.rows_of(cust)
        amounts = self.col["amount_c"][rows] / 100
        return float(amounts.mean()) if len(amounts) else float(self.income[cust] * 0.02)

    def window(
        self, rng: np.random.Generator, cust: int, lead_days: float = 0.0, tail_days: float = 1.0
    ) -> int | None:
        """A start time for an episode of ``cust``: after signup plus ``lead_days``, leaving
        ``tail_days`` before the window ends or the customer churns; None if no room."""
        c = self.pop.customers
        lo = max(int(c["signup_day"].iloc[cust]), 0) + lead_days
        churn = int(c["churn_day"].iloc[cust])
        hi = (churn - 30 if churn >= 0 else self.config.days) - tail_days
        if hi <= lo:
            return None
        return self.t0 + int(rng.uniform(lo, hi) * US_PER_DAY)

    # --- changing it -------------------------------------------------------------------
    def episode(
        self, rng: np.random.Generator, cust: int, fraud_type: str, ring_id: int = -1
    ) -> int:
        """Open an episode for ``cust`` and draw its label delay; returns the episode id."""
        eid = self.world.shard * EPISODE_SPAN + len(self.episodes)
        self.episodes.append(
            Episode(eid, int(cust), fraud_type, ring_id, int(self._delay_sampler(rng)))
        )
        return eid

    def _labels(self, n: int, episode, fraud_type, ring_id) -> dict:
        """Label columns for ``n`` rows; ``episode``, ``fraud_type`` and ``ring_id`` may be
        scalars or per-row arrays (episode -1: legitimate rows, no labels)."""
        if np.isscalar(episode) and episode < 0:
            return {}
        codes = (
            np.vectorize(self._type_code.__getitem__, otypes=[np.int16])(fraud_type)
            if not isinstance(fraud_type, str)
            else self._type_code[fraud_type]
        )
        return dict(
            is_fraud=np.ones(n, bool),
            fraud_type=np.broadcast_to(codes, (n,)),
            fraud_episode_id=np.broadcast_to(episode, (n,)),
            ring_id=np.broadcast_to(ring_id, (n,)),
        )

    def txns(
        self,
        episode: int,
        fraud_type: str | None,
        kind: str,
        cust,
        acc,
        ts,
        amount,
        *,
        ring_id: int = -1,
        rng: np.random.Generator | None = None,
        **cols,
    ) -> np.ndarray:
        """Append transactions (``episode`` -1 for legitimate-looking rows) and return their rows.

        ``amount`` is in currency units and rounded to cents; purchases get coordinates from
        their merchant (POS) or city (remote) exactly like legitimate purchases.
        """
        ts = np.atleast_1d(np.asarray(ts, dtype=np.int64))
        n = len(ts)
        cust = np.broadcast_to(np.asarray(cust), (n,))
        cols.setdefault("city", self.home_city[cust])
        cols.setdefault("channel", np.full(n, CHANNEL["bank"]))
        cols.setdefault("mode", np.full(n, -1))
        if "merchant" in cols:
            merchant = np.broadcast_to(np.asarray(cols.pop("merchant")), (n,))
            cols["merchant_id"] = self.plan.m_id[merchant]
            cols.setdefault("category", self.plan.m_category[merchant])
            lat, lon = bh.place(
                self.plan,
                rng,
                np.asarray(cols["channel"]) > 0,
                merchant,
                np.broadcast_to(cols["city"], (n,)),
            )
        else:
            city = np.broadcast_to(np.asarray(cols["city"]), (n,))
            lat, lon = self.plan.city_lat[city], self.plan.city_lon[city]
        cols.setdefault("lat", lat)
        cols.setdefault("lon", lon)
        values = {
            **cols,
            **self._labels(n, episode, fraud_type, ring_id),
            "cust": cust,
            "acc": acc,
            "ts": ts,
            "kind": KIND[kind],
            "amount_c": np.round(np.asarray(amount, float) * 100),
        }
        keep = (ts >= self.t0) & (ts < self.end)
        new = columns(INTENT_COLUMNS, n, values, keep)
        rows = self._n_rows + np.arange(int(keep.sum()))
        self._n_rows += len(rows)
        self._new_txns.append(new)
        return rows

    def txns_frame(self, rows: np.ndarray) -> pd.DataFrame:
        """The appended (not yet committed) intents at absolute ``rows``."""
        pending = pd.DataFrame(
            {k: np.concatenate([b[k] for b in self._new_txns]) for k in INTENT_COLUMNS}
        )
        return pending.iloc[np.asarray(rows) - len(self.world.intents)]

    def label_events(
        self, rows: np.ndarray, episode: int, fraud_type: str, ring_id: int = -1
    ) -> None:
        """Label existing events as fraud of ``episode``."""
        for col, value in self._labels(len(rows), episode, fraud_type, ring_id).items():
            set_rows(self.world.events, col, rows, value)

    def events(
        self,
        episode: int,
        fraud_type: str,
        event_type: str,
        cust,
        ts,
        device_id,
        ip_id,
        *,
        ring_id: int = -1,
    ) -> None:
        """Append account events of ``event_type``."""
        ts = np.atleast_1d(np.asarray(ts, dtype=np.int64))
        n = len(ts)
        values = {
            "cust": cust,
            "ts": ts,
            "event_type": EVENT[event_type],
            "device_id": device_id,
            "ip_id": ip_id,
            **self._labels(n, episode, fraud_type, ring_id),
        }
        self._new_events.append(
            columns(EVENT_COLUMNS, n, values, (ts >= self.t0) & (ts < self.end))
        )

    def mark(self, rows: np.ndarray, episode: int, fraud_type: str, ring_id: int = -1) -> None:
        """Label existing rows as fraud of ``episode`` (a hijack: the row itself is unchanged)."""
        for col, value in self._labels(len(rows), episode, fraud_type, ring_id).items():
            self.rewrite(rows, col, value)

    def suppress(self, rows: np.ndarray) -> None:
        """Remove legitimate intents (e.g. to make an account dormant); dependants go too."""
        self.rewrite(rows, "suppressed", True)

    def rewrite(self, rows: np.ndarray, column: str, value) -> None:
        """Change ``column`` (a label, ``suppressed`` or ``device_id``) of existing intent rows."""
        self._mutable[column][np.asarray(rows, dtype=np.int64)] = value

    def is_fraud(self) -> np.ndarray:
        """Which existing intent rows are labelled fraud so far."""
        return self._mutable["is_fraud"]

    def suppress_span(self, cust: int, start_us: int, end_us: int, acc: int | None = None) -> None:
        """Remove a customer's own debits (purchases, transfers out) in [start, end), optionally
        on one account."""
        rows = self.rows_of(cust, ("purchase", "p2p_out", "refund", "chargeback"))
        ts = self._ts[rows]
        rows = rows[(ts >= start_us) & (ts < end_us)]
        if acc is not None:
            rows = rows[self.world.intents["acc"].to_numpy()[rows] == acc]
        self.suppress(rows)

    def new_device(
        self,
        cust: int,
        first_seen_us: int,
        device_type: str = "mobile",
        os: str = "android",
        owner_slot: int | None = None,
    ) -> int:
        """Register a device first seen on ``cust``'s account (e.g. a fraudster's phone); returns
        its id."""
        slot = self._slot("device", cust) if owner_slot is None else owner_slot
        device_id = int(entity_id("device", self.customer_id[cust], slot))
        self._new_devices.append(
            {
                "device_id": device_id,
                "customer_id": self.customer_id[cust],
                "device_type": device_type,
                "os": os,
                "first_seen": np.datetime64(int(first_seen_us), "us"),
                "owner_idx": cust,
                "slot": slot,
            }
        )
        return device_id

    def _slot(self, kind: str, cust: int) -> int:
        """The next free slot of a customer's devices or accounts."""
        key = (kind, int(cust))
        if key not in self._next_slot:
            frame = self.pop.devices if kind == "device" else self.pop.accounts
            self._next_slot[key] = (
                int(frame["slot"].to_numpy()[frame["owner_idx"].to_numpy() == cust].max()) + 1
            )
        self._next_slot[key] += 1
        return self._next_slot[key] - 1

    def new_account(
        self, cust: int, opened_us: int, opening_balance: float, slot: int | None = None
    ) -> int:
        """Open a debit account for ``cust`` (e.g. a mule or kiting account); returns its row."""
        slot = self._slot("account", cust) if slot is None else slot
        self._new_accounts.append(
            {
                "account_id": int(entity_id("account", self.customer_id[cust], slot)),
                "customer_id": self.customer_id[cust],
                "account_type": "debit",
                "credit_limit": 0.0,
                "opening_balance": round(opening_balance, 2),
                "opened_at": np.datetime64(int(opened_us), "us"),
                "owner_idx": cust,
                "slot": slot,
            }
        )
        return self._n_accounts + len(self._new_accounts) - 1

    def commit(self) -> None:
        """Write the appended rows into the world (called once, after all scenarios)."""
        for col, values in self._mutable.items():
            self.world.intents[col] = values
        if self._new_txns:
            new = pd.DataFrame(
                {k: np.concatenate([b[k] for b in self._new_txns]) for k in INTENT_COLUMNS}
            )
            self.world.intents = append(self.world.intents, new, shift=False)
        if self._new_events:
            new = pd.DataFrame(
                {k: np.concatenate([b[k] for b in self._new_events]) for k in EVENT_COLUMNS}
            )
            self.world.events = pd.concat([self.world.events, new], ignore_index=True)
        for name, rows in (("devices", self._new_devices), ("accounts", self._new_accounts)):
            if rows:
                old = getattr(self.pop, name)
                setattr(
                    self.pop,
                    name,
                    pd.concat(
                        [old, pd.DataFrame(rows).astype(old.dtypes.to_dict())], ignore_index=True
                    ),
                )


HOUR = US_PER_HOUR
DAY = US_PER_DAY
