"""The scenario library as the simulator's fraud layer (see
:mod:`workbench.simulate.fraud_hook`); registered when ``workbench.fraud`` is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.fraud.mix import FraudMix
    from workbench.fraud.plan import FraudPlan
    from workbench.simulate.world_plan import GlobalPlan


class ScenarioLibrary:
    """The workbench's fraud layer: the scenarios, rings and label delay of a fraud-mix file.
    Its modules are imported on first use, so registering it costs nothing."""

    def load(self, scenarios: str | None, fraud_rate: float | None) -> FraudMix | None:
        """The validated mix (see :func:`~workbench.fraud.mix.load_mix`)."""
        from workbench.fraud.mix import load_mix

        return load_mix(scenarios, fraud_rate)

    def summary(self, mix: FraudMix | None) -> dict[str, Any] | None:
        """The dataset card's record of the mix."""
        from workbench.fraud.mix import mix_summary

        return mix_summary(mix)

    def plan(self, plan: GlobalPlan, mix: FraudMix) -> FraudPlan:
        """The world's fraud plan (merchants, rings; deterministic in the seed)."""
        from workbench.fraud.plan import make_fraud_plan

        return make_fraud_plan(plan, mix)


SCENARIO_LIBRARY = ScenarioLibrary()
