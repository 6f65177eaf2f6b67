"""The scoring service as a client uses it: real servers (subprocesses on free ports) and a
real HTTP client. Parity with the offline replay, bad input, concurrency, the API key,
metrics, and the README's curl example."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from workbench.features.online import source_stream
from workbench.features.store import dataset_source
from workbench.models.package import save_package
from workbench.models.stream import ONLINE_FEATURES, replay
from workbench.models.supervised import SupervisedDetector
from workbench.simulate import SimulationConfig, generate

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-7f3a9c"  # a key the server logs must never show
EPOCH = dt.datetime(1970, 1, 1)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _iso(us: int) -> str:
    return (EPOCH + dt.timedelta(microseconds=int(us))).isoformat()


class Server:
    """A ``python -m workbench serve`` subprocess and a client for it."""

    def __init__(self, root: Path, name: str, args: list[str], key: str | None = None, host: str = "127.0.0.1"):
        self.port, self.log = _port(), root / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_API_KEY"}
        if key:
            env["WORKBENCH_API_KEY"] = key
        self.proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", *args, "--host", host,
                                      "--port", str(self.port)], env=env, cwd=root,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30,
                                   headers={"x-api-key": key} if key else {})

    def wait(self, seconds: float = 180) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if self.client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready in {seconds} s: {self.log.read_text()}")

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def state(self) -> dict:
        return self.client.get("/health").json()["state"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A small dataset, an HGB package trained on its online features, and three servers
    started together: warm to the middle of the data (parity), warm with all of it and the
    baseline rules (the other tests), and cold on 0.0.0.0 with an API key."""
    root = tmp_path_factory.mktemp("serve")
    data = generate(SimulationConfig(customers=150, days=30, seed=5, fraud_rate=0.15), root / "data", backend="serial")
    online = replay(data)
    y = pd.read_parquet(data / "transactions", columns=["txn_id", "is_fraud"]).set_index("txn_id").loc[online["txn_id"], "is_fraud"]
    det = SupervisedDetector(model="hgb", strategy="class_weight", seed=1).fit(online[ONLINE_FEATURES], y.to_numpy())
    package = save_package(det, root / "package", dataset=data, metrics={"note": "test"})
    ts = source_stream(dataset_source(data)).rows["ts_us"]
    middle = _iso(ts[len(ts) // 2])
    servers = {"parity": Server(root, "parity", ["--package", str(package), "--dataset", str(data), "--warm-until", middle]),
               "main": Server(root, "main", ["--package", str(package), "--dataset", str(data), "--rules", "baseline"]),
               "keyed": Server(root, "keyed", ["--package", str(package)], key=KEY, host="0.0.0.0")}
    try:
        for server in servers.values():
            server.wait()
        yield {"data": data, "package": package, "middle": middle, **servers}
    finally:
        for server in servers.values():
            server.stop()


def _transactions(stream, rows) -> list[dict]:
    """The stream's rows as the service's transaction bodies."""
    out = []
    r, vocab = stream.rows, stream.vocab
    for i in rows:
        body = {"txn_id": int(r["txn_id"][i]), "ts": _iso(r["ts_us"][i])}
        for c in ("customer_id", "card_id", "merchant_id", "device_id", "ip_id"):
            body[c] = None if r[c][i] < 0 else int(r[c][i])
        for c in ("amount", "balance_before", "lat", "lon", "home_lat", "home_lon"):
            body[c] = None if np.isnan(r[c][i]) else float(r[c][i])
        for c in ("city", "channel", "txn_type"):
            body[c] = None if r[c][i] < 0 else vocab[c][r[c][i]]
        out.append(body)
    return out


def test_scores_over_http_equal_the_replay(served):
    """The transactions after the warm-up, their account events and label confirmations,
    sent in time order (events before the transactions of their instant, the rows of one
    instant in one batch), get exactly the replay's features and scores."""
    server, data = served["parity"], served["data"]
    stream = source_stream(dataset_source(data))
    ts = stream.rows["ts_us"]
    warm = server.state()
    assert warm["warm_transactions"] == warm["transactions"] > 0
    start, end = warm["warm_transactions"], int(ts[warm["warm_transactions"] - 1])
    items = [(int(t), 0, {"customer_id": int(c), "event_type": e, "ts": _iso(t)})
             for t, c, e in stream.events[["ts_us", "customer_id", "event_type"]].itertuples(index=False) if t > end]
    items += [(int(t), 1, {"txn_id": int(stream.rows["txn_id"][row]), "confirmed_at": _iso(t)})
              for t, row in stream.labels[["confirmed_us", "row"]].itertuples(index=False) if t > end]
    starts = np.flatnonzero(np.diff(ts[start:], prepend=ts[start] - 1)) + start
    items += [(int(ts[a]), 2, (int(a), int(b))) for a, b in zip(starts, np.append(starts[1:], len(ts)))]
    assert sum(k == 0 for _, k, _ in items) >= 3 and sum(k == 1 for _, k, _ in items) >= 10
    scores, features = {}, {}
    for _, kind, item in sorted(items, key=lambda x: (x[0], x[1])):
        if kind == 0:
            assert server.client.post("/events", json=item).status_code == 200
        elif kind == 1:
            assert server.client.post("/labels", json=item).status_code == 200, item
        else:
            bodies = _transactions(stream, range(*item))
            if len(bodies) == 1:
                got = server.client.post("/score?features=1", json=bodies[0])
                results = [got.json()]
            else:
                got = server.client.post("/score/batch?features=1", json={"transactions": bodies})
                results = got.json()["results"]
            assert got.status_code == 200, got.text
            assert got.json()["processing_ms"] > 0 and got.json()["model_version"].startswith("hgb")
            for res in results:
                scores[res["txn_id"]] = res["score"]
                features[res["txn_id"]] = [np.nan if v is None else v for v in res["features"].values()]
                assert res["decision"] in ("allow", "review") and isinstance(res["reasons"], list)
    expected = replay(data, served["package"]).iloc[start:]
    assert len(scores) == len(expected) > 1000
    got = np.array([scores[t] for t in expected["txn_id"]])
    assert np.array_equal(got, expected["score"].to_numpy())  # bit for bit: JSON floats round-trip
    values = np.array([features[t] for t in expected["txn_id"]])
    assert np.array_equal(values, expected[ONLINE_FEATURES].to_numpy(), equal_nan=True)
    assert server.state()["transactions"] == len(ts)


def _probe(state: dict, seconds: float, txn_id: int, customer: int = 5, **extra) -> dict:
    clock = dt.datetime.fromisoformat(state["clock"])
    return {"txn_id": txn_id, "ts": (clock + dt.timedelta(seconds=seconds)).isoformat(), "customer_id": customer,
            "card_id": 900_000 + customer, "amount": 120.5, "merchant_id": 3, "channel": "online",
            "txn_type": "purchase", **extra}


def test_bad_requests_get_4xx_naming_the_field_and_leave_the_state(served):
    client = served["main"].client
    state = served["main"].state()
    good = _probe(state, 60, 10**9)
    earlier = _probe(state, -3600, 10**9 + 1)
    cases = [
        ("/score", {k: v for k, v in good.items() if k != "amount"}, 422, "amount"),
        ("/score", good | {"amount": "lots"}, 422, "amount"),
        ("/score", good | {"customer_id": 1.5}, 422, "customer_id"),
        ("/score", good | {"colour": "red"}, 422, "colour"),
        ("/score", good | {"ts": "2025-13-01T00:00:00"}, 422, "ts"),
        ("/score", good | {"ts": "2025-02-01T00:00:00+05:30"}, 422, "ts"),
        ("/score", earlier, 422, "ts"),
        ("/score?reasons=many", good, 422, "reasons"),
        ("/score?verbose=1", good, 422, "verbose"),
        ("/score/batch", {"transactions": []}, 422, "transactions"),
        ("/score/batch", {"transactions": [good, earlier | {"txn_id": 10**9 + 2}]}, 422, "transactions[1].ts"),
        ("/score/batch", {"transactions": [good, good]}, 422, "txn_id"),
        ("/events", {"customer_id": 5, "event_type": "sim_swap", "ts": good["ts"]}, 422, "event_type"),
        ("/events", {"customer_id": 5, "event_type": "bank_link", "ts": earlier["ts"]}, 422, "ts"),
        ("/events", {"customer": 5, "event_type": "bank_link", "ts": good["ts"]}, 422, "customer_id"),
        ("/labels", {"txn_id": -42, "confirmed_at": good["ts"]}, 422, "txn_id"),
        ("/labels", {"txn_id": 10**9}, 422, "confirmed_at"),
        ("/score", "not json at all", 422, "body"),
        ("/score/batch", {"transactions": [good] * 40_000}, 413, "body"),
    ]
    for path, body, status, field in cases:
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        got = client.post(path, content=content, headers={"content-type": "application/json"})
        assert got.status_code == status, (path, body if len(content) < 500 else "...", got.text)
        detail = got.json()["detail"]
        assert any(d["field"] == field for d in detail), (field, detail)
        assert all({"field", "value", "allowed"} <= set(d) for d in detail)
        assert served["main"].state() == state, (path, field)
    known = client.post("/score", json=good)
    assert known.status_code == 200
    again = client.post("/score", json=good | {"ts": _probe(state, 120, 0)["ts"]})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "txn_id"
    after = served["main"].state()
    assert after["transactions"] == state["transactions"] + 1
    # a label before its transaction is refused too
    early = client.post("/labels", json={"txn_id": good["txn_id"], "confirmed_at": earlier["ts"]})
    assert early.status_code == 422 and served["main"].state() == after


def test_concurrent_requests_lose_no_update(served):
    """Requests fired at once are serialised through the state: every event and every
    transaction counts."""
    server = served["main"]
    state = server.state()
    customer = 777_777
    at = _probe(state, 3600, 0)["ts"]
    event = {"customer_id": customer, "event_type": "bank_link", "ts": at}
    bodies = [_probe(state, 3601, 2 * 10**9 + i, customer) for i in range(30)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        events = list(pool.map(lambda _: server.client.post("/events", json=event).status_code, range(40)))
        scores = list(pool.map(lambda b: server.client.post("/score", json=b).status_code, bodies))
    assert events == [200] * 40 and scores == [200] * 30
    after = server.state()
    assert after["events"] == state["events"] + 40 and after["transactions"] == state["transactions"] + 30
    last = server.client.post("/score?features=1", json=_probe(state, 3602, 3 * 10**9, customer)).json()
    assert last["features"]["bank_links_24h"] == 40
    assert last["features"]["cust_n_1h"] == 31
    # every transaction of the customer's burst was seen by the ones after it: 1..30
    assert last["features"]["is_new_merchant"] == 0


def test_rules_combine_with_scores(served):
    server = served["main"]
    state = server.state()
    # a burst of bank links fires the baseline's block rule
    for i in range(5):
        assert server.client.post("/events", json={"customer_id": 31, "event_type": "bank_link",
                                                   "ts": _probe(state, 10 + i, 0)["ts"]}).status_code == 200
    got = server.client.post("/score", json=_probe(state, 20, 4 * 10**9, 31)).json()
    assert "bank_link_burst" in got["rules"] and got["decision"] == "block"
    model = server.client.get("/model").json()
    assert [r["id"] for r in model["rules"]["rules"]][:2] == ["night_amount_spike", "bank_link_burst"]
    assert model["features"] == ONLINE_FEATURES and model["manifest"]["name"] and model["metrics"] == {"note": "test"}
    plain = served["parity"].client.get("/model").json()
    assert plain["rules"] is None and 0 < plain["threshold"] <= 1


def test_api_key_is_required_off_loopback_and_never_logged(served):
    server = served["keyed"]
    bare = httpx.get(f"http://127.0.0.1:{server.port}/health")
    wrong = httpx.get(f"http://127.0.0.1:{server.port}/health", headers={"x-api-key": "guess"})
    assert bare.status_code == wrong.status_code == 401
    assert bare.json()["detail"][0]["field"] == "header x-api-key"
    assert server.client.get("/health").status_code == 200
    state = server.state()
    assert state["warm_transactions"] == 0  # no --dataset: the package's dataset, cold
    scored = server.client.post("/score", json=_probe({"clock": "2025-03-01T00:00:00"}, 0, 1))
    assert scored.status_code == 200 and 0 <= scored.json()["score"] <= 1
    assert KEY not in server.log.read_text()
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_API_KEY"}
    cli = subprocess.run([sys.executable, "-m", "workbench", "serve", "--package", str(served["package"]),
                          "--host", "0.0.0.0"], capture_output=True, text=True, env=env, timeout=120)
    assert cli.returncode == 2 and "host" in cli.stderr and "WORKBENCH_API_KEY" in cli.stderr


@pytest.mark.parametrize("args, word", [(["--port", "http"], "port"), (["--warm-until", "yesterday"], "warm-until"),
                                        (["--threshold", "2"], "threshold")])
def test_serve_bad_arguments_exit_2(served, args, word):
    cli = subprocess.run([sys.executable, "-m", "workbench", "serve", "--package", str(served["package"]), *args],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and f"invalid {word}=" in cli.stderr, cli.stderr


def test_metrics_docs_and_probes(served):
    client = served["main"].client
    text = client.get("/metrics").text
    for name in ("workbench_requests_total", "workbench_request_seconds_bucket", "workbench_score_bucket",
                 "workbench_transactions_scored_total"):
        assert name in text, name
    assert re.search(r'workbench_requests_total\{endpoint="/score",status="200"\} [1-9]', text)
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/score", "/score/batch", "/events", "/labels", "/health", "/ready", "/model"} <= set(paths)
    assert "amount" in json.dumps(paths["/score"])
    assert client.get("/ready").json()["ready"] is True


def test_readme_curl_example_runs(served):
    """The README's curl commands, against a started server, give scores."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Scoring service", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if "curl" in b)
    script = block.replace("127.0.0.1:8000", f"127.0.0.1:{served['main'].port}")
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    replies = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert any("score" in r and r["decision"] in ("allow", "flag", "review", "block") for r in replies), out.stdout
