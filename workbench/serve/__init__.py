"""The scoring service: a model package behind HTTP endpoints over the live feature state
(``workbench.serve.app``; run it with ``python -m workbench serve``).

This module holds what the command line checks before the service's heavier imports.
"""

from __future__ import annotations

import datetime as dt
import os

from workbench.validation import InputError, check_float, check_int

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
API_KEY_ENV = "WORKBENCH_API_KEY"

__all__ = ["API_KEY_ENV", "LOCAL_HOSTS", "checked", "create_app", "serve"]


def __getattr__(name: str):
    # the app needs FastAPI (the ``service`` extra): loaded only when asked for
    if name in ("create_app", "serve"):
        from workbench.serve import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def checked(host: str, port, warm_until: str | None = None, threshold=None) -> dict:
    """The service's options, checked: ``port`` 0-65535, a bind address other than the
    loopback only with an API key in the environment variable WORKBENCH_API_KEY (read here,
    never logged), ``warm_until`` an ISO time, ``threshold`` in [0, 1]."""
    api_key = os.environ.get(API_KEY_ENV) or None
    if host not in LOCAL_HOSTS and api_key is None:
        raise InputError("host", host, f"127.0.0.1 (the default), or any address with an API key in {API_KEY_ENV}")
    until = None
    if warm_until is not None:
        try:
            until = dt.datetime.fromisoformat(warm_until)
        except ValueError:
            raise InputError("warm-until", warm_until, "a time written YYYY-MM-DDTHH:MM:SS") from None
    return {"port": check_int("port", port, 0, 65535), "api_key": api_key, "warm_until": until,
            "threshold": None if threshold is None else check_float("threshold", threshold, 0.0, 1.0)}
