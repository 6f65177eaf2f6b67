"""Measuring helpers for benchmarks: wall time and the peak RSS of a process tree."""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).resolve().parent / "results"


class PeakRSS:
    """Sample the summed RSS of this process and its children until stopped (context manager)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak, self.peak_single = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = []
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    pass
            self.peak = max(self.peak, sum(rss))
            self.peak_single = max(self.peak_single, max(rss, default=0))
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_parser(doc: str | None, name: str) -> argparse.ArgumentParser:
    """The common command line of the benchmarks: ``--smoke`` (a tiny run that checks the
    script works) and ``--out`` (the JSON results path)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny run that only checks the script works"
    )
    parser.add_argument(
        "--out", default=None, help=f"JSON results path (default benchmarks/results/{name}.json)"
    )
    return parser


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(name: str, results: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write ``results`` as JSON (default benchmarks/results/<name>.json) and return the path."""
    path = Path(path) if path else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"benchmark": name, "machine": machine(), **results}, indent=2, default=str)
        + "\n"
    )
    return path
