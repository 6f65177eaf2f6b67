"""Datasets on disk: schema, atomic writes, overwrite protection, card, DuckDB views."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from workbench.dataset import schema
from workbench.dataset.reader import open_dataset, summary
from workbench.simulate import SimulationConfig, generate
from workbench.validation import InputError

TINY = SimulationConfig(customers=40, days=5, shard_size=20)


def test_every_table_matches_the_schema(dataset):
    for table in schema.TABLES:
        frame = dataset.table(table)
        assert list(frame.columns) == [c for c, _, _ in schema.SCHEMA[table]], table


def test_conform_rejects_bad_tables():
    good = pa.table({c: pa.array([], t) for c, t, _ in schema.SCHEMA["devices"]})
    assert schema.conform("devices", good).num_rows == 0
    with pytest.raises(ValueError, match="missing"):
        schema.conform("devices", good.drop_columns(["os"]))
    with pytest.raises(ValueError, match="column os has type"):
        schema.conform("devices", good.set_column(3, "os", pa.array([], pa.int64())))
    nulls = pa.table({c: pa.array([None], t) for c, t, _ in schema.SCHEMA["devices"]})
    with pytest.raises(ValueError, match="nulls"):
        schema.conform("devices", nulls)


def test_schema_doc_is_current():
    doc = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
    assert doc.read_text() == schema.markdown() + "\n", (
        "regenerate: python -m workbench schema > docs/schema.md"
    )


def test_card_and_views(dataset, small_config):
    card = dataset.card
    assert (
        card["seed"] == small_config.seed and card["config"]["customers"] == small_config.customers
    )
    assert {"numpy", "pandas", "pyarrow", "duckdb", "python"} <= set(card["versions"])
    assert card["row_counts"]["customers"] == small_config.customers
    assert card["time_range"][0] >= small_config.start.isoformat()
    assert (dataset.path / "card.md").read_text().startswith("# Dataset card")
    with dataset.connect() as con:
        n = con.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
    assert n == card["row_counts"]["transactions"] == len(dataset.table("transactions"))
    stats = summary(dataset.path)
    assert stats["transactions"] == n and stats["fraud_rate"] == 0


def test_views_survive_moving_the_dataset(tmp_path):
    out = generate(TINY, tmp_path / "a", backend="serial")
    moved = Path(out).rename(tmp_path / "b")
    with open_dataset(moved).connect() as con:
        assert con.execute("SELECT count(*) FROM customers").fetchall()[0][0] == 40


def test_existing_dataset_needs_overwrite(tmp_path):
    out = generate(TINY, tmp_path / "ds", backend="serial")
    before = (Path(out) / "card.json").read_text()
    with pytest.raises(InputError, match="overwrite"):
        generate(TINY, out, backend="serial")
    assert (Path(out) / "card.json").read_text() == before
    generate(SimulationConfig(customers=30, days=5), out, backend="serial", overwrite=True)
    assert open_dataset(out).card["row_counts"]["customers"] == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_crash_leaves_nothing_behind(tmp_path):
    def boom(world):
        if world.shard == 1:
            raise RuntimeError("scenario crashed")

    with pytest.raises(RuntimeError, match="scenario crashed"):
        generate(TINY, tmp_path / "ds", backend="serial", hooks=[boom])
    assert list(tmp_path.iterdir()) == []


def test_open_dataset_rejects_non_datasets(tmp_path):
    with pytest.raises(InputError, match="path"):
        open_dataset(tmp_path)
    with pytest.raises(InputError, match="table"):
        open_dataset(generate(TINY, tmp_path / "x", backend="serial")).table("nope")
