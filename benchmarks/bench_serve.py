"""Benchmark: the scoring service over HTTP (``python -m workbench serve``).

    python benchmarks/bench_serve.py            # ~100,000 single-transaction requests + batches
    python benchmarks/bench_serve.py --smoke    # a tiny run that checks the script works

A dataset is generated and an HGB package trained on its online features (not timed); the
service starts as a subprocess warmed with the whole dataset, and a load client on
127.0.0.1 (asyncio, one kept-alive connection per concurrent request) replays the dataset's transactions: single-transaction ``POST
/score`` at concurrency 1, 8 and 32 (100,000 requests in all, each level bounded in count
and time), then ``POST /score/batch`` with 1,000 transactions per request (with the default
3 reason codes for the alerts, and for every row). Each run replays the rows shifted past the state's clock (new
txn ids, times after the previous run), with the times of every 2,048 consecutive rows set to
the first one's: requests in flight at once share an instant, which the service accepts in
any order (a request out of time order would be refused; the count is reported). Latency is
the client's, request sent to reply read. Targets: >= 2,000 requests/s at concurrency 8 with
p99 <= 10 ms; >= 50,000 transactions/s in batches of 1,000. Writes
benchmarks/results/bench_serve.json.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import bench_parser, write_results  # noqa: E402

from workbench.features.online import source_stream  # noqa: E402
from workbench.features.store import dataset_source  # noqa: E402
from workbench.models.package import save_package  # noqa: E402
from workbench.models.stream import ONLINE_FEATURES, replay  # noqa: E402
from workbench.models.supervised import SupervisedDetector  # noqa: E402
from workbench.simulate import SimulationConfig, generate  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1)
INSTANT = 2048  # rows per shared instant in a run


def _bodies(stream, rows: np.ndarray, shift_us: int, id_offset: int) -> list[dict]:
    """Transaction bodies of ``rows``, ``shift_us`` later and with ids ``id_offset`` higher;
    every INSTANT consecutive rows at the time of the first."""
    r, vocab = stream.rows, stream.vocab
    ts = r["ts_us"][rows]
    ts = ts[(np.arange(len(rows)) // INSTANT) * INSTANT] + shift_us
    frame = pd.DataFrame({c: r[c][rows] for c in ("customer_id", "card_id", "merchant_id", "device_id", "ip_id")})
    out = []
    for i, row in enumerate(rows):
        body = {"txn_id": int(r["txn_id"][row]) + id_offset,
                "ts": (EPOCH + dt.timedelta(microseconds=int(ts[i]))).isoformat()}
        for c in frame.columns:
            v = int(frame[c].iat[i])
            body[c] = None if v < 0 else v
        for c in ("amount", "balance_before", "lat", "lon", "home_lat", "home_lon"):
            v = float(r[c][row])
            body[c] = None if np.isnan(v) else v
        for c in ("city", "channel", "txn_type"):
            v = int(r[c][row])
            body[c] = None if v < 0 else vocab[c][v]
        out.append(body)
    return out


async def _post(reader, writer, request: bytes) -> int:
    """Send one pre-encoded HTTP/1.1 request on a kept-alive connection; read the reply
    (Content-Length framed, as uvicorn sends it) and return its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    await reader.readexactly(length)
    return status


def _request(path: str, body) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n").encode() + payload


async def _load(port: int, path: str, bodies: list, concurrency: int, seconds: float) -> dict:
    """Send ``bodies`` with ``concurrency`` connections, one request in flight on each, in
    order of the bodies (stop after ``seconds``). A minimal asyncio HTTP/1.1 client: httpx's
    AsyncClient spent more CPU than the server on this 2-core machine (97 against 658
    requests/s for threads on http.client at concurrency 8, in a trial run)."""
    requests = [_request(path, b) for b in bodies]
    latencies, statuses, cursor = [], {}, iter(range(len(requests)))
    began = time.perf_counter()
    deadline = began + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in cursor:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                status = await _post(reader, writer, requests[i])
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "seconds": round(wall, 3), "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "statuses": statuses}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    args = bench_parser(__doc__, "bench_serve").parse_args()
    customers, days = (200, 20) if args.smoke else (3000, 45)
    levels = {1: 200, 8: 400, 32: 400} if args.smoke else {1: 20_000, 8: 40_000, 32: 40_000}
    batch_requests = 3 if args.smoke else 40
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate(SimulationConfig(customers=customers, days=days, seed=11, fraud_rate=0.05), root / "data",
                        backend="serial", progress=False)
        online = replay(data)
        y = pd.read_parquet(data / "transactions", columns=["txn_id", "is_fraud"]).set_index("txn_id")
        y = y.loc[online["txn_id"], "is_fraud"].to_numpy()
        model = SupervisedDetector(model="hgb", strategy="class_weight", seed=1).fit(online[ONLINE_FEATURES], y)
        package = save_package(model, root / "package", dataset=data)
        stream = source_stream(dataset_source(data))
        n = len(stream)
        span = int(stream.rows["ts_us"][-1] - stream.rows["ts_us"][0]) + 86_400_000_000
        port = _free_port()
        log = (root / "server.log").open("w")
        began = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--package", str(package),
                                   "--dataset", str(data), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            while not _ready(port):
                if server.poll() is not None:
                    raise RuntimeError((root / "server.log").read_text())
                time.sleep(0.2)
            ready = time.perf_counter() - began
            results = {"transactions_in_dataset": n, "warm_rows": n, "startup_to_ready_s": round(ready, 2), "single": {}, "batch": {}}
            run = 0
            for concurrency, count in levels.items():
                run += 1
                stats = asyncio.run(_load(port, "/score", _run(stream, count, run, span), concurrency, 120))
                results["single"][f"concurrency_{concurrency}"] = stats
                print(f"single, concurrency {concurrency}: {stats}", flush=True)
            for explain in ("alerts", "all"):
                run += 1
                bodies = _run(stream, batch_requests * 1000, run, span)
                batches = [{"transactions": bodies[i: i + 1000]} for i in range(0, len(bodies), 1000)]
                stats = asyncio.run(_load(port, f"/score/batch?explain={explain}", batches, 1, 300))
                stats["transactions_per_s"] = round(stats["requests_per_s"] * 1000, 1)
                results["batch"][f"explain_{explain}"] = stats
                print(f"batch of 1,000, explain={explain}: {stats}", flush=True)
            health = httpx.get(f"http://127.0.0.1:{port}/health").json()
            results["state_after"] = health["state"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {write_results('bench_serve', {'runs': [results]}, args.out)}")


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _run(stream, count: int, run: int, span: int) -> list[dict]:
    """``count`` bodies for run number ``run``: the stream's rows again and again, each pass
    a span later than the one before (a run's passes stay below the next run's)."""
    out, rep = [], 0
    while len(out) < count:
        rows = np.arange(min(len(stream), count - len(out)))
        out += _bodies(stream, rows, (run * 10 + rep) * span, (run * 10 + rep) * 10**10)
        rep += 1
    return out


if __name__ == "__main__":
    main()
