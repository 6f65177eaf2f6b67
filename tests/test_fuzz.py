"""Property-based tests (hypothesis): configs, mix files, market files and external tables
of any shape either work or fail with the project's own error naming a parameter; never an
unnamed exception, never a partial product or a temporary left behind.

``WORKBENCH_FUZZ_EXAMPLES`` sets the examples per entry point (default 25, which keeps the
file at about half a minute; ``WORKBENCH_FUZZ_EXAMPLES=2000`` is a long run for use outside
``make test``). The number of inputs tried is written to ``.fuzz-figures.json`` in pytest's
cache directory.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.dataset.reader import verify
from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping
from workbench.features.store import table_source, write_features
from workbench.simulate import SimulationConfig, generate
from workbench.simulate.profiles import MARKETS_DIR, load_market
from workbench.validation import InputError

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
TRIED: dict[str, int] = {}

# values of every type and the edges of every range
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "1e400", "nan", "-0", "2025-02-30", "１２", "é", "0x10", "none"]),
    st.lists(st.integers(-5, 50), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _named(err: InputError) -> None:
    assert (
        isinstance(err.param, str) and err.param and str(err).startswith(f"invalid {err.param}=")
    )


def _count(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def figures(request):
    yield
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        (Path(str(cache.mkdir("fuzz"))) / ".fuzz-figures.json").write_text(
            json.dumps({**TRIED, "total": sum(TRIED.values())})
        )


CONFIG_FIELDS = {
    "customers": st.one_of(st.integers(-5, 80), ODD),
    "days": st.one_of(st.integers(-2, 8), ODD),
    "start": st.one_of(st.dates().map(str), ODD),
    "seed": st.one_of(st.integers(-1, 2**33), ODD),
    "shard_size": st.one_of(st.integers(0, 60), ODD),
    "fraud_rate": st.one_of(st.floats(-0.5, 1.5), ODD),
    "scenarios": st.sampled_from(["default", "none", "nope.yaml", ""]),
    "market": st.sampled_from(["india", "us", "mars", ""]),
    "p2p_rate": ODD,
    "churn_rate": ODD,
    "event_rates": ODD,
    "segment_shares": ODD,
}


@FUZZ
@given(st.fixed_dictionaries({}, optional=CONFIG_FIELDS))
def test_configs_and_generation(kwargs):
    _count("configs")
    try:
        config = SimulationConfig(**kwargs)
    except InputError as err:
        _named(err)
        return
    if config.customers > 80 or config.days > 8:
        return  # valid but too big to generate here
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        try:
            generate(config, out, backend="serial")
        except InputError as err:
            _named(err)
            assert list(Path(tmp).iterdir()) == []
            return
        assert verify(out)["parts"] > 0 and [p.name for p in Path(tmp).iterdir()] == ["ds"]


MIX = st.recursive(
    ODD,
    lambda inner: st.dictionaries(
        st.sampled_from(
            [
                "scenarios",
                "rings",
                "label_delay",
                "merchants",
                "card_testing",
                "kiting",
                "prevalence",
                "per_10k",
                "size",
                "params",
                "mean_days",
                "colluding",
                "compromise_days",
                "zzz",
            ]
        ),
        inner,
        max_size=4,
    ),
    max_leaves=12,
)


@FUZZ
@given(MIX, st.sampled_from([None, 0.0, 0.05, 2.0]))
def test_mix_files(raw, rate):
    _count("mix files")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.yaml"
        path.write_text(yaml.safe_dump(raw))
        try:
            SimulationConfig(customers=50, days=5, scenarios=str(path), fraud_rate=rate)
        except InputError as err:
            _named(err)


INDIA = yaml.safe_load((MARKETS_DIR / "india.yaml").read_text())


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(INDIA) if p]


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(PATHS), st.one_of(ODD, st.just("<delete>"))),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_market_files(changes, unknown_key):
    _count("market files")
    doc = json.loads(json.dumps(INDIA, default=str))
    for path, value in changes:
        node = doc
        try:
            for k in path[:-1]:
                node = node[k]
            if value == "<delete>":
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    if unknown_key:
        doc["colour"] = "blue"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "market.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        try:
            market = load_market.__wrapped__(str(path))
            SimulationConfig(customers=50, days=5, market=str(path))
        except InputError as err:
            _named(err)
            return
        assert not unknown_key and market.cities.shape[0] >= 2


BASE, MAPPING = pd.read_csv(EXAMPLE_TABLE).head(120), load_mapping(EXAMPLE_MAPPING)
COLUMNS = ["TX_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"]
CELL = st.one_of(
    ODD,
    st.sampled_from(
        [
            "2025-01-03 10:00:00+05:30",
            "2025-01-03T10:00:00Z",
            "2025-13-01 00:00:00",
            "-1.5",
            "inf",
            "NaN",
            "1,5",
            "true",
            "maybe",
        ]
    ),
)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.sampled_from(COLUMNS), CELL), max_size=4),
    st.sampled_from(["frame", "csv", "parquet"]),
    st.sampled_from(["utf-8", "latin-1", "utf-16"]),
)
def test_external_tables(edits, form, encoding):
    _count("external tables")
    frame = BASE.copy()
    for row, col, value in edits:
        value = str(value) if isinstance(value, (list, dict)) else value  # a cell holds one value
        frame[col] = frame[col].astype(object)
        frame.loc[row, col] = value
    with tempfile.TemporaryDirectory() as tmp:
        table = frame
        if form == "csv":
            table = Path(tmp) / "t.csv"
            try:
                frame.to_csv(table, index=False, encoding=encoding)
            except UnicodeEncodeError:
                return
        elif form == "parquet":
            table = Path(tmp) / "t.parquet"
            try:
                frame.astype(
                    {c: str for c in frame.columns if frame[c].dtype == object}
                ).to_parquet(table, index=False)
            except Exception:  # noqa: BLE001 -- pyarrow cannot store this frame: nothing to test
                return
        out = Path(tmp) / "out" / "f.parquet"
        try:
            result = write_features(table_source(table, MAPPING), out)
        except InputError as err:
            _named(err)
            assert not out.parent.exists() or list(out.parent.iterdir()) == []
            return
        assert result["rows"] == len(frame) and [p.name for p in out.parent.iterdir()] == [
            "f.parquet"
        ]
        written = pd.read_parquet(out, columns=["txn_id", "ts"])
        assert written["txn_id"].is_unique and not written["ts"].isna().any()
        assert not any(isinstance(v, float) and math.isnan(v) for v in written["txn_id"])


def test_ids_equal_as_numbers_are_duplicates():
    """Found by the fuzzer: `1.0` and `1` are one id once typed."""
    frame = BASE.copy().astype({"TX_ID": object})
    frame.loc[0, "TX_ID"] = "1.0"
    with pytest.raises(InputError, match="unique transaction ids") as err:
        table_source(frame, MAPPING)
    assert err.value.param == "table.TX_ID" and "rows 1, 2" in str(err.value)
