"""The stateful world simulator: population, behaviour over time, ledger, datasets."""

from workbench.simulate.config import SimulationConfig
from workbench.simulate.profiles import available_markets, load_behaviour, load_market
from workbench.simulate.runner import BACKENDS, generate

__all__ = ["BACKENDS", "SimulationConfig", "available_markets", "generate", "load_behaviour", "load_market"]
