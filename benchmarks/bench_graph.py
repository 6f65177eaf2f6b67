"""Benchmark: graph build plus ring detection for 100,000 customers (default mix).

    python benchmarks/bench_graph.py            # 100,000 customers, 90 days (~7M transactions)
    python benchmarks/bench_graph.py --smoke    # a tiny run that checks the script works

Generation is not timed. The timed part reads the dataset with DuckDB, builds the sharing
projection and the transfer graph, and runs every detector (components, Louvain, label
propagation, time-respecting cycles, mule flows) and their combination. Target on the 2-core
reference machine: at most 60 s and 4 GiB. Also prints the combined detector's ring-level
recall and precision per shape on that dataset (quality at scale, not a target). Writes
benchmarks/results/bench_graph.json.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakRSS, bench_parser, write_results  # noqa: E402

from workbench import SimulationConfig, generate  # noqa: E402
from workbench.graph import fraud_customers, planted_rings, ring_metrics  # noqa: E402
from workbench.graph.detect import detect_rings  # noqa: E402
from workbench.graph.source import graph_source  # noqa: E402


def run(customers: int, tmp: Path) -> dict:
    data = tmp / f"data_{customers}"
    generate(
        SimulationConfig(customers=customers, days=90, seed=1),
        data,
        backend="processes",
        workers=2,
    )
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        src = graph_source(data)
        rings = detect_rings(src)
        seconds = time.perf_counter() - t0
    transactions = int(src.frame("SELECT count(*) AS n FROM transactions")["n"].item())
    metrics = ring_metrics(rings, planted_rings(src), fraudsters=fraud_customers(src))
    combined = metrics[metrics["method"] == "combined"][
        [
            "shape",
            "planted",
            "ring_recall",
            "ring_precision",
            "member_recall",
            "member_precision",
            "fraud_group_precision",
        ]
    ]
    return {
        "customers": customers,
        "transactions": transactions,
        "seconds": round(seconds, 2),
        "peak_rss_tree_mib": round(rss.peak / 2**20),
        "rings_detected": int((rings["method"] == "combined").sum()),
        "combined": combined.round(4).to_dict("records"),
    }


def main() -> None:
    args = bench_parser(__doc__, "bench_graph").parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    try:
        r = run(600 if args.smoke else 100_000, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{r['customers']:,} customers, {r['transactions']:,} transactions: "
        f"graph build + detection {r['seconds']:.2f} s, "
        f"peak RSS {r['peak_rss_tree_mib']:,} MiB, {r['rings_detected']} rings"
    )
    for row in r["combined"]:
        print(
            f"  {row['shape']:<24} planted {row['planted']:>3}  "
            f"ring recall {row['ring_recall']:.2f}  precision {row['ring_precision']:.2f}  "
            f"(fraud groups {row['fraud_group_precision']:.2f})"
        )
    print(f"wrote {write_results('bench_graph', {'runs': [r]}, args.out)}")


if __name__ == "__main__":
    main()
