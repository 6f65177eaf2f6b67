"""The fraud scenario library, fraud rings, label delay and evaluation metadata.

Importing this package registers the scenario library as the simulator's fraud layer
(:func:`workbench.simulate.register_fraud_layer`), so that configurations with a fraud mix
can be built and generated.
"""

from workbench._lazy import lazy_exports
from workbench.fraud.layer import SCENARIO_LIBRARY, ScenarioLibrary
from workbench.simulate.fraud_hook import register_fraud_layer

register_fraud_layer(SCENARIO_LIBRARY)

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "mix": ["FRAUD_TYPES", "RING_SHAPES", "FraudMix", "load_mix", "mix_summary",
            "mix_with_label_delay"],
    "plan": ["FraudPlan", "make_fraud_plan"],
    "scenarios": ["SCENARIOS"],
    "base": ["Params", "Scenario"],
}, modules=["scenario_views"])
__all__ += ["SCENARIO_LIBRARY", "ScenarioLibrary"]
