"""Benchmark: the customer study on the default pipeline dataset, drivers on and off, and
customer features at scale.

    python benchmarks/bench_customers.py            # quality at the pipeline's size + timing
    python benchmarks/bench_customers.py --smoke    # a tiny run that checks the script works

Quality (targets, not timed tests): churn ROC AUC on the default pipeline world (5,000
customers, 90 days, seed 42, fraud rate 0.02; horizon 30 days, test customers already fading
at the cut set aside) with the churn drivers on (target >= 0.8) and off (target ~0.5; a base
hazard giving about the same churn rate), and the
adjusted Rand index of every segmentation method. Timing: customer features at one cut for
100,000 customers over 90 days (~7M transactions; target 60 s on the 2-core reference
machine); generation is not timed. Writes benchmarks/results/bench_customers.json.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakRSS, bench_parser, write_results  # noqa: E402

from workbench.customers import (churn_study, customer_features, segment_customers,  # noqa: E402
                                 usable_horizon)
from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.simulate import SimulationConfig, generate  # noqa: E402
from workbench.simulate.churn import drivers_off  # noqa: E402

# the control world's base hazard: about the churn rate the drivers cause in the pipeline
# world (1.3% of the test customers leave within 30 days), so both tests have churners
CONTROL_HAZARD = 0.0006
PIPELINE = dict(customers=5000, days=90, seed=42, fraud_rate=0.02)
SMOKE = dict(customers=600, days=60, seed=3, fraud_rate=0.1)


def quality(world: dict, tmp: Path) -> dict:
    out = {}
    control = drivers_off(base_daily_hazard=CONTROL_HAZARD)
    for name, drivers in (("drivers_on", None), ("drivers_off", control)):
        data = generate(SimulationConfig(**world, churn_drivers=drivers), tmp / name,
                        backend="processes", workers=2)
        ds = open_dataset(data)
        horizon, _ = usable_horizon(ds, 30)
        study = churn_study(ds, horizon_days=horizon, seed=0)
        out[name] = {"horizon_days": horizon, "notes": study.notes,
                     "metrics": study.metrics.round(4).reset_index().to_dict("records")}
        if drivers is None:
            feats = study.test[study.features]
            truth = ds.table("customers").set_index("customer_id").loc[feats.index, "segment"]
            seg = segment_customers(feats, truth, seed=0)
            out["segmentation"] = seg.scores.round(4).reset_index().to_dict("records")
    return out


def timing(customers: int, tmp: Path) -> dict:
    data = generate(SimulationConfig(customers=customers, days=90, seed=1), tmp / "scale",
                    backend="processes", workers=2)
    ds = open_dataset(data)
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        feats = customer_features(ds, "2025-03-01")
        seconds = time.perf_counter() - t0
    return {"customers": customers, "transactions": ds.card["row_counts"]["transactions"],
            "rows": len(feats), "features": feats.shape[1], "seconds": round(seconds, 2),
            "peak_rss_tree_mib": round(rss.peak / 2**20)}


def main() -> None:
    parser = bench_parser(__doc__, "bench_customers")
    parser.add_argument("--skip-scale", action="store_true", help="quality only")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-customers-"))
    try:
        q = quality(SMOKE if args.smoke else PIPELINE, tmp)
        t = None if args.skip_scale else timing(800 if args.smoke else 100_000, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name in ("drivers_on", "drivers_off"):
        auc = {m["model"]: m["roc_auc"] for m in q[name]["metrics"]}
        print(f"churn {name} (horizon {q[name]['horizon_days']} d): "
              + ", ".join(f"{k} AUC {v:.3f}" for k, v in auc.items()))
    for row in q["segmentation"]:
        print(f"segmentation {row['method']}: k {row['k']}, adjusted Rand "
              f"{row['adjusted_rand']:.3f}, NMI {row['nmi']:.3f}")
    if t:
        print(f"customer features: {t['customers']:,} customers, {t['transactions']:,} "
              f"transactions, {t['features']} features in {t['seconds']:.2f} s, peak RSS "
              f"{t['peak_rss_tree_mib']:,} MiB")
    print(f"wrote {write_results('bench_customers', {'quality': q, 'timing': t}, args.out)}")


if __name__ == "__main__":
    main()
