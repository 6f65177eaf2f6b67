"""Shared fixtures: one small generated dataset reused by the read-only tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")

from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.simulate import SimulationConfig, generate  # noqa: E402

SMALL = dict(customers=1500, days=75, seed=11, shard_size=500, start="2025-01-01", scenarios="none")
# many victims so every scenario has episodes to test; rings span the three shards
FRAUD = dict(customers=2400, days=90, seed=21, shard_size=800, start="2025-01-01", fraud_rate=0.25)


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return SimulationConfig(**SMALL)


def _generated(tmp_path_factory, config):
    out = tmp_path_factory.mktemp("ds") / "ds"
    generate(config, out, backend="serial")
    return open_dataset(out)


def _tables(ds):
    return {name: ds.table(name) for name in ("customers", "accounts", "merchants", "devices", "ip_addresses", "transactions",
                                              "events", "labels", "episodes", "rings")}


@pytest.fixture(scope="session")
def dataset(tmp_path_factory, small_config):
    return _generated(tmp_path_factory, small_config)


@pytest.fixture(scope="session")
def tables(dataset):
    return _tables(dataset)


@pytest.fixture(scope="session")
def fraud_config() -> SimulationConfig:
    return SimulationConfig(**FRAUD)


@pytest.fixture(scope="session")
def fraud_dataset(tmp_path_factory, fraud_config):
    return _generated(tmp_path_factory, fraud_config)


@pytest.fixture(scope="session")
def fraud_tables(fraud_dataset):
    return _tables(fraud_dataset)
