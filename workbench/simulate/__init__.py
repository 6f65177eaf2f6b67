"""The stateful world simulator: population, behaviour over time, ledger, datasets.

Fraud is not part of the simulator: a fraud layer (``workbench.fraud``) plugs in through
:mod:`workbench.simulate.fraud_hook`; ``workbench.generate`` composes the two.
"""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "config": ["SimulationConfig"],
        "profiles": ["available_markets", "load_behaviour", "load_market"],
        "runner": ["BACKENDS", "generate"],
        "fraud_hook": ["FraudLayer", "PlannedFraud", "fraud_layer", "register_fraud_layer"],
        "shard": ["Hook", "ShardWorld"],
    },
    modules=["behaviour_views"],
)
