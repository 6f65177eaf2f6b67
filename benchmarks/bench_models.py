"""Benchmark: model training times, batch scoring, LSTM at 1M sequences, stream replay.

    python benchmarks/bench_models.py            # the default pipeline dataset + a
                                                 # ~1M-transaction dataset for the LSTM
    python benchmarks/bench_models.py --smoke    # a tiny run that checks the script works

On the default pipeline dataset (env.yaml: 5,000 customers, 90 days): training time of each
detector on the training block; batch scoring throughput of the gradient-boosting package
(target >= 200,000 transactions/s); stream replay through the online feature state and a
package trained on the 50 catalogue features (target >= 10,000 transactions/s end to end,
p99 latency <= 5 ms; the first replay, which compiles the state, is timed apart). Then, on a
~1M-transaction dataset, the same stream package replayed (micro-batch 16) and an LSTM
trained on 1 million sequences of length 10 (all 50 features per step; target <= 10 minutes
on the 2-core CPU). Dataset generation and feature building are not timed. Writes
benchmarks/results/bench_models.json.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakRSS, bench_parser, write_results  # noqa: E402

from workbench import SimulationConfig, generate  # noqa: E402
from workbench.features.sequences import build_sequences, frame_sequences  # noqa: E402
from workbench.features.store import dataset_source, write_features  # noqa: E402
from workbench.models.autoencoder import AutoencoderDetector  # noqa: E402
from workbench.models.data import feature_columns, labels, model_frame, standard_split  # noqa: E402
from workbench.models.isolation_forest import IsolationForestDetector  # noqa: E402
from workbench.models.package import load_package, save_package  # noqa: E402
from workbench.models.sequence import SequenceDetector  # noqa: E402
from workbench.models.stream import ONLINE_FEATURES, replay  # noqa: E402
from workbench.models.supervised import SupervisedDetector  # noqa: E402


def _dataset(
    tmp: Path, name: str, customers: int, days: int, seed: int, fraud_rate: float | None = 0.02
):
    data = generate(
        SimulationConfig(customers=customers, days=days, seed=seed, fraud_rate=fraud_rate),
        tmp / name,
        workers=2,
    )
    write_features(dataset_source(data), tmp / f"{name}.parquet")
    return data, model_frame(data, tmp / f"{name}.parquet")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def models_run(tmp: Path, customers: int, days: int) -> dict:
    data, frame = _dataset(tmp, "default", customers, days, 42)
    cols, split, y = feature_columns(frame), standard_split(frame), labels(frame)
    X, tr = frame[cols], split.train
    train = {}
    detectors = {
        "isolation_forest": IsolationForestDetector(seed=1),
        "autoencoder": AutoencoderDetector(epochs=10, seed=1),
        "lr+class_weight": SupervisedDetector("lr", "class_weight"),
        "rf+none": SupervisedDetector("rf", "none", n_estimators=100, min_samples_leaf=5),
        "hgb+class_weight": SupervisedDetector("hgb", "class_weight"),
        "hgb+smote": SupervisedDetector("hgb", "smote"),
    }
    for name, det in detectors.items():
        _, train[name] = _timed(lambda det=det: det.fit(X[tr], y[tr]))
    pkg = save_package(detectors["hgb+class_weight"], tmp / "hgb_pkg", dataset=data)
    loaded = load_package(pkg, features=cols)
    loaded.score(X.iloc[:1000])  # warm-up
    _, score_s = _timed(lambda: loaded.score(X))
    seq_tr = frame_sequences(frame, cols, k=10, entity="customer_id").take(tr)  # frame order
    # the throughput configuration the timings were first measured with (32 units, batches
    # of 1,024), not the reference-recipe defaults
    fast = {"units": 32, "head_units": 16, "learning_rate": 2e-3, "batch_size": 1024}
    for cell in ("lstm", "gru"):
        _, train[cell] = _timed(
            lambda cell=cell: SequenceDetector(cell=cell, epochs=3, seed=1, **fast).fit(
                seq_tr, y[tr]
            )
        )
    online = SupervisedDetector("hgb", "class_weight").fit(
        frame.loc[tr, ONLINE_FEATURES].astype(float), y[tr]
    )
    stream_pkg = save_package(online, tmp / "stream_pkg", dataset=data)
    # the first replay compiles the numba state (or loads it from numba's cache): timed apart
    _, first = _timed(lambda: replay(data, stream_pkg, max_batch=1, limit=1000))
    stream = {"first_replay_1000_rows_seconds": first}
    for batch in (1, 16, 64):  # micro-batch size: latency against throughput
        stream[f"max_batch_{batch}"] = stream_run(data, stream_pkg, batch)
    return {
        "transactions": len(frame),
        "train_rows": int(tr.sum()),
        "train_seconds": train,
        "batch_scoring_rows_per_second": round(len(frame) / score_s),
        "batch_scoring_seconds": score_s,
        "stream": stream,
        "stream_package": str(stream_pkg),
    }


def stream_run(data: Path, package: str, batch: int) -> dict:
    """Stream replay of ``data`` through ``package`` in micro-batches of ``batch`` rows."""
    with PeakRSS() as rss:
        out, seconds = _timed(lambda: replay(data, package, max_batch=batch))
    lat = out["latency_s"].to_numpy() * 1000
    return {
        "transactions": len(out),
        "rows_per_second": round(len(out) / seconds),
        "seconds": seconds,
        "peak_rss_mib": round(rss.peak / 2**20),
        "latency_ms": {
            q: round(float(np.percentile(lat, int(q[1:]))), 3) for q in ("p50", "p95", "p99")
        },
    }


def lstm_run(tmp: Path, customers: int, days: int, epochs: int, stream_package: str) -> dict:
    data, frame = _dataset(tmp, "lstm", customers, days, 7)
    stream = stream_run(
        data, stream_package, 16
    )  # the stream at ~1M transactions, the default study's package
    cols = feature_columns(frame)
    con = duckdb.connect()
    con.register("frame", frame[["txn_id", "ts", "customer_id", *cols]])
    seqs = build_sequences(con, "frame", cols, k=10)
    y_seq = frame.set_index("txn_id")["is_fraud"].loc[seqs.txn_id].to_numpy().astype(int)
    with PeakRSS() as rss:
        det, seconds = _timed(
            lambda: SequenceDetector(
                cell="lstm",
                units=32,
                head_units=16,
                learning_rate=2e-3,
                epochs=epochs,
                batch_size=1024,
                seed=1,
            ).fit(seqs, y_seq)
        )
    return {
        "stream_max_batch_16": stream,
        "sequences": int(len(seqs.txn_id)),
        "shape": list(seqs.x.shape),
        "epochs": len(det.history_["loss"]),
        "seconds": seconds,
        "seconds_per_epoch": round(seconds / len(det.history_["loss"]), 1),
        "peak_rss_mib": round(rss.peak / 2**20),
    }


def main() -> None:
    args = bench_parser(__doc__, "bench_models").parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        models = models_run(tmp, 200 if args.smoke else 5000, 30 if args.smoke else 90)
        print(
            f"{models['transactions']:,} transactions ({models['train_rows']:,} training rows); "
            f"training seconds: {models['train_seconds']}"
        )
        print(
            f"batch scoring (hgb package): {models['batch_scoring_rows_per_second']:,} rows/s",
            flush=True,
        )
        print(
            "stream: first replay of 1,000 rows (numba compile or cache load) "
            f"{models['stream']['first_replay_1000_rows_seconds']} s"
        )
        for key, r in models["stream"].items():
            if not key.startswith("max_batch"):
                continue
            print(
                f"stream replay ({key}): {r['rows_per_second']:,} rows/s, "
                f"latency ms {r['latency_ms']}",
                flush=True,
            )
        lstm = lstm_run(
            tmp,
            150 if args.smoke else 16_000,
            20 if args.smoke else 90,
            1 if args.smoke else 2,
            models.pop("stream_package"),
        )
        big = lstm["stream_max_batch_16"]
        print(
            f"stream replay of the LSTM dataset ({big['transactions']:,} transactions, "
            f"micro-batch 16): {big['rows_per_second']:,} rows/s, "
            f"latency ms {big['latency_ms']}, peak RSS {big['peak_rss_mib']:,} MiB",
            flush=True,
        )
        print(
            f"LSTM: {lstm['sequences']:,} sequences {lstm['shape']}, "
            f"{lstm['epochs']} epochs in {lstm['seconds']:.1f} s "
            f"({lstm['seconds_per_epoch']} s/epoch), peak RSS {lstm['peak_rss_mib']:,} MiB"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = write_results("bench_models", {"runs": [{"models": models, "lstm": lstm}]}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
