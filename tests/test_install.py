"""The wheel, installed outside the checkout: package data found through importlib.resources,
the commands run from any directory, and the core works without any extra.

Two fresh virtual environments in a temporary directory, from one wheel built here:

- ``core``: ``pip install <wheel>``, so pip resolves the core dependencies of the wheel's own
  metadata (pinned to the versions of this environment, which the pip cache holds); no
  TensorFlow, JupyterLab, papermill or Ploomber. It generates a dataset, computes features
  and names the extra a Keras detector needs.
- ``full``: the wheel without its dependencies, the extras taken from this environment's
  site-packages (listed after the venv's own, so the wheel's ``workbench`` is the one
  imported): ``generate``, ``features --table`` on the shipped example and a small ``report``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMINGS: dict[str, float] = {}


def _run(
    args: list[str], cwd: Path, timeout: int = 600, **env_vars: str
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(env_vars)
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{args}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", str(path)], cwd=path.parent)
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy of what the wheel is made of: setuptools' build/ folder in the
    # checkout would keep files that were removed since
    source = out / "source"
    source.mkdir()
    for item in ("pyproject.toml", "README.md", "notebooks", "workbench"):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(
                src, source / item, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(src, source / item)
    started = time.perf_counter()
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(source),
        ],
        cwd=out,
    )
    TIMINGS["wheel"] = time.perf_counter() - started
    (found,) = out.glob("fraud_workbench-*.whl")
    return found


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A working directory outside the checkout."""
    path = tmp_path_factory.mktemp("elsewhere")
    assert ROOT not in path.resolve().parents
    return path


def test_core_only_install(wheel, outside):
    started = time.perf_counter()
    python = _venv(outside / "core")
    pins = outside / "pins.txt"
    freeze = [sys.executable, "-m", "pip", "freeze", "--exclude-editable"]
    frozen = _run(freeze, cwd=outside).stdout
    pins.write_text("\n".join(ln for ln in frozen.splitlines() if not ln.startswith("fraud")))
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(pins), str(wheel)], cwd=outside
    )
    TIMINGS["core install"] = time.perf_counter() - started
    probe = r"""
import importlib.util, sys
import workbench, workbench.simulate, workbench.fraud, workbench.features, workbench.graph
import workbench.evaluate, workbench.models, workbench.dataset
extras = [m for m in ("tensorflow", "keras", "jupyterlab", "papermill", "ploomber", "dask")
          if importlib.util.find_spec(m) is not None]
assert not extras, extras
from workbench import SimulationConfig, generate, open_dataset, write_features, dataset_source
from workbench.graph import detect_rings, graph_source, RingConfig
out = generate(SimulationConfig(customers=120, days=15, seed=3), "core-ds", backend="serial")
result = write_features(dataset_source(out), "core-features.parquet", engine="duckdb")
rings = detect_rings(graph_source(out), RingConfig())
from workbench.evaluate import average_precision
assert average_precision([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) == 1.0
print("rows", result["rows"], "of", open_dataset(out).card["row_counts"]["transactions"])
print("from", workbench.__file__)
import numpy as np
from workbench.models import AutoencoderDetector
try:
    AutoencoderDetector().fit(np.zeros((8, 2)))
except ImportError as exc:
    print("deep:", exc)
"""
    res = _run([str(python), "-c", probe], cwd=outside)
    lines = dict(ln.split(" ", 1) for ln in res.stdout.splitlines())
    rows, total = lines["rows"].split(" of ")
    assert int(rows) == int(total) > 0
    assert str(outside / "core") in lines["from"]
    assert lines["deep:"] == (
        "keras is not installed (the Keras detectors): it comes with the "
        "'deep' extra, pip install 'fraud-workbench[deep]'"
    )
    missing = subprocess.run(
        [str(python), "-m", "workbench", "report", "--out", "r"],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 2 and "'notebooks' extra" in missing.stderr, missing.stderr


def test_wheel_runs_outside_the_checkout(wheel, outside):
    python = _venv(outside / "full")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], cwd=outside)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], cwd=outside).stdout.strip())
    # the extras of this environment, after the venv's own packages (its .pth files, such as
    # the editable install of the checkout, are not read: only site directories' are)
    (site / "workbench-test-extras.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # and their data files (nbconvert's base templates) from this environment's prefix
    jupyter = {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    run = [str(python), "-m", "workbench"]
    where = _run([str(python), "-c", "import workbench; print(workbench.__file__)"], cwd=outside)
    assert where.stdout.startswith(str(site)), where.stdout
    started = time.perf_counter()
    gen = _run(
        [*run, "generate", "--customers", "150", "--days", "20", "--out", "ds", "--no-progress"],
        cwd=outside,
    )
    assert "transactions" in gen.stdout and (outside / "ds" / "card.json").is_file()
    example = site / "workbench" / "data" / "examples"
    feats = _run(
        [
            *run,
            "features",
            "--table",
            str(example / "minimal_transactions.csv"),
            "--mapping",
            str(example / "minimal_mapping.yaml"),
            "--out",
            "ext.parquet",
        ],
        cwd=outside,
    )
    assert "wrote ext.parquet" in feats.stdout and (outside / "ext.parquet").is_file()
    rep = _run(
        [
            *run,
            "report",
            "--out",
            "report",
            "--customers",
            "200",
            "--days",
            "30",
            "--fraud-rate",
            "0.15",
            "--replicates",
            "10",
            "--folds",
            "1",
            "--k",
            "10",
        ],
        cwd=outside,
        timeout=900,
        **jupyter,
    )
    assert "evaluation.html" in rep.stdout
    html = (outside / "report" / "evaluation.html").read_text()
    assert "card precision@k by day" in html.lower()
    TIMINGS["commands"] = time.perf_counter() - started
    print("install test timings (s):", {k: round(v, 1) for k, v in TIMINGS.items()})
