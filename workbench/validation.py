"""Input validation shared by every public entry point.

Every check raises :class:`InputError` with one message shape, naming the parameter, the
bad value and what is allowed, so the CLI, notebooks and Python callers all report bad
input the same way.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable
from typing import Any


class InputError(ValueError):
    """A public entry point was given a value it does not accept."""

    def __init__(self, param: str, value: Any, allowed: str) -> None:
        self.param, self.value, self.allowed = param, value, allowed
        super().__init__(f"invalid {param}={value!r}: allowed is {allowed}")


def check_int(
    param: str, value: Any, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, or raise InputError when it is not a whole number in range."""
    allowed = _range_text("an integer", minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise InputError(param, value, allowed)
    if isinstance(value, numbers.Integral):  # numpy integers too
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = float(value)
    try:
        number = int(value) if not isinstance(value, float) else None
    except ValueError:
        raise InputError(param, value, allowed) from None
    if number is None:
        if not value.is_integer():
            raise InputError(param, value, allowed)
        number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise InputError(param, value, allowed)
    return number


def check_float(
    param: str, value: Any, minimum: float | None = None, maximum: float | None = None
) -> float:
    """Return ``value`` as a finite float in [minimum, maximum], or raise InputError."""
    allowed = _range_text("a finite number", minimum, maximum)
    if isinstance(value, bool):
        raise InputError(param, value, allowed)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(param, value, allowed) from None
    if (
        not math.isfinite(number)
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        raise InputError(param, value, allowed)
    return number


def check_choice(param: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InputError listing them."""
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise InputError(param, value, "one of " + ", ".join(options))
    return value


def check_date(param: str, value: Any) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD) or accept a date, else raise InputError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(param, value, "a date written YYYY-MM-DD") from None


def check_date_range(param: str, value: Any, first: dt.date, last: dt.date) -> dt.date:
    """Parse a date (see :func:`check_date`) and require it within [first, last]."""
    day = check_date(param, value)
    if not first <= day <= last:
        raise InputError(
            param, day.isoformat(), f"a date from {first.isoformat()} to {last.isoformat()}"
        )
    return day


def _range_text(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} >= {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind
