"""The project's promises: two set-up commands, CI runs them, one environment in two files."""

from __future__ import annotations

import io
import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"duckdb": "python-duckdb", "dask[distributed]": "dask"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ]", req, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = project["optional-dependencies"]
    assert {"dev", "browser", "book"} <= set(groups), groups
    pip = {_name(r): r for r in project["dependencies"] + [r for g in groups.values() for r in g]}
    conda = {
        _name(d): d
        for d in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
        if isinstance(d, str)
    }
    for name, req in pip.items():
        cname = CONDA_NAMES.get(name, name)
        assert cname in conda, f"{name} is in pyproject.toml but not environment.yml"
        spec = req[len(name) :].strip()
        assert conda[cname].replace(" ", "").endswith(spec.replace(" ", "")), (req, conda[cname])
    assert "distributed" in conda
    extra = set(conda) - {CONDA_NAMES.get(n, n) for n in pip} - {"python", "pip", "distributed"}
    assert not extra, f"only in environment.yml: {extra}"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = (
        re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    )
    assert first_block == ["make run", "make test"]


def test_ci_runs_make_test_only():
    lines = [
        ln.strip()
        for ln in (ROOT / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[-1] == "make test"
    assert not any("pytest" in ln for ln in lines)


def _notebooks() -> list[tuple[Path, list[dict]]]:
    return [
        (nb, json.loads(nb.read_text())["cells"])
        for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))
    ]


def test_notebooks_are_committed_without_outputs():
    for nb, cells in _notebooks():
        assert all(
            not c.get("outputs") and not c.get("execution_count")
            for c in cells
            if c["cell_type"] == "code"
        ), nb.name
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), nb.name


def test_notebooks_use_what_they_import():
    """ploomber lints notebooks before a build and only warns; here an unused import or a
    redefinition fails (undefined names are papermill's injected parameters and are allowed)."""
    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    for nb, cells in _notebooks():
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        found = io.StringIO()
        check(code, nb.name, Reporter(found, found))
        problems = [ln for ln in found.getvalue().splitlines() if "undefined name" not in ln]
        assert not problems, problems


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    generate_block, graph_block, models_block, evaluation_block = _blocks(
        "python"
    )  # in README order: later examples read the generated dataset
    exec(compile(generate_block, "README.md", "exec"), {})
    assert "upi" in capsys.readouterr().out
    assert (tmp_path / "readme-demo" / "card.json").is_file()
    exec(compile(graph_block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "device_sharing" in out and "ring_recall" in out
    exec(compile(models_block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "test rows scored" in out and (tmp_path / "readme-model" / "manifest.json").is_file()
    assert re.search(r"streamed [1-9]\d* transactions, p99 latency \d+\.\d\d ms", out), out
    exec(compile(evaluation_block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "card_precision_ceiling" in out and "hgb" in out and "iforest" in out


def test_readme_cli_lines_run(tmp_path):
    """Every `python -m workbench` line of the README, at a small size and in a scratch
    directory."""
    import json
    import shlex
    import subprocess
    import sys

    lines = [ln for block in _blocks("bash") for ln in block.splitlines() if "-m workbench" in ln]
    assert len(lines) == 6
    for line in lines:
        if " report " in line:  # the report build, at a small size (later flags win)
            line += " --customers 250 --days 40 --replicates 20 --folds 2 --k 10"
        line = line.replace(
            "workbench/data/examples", str(ROOT / "workbench" / "data" / "examples")
        )
        args = shlex.split(
            line.replace("--customers 10000", "--customers 150").replace("--days 90", "--days 10")
        )
        args = [sys.executable if a.endswith("/python") else a for a in args]
        res = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (line, res.stderr)
        if " report " in line:  # the build shows its progress: each fitted model and fold
            assert "single split: gradient_boosting fitted" in res.stdout, res.stdout
            assert "prequential fold 2/2" in res.stdout, res.stdout
    assert (tmp_path / "data" / "raw" / "card.json").is_file()
    assert (tmp_path / "data" / "features.parquet").is_file() and (
        tmp_path / "data" / "external_features.parquet"
    ).is_file()
    report = json.loads((tmp_path / "reports" / "custom" / "metrics.json").read_text())
    assert (
        report["parameters"]["fraud_rate"] == 0.1
        and report["parameters"]["label_delay_days"] == 10.0
    )
    used = report["parameters"]  # read from the dataset card
    assert (used["customers"], used["days"]) == (250, 40)
    assert (
        "evaluate_scores(" not in (tmp_path / "reports" / "custom" / "evaluation.html").read_text()
    )


def _smoke_benchmark(script: str, tmp_path) -> dict:
    """Run a benchmark script with --smoke and return its first run's figures."""
    import json
    import subprocess
    import sys

    out = tmp_path / "bench.json"
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text())["runs"][0]


def test_benchmark_script_runs(tmp_path):
    run = _smoke_benchmark("bench_generate.py", tmp_path)
    assert (
        run["transactions"] > 0
        and run["transactions_per_second"] > 0
        and run["peak_rss_tree_mib"] > 0
    )


def test_graph_benchmark_script_runs(tmp_path):
    run = _smoke_benchmark("bench_graph.py", tmp_path)
    assert run["transactions"] > 0 and run["seconds"] > 0 and run["peak_rss_tree_mib"] > 0
    assert {r["shape"] for r in run["combined"]} == {
        "device_sharing",
        "ip_recycling",
        "kiting",
        "mule_network",
        "synthetic_identity_ring",
    }


def test_models_benchmark_script_runs(tmp_path):
    run = _smoke_benchmark("bench_models.py", tmp_path)
    assert run["models"]["batch_scoring_rows_per_second"] > 0 and set(
        run["models"]["train_seconds"]
    ) >= {"isolation_forest", "lstm"}
    assert (
        run["models"]["stream"]["max_batch_1"]["latency_ms"]["p99"] > 0
        and run["lstm"]["sequences"] > 0
    )
