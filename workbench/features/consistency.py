"""The feature registry's consistency check: the four places a catalogue feature lives (its
registry entry, the DuckDB stages generated from it, the online name list and the online
kernel's output slots) agree, by structure and by value.

:func:`check_registry` returns the problems it finds (an empty list when all agree):

- structure: names unique; the online name list is the registry's online features in order;
  ``Slot`` numbers them 0..n-1 in that order; the kernel's source writes every slot exactly
  once (``o[Slot.NAME]``, or a window feature's slot through the generated ``aggs`` table)
  and no numbered slot (``o[15]``);
- stages: the generated DuckDB query returns exactly the keys and the registry's features
  in order;
- values: both engines compute every online feature of a small fixture (:func:`fixture`,
  every input, rows exactly one window length apart, delayed frauds and their
  confirmations) and agree (counts exactly, floats within 1e-9).

Each argument replaces one place (the tests edit one at a time and expect a problem).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import pandas as pd

from workbench.features import catalogue, online, online_state
from workbench.features.catalogue import Feature

FIXTURE_PARAMS = {
    "threshold": 1000.0,
    "salary_day": 25,
    "festivals": [],
    "label_delay_days": 2.0,
    "night_end_hour": 5,
}


def fixture(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A small transaction table with every canonical input: a few busy merchants, devices
    and IPs shared by customers, frauds confirmed at various delays (some never), and rows
    placed exactly 1 hour, 1, 2, 3, 7, 9 and 30 days after an earlier one, where the window
    boundaries fall."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2025-01-01")
    base = rng.uniform(0, 45 * 86400, rows).round()
    # some rows repeat an earlier row's time plus exactly a window length (or the delay)
    steps = np.array([3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400, 9 * 86400, 30 * 86400])
    copy = rng.random(rows) < 0.3
    base[copy] = base[rng.integers(0, rows, copy.sum())] + rng.choice(steps, copy.sum())
    base[rng.random(rows) < 0.05] = base[0]  # a few rows at one instant
    ts = t0 + pd.to_timedelta(base, unit="s")
    fraud = rng.random(rows) < 0.2
    delay = rng.choice([0.5, 1.0, 2.0, 3.0, np.nan], rows) * 86400
    confirmed = ts + pd.to_timedelta(np.where(fraud, delay, np.nan), unit="s")
    customers = rng.integers(0, 25, rows)
    return pd.DataFrame(
        {
            "txn_id": np.arange(1, rows + 1),
            "ts": ts,
            "customer_id": customers,
            "card_id": customers * 10 + rng.integers(0, 2, rows),
            "merchant_id": np.where(rng.random(rows) < 0.05, -1, rng.integers(0, 6, rows)),
            "amount": rng.choice([5.0, 20.0, 100.0, 300.0, 900.0], rows)
            + rng.integers(0, 3, rows),
            "is_fraud": fraud,
            "confirmed_at": confirmed,
            "lat": 12 + rng.random(rows),
            "lon": 77 + rng.random(rows),
            "device_id": np.where(rng.random(rows) < 0.2, -1, rng.integers(0, 8, rows)),
            "ip_id": np.where(rng.random(rows) < 0.2, -1, rng.integers(0, 5, rows)),
            "home_lat": 12.5 + customers / 100,
            "home_lon": 77.5 + customers / 100,
            "balance_before": rng.uniform(0, 5000, rows).round(2),
            "city": rng.choice(["a", "b", "c"], rows),
            "channel": rng.choice(["pos", "web"], rows),
            "txn_type": rng.choice(["purchase", "purchase", "refund", "chargeback"], rows),
        }
    ).replace({"merchant_id": {-1: None}, "device_id": {-1: None}, "ip_id": {-1: None}})


def fixture_source(frame: pd.DataFrame | None = None, params: dict | None = None):
    """The fixture (or ``frame``, with the fixture's columns) as a table source mapping
    every input."""
    from workbench.features.store import INPUTS, table_source

    frame = fixture() if frame is None else frame
    return table_source(frame, {k: k for k in INPUTS}, params or FIXTURE_PARAMS)


def kernel_problems(features: Sequence[Feature], source: str) -> list[str]:
    """Problems of the kernel's output slots in its ``source`` against the registry."""
    online_names = [f.name for f in features if f.online]
    by_table = {f.name for f in features if f.online and f.aggregate is not None}
    written = re.findall(r"\bo\[Slot\.([A-Z0-9_]+)(?:\s*\+\s*f)?\]\s*(?==|,)", source)
    problems = [f"numbered kernel slot o[{n}]" for n in re.findall(r"\bo\[(\d+)\]", source)]
    counts = pd.Series(written, dtype=object).value_counts()
    # the first-use flags are written as o[Slot.IS_NEW_MERCHANT + f], f = 0..4
    loop = re.search(r"o\[Slot\.IS_NEW_MERCHANT \+ f\]", source) is not None
    expected = set(online_names) - by_table
    if loop:
        flags = ["is_new_merchant", "is_new_device", "is_new_ip", "is_new_city", "is_new_channel"]
        expected -= set(flags[1:])
        at = [online_names.index(n) if n in online_names else -1 for n in flags]
        if at != list(range(at[0], at[0] + 5)):
            problems.append("the first-use flags are not consecutive online features")
    for name in sorted(expected):
        n = int(counts.get(name.upper(), 0))
        if n == 0:
            problems.append(f"the kernel never writes slot {name}")
    for name, n in counts.items():
        if name.lower() not in online_names:
            problems.append(f"the kernel writes slot {name}, which is no online feature")
        elif name.lower() in by_table:
            problems.append(f"the kernel writes window feature {name} besides its aggs table")
    return problems


def check_registry(
    features: Sequence[Feature] | None = None,
    online_names: Sequence[str] | None = None,
    kernel: ModuleType | None = None,
    query: Callable | None = None,
    values: bool = True,
) -> list[str]:
    """The problems between the registry (``features``), the online name list
    (``online_names``), the kernel (a module like ``online_state``: its ``advance`` and its
    source, from the file or a ``SOURCE`` attribute) and the DuckDB query builder
    (``query(source, features) -> sql``); each defaults to the package's own. ``values`` also
    compares both engines on the fixture."""
    from workbench.features import store

    features = list(catalogue.CATALOGUE if features is None else features)
    online_names = list(online.ONLINE_FEATURES if online_names is None else online_names)
    kernel = online_state if kernel is None else kernel
    query = store._sql if query is None else query
    problems = []
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        problems.append("feature names repeat")
    registry_online = [f.name for f in features if f.online]
    if online_names != registry_online:
        problems.append("the online name list is not the registry's online features in order")
    slots = {m.name.lower(): int(m) for m in catalogue.Slot}
    if [n for n, _ in sorted(slots.items(), key=lambda x: x[1])] != registry_online:
        problems.append("the kernel's Slot numbers are not the registry's online order")
    text = getattr(kernel, "SOURCE", None) or inspect.getsource(kernel)
    problems += kernel_problems(features, text)
    source = fixture_source()
    keep = [f for f in features if not (f.requires - source.available - set(source.params))]
    source.con.execute(store.HAVERSINE)
    source.con.execute("CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM base_all")
    if "festivals" in source.params:
        source.con.execute(
            "CREATE OR REPLACE TEMP TABLE festival_days AS "
            "SELECT CAST(NULL AS DATE) AS d WHERE FALSE"
        )
    batch = source.con.execute(query(source, keep)).df()
    if list(batch.columns) != [*store.KEYS, *(f.name for f in keep)]:
        problems.append("the DuckDB stages do not return the registry's features in order")
    if values and not problems:
        problems += _value_problems(source, batch, kernel, keep, online_names)
    return problems


def _value_problems(
    source, batch: pd.DataFrame, kernel: ModuleType, keep: list[Feature], online_names: list[str]
) -> list[str]:
    """Features on which the two engines differ on the fixture."""
    stream = online.source_stream(source)
    state = online.OnlineState(online.stream_inputs(stream))
    x = state.inputs
    i = 0
    while i < len(stream):
        i = kernel.advance(
            x.ts,
            x.ids,
            x.vals,
            x.calendar,
            x.first_day,
            x.threshold,
            x.night_end,
            x.labels,
            x.events,
            state.last,
            state.prev,
            state.following,
            state.seen,
            state.share,
            state.pair_count,
            state.confirmed,
            state.edges,
            state.wins,
            state.aggs,
            state.edge_state,
            state.totals,
            state.win_base,
            state.account,
            state.links,
            state.hist,
            state.hist_kind,
            state.hist_n,
            state.cursor,
            state.features,
            0,
            i,
            1_000_000,
            catalogue.LAYOUT,
        )
        if i < 0:
            return ["the kernel was compiled for another registry layout"]
    got = pd.DataFrame(state.features, columns=online_names[: state.features.shape[1]])
    got.insert(0, "txn_id", stream.rows["txn_id"])
    both = batch.merge(got, on="txn_id", suffixes=("", "_online"))
    problems = []
    for f in keep:
        if not f.online or f.name not in got:
            continue
        a = both[f.name].astype(float).to_numpy()
        b = both[f"{f.name}_online"].to_numpy()
        same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-9, atol=1e-9)
        if not same.all():
            problems.append(f"{f.name}: the engines differ on {int((~same).sum())} rows")
    return problems
