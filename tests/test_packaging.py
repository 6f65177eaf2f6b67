"""The package as others see it: its import graph, its public names, its extras and its
wheel installed outside the checkout."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The part of the package a module belongs to: its subpackage, or the top-level module."""
    parts = module.split(".")
    return "workbench" if len(parts) == 1 else parts[1]


def import_graph() -> nx.DiGraph:
    """Subpackages and top-level modules, with an edge for every import between them,
    imports inside functions included (ast: the source, not what happens to run)."""
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        source = _unit(_module_name(path))
        graph.add_node(source)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "workbench" and _unit(target) != source:
                    graph.add_edge(source, _unit(target), where=f"{path.name}:{node.lineno}")
    return graph


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert {"simulate", "fraud", "features", "graph", "models", "evaluate"} <= set(graph)
    assert graph.has_edge("fraud", "simulate")  # the graph sees function-level imports too
    cycles = [
        [(a, b, graph.edges[a, b]["where"]) for a, b in zip(c, c[1:] + c[:1])]
        for c in nx.simple_cycles(graph)
    ]
    assert not cycles, cycles
    assert not graph.has_edge("simulate", "fraud")


def _fresh_python(code: str) -> str:
    """What ``code`` prints in a new interpreter (nothing of this test session imported)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_the_simulator_takes_fraud_through_its_declared_hook():
    # whatever is imported first, the package registers the scenario library
    probe = (
        "from workbench.simulate import SimulationConfig, fraud_layer; "
        "from workbench.fraud import SCENARIO_LIBRARY; "
        "assert fraud_layer() is SCENARIO_LIBRARY; "
        "print(SimulationConfig(customers=20, days=5).mix().total_prevalence > 0)"
    )
    assert _fresh_python(probe) == "True"
    from workbench.fraud import SCENARIO_LIBRARY, FraudPlan
    from workbench.simulate import FraudLayer, PlannedFraud, SimulationConfig, fraud_layer
    from workbench.simulate.world_plan import make_plan

    assert isinstance(SCENARIO_LIBRARY, FraudLayer) and fraud_layer() is SCENARIO_LIBRARY
    plan = make_plan(SimulationConfig(customers=50, days=10, seed=3))
    assert isinstance(plan.fraud, FraudPlan) and isinstance(plan.fraud, PlannedFraud)
    assert plan.fraud.maturity_days == plan.fraud.mix.label_delay.maturity_days
    assert plan.fraud.rings_table().column_names[:3] == ["ring_id", "shape", "variant"]
    assert make_plan(SimulationConfig(customers=50, days=10, scenarios="none")).fraud is None


def test_without_a_fraud_layer_only_fraud_free_configs(monkeypatch):
    from workbench.simulate import SimulationConfig
    from workbench.simulate.fraud_hook import _registered
    from workbench.validation import InputError

    monkeypatch.setattr("workbench.simulate.fraud_hook._registered", [])
    assert SimulationConfig(customers=20, days=5, scenarios="none").mix() is None
    assert SimulationConfig(customers=20, days=5, fraud_rate=0).mix() is None
    try:
        SimulationConfig(customers=20, days=5)
    except InputError as exc:
        assert "scenarios" in str(exc) and "register_fraud_layer" in str(exc)
    else:
        raise AssertionError("a fraud mix without a registered fraud layer was accepted")
    assert _registered  # the process-wide registration is untouched


# -- public names ---------------------------------------------------------------------------


def _public_modules() -> set[str]:
    """Where public names are imported from: the package, its subpackages and the
    notebooks' helpers."""
    subpackages = {_module_name(p.parent / "__init__.py") for p in PACKAGE.glob("*/__init__.py")}
    return {"workbench", "workbench.notebook", *subpackages}


def _in_workbench(module: str | None) -> bool:
    return (module or "").split(".")[0] == "workbench"


def non_public_imports(code: str, where: str) -> list[str]:
    """Imports from workbench in ``code`` that do not go through a public name."""
    found, public = [], _public_modules()
    for node in ast.walk(ast.parse(code, where)):
        if isinstance(node, ast.Import):
            found += [
                f"{where}: import {a.name}" for a in node.names if a.name.startswith("workbench.")
            ]
        elif isinstance(node, ast.ImportFrom) and _in_workbench(node.module):
            if node.module not in public:
                found.append(f"{where}: from {node.module} import ...")
                continue
            exported = set(importlib.import_module(node.module).__all__)
            found += [
                f"{where}: from {node.module} import {a.name}"
                for a in node.names
                if a.name not in exported
            ]
    return found


def _notebook_code() -> list[tuple[str, str]]:
    out = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        out += [
            (f"{nb.name} cell {i}", "".join(c["source"]))
            for i, c in enumerate(cells)
            if c["cell_type"] == "code"
        ]
    return out


def _readme_code() -> list[tuple[str, str]]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [(f"README.md python block {i}", b) for i, b in enumerate(blocks)]


def test_notebooks_and_readme_import_only_public_names():
    code = _notebook_code() + _readme_code()
    assert len(code) > 20 and any("README" in w for w, _ in code)
    problems = [p for where, src in code for p in non_public_imports(src, where)]
    assert not problems, "\n".join(problems)


def test_the_public_names_check_catches_a_private_import():
    assert non_public_imports("from workbench.models.data import model_frame", "x")
    assert non_public_imports("from workbench.models import _not_there", "x")
    assert non_public_imports("import workbench.graph.detect", "x")
    public = "import workbench\nfrom workbench.models import model_frame"
    assert not non_public_imports(public, "x")


def test_every_public_name_resolves_and_import_workbench_stays_light():
    probe = (
        "import sys, workbench, workbench.simulate, workbench.features, workbench.models, "
        "workbench.evaluate, workbench.graph, workbench.dataset\n"
        "print(sorted(m for m in ('pandas', 'duckdb', 'tensorflow', 'keras', 'numba') "
        "if m in sys.modules))"
    )
    assert _fresh_python(probe) == "[]"
    for module in sorted(_public_modules()):
        package = importlib.import_module(module)
        # the Keras detectors are checked by the model tests (TensorFlow takes seconds to load)
        keras = ("AutoencoderDetector", "FeedForwardDetector", "SequenceDetector")
        names = [n for n in package.__all__ if n not in keras]
        missing = [n for n in names if not hasattr(package, n)]
        assert not missing, (module, missing)
