"""The fraud scenario library, fraud rings, label delay and evaluation metadata.

:data:`SCENARIO_LIBRARY` is the simulator's fraud layer (see
:mod:`workbench.simulate.fraud_hook`); the ``workbench`` package registers it on import.
"""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "layer": ["SCENARIO_LIBRARY", "ScenarioLibrary"],
        "mix": [
            "FRAUD_TYPES",
            "RING_SHAPES",
            "FraudMix",
            "load_mix",
            "mix_summary",
            "mix_with_label_delay",
        ],
        "plan": ["FraudPlan", "make_fraud_plan"],
        "scenarios": ["SCENARIOS"],
        "base": ["Params", "Scenario"],
    },
    modules=["scenario_views"],
)
