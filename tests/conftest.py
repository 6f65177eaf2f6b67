"""Shared fixtures: one small generated dataset reused by the read-only tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")

from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.simulate import SimulationConfig, generate  # noqa: E402

SMALL = dict(customers=1500, days=75, seed=11, shard_size=500, start="2025-01-01")


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return SimulationConfig(**SMALL)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory, small_config):
    out = tmp_path_factory.mktemp("ds") / "small"
    generate(small_config, out, backend="serial")
    return open_dataset(out)


@pytest.fixture(scope="session")
def tables(dataset):
    return {name: dataset.table(name) for name in ("customers", "accounts", "merchants", "devices", "ip_addresses", "transactions", "events")}
