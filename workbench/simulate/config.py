"""The simulation's configuration: one validated dataclass, the only input to ``generate``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from workbench.simulate.fraud_hook import fraud_layer
from workbench.simulate.profiles import load_behaviour, load_market
from workbench.validation import InputError, check_date_range, check_float, check_int

# simulated times are microsecond timestamps read back by pandas (nanoseconds): keep every
# window well inside the years both represent
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2199, 12, 31)


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that determines a generated dataset. Same config, same bytes.

    Rates are per customer per day unless named otherwise. ``segment_shares``, when given,
    replaces the behaviour profile's segment shares (unlisted segments get none).
    ``shard_size`` is part of the result (it fixes how customers are grouped and seeded); the
    execution backend is not.
    """

    customers: int = 1000
    days: int = 90
    start: dt.date | str = "2025-01-01"
    seed: int = 42
    market: str = "india"
    shard_size: int = 2000
    segment_shares: dict[str, float] | None = None
    churn_rate: float = 0.04  # share of customers who wind down and leave in the window
    new_customer_share: float = 0.05  # share who sign up during the window
    refund_rate: float = 0.008  # per approved purchase
    chargeback_rate: float = 0.0015  # per approved purchase (genuine disputes)
    p2p_rate: float = 0.08  # P2P transfers sent per customer-day
    technical_decline_rate: float = 0.004
    verification_failure_rate: float = 0.003  # remote card payments failing CVV/expiry checks
    ship_elsewhere_rate: float = (
        0.03  # online orders of shipped goods sent to another address (gifts)
    )
    external_transfer_share: float = 0.3  # P2P transfers to or from accounts at other banks
    reward_redemption_rate: float = 0.01  # reward redemptions per credit-card holder per day
    public_ips_per_city: int = 40  # shared public IPs (cafés, carrier NAT) per city
    vpn_pool_size: int = 400  # VPN / proxy exit IPs shared by the whole market
    event_rates: dict[str, float] = field(
        default_factory=lambda: {
            "login": 0.35,
            "email_change": 0.0004,
            "phone_change": 0.0003,
            "address_change": 0.0003,
            "password_reset": 0.0008,
            "bank_link": 0.0015,
        }
    )
    behaviour: str | None = None
    scenarios: str | None = "default"  # fraud mix: "default", "none" (no fraud) or a YAML path
    # rescales the mix's scenario prevalences to this total share of customers; rings keep
    # the mix's per-10k rates, except that 0 means no fraud at all (no rings either)
    fraud_rate: float | None = None

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        set_("customers", check_int("customers", self.customers, 1, 50_000_000))
        set_("days", check_int("days", self.days, 1, 3660))
        set_(
            "start",
            check_date_range(
                "start", self.start, FIRST_DAY, LAST_DAY - dt.timedelta(days=self.days)
            ),
        )
        set_("seed", check_int("seed", self.seed, 0, 2**32 - 1))
        set_("shard_size", check_int("shard_size", self.shard_size, 10, 1_000_000))
        for name in (
            "churn_rate",
            "new_customer_share",
            "refund_rate",
            "chargeback_rate",
            "technical_decline_rate",
            "verification_failure_rate",
            "ship_elsewhere_rate",
            "reward_redemption_rate",
        ):
            set_(name, check_float(name, getattr(self, name), 0.0, 0.5))
        set_("p2p_rate", check_float("p2p_rate", self.p2p_rate, 0.0, 20.0))
        set_(
            "external_transfer_share",
            check_float("external_transfer_share", self.external_transfer_share, 0.0, 1.0),
        )
        set_(
            "public_ips_per_city",
            check_int("public_ips_per_city", self.public_ips_per_city, 1, 100_000),
        )
        set_("vpn_pool_size", check_int("vpn_pool_size", self.vpn_pool_size, 1, 100_000))
        load_market(self.market).check_window(
            self.start, self.days
        )  # raises InputError naming `market`
        segments = {s.name for s in load_behaviour(self.behaviour).segments}
        if self.segment_shares is not None:
            if not isinstance(self.segment_shares, dict) or set(self.segment_shares) - segments:
                raise InputError(
                    "segment_shares",
                    self.segment_shares,
                    "a mapping from segment names (" + ", ".join(sorted(segments)) + ") to shares",
                )
            shares = {
                k: check_float(f"segment_shares.{k}", v, 0.0)
                for k, v in self.segment_shares.items()
            }
            if sum(shares.values()) <= 0:
                raise InputError(
                    "segment_shares", self.segment_shares, "shares with a positive sum"
                )
            set_("segment_shares", shares)
        known = {
            "login",
            "email_change",
            "phone_change",
            "address_change",
            "password_reset",
            "bank_link",
        }
        if not isinstance(self.event_rates, dict) or set(self.event_rates) != known:
            raise InputError(
                "event_rates",
                self.event_rates,
                "a mapping with exactly the keys " + ", ".join(sorted(known)),
            )
        set_(
            "event_rates",
            {
                k: check_float(f"event_rates.{k}", v, 0.0, 50.0)
                for k, v in self.event_rates.items()
            },
        )
        if self.scenarios is not None:
            set_("scenarios", str(self.scenarios))
        self.mix()  # raises InputError naming the offending key
        if self.fraud_rate is not None:
            set_("fraud_rate", float(self.fraud_rate))

    def mix(self) -> Any | None:
        """The validated fraud mix of this config, read by the registered fraud layer
        (None without fraud)."""
        return fraud_layer().load(self.scenarios, self.fraud_rate)

    @property
    def end(self) -> dt.date:
        """The first day after the simulated window."""
        return self.start + dt.timedelta(days=self.days)

    @property
    def n_shards(self) -> int:
        """How many customer shards the population is split into."""
        return -(-self.customers // self.shard_size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the configuration (for the dataset card)."""
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        return out
