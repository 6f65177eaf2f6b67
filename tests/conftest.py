"""Shared fixtures: small generated datasets reused by the read-only tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")

from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.dataset.schema import TABLES  # noqa: E402
from workbench.simulate import SimulationConfig, generate  # noqa: E402

# a legitimate-only world for the behaviour tests
SMALL = dict(customers=1500, days=75, seed=11, shard_size=500, start="2025-01-01", scenarios="none")
# many victims so every scenario has episodes to test; rings span the three shards
FRAUD = dict(customers=2400, days=90, seed=21, shard_size=800, start="2025-01-01", fraud_rate=0.25)


def _suite(params: dict):
    """Session fixtures for one dataset: its config, the dataset, and all its tables."""
    config = SimulationConfig(**params)

    @pytest.fixture(scope="session")
    def config_fixture():
        return config

    @pytest.fixture(scope="session")
    def dataset_fixture(tmp_path_factory):
        out = tmp_path_factory.mktemp("ds") / "ds"
        generate(config, out, backend="serial")
        return open_dataset(out)

    return config_fixture, dataset_fixture


def _tables(ds):
    return {name: ds.table(name) for name in TABLES}


small_config, dataset = _suite(SMALL)
fraud_config, fraud_dataset = _suite(FRAUD)


@pytest.fixture(scope="session")
def tables(dataset):
    return _tables(dataset)


@pytest.fixture(scope="session")
def fraud_tables(fraud_dataset):
    return _tables(fraud_dataset)
