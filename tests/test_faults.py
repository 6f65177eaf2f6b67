"""Fault injection: ``generate`` and ``features`` killed (SIGKILL) at random points, for
several seeds, and a report build killed while its notebook runs. Afterwards the product at
the target is either the previous one, intact, or the new one, complete; no process of the
killed run is left; a rerun removes what the crash left and produces the same bytes as an
uninterrupted run.

``WORKBENCH_KILLS`` sets the kills per command (default 2); the kills survived and the bytes
lost are written to ``.fault-figures.json`` in pytest's cache directory.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from workbench.dataset.reader import open_dataset, verify

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PLOOMBER_STATS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
KILLS = int(os.environ.get("WORKBENCH_KILLS", "2"))
FIGURES = {"kills": 0, "survived": 0, "bytes_lost": 0}
GENERATE = [
    "generate",
    "--customers",
    "1200",
    "--days",
    "20",
    "--shard-size",
    "150",
    "--workers",
    "2",
    "--no-progress",
]


@pytest.fixture(scope="module", autouse=True)
def figures(request):
    yield
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        (Path(str(cache.mkdir("faults"))) / ".fault-figures.json").write_text(json.dumps(FIGURES))


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _kill_after(args: list[str], delay: float) -> list[psutil.Process]:
    """Start the command, SIGKILL it after ``delay`` seconds; return its processes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.time() + delay
    family = []
    while time.time() < end and proc.poll() is None:
        try:
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    FIGURES["kills"] += 1
    return family


def _left(family: list[psutil.Process]) -> list[psutil.Process]:
    _, alive = psutil.wait_procs([p for p in family if p.is_running()], timeout=10)
    return alive


def _dataset_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def test_killed_generate_loses_nothing_and_reruns_to_the_same_bytes(tmp_path):
    reference = tmp_path / "reference"
    assert _run([*GENERATE, "--seed", "7", "--out", str(reference)]).returncode == 0
    expected = open_dataset(reference).card["content_hash"]
    out = tmp_path / "work" / "ds"
    assert _run([*GENERATE, "--seed", "5", "--out", str(out)]).returncode == 0
    previous = open_dataset(out).card["content_hash"]
    rng = random.Random(17)
    for _ in range(KILLS):
        family = _kill_after(
            [*GENERATE, "--seed", "7", "--out", str(out), "--overwrite"], rng.uniform(0.5, 2.5)
        )
        assert _left(family) == [], "a process of the killed run is still alive"
        now = verify(out)["content_hash"]  # raises when the dataset at `out` is damaged
        if now not in (previous, expected):
            FIGURES["bytes_lost"] += _dataset_bytes(out)
        assert now in (previous, expected)
        FIGURES["survived"] += 1
        rerun = _run([*GENERATE, "--seed", "7", "--out", str(out), "--overwrite"])
        assert rerun.returncode == 0, rerun.stderr
        assert verify(out)["content_hash"] == expected
        assert sorted(p.name for p in out.parent.iterdir()) == [
            "ds"
        ]  # the crash's temporaries are gone
        previous = expected


def test_killed_features_leave_the_old_file_or_the_new_one(tmp_path, tmp_path_factory):
    data = tmp_path_factory.mktemp("faults") / "ds"
    assert _run([*GENERATE, "--out", str(data)]).returncode == 0
    out = tmp_path / "f.parquet"
    args = ["features", "--dataset", str(data), "--engine", "duckdb", "--out", str(out)]
    assert _run(args).returncode == 0
    expected = pd.read_parquet(out).sort_values("txn_id", ignore_index=True)
    rng = random.Random(5)
    for _ in range(KILLS):
        family = _kill_after([*args, "--overwrite"], rng.uniform(0.3, 2.0))
        assert _left(family) == []
        if not pd.read_parquet(out).sort_values("txn_id", ignore_index=True).equals(expected):
            FIGURES["bytes_lost"] += out.stat().st_size
        FIGURES["survived"] += 1
        assert _run([*args, "--overwrite"]).returncode == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.parquet"]
        assert pd.read_parquet(out).sort_values("txn_id", ignore_index=True).equals(expected)


def test_killed_report_leaves_no_process_and_nothing_that_looks_complete(tmp_path):
    from workbench.products import SCRATCH, writing

    out = tmp_path / "report"
    args = [
        "report",
        "--out",
        str(out),
        "--customers",
        "250",
        "--days",
        "40",
        "--replicates",
        "20",
        "--folds",
        "2",
        "--k",
        "10",
    ]
    family = _kill_after(args, random.Random(3).uniform(4.0, 9.0))  # while the notebook runs
    assert _left(family) == [], "the notebook kernel outlived the killed report"
    FIGURES["survived"] += 1
    assert not out.exists()
    # what the kill left (its temporary and its lock file) is removed by the next writer of the
    # same target; the study it was building is reused (its products are written atomically)
    with writing(out, kind="report"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    dead = {str(p.pid) for p in family}
    assert not [p for p in SCRATCH.glob("*-*") if p.name.split("-")[1] in dead]
