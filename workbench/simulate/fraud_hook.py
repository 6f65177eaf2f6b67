"""The simulator's declared hook for fraud: what a fraud layer provides, and its registration.

The simulator draws the legitimate world. A fraud layer reads and validates a fraud mix,
plans fraud once for the whole world (:class:`PlannedFraud`) and acts it out in every shard
after legitimate behaviour is drawn and before settlement. ``workbench.fraud`` implements the
layer; the ``workbench`` package, which every import of the workbench goes through, registers
it. The simulator itself never imports a fraud package: without a registered layer (after
another one replaced it, say) only datasets without fraud (``scenarios="none"``) can be
configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from workbench.validation import InputError, check_float

if TYPE_CHECKING:
    import pyarrow as pa

    from workbench.simulate.shard import ShardWorld
    from workbench.simulate.world_plan import GlobalPlan


@runtime_checkable
class PlannedFraud(Protocol):
    """Fraud decided before any shard runs; it travels to the shards inside the global plan
    (so it must pickle)."""

    @property
    def maturity_days(self) -> float:
        """The label-maturity horizon of the dataset, in days."""

    def apply(self, world: ShardWorld) -> None:
        """Act the fraud out in one shard's world (before settlement)."""

    def rings_table(self) -> pa.Table:
        """The planned rings as the dataset's ``rings`` table (may be empty)."""


@runtime_checkable
class FraudLayer(Protocol):
    """What the simulator asks of a fraud layer."""

    def load(self, scenarios: str | None, fraud_rate: float | None) -> Any | None:
        """The validated mix for ``scenarios`` and ``fraud_rate`` (None: no fraud); raises
        InputError naming the offending parameter or key."""

    def summary(self, mix: Any | None) -> dict[str, Any] | None:
        """What the dataset card records of the mix."""

    def plan(self, plan: GlobalPlan, mix: Any) -> PlannedFraud:
        """Plan the fraud of a world from its global plan (deterministic in the seed)."""


class NoFraud:
    """The layer in force while none is registered: only datasets without fraud."""

    def load(self, scenarios: str | None, fraud_rate: float | None) -> None:
        """None for ``scenarios`` none / None or ``fraud_rate`` 0; anything else is refused."""
        rate = None if fraud_rate is None else check_float("fraud_rate", fraud_rate, 0.0, 1.0)
        if rate == 0:
            return None
        if scenarios in (None, "none"):
            if rate:
                raise InputError(
                    "fraud_rate",
                    fraud_rate,
                    "None or 0 when scenarios is none (a dataset without fraud)",
                )
            return None
        raise InputError(
            "scenarios",
            scenarios,
            "none (no fraud layer is registered: "
            "workbench.simulate.register_fraud_layer("
            "workbench.fraud.SCENARIO_LIBRARY) registers the scenario library)",
        )

    def summary(self, mix: Any | None) -> None:
        """No mix, nothing to record."""
        return None

    def plan(self, plan: GlobalPlan, mix: Any) -> PlannedFraud:
        """Never called: :meth:`load` returns no mix."""
        raise AssertionError("NoFraud has no mix to plan")


_registered: list[FraudLayer] = []


def register_fraud_layer(layer: FraudLayer) -> None:
    """Make ``layer`` the fraud layer of every simulation in this process."""
    if not isinstance(layer, FraudLayer):
        raise InputError("layer", type(layer).__name__, "an object with load, summary and plan")
    _registered[:] = [layer]


def fraud_layer() -> FraudLayer:
    """The registered fraud layer (:class:`NoFraud` when none is)."""
    return _registered[0] if _registered else NoFraud()
