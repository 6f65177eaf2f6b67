"""The scenario interface: a typed parameter set, a prevalence, and ``inject``.

A scenario module defines a ``Params`` dataclass (every field has a default; ranges in the
field metadata) and a :class:`Scenario` subclass whose docstring states its *signature*,
the evidence it leaves in the data. ``inject`` receives the shard's :class:`FraudContext`,
its own random generator and the customers chosen for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from workbench.fraud.context import FraudContext
from workbench.validation import InputError, check_float, check_int


def span(lo: float, hi: float, minimum: float = 0.0, maximum: float | None = None) -> Any:
    """A ``[low, high]`` parameter with its allowed bounds (a dataclass field)."""
    return field(default=(lo, hi), metadata={"min": minimum, "max": maximum, "pair": True})


def number(default: float, minimum: float = 0.0, maximum: float | None = None) -> Any:
    """A numeric parameter with its allowed bounds (a dataclass field)."""
    return field(default=default, metadata={"min": minimum, "max": maximum})


@dataclass(frozen=True)
class Params:
    """Base of every scenario's parameters."""


def build_params(cls: type[Params], raw: dict[str, Any] | None, where: str) -> Params:
    """Validate a mapping against ``cls``: unknown keys, wrong types and out-of-range values
    raise InputError naming ``where.key``."""
    raw = dict(raw or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"{where}.{key}",
            raw[key],
            "one of the parameters " + ", ".join(sorted(fields)) if fields else "no parameters",
        )
    values = {}
    for name, value in raw.items():
        f, param = fields[name], f"{where}.{name}"
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if f.metadata.get("pair"):
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise InputError(param, value, "a [low, high] pair")
            pair = [check_float(param, v, lo, hi) for v in value]
            if pair[0] > pair[1]:
                raise InputError(param, value, "a [low, high] pair with low <= high")
            values[name] = tuple(pair)
        elif isinstance(f.default, bool):
            if not isinstance(value, bool):
                raise InputError(param, value, "true or false")
            values[name] = value
        elif isinstance(f.default, int):
            values[name] = check_int(param, value, lo, hi)
        else:
            values[name] = check_float(param, value, lo, hi)
    return cls(**values)


class Scenario:
    """A fraud scenario (subclass per module; its docstring states the signature)."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    selects_own_victims: ClassVar[bool] = (
        False  # True: runs even without victims drawn by prevalence
    )

    def inject(
        self, ctx: FraudContext, rng: np.random.Generator, victims: np.ndarray, params: Params
    ) -> None:
        """Create the episodes of ``victims`` (customer rows of the shard)."""
        raise NotImplementedError

    def starts(
        self,
        ctx: FraudContext,
        rng: np.random.Generator,
        victims: np.ndarray,
        lead_days: float = 0.0,
        tail_days: float = 1.0,
    ) -> Iterator[tuple[int, int, int]]:
        """For each victim with room for an episode: (customer, start time, new episode id)."""
        for cust in victims:
            t = ctx.window(rng, cust, lead_days=lead_days, tail_days=tail_days)
            if t is not None:
                yield int(cust), t, ctx.episode(rng, cust, self.name)


def between(rng: np.random.Generator, pair: tuple[float, float], size: int | None = None) -> Any:
    """Uniform draw(s) in a [low, high] parameter."""
    return rng.uniform(pair[0], pair[1], size)


def count_in(rng: np.random.Generator, pair: tuple[float, float]) -> int:
    """A whole number drawn uniformly in a [low, high] parameter (inclusive)."""
    return int(rng.integers(int(pair[0]), int(pair[1]) + 1))
