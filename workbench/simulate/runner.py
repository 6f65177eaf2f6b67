"""Run a simulation: plan globally, simulate shards on a backend, write the dataset atomically.

Backends: ``serial`` (this process), ``processes`` (a local process pool) and ``dask`` (a
Dask distributed client; a LocalCluster is started when none is given). Every shard writes
its own Parquet parts from its own seed, so the bytes do not depend on the backend or on
the number of workers.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from tqdm.std import tqdm

from workbench._extras import require
from workbench._version import __version__
from workbench.dataset.schema import arrow_schema, conform
from workbench.dataset.writer import (
    atomic_directory,
    check_destination,
    content_hash,
    create_views,
    part_index,
    write_card,
    write_part,
)
from workbench.simulate.config import SimulationConfig
from workbench.simulate.fraud_hook import fraud_layer
from workbench.simulate.shard import Hook, simulate_shard
from workbench.simulate.world_plan import GlobalPlan, make_plan
from workbench.validation import InputError, check_choice, check_int

BACKENDS = ("serial", "processes", "dask")
VERSIONED = (
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "faker",
    "scikit-learn",
    "tensorflow",
    "ploomber",
)


def run_shard(
    plan: GlobalPlan, shard: int, root: str, hooks: Sequence[Hook] = ()
) -> dict[str, Any]:
    """Simulate one shard, write its parts under ``root`` and return its row counts and time
    range."""
    tables = simulate_shard(plan, shard, hooks)
    for name, data in tables.items():
        write_part(Path(root), name, f"{shard:05d}", data)
    ts = tables["transactions"].column("timestamp")
    return {
        "shard": shard,
        "rows": {name: data.num_rows for name, data in tables.items()},
        "first": pc.min(ts).as_py() if len(ts) else None,
        "last": pc.max(ts).as_py() if len(ts) else None,
    }


def _rings_table(plan: GlobalPlan) -> pa.Table:
    """The planned rings (empty without a fraud mix)."""
    if plan.fraud is None:
        return pa.table({f.name: pa.array([], f.type) for f in arrow_schema("rings")})
    return plan.fraud.rings_table()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "workbench": __version__}
    for pkg in VERSIONED:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def generate(
    config: SimulationConfig,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    backend: str = "processes",
    workers: int | None = None,
    client: Any = None,
    progress: bool = False,
    hooks: Sequence[Hook] = (),
) -> Path:
    """Generate the dataset described by ``config`` into the directory ``out``.

    The dataset appears at ``out`` only once complete (written to a temporary directory
    and renamed); an existing ``out`` is replaced only with ``overwrite``. ``backend`` picks
    where shards run; ``workers`` defaults to the number of CPUs. Returns the dataset path.
    """
    if not isinstance(config, SimulationConfig):
        raise InputError("config", type(config).__name__, "a SimulationConfig")
    check_choice("backend", backend, BACKENDS)
    workers = check_int(
        "workers", workers if workers is not None else (os.cpu_count() or 1), 1, 1024
    )
    check_destination(out, overwrite)
    started = time.perf_counter()
    plan = make_plan(config)
    with atomic_directory(out, overwrite) as tmp:
        write_part(
            tmp,
            "merchants",
            "shared",
            conform(
                "merchants",
                pa.Table.from_pandas(
                    plan.merchants[[f.name for f in arrow_schema("merchants")]],
                    schema=arrow_schema("merchants"),
                    preserve_index=False,
                ),
            ),
        )
        write_part(
            tmp,
            "ip_addresses",
            "shared",
            conform(
                "ip_addresses",
                pa.Table.from_pandas(
                    plan.shared_ips, schema=arrow_schema("ip_addresses"), preserve_index=False
                ),
            ),
        )
        rings = _rings_table(plan)
        write_part(tmp, "rings", "shared", rings)
        results = _run_all(plan, str(tmp), backend, workers, client, progress, hooks)
        create_views(tmp)
        parts = part_index(tmp)
        seconds = time.perf_counter() - started
        rows = {name: sum(r["rows"][name] for r in results) for name in results[0]["rows"]}
        rows["merchants"] = len(plan.merchants)
        rows["rings"] = rings.num_rows
        rows["ip_addresses"] += len(plan.shared_ips)
        firsts = [r["first"] for r in results if r["first"] is not None]
        lasts = [r["last"] for r in results if r["last"] is not None]
        write_card(
            tmp,
            {
                "name": Path(out).name,
                "market": config.market,
                "currency": plan.market.currency,
                "seed": config.seed,
                "config": config.to_dict(),
                "fraud_mix": _mix_summary(config),
                "row_counts": rows,
                "parts": parts,
                "content_hash": content_hash(parts),
                "time_range": [
                    str(min(firsts)) if firsts else None,
                    str(max(lasts)) if lasts else None,
                ],
                "window": [config.start.isoformat(), config.end.isoformat()],
                "generation_seconds": round(seconds, 3),
                "transactions_per_second": round(rows["transactions"] / seconds)
                if seconds
                else None,
                "backend": backend,
                "workers": workers,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "versions": _versions(),
            },
        )
    return Path(out)


def _mix_summary(config: SimulationConfig) -> dict[str, Any] | None:
    """The card's record of the fraud mix, from the registered fraud layer."""
    return fraud_layer().summary(config.mix())


def exit_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker when the process that started it dies (a
    killed ``generate`` must not leave workers blocked on a pipe forever)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _run_all(
    plan: GlobalPlan,
    root: str,
    backend: str,
    workers: int,
    client: Any,
    progress: bool,
    hooks: Sequence[Hook],
) -> list[dict]:
    shards = list(range(plan.config.n_shards))
    # a plain text bar: tqdm.auto's widget needs ipywidgets and warns without them. In a
    # notebook kernel it goes to stdout (stderr reads as a warning box in JupyterLab); on the
    # command line to stderr, so that stdout stays the command's result.
    bar = tqdm(
        total=len(shards),
        desc="shards",
        unit="shard",
        disable=not progress,
        file=sys.stdout if "ipykernel" in sys.modules else sys.stderr,
    )
    results: list[dict] = []
    try:
        if backend == "serial" or (backend == "processes" and (workers == 1 or len(shards) == 1)):
            for s in shards:
                results.append(run_shard(plan, s, root, hooks))
                bar.update()
        elif backend == "processes":
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with ProcessPoolExecutor(
                max_workers=min(workers, len(shards)),
                mp_context=multiprocessing.get_context(method),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            ) as pool:
                futures = [pool.submit(run_shard, plan, s, root, hooks) for s in shards]
                for f in as_completed(futures):
                    results.append(f.result())
                    bar.update()
        else:
            results = _run_dask(plan, root, shards, workers, client, hooks, bar)
    finally:
        bar.close()
    return sorted(results, key=lambda r: r["shard"])


def _run_dask(
    plan: GlobalPlan,
    root: str,
    shards: list[int],
    workers: int,
    client: Any,
    hooks: Sequence[Hook],
    bar: Any,
) -> list[dict]:
    distributed = require("dask.distributed", "backend='dask'")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    dask_completed = distributed.as_completed

    own = client is None
    cluster = (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        if own
        else None
    )
    client = Client(cluster) if own else client
    try:
        plan_future = client.scatter(plan, broadcast=True)
        futures = [
            client.submit(run_shard, plan_future, s, root, hooks, pure=False) for s in shards
        ]
        results = []
        for f in dask_completed(futures):
            results.append(f.result())
            bar.update()
        return results
    finally:
        if own:
            client.close()
            cluster.close()
