"""Benchmark: point-in-time features and sequence datasets for ~1M and ~10M transactions.

    python benchmarks/bench_features.py            # ~1M and ~10M
    python benchmarks/bench_features.py --quick    # ~1M only
    python benchmarks/bench_features.py --smoke    # a tiny run that checks the script works

Generates the datasets first (not timed), then times the feature build (every catalogue
feature to Parquet; the default "online" engine, the compiled state of the stream scorer,
and at ~1M also the DuckDB engine for comparison; numba's compilation, or loading it from
its cache, is timed apart on a tiny dataset first) and the sequence build (k = 10,
memory-mapped to disk), with the peak RSS of the whole process tree. A naive pandas
implementation of the customer-window features (per-customer time-based rolling) runs on
the ~1M dataset for comparison.
Targets: features for 10M transactions within 120 s and 4 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakRSS, write_results  # noqa: E402

from workbench import SimulationConfig, generate  # noqa: E402
from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.features.sequences import build_sequences  # noqa: E402
from workbench.features.store import dataset_source, write_features  # noqa: E402

RUNS = {"1M": 16_000, "10M": 144_000}
SEQUENCE_COLUMNS = [
    "log_amount",
    "hour",
    "cust_n_24h",
    "amt_ratio_mean_30d",
    "cust_secs_since_prev",
    "dist_prev_km",
]


def naive_pandas(path: Path) -> tuple[float, int]:
    """The customer-window velocity and amount features the slow way: pandas rolling per
    customer."""
    tx = open_dataset(path).table(
        "transactions", columns=["txn_id", "timestamp", "customer_id", "amount"]
    )
    t0 = time.perf_counter()
    tx = tx.sort_values(["customer_id", "timestamp"]).set_index("timestamp")
    out = {}
    g = tx.groupby("customer_id")["amount"]
    for span in ("1h", "1D", "7D", "30D"):
        out[f"n_{span}"] = g.rolling(span).count()
        out[f"sum_{span}"] = g.rolling(span).sum()
    prev = g.rolling("30D", closed="left")
    out["mean_30d_prev"] = prev.mean()
    out["max_30d_prev"] = prev.max()
    return time.perf_counter() - t0, len(pd.DataFrame(out))


def run(label: str, customers: int, tmp: Path, naive: bool, compare_duckdb: bool) -> dict:
    data = generate(
        SimulationConfig(customers=customers, days=90, seed=1),
        tmp / f"ds-{label}",
        backend="processes",
        workers=2,
    )
    rows = open_dataset(data).card["row_counts"]["transactions"]

    def features(engine: str) -> tuple[dict, float, int]:
        con = duckdb.connect(config={"memory_limit": "3GB", "temp_directory": str(tmp / "spill")})
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            result = write_features(
                dataset_source(data, con),
                tmp / f"features-{label}.parquet",
                overwrite=True,
                engine=engine,
            )
            return result, time.perf_counter() - t0, rss.peak

    compared = {}
    if compare_duckdb:
        _, duck_s, duck_peak = features("duckdb")
        compared = {
            "duckdb_seconds": round(duck_s, 2),
            "duckdb_rows_per_second": round(rows / duck_s),
            "duckdb_peak_rss_tree_mib": round(duck_peak / 2**20),
        }
    result, seconds, peak = features("online")
    con = duckdb.connect(config={"memory_limit": "2GB", "temp_directory": str(tmp / "spill")})
    with PeakRSS() as rss_seq:
        t1 = time.perf_counter()
        seq = build_sequences(
            con,
            f"read_parquet('{(tmp / f'features-{label}.parquet').as_posix()}')",
            SEQUENCE_COLUMNS,
            k=10,
            out_dir=tmp / f"seq-{label}",
        )
        seq_seconds = time.perf_counter() - t1
    out = {
        "label": label,
        "transactions": rows,
        "features": result["features"],
        "engine": result["engine"],
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_tree_mib": round(peak / 2**20),
        **compared,
        "sequence_seconds": round(seq_seconds, 2),
        "sequence_shape": list(seq.x.shape),
        "sequence_peak_rss_tree_mib": round(rss_seq.peak / 2**20),
    }
    if naive:
        naive_s, n = naive_pandas(data)
        out.update({"naive_pandas_seconds_customer_windows": round(naive_s, 2), "naive_rows": n})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the ~1M run")
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny run that only checks the script works"
    )
    parser.add_argument(
        "--duckdb-10m",
        action="store_true",
        help="also time the DuckDB engine at ~10M (several minutes)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="JSON results path (default benchmarks/results/bench_features.json)",
    )
    args = parser.parse_args()
    runs = (
        {"smoke": 300}
        if args.smoke
        else {k: v for k, v in RUNS.items() if not args.quick or k == "1M"}
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-feat-"))
    results = []
    try:
        # the online engine's state is compiled by numba on its first run after installation
        # (then cached on disk): timed apart on a tiny dataset
        tiny = generate(
            SimulationConfig(customers=50, days=10, seed=1), tmp / "tiny", backend="serial"
        )
        t0 = time.perf_counter()
        write_features(dataset_source(tiny), tmp / "tiny.parquet", engine="online")
        first = round(time.perf_counter() - t0, 2)
        print(
            f"first online-engine run (numba compile or cache load, tiny dataset): {first} s",
            flush=True,
        )
        results.append({"label": "first_online_run", "seconds": first})
        for label, customers in runs.items():
            r = run(
                label,
                customers,
                tmp,
                naive=label in ("1M", "smoke"),
                compare_duckdb=label in ("1M", "smoke") or args.duckdb_10m,
            )
            results.append(r)
            line = (
                f"{label:>5}: {r['transactions']:>11,} transactions, {r['features']} features "
                f"in {r['seconds']:7.2f} s = "
                f"{r['rows_per_second']:>9,} rows/s, peak RSS {r['peak_rss_tree_mib']:,} MiB; "
                f"sequences {r['sequence_shape']} "
                f"in {r['sequence_seconds']:.2f} s, "
                f"peak RSS {r['sequence_peak_rss_tree_mib']:,} MiB"
            )
            if "duckdb_seconds" in r:
                line += (
                    f"; DuckDB engine {r['duckdb_seconds']:.2f} s, "
                    f"peak RSS {r['duckdb_peak_rss_tree_mib']:,} MiB"
                )
            if "naive_pandas_seconds_customer_windows" in r:
                line += (
                    "; naive pandas (10 customer-window features only) "
                    f"{r['naive_pandas_seconds_customer_windows']:.2f} s"
                )
            print(line, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {write_results('bench_features', {'runs': results}, args.out)}")


if __name__ == "__main__":
    main()
