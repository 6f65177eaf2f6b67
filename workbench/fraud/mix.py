"""The fraud mix: which scenarios and rings a dataset has, how often, and label delay.

A mix is a YAML file validated on load; unknown scenario or ring names, unknown
parameters, prevalences outside [0, 1] or a total fraud share above 1 raise InputError
naming the offending key. ``fraud_rate`` rescales the scenario prevalences so that they add
up to it (rings keep their counts). The default mix is ``workbench/data/fraud_mix.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.fraud.base import Params, build_params
from workbench.fraud.scenarios import SCENARIOS
from workbench.products import write_file
from workbench.simulate.profiles import DATA_DIR
from workbench.validation import InputError, check_float, check_int

DEFAULT_MIX = DATA_DIR / "fraud_mix.yaml"
RING_SHAPES = (
    "device_sharing",
    "ip_recycling",
    "kiting",
    "mule_network",
    "synthetic_identity_ring",
)
MULE_VARIANTS = ("fan_in_out", "scatter_gather", "gather_scatter")
FRAUD_TYPES = ("none", *SCENARIOS, *RING_SHAPES)


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of the mix."""

    name: str
    prevalence: float  # share of customers with an episode of this scenario in the window
    params: Params


@dataclass(frozen=True)
class RingSpec:
    """One ring shape of the mix: rings per 10,000 customers (at least one when > 0) and sizes."""

    shape: str
    per_10k: float
    size: tuple[int, int]
    camouflage: float  # share of members' own legitimate activity kept during the ring


@dataclass(frozen=True)
class LabelDelay:
    """Delay from an episode's last fraudulent row to its confirmation (log-normal)."""

    mean_days: float
    sigma: float
    never_confirmed: float

    @property
    def mu(self) -> float:
        """The log-normal's mu for the configured mean."""
        return math.log(self.mean_days) - self.sigma**2 / 2

    @property
    def maturity_days(self) -> float:
        """The 95th percentile of the delay: rows older than this have a settled label."""
        return math.exp(self.mu + 1.6449 * self.sigma)


@dataclass(frozen=True)
class FraudMix:
    """A validated fraud mix."""

    scenarios: tuple[ScenarioSpec, ...]
    rings: tuple[RingSpec, ...]
    label_delay: LabelDelay
    colluding_merchants: int
    compromised_merchants: int
    compromise_days: tuple[float, float]

    @property
    def total_prevalence(self) -> float:
        """Share of customers given a (non-ring) scenario episode."""
        return sum(s.prevalence for s in self.scenarios)


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(where, value, "a mapping")
    return value


def _check_keys(node: dict, allowed: set[str], where: str) -> None:
    unknown = set(node) - allowed
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"{where}.{key}", node[key], "one of the keys " + ", ".join(sorted(allowed))
        )


def _entries(raw: dict, section: str, names: tuple[str, ...], keys: set[str]):
    """Validated (name, where, node) of a named section (``scenarios`` or ``rings``)."""
    for name, node in _mapping(raw.get(section), f"mix.{section}").items():
        where = f"mix.{section}.{name}"
        if name not in names:
            raise InputError(where, name, "a name among " + ", ".join(names))
        node = _mapping(node, where)
        _check_keys(node, keys, where)
        yield name, where, node


def load_mix(
    source: str | Path | None = "default", fraud_rate: float | None = None
) -> FraudMix | None:
    """Load and validate a mix (``default``, a YAML path, or None / ``none`` for no fraud)."""
    if source is None or source == "none":
        if fraud_rate is not None and check_float("fraud_rate", fraud_rate, 0.0, 1.0) > 0:
            raise InputError(
                "fraud_rate",
                fraud_rate,
                "None or 0 when scenarios is none (a dataset without fraud)",
            )
        return None
    path = DEFAULT_MIX if source == "default" else Path(source)
    if not path.is_file():
        raise InputError(
            "scenarios", str(source), "default, none, or the path of a fraud-mix YAML file"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError("scenarios", str(source), f"a valid YAML file ({exc})") from None
    raw = _mapping(raw, "mix")
    _check_keys(raw, {"scenarios", "rings", "label_delay", "merchants"}, "mix")
    specs = []
    for name, where, node in _entries(
        raw, "scenarios", tuple(SCENARIOS), {"prevalence", "params"}
    ):
        prevalence = check_float(f"{where}.prevalence", node.get("prevalence", 0.0), 0.0, 1.0)
        specs.append(
            ScenarioSpec(
                name,
                prevalence,
                build_params(
                    SCENARIOS[name].Params, _mapping(node.get("params"), where), f"{where}.params"
                ),
            )
        )
    total = sum(s.prevalence for s in specs)
    if total > 1:
        raise InputError("mix.scenarios", round(total, 6), "prevalences adding up to at most 1")
    if fraud_rate is not None:
        rate = check_float("fraud_rate", fraud_rate, 0.0, 1.0)
        if total == 0 and rate > 0:
            raise InputError("fraud_rate", fraud_rate, "0 for a mix whose prevalences are all 0")
        specs = [
            ScenarioSpec(s.name, s.prevalence * rate / total if total else 0.0, s.params)
            for s in specs
        ]
    rings = []
    for shape, where, node in _entries(
        raw, "rings", RING_SHAPES, {"per_10k", "size", "camouflage"}
    ):
        size = node.get("size", [4, 8])
        if not isinstance(size, list) or len(size) != 2:
            raise InputError(f"{where}.size", size, "a [min, max] pair of member counts")
        lo, hi = (check_int(f"{where}.size", v, 3, 500) for v in size)
        if lo > hi:
            raise InputError(f"{where}.size", size, "a [min, max] pair with min <= max")
        rings.append(
            RingSpec(
                shape,
                check_float(f"{where}.per_10k", node.get("per_10k", 1.0), 0.0, 10_000.0),
                (lo, hi),
                check_float(f"{where}.camouflage", node.get("camouflage", 1.0), 0.0, 1.0),
            )
        )
    if fraud_rate is not None and check_float("fraud_rate", fraud_rate, 0.0, 1.0) == 0:
        rings = []  # fraud_rate 0 means no fraud at all: no scenario episodes and no rings
    delay = _mapping(raw.get("label_delay"), "mix.label_delay")
    _check_keys(delay, {"mean_days", "sigma", "never_confirmed"}, "mix.label_delay")
    merchants = _mapping(raw.get("merchants"), "mix.merchants")
    _check_keys(merchants, {"colluding", "compromised", "compromise_days"}, "mix.merchants")
    days = merchants.get("compromise_days", [3, 14])
    if not isinstance(days, list) or len(days) != 2:
        raise InputError("mix.merchants.compromise_days", days, "a [min, max] pair of days")
    mix = FraudMix(
        scenarios=tuple(specs),
        rings=tuple(rings),
        label_delay=LabelDelay(
            check_float("mix.label_delay.mean_days", delay.get("mean_days", 5.0), 0.01, 365.0),
            check_float("mix.label_delay.sigma", delay.get("sigma", 0.8), 0.0, 3.0),
            check_float(
                "mix.label_delay.never_confirmed", delay.get("never_confirmed", 0.1), 0.0, 1.0
            ),
        ),
        colluding_merchants=check_int(
            "mix.merchants.colluding", merchants.get("colluding", 3), 0, 1000
        ),
        compromised_merchants=check_int(
            "mix.merchants.compromised", merchants.get("compromised", 3), 0, 1000
        ),
        compromise_days=tuple(
            check_float("mix.merchants.compromise_days", d, 0.1, 365) for d in days
        ),
    )
    if total == 0 and not any(r.per_10k > 0 for r in rings) and fraud_rate != 0:
        raise InputError(
            "scenarios",
            str(source),
            "a fraud-mix YAML file with a scenario or ring of positive rate "
            "(this one makes no fraud; "
            "use scenarios=none or fraud_rate=0 for a dataset without fraud)",
        )
    return mix


def mix_summary(mix: FraudMix | None) -> dict[str, Any] | None:
    """What a dataset card records of its mix: the scenario prevalences and their total (the
    fraud rate), rings per 10,000 customers and the label delay."""
    if mix is None:
        return None
    delay = mix.label_delay
    return {
        "fraud_rate": round(mix.total_prevalence, 12),
        "scenarios": {s.name: s.prevalence for s in mix.scenarios},
        "rings_per_10k": {r.shape: r.per_10k for r in mix.rings},
        "label_delay": {
            "mean_days": delay.mean_days,
            "sigma": delay.sigma,
            "never_confirmed": delay.never_confirmed,
        },
    }


def mix_with_label_delay(source: str | Path, mean_days: float, out: str | Path) -> Path:
    """Write a copy of the mix ``source`` (``default`` or a YAML path) whose label delay has
    mean ``mean_days`` to ``out`` and return its path: how a report varies the label delay
    without editing the shipped mix."""
    mean_days = check_float("label_delay_days", mean_days, 0.01, 365.0)
    if source is None or source == "none":
        raise InputError(
            "scenarios",
            source,
            "a fraud mix (default or a YAML path) when label_delay_days is given",
        )
    load_mix(source)  # validates the source
    raw = yaml.safe_load((DEFAULT_MIX if source == "default" else Path(source)).read_text())
    raw.setdefault("label_delay", {})["mean_days"] = mean_days
    return write_file(out, lambda tmp: tmp.write_text(yaml.safe_dump(raw, sort_keys=False)))
