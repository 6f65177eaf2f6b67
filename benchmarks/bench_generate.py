"""Benchmark: end-to-end generation to Parquet (throughput and peak RSS).

    python benchmarks/bench_generate.py            # ~1M transactions, then ~10M for peak RSS
    python benchmarks/bench_generate.py --quick    # ~1M only
    python benchmarks/bench_generate.py --smoke    # a few thousand rows: checks the script runs

Each size runs twice: legitimate-only (``scenarios="none"``) and with the default fraud
mix. Prints a table and writes benchmarks/results/bench_generate.json. Targets on the
2-core reference machine: >= 250,000 transactions per second end to end (legitimate-only),
the default fraud mix costing at most 30% of that, and peak RSS <= 2 GiB (the whole
process tree) for 10 million transactions.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakRSS, write_results  # noqa: E402

from workbench import SimulationConfig, generate  # noqa: E402
from workbench.dataset.reader import open_dataset  # noqa: E402

# customers for about 1M and 10M transactions over 90 days with the default market
# (multiples of 2 x shard size, so both workers get the same number of shards)
RUNS = {"1M": 16_000, "10M": 144_000}


def run(label: str, customers: int, workers: int, shard_size: int, scenarios: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    try:
        cfg = SimulationConfig(
            customers=customers, days=90, seed=1, shard_size=shard_size, scenarios=scenarios
        )
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            out = generate(cfg, tmp / "ds", backend="processes", workers=workers)
            seconds = time.perf_counter() - t0
        card = open_dataset(out).card
        n = card["row_counts"]["transactions"]
        size = sum(p.stat().st_size for p in (tmp / "ds").rglob("*.parquet"))
        fraud = open_dataset(out).table("transactions", columns=["is_fraud"])["is_fraud"].mean()
        return {
            "label": label,
            "scenarios": scenarios,
            "fraud_share": round(float(fraud), 5),
            "customers": customers,
            "days": 90,
            "workers": workers,
            "shard_size": shard_size,
            "transactions": n,
            "events": card["row_counts"]["events"],
            "seconds": round(seconds, 2),
            "transactions_per_second": round(n / seconds),
            "peak_rss_tree_mib": round(rss.peak / 2**20),
            "peak_rss_largest_process_mib": round(rss.peak_single / 2**20),
            "parquet_mib": round(size / 2**20, 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the ~1M-transaction run")
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny run that only checks the script works"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="JSON results path (default benchmarks/results/bench_generate.json)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shard-size", type=int, default=2000)
    args = parser.parse_args()
    results = []
    runs = (
        {"smoke": 200}
        if args.smoke
        else {k: v for k, v in RUNS.items() if not args.quick or k == "1M"}
    )
    for label, customers in runs.items():
        for scenarios in ("none", "default"):
            r = run(label, customers, args.workers, args.shard_size, scenarios)
            results.append(r)
            print(
                f"{label:>5} {scenarios:>7}: {r['transactions']:>11,} transactions "
                f"in {r['seconds']:7.2f} s = {r['transactions_per_second']:>9,} /s; "
                f"peak RSS {r['peak_rss_tree_mib']:,} MiB (process tree), "
                f"{r['peak_rss_largest_process_mib']:,} MiB (largest process); "
                f"{r['parquet_mib']} MiB Parquet",
                flush=True,
            )
    for base, fraud in zip(results[::2], results[1::2]):
        cost = 1 - fraud["transactions_per_second"] / base["transactions_per_second"]
        fraud["throughput_cost_vs_legit"] = round(cost, 3)
        print(
            f"{base['label']:>5}: the default fraud mix costs {cost:.0%} "
            "of the legitimate-only throughput"
        )
    path = write_results("bench_generate", {"runs": results}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
