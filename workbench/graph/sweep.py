"""Ring recovery across ring sizes and camouflage levels.

The default mix fixes each shape's size range and camouflage, so one dataset cannot say how
detection degrades with them. This sweep writes a variant of the default mix per setting
(every ring shape with the given size range or camouflage, rings denser so each shape has
several), generates a small dataset with it, detects and scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import yaml

from workbench.fraud.mix import DEFAULT_MIX, RING_SHAPES
from workbench.graph._ring_metrics import planted_rings, ring_metrics
from workbench.graph.detect import RingConfig, detect_rings
from workbench.graph.source import graph_source
from workbench.products import scratch_dir, write_file
from workbench.simulate import SimulationConfig, generate
from workbench.validation import InputError, check_float, check_int


def _variant_mix(path: Path, per_10k: float, size: tuple[int, int], camouflage: float) -> Path:
    """The default mix with every ring shape at ``per_10k``, ``size`` and ``camouflage``."""
    raw = yaml.safe_load(DEFAULT_MIX.read_text())
    raw["rings"] = {
        shape: {"per_10k": per_10k, "size": list(size), "camouflage": camouflage}
        for shape in RING_SHAPES
    }
    return write_file(path, lambda tmp: tmp.write_text(yaml.safe_dump(raw)))


def ring_sweep(
    workdir: str | os.PathLike | None = None,
    customers: int = 3000,
    days: int = 60,
    seed: int = 1,
    per_10k: float = 10.0,
    sizes: tuple[tuple[int, int], ...] = ((3, 5), (6, 9), (10, 16)),
    camouflage: tuple[float, ...] = (1.0, 0.5, 0.1),
    config: RingConfig | None = None,
) -> pd.DataFrame:
    """Ring-level recall and precision of the combined detector per shape, for each size
    range (at camouflage 1) and each camouflage level (at the middle size range); datasets
    are written under ``workdir`` (None: a scratch directory removed when done)."""
    check_int("customers", customers, 200, 200_000)
    check_int("days", days, 14, 366)
    check_float("per_10k", per_10k, 0.1, 500.0)
    for lo_hi in sizes:
        if len(lo_hi) != 2 or check_int("sizes", lo_hi[0], 3) > check_int("sizes", lo_hi[1], 3):
            raise InputError(
                "sizes", sizes, "(min, max) pairs of member counts, min >= 3 and min <= max"
            )
    for level in camouflage:
        check_float("camouflage", level, 0.0, 1.0)
    if workdir is None:
        with scratch_dir("ring-sweep") as root:
            return ring_sweep(root, customers, days, seed, per_10k, sizes, camouflage, config)
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    middle = sizes[len(sizes) // 2]
    settings = [("size", f"{lo}-{hi}", (lo, hi), 1.0) for lo, hi in sizes]
    settings += [("camouflage", f"{c:g}", middle, c) for c in camouflage]
    rows = []
    for i, (axis, label, size, camo) in enumerate(settings):
        mix = _variant_mix(root / f"mix_{i}.yaml", per_10k, size, camo)
        data = root / f"data_{i}"
        generate(
            SimulationConfig(customers=customers, days=days, seed=seed, scenarios=str(mix)),
            data,
            backend="serial",
            overwrite=True,
            progress=False,
        )
        src = graph_source(data)
        metrics = ring_metrics(detect_rings(src, config), planted_rings(src))
        combined = metrics[metrics["method"] == "combined"]
        rows += [
            {"axis": axis, "setting": label, **r}
            for r in combined.drop(columns="method").to_dict("records")
        ]
    return pd.DataFrame(rows)
