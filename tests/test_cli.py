"""The documented command lines, run for real (small sizes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_generate_and_stats(tmp_path):
    out = tmp_path / "raw"
    gen = run(
        "generate",
        "--customers",
        "300",
        "--days",
        "15",
        "--start",
        "2025-01-01",
        "--seed",
        "42",
        "--market",
        "india",
        "--out",
        str(out),
    )
    assert gen.returncode == 0, gen.stderr
    assert "transactions in" in gen.stdout and "shards" in gen.stderr  # the progress bar
    stats = run("stats", str(out))
    assert stats.returncode == 0, stats.stderr
    assert "customers" in stats.stdout and "300" in stats.stdout and "upi" in stats.stdout


@pytest.mark.parametrize(
    "args, param",
    [
        (["--customers", "-5"], "customers"),
        (["--customers", "ten"], "customers"),
        (["--days", "0"], "days"),
        (["--market", "atlantis"], "market"),
        (["--start", "2025-02-30"], "start"),
        (["--backend", "gpu"], "backend"),
    ],
)
def test_bad_input_exits_nonzero_and_leaves_nothing(tmp_path, args, param):
    out = tmp_path / "raw"
    res = run("generate", "--out", str(out), "--customers", "20", "--days", "3", *args)
    assert res.returncode == 2
    assert f"invalid {param}=" in res.stderr and "allowed is" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "raw"
    assert (
        run(
            "generate", "--customers", "20", "--days", "3", "--out", str(out), "--no-progress"
        ).returncode
        == 0
    )
    again = run("generate", "--customers", "20", "--days", "3", "--out", str(out))
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert (
        run(
            "generate", "--customers", "20", "--days", "3", "--out", str(out), "--overwrite"
        ).returncode
        == 0
    )


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run("generate", "--customers", "20", "--days", "3", "--out", str(blocker / "raw"))
    assert res.returncode == 2 and "invalid out=" in res.stderr


def test_stats_on_a_non_dataset(tmp_path):
    res = run("stats", str(tmp_path))
    assert res.returncode == 2 and "invalid path=" in res.stderr


def test_schema_command():
    res = run("schema")
    assert res.returncode == 0 and "## transactions" in res.stdout
