"""The customer-feature catalogue: every feature's name, family and definition.

Features describe a customer **as of a cut-off time**: only rows strictly before the cut
count. Windows end at the cut (``_7d`` is the 7 days before it). Category and payment-mode
shares are over the 90-day window, one feature per name of the dataset's market profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from workbench.simulate.intents import CHANNELS
from workbench.simulate.profiles import load_market

WINDOWS = (7, 30, 90)
MIX_WINDOW = 90
IDENTITY_EVENTS = ("email_change", "phone_change", "address_change", "password_reset")
__all__ = ["CustomerFeature", "WINDOWS", "customer_catalogue", "catalogue_frame"]


@dataclass(frozen=True)
class CustomerFeature:
    """One customer feature: its name, family and definition."""

    name: str
    family: str
    definition: str


# (name, family, definition) of the features without a window family or a mix
FIXED = [
    ("recency_days", "recency", "Days from the last approved purchase to the "
     "cut (the history length without one)."),
    ("login_recency_days", "recency", "Days from the last login to the cut "
     "(the history length without one)."),
    ("spend_trend", "trend", "Spend of the last 30 days over the mean 30-day "
     "spend of the last 90 (1 = steady, < 1 fading)."),
    ("purchase_trend", "trend", "Purchases of the last 30 days over the mean "
     "30-day count of the last 90."),
    ("spend_7d_vs_30d", "trend", "Spend of the last 7 days over a quarter "
     "of the last 30 days' spend."),
    ("declines_bank_30d", "experience", "Payments declined for technical or "
     "card-verification reasons in the last 30 days."),
    ("declines_bank_90d", "experience", "The same over 90 days."),
    ("declines_funds_30d", "experience", "Payments returned for insufficient "
     "funds in the last 30 days."),
    ("declines_funds_90d", "experience", "The same over 90 days."),
    ("decline_rate_90d", "experience", "Declined over attempted debits in the "
     "last 90 days."),
    ("fraud_confirmed", "experience", "Frauds on the customer's accounts the "
     "bank had confirmed before the cut."),
    ("fraud_days_since", "experience", "Days since the first confirmed fraud "
     "(-1 without one)."),
    ("refunds_90d", "experience", "Refunds and chargebacks credited in the "
     "last 90 days."),
    ("tenure_days", "profile", "Days from signup to the cut."),
    ("age", "profile", "Age in years (from the customer record)."),
    ("monthly_income", "profile", "Declared monthly income."),
    ("accounts", "profile", "Accounts and cards held."),
    ("has_credit_card", "profile", "1 if the customer holds a credit card."),
    ("balance_last", "balance", "Sum over the customer's debit accounts of "
     "the last balance before the cut."),
    ("balance_mean_30d", "balance", "Mean balance after the debit-account "
     "rows of the last 30 days."),
    ("balance_std_30d", "balance", "Standard deviation of those balances "
     "(volatility)."),
    ("salary_30d", "income", "Salary credits in the last 30 days."),
    ("p2p_out_30d", "income", "Transfers sent in the last 30 days."),
    ("logins_30d", "engagement", "Logins in the last 30 days."),
    ("logins_trend", "engagement", "Logins of the last 30 days over the mean "
     "30-day count of the last 90."),
]


def _windowed() -> list[CustomerFeature]:
    out = []
    for w in WINDOWS:
        out += [
            CustomerFeature(f"purchases_{w}d", "frequency", f"Approved purchases in the {w} days "
                            "before the cut."),
            CustomerFeature(f"spend_{w}d", "monetary", f"Sum of approved purchase amounts in "
                            f"the {w} days before the cut."),
            CustomerFeature(f"avg_amount_{w}d", "monetary", f"Mean approved purchase amount in "
                            f"the {w} days before the cut (0 without purchases)."),
            CustomerFeature(f"active_days_{w}d", "frequency", f"Days with an approved purchase "
                            f"in the {w} days before the cut."),
        ]
    return out


def customer_catalogue(market: str = "india") -> list[CustomerFeature]:
    """Every customer feature for a dataset of ``market`` (its categories and payment modes
    name the share features)."""
    profile = load_market(market)
    fixed = [CustomerFeature(*row) for row in FIXED]
    identity = [CustomerFeature(f"{e}_90d", "identity", f"{e.replace('_', ' ').capitalize()} "
                                "events in the last 90 days.") for e in IDENTITY_EVENTS]
    channels = [CustomerFeature(f"channel_share_{c}", "mix", f"Share of the 90-day purchases "
                                f"made through {c}.") for c in CHANNELS if c != "bank"]
    cats = [CustomerFeature(f"category_share_{k.name}", "mix", f"Share of the 90-day purchase "
                            f"spend in {k.name}.") for k in profile.categories]
    modes = [CustomerFeature(f"mode_share_{m}", "mix", f"Share of the 90-day purchases paid "
                             f"by {m}.") for m in profile.modes]
    return _windowed() + fixed + identity + channels + cats + modes


def catalogue_frame(market: str = "india") -> pd.DataFrame:
    """The catalogue as a table (name, family, definition)."""
    return pd.DataFrame([vars(f) for f in customer_catalogue(market)])
