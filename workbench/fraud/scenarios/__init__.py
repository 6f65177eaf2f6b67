"""One module per fraud scenario; ``SCENARIOS`` lists them in a fixed order."""

from workbench.fraud.scenarios.account_takeover import AccountTakeover
from workbench.fraud.scenarios.bust_out import BustOut
from workbench.fraud.scenarios.card_cloning import CardCloning
from workbench.fraud.scenarios.card_testing import CardTesting
from workbench.fraud.scenarios.compromised_merchant import CompromisedMerchant
from workbench.fraud.scenarios.friendly_fraud import FriendlyFraud
from workbench.fraud.scenarios.link_burst import LinkBurst
from workbench.fraud.scenarios.liquidity_crunch import LiquidityCrunch
from workbench.fraud.scenarios.loyalty_abuse import LoyaltyAbuse
from workbench.fraud.scenarios.merchant_collusion import MerchantCollusion
from workbench.fraud.scenarios.mule_account import MuleAccount
from workbench.fraud.scenarios.refund_fraud import RefundFraud
from workbench.fraud.scenarios.shipping_fraud import ShippingFraud
from workbench.fraud.scenarios.sleeper_ato import SleeperAto
from workbench.fraud.scenarios.stolen_card import StolenCard
from workbench.fraud.scenarios.structuring import Structuring
from workbench.fraud.scenarios.synthetic_identity import SyntheticIdentity
from workbench.fraud.scenarios.transaction_replay import TransactionReplay
from workbench.fraud.scenarios.velocity_abuse import VelocityAbuse

SCENARIOS = {
    cls.name: cls
    for cls in (
        CardTesting,
        CardCloning,
        StolenCard,
        AccountTakeover,
        SleeperAto,
        VelocityAbuse,
        BustOut,
        SyntheticIdentity,
        Structuring,
        MerchantCollusion,
        CompromisedMerchant,
        RefundFraud,
        FriendlyFraud,
        TransactionReplay,
        LiquidityCrunch,
        LinkBurst,
        MuleAccount,
        ShippingFraud,
        LoyaltyAbuse,
    )
}
