"""The scoring service: a FastAPI app over one model package and a live feature state.

Endpoints: ``POST /score`` (one transaction), ``POST /score/batch``, ``POST /events``
(account events), ``POST /labels`` (confirmed frauds), ``GET /health``, ``GET /ready``
(model loaded and state warm), ``GET /model`` (manifest, features, metrics), ``GET
/metrics`` (Prometheus text) and the OpenAPI docs at ``/docs``. Request bodies are checked
against the schemas below before anything changes; a bad request gets 422 with the field,
the value and what is allowed, and leaves the state as it was. A score at or above the
package's threshold is decided ``review``, below it ``allow``; with a rule set, the most
severe of that and the fired rules' actions (flag < review < block) is the decision.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from workbench.features.online import ONLINE_FEATURES
from workbench.features.online import Stream, source_stream
from workbench.features.store import dataset_source
from workbench.models.package import read_manifest
from workbench.models.stream import stream_model
from workbench.serve import checked
from workbench.serve.state import EVENT_KINDS, LiveState, epoch_us
from workbench.validation import InputError

MAX_BATCH = 5_000
MAX_BODY_BYTES = 4 * 2**20
API_KEY_HEADER = "x-api-key"
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Timed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("ts", "confirmed_at", mode="after", check_fields=False)
    @classmethod
    def _naive(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError("a timestamp without a time zone (the market's local time, as stored)")
        return value


class Transaction(_Timed):
    """One transaction as the dataset stores it (ids are integers; local naive times)."""

    txn_id: int
    ts: dt.datetime
    customer_id: int
    card_id: int
    amount: Number
    merchant_id: int | None = None
    device_id: int | None = None
    ip_id: int | None = None
    balance_before: Number | None = None
    lat: Number | None = None
    lon: Number | None = None
    home_lat: Number | None = None
    home_lon: Number | None = None
    city: str | None = None
    channel: str | None = None
    txn_type: str | None = None


class Batch(BaseModel):
    """Transactions in time order (the rows of one instant belong in one batch)."""

    model_config = ConfigDict(extra="forbid")
    transactions: list[Transaction] = Field(min_length=1, max_length=MAX_BATCH)


class Label(_Timed):
    """A confirmed fraud: the transaction and when it was confirmed."""

    txn_id: int
    confirmed_at: dt.datetime


class Event(_Timed):
    """An account event of a customer."""

    customer_id: int
    event_type: Literal[tuple(EVENT_KINDS)]  # type: ignore[valid-type]
    ts: dt.datetime


def _doc(model: type[BaseModel]) -> dict:
    """The OpenAPI request body of an endpoint that validates ``model`` itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _error(status: int, detail: list[dict]) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _invalid(exc: ValidationError | InputError) -> JSONResponse:
    """422 naming each bad field, its value and what is allowed."""
    if isinstance(exc, InputError):
        return _error(422, [{"field": exc.param, "value": exc.value, "allowed": exc.allowed}])
    detail = [{"field": ".".join(str(p) for p in e["loc"]) or "body",
               "value": e.get("input") if e["type"] != "missing" else None, "allowed": e["msg"]}
              for e in exc.errors(include_url=False)]
    return _error(422, json.loads(json.dumps(detail, default=str)))


def history(dataset: str | os.PathLike, until: dt.datetime | None = None) -> Stream:
    """A dataset's stream up to its last transaction at or before ``until`` (all of it
    when None; none of it when ``until`` precedes the first transaction)."""
    source = dataset_source(dataset)
    if until is None:
        return source_stream(source)
    rows = source.con.execute("SELECT count(*) FROM base_all WHERE ts <= ?", [until]).fetchone()[0]
    return source_stream(source, limit=rows)


class Scorer:
    """A package's detector over the state's features: scores, decisions at the threshold
    and reason codes (each feature's share of the score: the score minus the score with that
    feature at its training median, the largest first)."""

    def __init__(self, package: str | os.PathLike, threshold: float | None = None, rules=None) -> None:
        self.model, self.columns = stream_model(package)
        self.manifest = read_manifest(package)
        self.metrics = json.loads((Path(package) / "metrics.json").read_text())
        self.features = list(self.model.features_)
        self.threshold = float(threshold if threshold is not None else self.model.threshold_ or 0.5)
        self.version = f"{self.manifest['name']}-{self.manifest['files']['detector.joblib'][:12]}"
        preprocess = getattr(self.model, "preprocess_", None)
        self.reference = None if preprocess is None else np.asarray(preprocess[0].statistics_, float)
        self.rules = rules

    def values(self, features: np.ndarray) -> np.ndarray:
        """The package's columns of the state's features."""
        return features if self.columns is None else features[:, self.columns]

    def reasons(self, values: np.ndarray, scores: np.ndarray, top: int) -> list[list[dict]]:
        """The ``top`` features that raise each row's score most (positive shares only)."""
        k, f = values.shape
        if top == 0 or self.reference is None:
            return [[] for _ in range(k)]
        probe = np.repeat(values, f, axis=0)
        probe[np.arange(k * f), np.tile(np.arange(f), k)] = np.tile(self.reference, k)
        share = scores[:, None] - self.model.score_values(probe).reshape(k, f)
        order = np.argsort(-share, axis=1, kind="stable")[:, :top]
        out = []
        for r in range(k):
            out.append([{"feature": self.features[j], "value": _plain(values[r, j]),
                         "contribution": float(share[r, j])} for j in order[r] if share[r, j] > 0])
        return out

    def score(self, features: np.ndarray, txn_ids: list[int], top: int, show: bool,
              explain_all: bool = True) -> list[dict]:
        """The response rows of transactions with these state features (all of them in each
        row with ``show``); reason codes for every row, or with ``explain_all`` False only
        for rows not decided ``allow`` (the others get ``None``)."""
        values = self.values(features)
        scores = self.model.score_values(values)
        decisions = np.where(scores >= self.threshold, "review", "allow").astype(object)
        fired = self.rules.fired(features) if self.rules is not None else None
        if fired is not None:
            decisions = np.array([self.rules.decide(d, f) for d, f in zip(decisions, fired)], dtype=object)
        explained = np.ones(len(scores), bool) if explain_all else decisions != "allow"
        reasons = np.full(len(scores), None, dtype=object)
        for i, r in zip(np.flatnonzero(explained), self.reasons(values[explained], scores[explained], top)):
            reasons[i] = r
        rows = []
        for i, txn in enumerate(txn_ids):
            row = {"txn_id": txn, "score": float(scores[i]), "decision": decisions[i], "reasons": reasons[i]}
            if show:
                row["features"] = dict(zip(ONLINE_FEATURES, map(_plain, features[i])))
            if fired is not None:
                row["rules"] = fired[i]
            rows.append(row)
        return rows


def _plain(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


class Metrics:
    """Prometheus metrics of one app (its own registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("workbench_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("workbench_request_seconds", "request latency", ["endpoint"], registry=self.registry,
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5))
        self.scores = Histogram("workbench_score", "scores returned", registry=self.registry,
                                buckets=tuple(round(0.1 * i, 1) for i in range(1, 11)))
        self.transactions = Counter("workbench_transactions_scored", "transactions scored", registry=self.registry)


class Guard:
    """ASGI middleware: the API key (when one is set), the body size limit and the request
    metrics, before the app sees a request."""

    def __init__(self, app, api_key: str | None, max_body: int, metrics: Metrics, endpoints: set[str]) -> None:
        self.app, self.key, self.max_body, self.metrics = app, api_key, max_body, metrics
        self.endpoints = endpoints

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        endpoint = scope["path"] if scope["path"] in self.endpoints else "other"
        status = [500]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._checked(scope, receive, sending)
        finally:
            self.metrics.requests.labels(endpoint, str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - began)

    async def _checked(self, scope, receive, send) -> None:
        if self.key is not None:
            given = dict(scope["headers"]).get(API_KEY_HEADER.encode(), b"")
            if not hmac.compare_digest(given, self.key.encode()):
                await _error(401, [{"field": f"header {API_KEY_HEADER}", "value": None,
                                    "allowed": "the service's API key"}])(scope, receive, send)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                await _error(413, [{"field": "body", "value": f"over {self.max_body} bytes",
                                    "allowed": f"a body of at most {self.max_body} bytes"}])(scope, receive, send)
                return
        body = b"".join(chunks)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def create_app(package: str | os.PathLike, dataset: str | os.PathLike | None = None,
               warm_until: dt.datetime | None = None, api_key: str | None = None,
               threshold: float | None = None, rules=None, max_body: int = MAX_BODY_BYTES,
               reasons: int = 3) -> FastAPI:
    """The service over ``package``; the state warms (in the background, ``/ready`` says
    when) from ``dataset`` (default: the package's training dataset) up to ``warm_until``
    (default: all of it). With ``api_key`` every request needs it in the X-API-Key header."""
    scorer = Scorer(package, threshold, rules)
    if dataset is None:
        dataset = (scorer.manifest.get("dataset") or {}).get("path")
        if dataset is None:
            raise InputError("dataset", None, "a dataset directory (the package names no training dataset)")
        warm_until = dt.datetime(1, 1, 1) if warm_until is None else warm_until
    dataset_source(dataset)  # fails now, not in the background, on a bad path
    app = FastAPI(title="fraud-workbench scoring service", version=scorer.version,
                  description="Scores transactions with a model package over the online feature state.")
    holder: dict[str, Any] = {"state": None, "error": None}
    metrics = Metrics()

    def warm() -> None:
        try:
            state = LiveState(history(dataset, warm_until), max_rows=MAX_BATCH)
            probe = np.zeros((2, len(ONLINE_FEATURES)))
            scorer.score(probe, [0, 1], 3, False)  # compiles the model's fast path before /ready
            holder["state"] = state
        except Exception as exc:  # reported by /ready and /health, not swallowed
            holder["error"] = f"{type(exc).__name__}: {exc}"

    threading.Thread(target=warm, daemon=True).start()
    single, batch = TypeAdapter(Transaction), TypeAdapter(Batch)
    label_type, event_type = TypeAdapter(Label), TypeAdapter(Event)

    def live() -> LiveState | JSONResponse:
        state = holder["state"]
        if state is None:
            return _error(503, [{"field": "state", "value": holder["error"] or "warming",
                                 "allowed": "requests after GET /ready says ready"}])
        return state

    def options(request: Request) -> tuple[int, bool]:
        """The query's ``reasons`` (how many reason codes) and ``features`` (0 or 1: the
        state's features in the response)."""
        query = request.query_params
        unknown = sorted(set(query) - {"reasons", "features", "explain"})
        if unknown:
            raise InputError(unknown[0], query[unknown[0]], "the query parameters reasons, features and explain only")
        value, show, explain = query.get("reasons", str(reasons)), query.get("features", "0"), query.get("explain")
        if not value.isdigit() or int(value) > 10:
            raise InputError("reasons", value, "an integer from 0 to 10")
        if show not in ("0", "1"):
            raise InputError("features", show, "0 or 1")
        if explain not in (None, "all", "alerts"):
            raise InputError("explain", explain, "all or alerts")
        return int(value), show == "1", explain

    def scored(request: Request, txns: list[Transaction], many: bool) -> Response:
        began = time.perf_counter()
        state = live()
        if isinstance(state, JSONResponse):
            return state
        top, show, explain = options(request)
        columns = {name: [getattr(t, name) for t in txns] for name in Transaction.model_fields if name != "ts"}
        columns["ts_us"] = [epoch_us(t.ts) for t in txns]
        features = state.add_transactions(columns)
        # batches explain their alerts only unless asked (each explained row costs one model
        # evaluation per feature)
        rows = scorer.score(features, columns["txn_id"], top, show, explain == "all" or (explain is None and not many))
        metrics.transactions.inc(len(rows))
        for row in rows:
            metrics.scores.observe(row["score"])
        took = round((time.perf_counter() - began) * 1000, 3)
        body = {"results": rows} if many else rows[0]
        body |= {"model_version": scorer.version, "processing_ms": took}
        return Response(json.dumps(body), media_type="application/json")

    async def parsed(request: Request, adapter: TypeAdapter):
        return adapter.validate_json(await request.body())

    @app.exception_handler(ValidationError)
    async def _on_validation(request: Request, exc: ValidationError) -> JSONResponse:
        return _invalid(exc)

    @app.exception_handler(InputError)
    async def _on_input(request: Request, exc: InputError) -> JSONResponse:
        return _invalid(exc)

    @app.post("/score", openapi_extra=_doc(Transaction), summary="Score one transaction")
    async def score(request: Request) -> Response:
        return scored(request, [await parsed(request, single)], many=False)

    @app.post("/score/batch", openapi_extra=_doc(Batch), summary="Score transactions in time order")
    async def score_batch(request: Request) -> Response:
        return scored(request, (await parsed(request, batch)).transactions, many=True)

    @app.post("/labels", openapi_extra=_doc(Label), summary="A confirmed fraud")
    async def labels(request: Request) -> Response:
        label = await parsed(request, label_type)
        state = live()
        if isinstance(state, JSONResponse):
            return state
        state.add_label(label.txn_id, epoch_us(label.confirmed_at))
        return JSONResponse({"accepted": True, "labels": state.n_labels})

    @app.post("/events", openapi_extra=_doc(Event), summary="An account event")
    async def events(request: Request) -> Response:
        event = await parsed(request, event_type)
        state = live()
        if isinstance(state, JSONResponse):
            return state
        state.add_event(event.customer_id, event.event_type, epoch_us(event.ts))
        return JSONResponse({"accepted": True, "events": state.n_events})

    @app.get("/health", summary="The process is up; the state's counts")
    async def health() -> dict:
        state = holder["state"]
        return {"status": "ok", "model_version": scorer.version, "warm_error": holder["error"],
                "state": None if state is None else state.summary()}

    @app.get("/ready", summary="Model loaded and state warm")
    async def ready() -> JSONResponse:
        if holder["state"] is None:
            return JSONResponse({"ready": False, "reason": holder["error"] or "warming"}, status_code=503)
        return JSONResponse({"ready": True, "model_version": scorer.version})

    @app.get("/model", summary="The package's manifest, features, threshold and metrics")
    async def model() -> dict:
        return {"version": scorer.version, "manifest": scorer.manifest, "features": scorer.features,
                "threshold": scorer.threshold, "metrics": scorer.metrics,
                "rules": None if rules is None else rules.describe()}

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    endpoints = {route.path for route in app.routes}
    return Guard(app, api_key, max_body, metrics, endpoints)


def serve(package: str | os.PathLike, dataset: str | os.PathLike | None = None, warm_until: str | None = None,
          host: str = "127.0.0.1", port: int = 8000, threshold: float | None = None, rules: str | None = None) -> None:
    """Run the service with uvicorn (arguments checked by :func:`workbench.serve.checked`)."""
    options = checked(host, port, warm_until, threshold)
    rule_set = None
    if rules is not None:
        from workbench.rules import load_rules

        rule_set = load_rules(rules, ONLINE_FEATURES)
    app = create_app(package, dataset, options["warm_until"], options["api_key"], options["threshold"], rule_set)
    import uvicorn

    print(f"serving on http://{host}:{options['port']} (docs at /docs; GET /ready says when the state is warm)",
          flush=True)
    uvicorn.run(app, host=host, port=options["port"], log_level="warning", access_log=False)
