"""Same seed and parameters, same bytes: serially, in processes, and on a Dask cluster."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workbench.simulate import SimulationConfig, generate

# the default fraud mix: rings whose members and transfers span the three shards
CFG = SimulationConfig(customers=450, days=30, seed=3, shard_size=150)


def digest(path: Path) -> dict[str, str]:
    """SHA-256 of every Parquet part (the card holds timings, so it is left out)."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return digest(generate(CFG, tmp_path_factory.mktemp("serial") / "ds", backend="serial"))


def test_same_seed_same_bytes(serial, tmp_path):
    assert (
        len(serial) == 8 * 3 + 3
    )  # eight per-shard tables x 3 shards + shared merchants, IPs and rings
    assert digest(generate(CFG, tmp_path / "again", backend="serial")) == serial


def test_other_seed_other_data(serial, tmp_path):
    other = SimulationConfig(customers=450, days=30, seed=4, shard_size=150)
    assert digest(generate(other, tmp_path / "other", backend="serial")) != serial


def test_process_pool_matches_serial(serial, tmp_path):
    assert digest(generate(CFG, tmp_path / "proc", backend="processes", workers=2)) == serial


def test_dask_cluster_matches_serial(serial, tmp_path):
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        assert digest(generate(CFG, tmp_path / "dask", backend="dask", client=client)) == serial
