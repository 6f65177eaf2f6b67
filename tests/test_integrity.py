"""Nothing lost, nothing silently wrong: overwrite only our own products, one writer at a
time, datasets verified on open and by hash, crash leftovers cleaned by reruns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.dataset.reader import open_dataset, summary, verify
from workbench.io import write_json
from workbench.products import MARKER, scratch_dir, target_lock, writing
from workbench.simulate import SimulationConfig, generate
from workbench.validation import InputError

TINY = SimulationConfig(customers=40, days=4, seed=3, shard_size=20)
ROOT = Path(__file__).resolve().parents[1]


ENV = {**os.environ, "PLOOMBER_STATS_ENABLED": "false", "PYTHONPATH": str(ROOT)}


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=300,
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return generate(TINY, tmp_path_factory.mktemp("tiny") / "ds", backend="serial")


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_overwrite_replaces_only_our_own_directories(tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="not written by the workbench"):
        generate(TINY, foreign, backend="serial", overwrite=True)
    from workbench.models.package import save_package
    from workbench.report_builds import build_report

    with pytest.raises(InputError, match="not written by the workbench"):
        build_report(foreign, overwrite=True, customers=100, days=20)
    with pytest.raises(InputError, match="not written by the workbench"):
        save_package(_fitted(), foreign, overwrite=True)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
    ds = generate(TINY, tmp_path / "ds", backend="serial")
    (ds / "notes.txt").write_text("mine")  # a file we did not write inside our dataset
    with pytest.raises(InputError, match="notes.txt"):
        generate(TINY, ds, backend="serial", overwrite=True)
    assert (ds / "notes.txt").read_text() == "mine"
    (ds / "notes.txt").unlink()
    generate(TINY, ds, backend="serial", overwrite=True)
    assert json.loads((ds / MARKER).read_text())["kind"] == "dataset"


def _fitted():
    import numpy as np
    import pandas as pd

    from workbench.models.isolation_forest import IsolationForestDetector

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=["a", "b", "c"])
    return IsolationForestDetector(n_estimators=10).fit(X)


def test_empty_out_and_special_paths_are_refused(tmp_path):
    for out in ("", "/proc/x/ds"):
        r = cli("generate", "--customers", "20", "--days", "3", "--out", out, cwd=tmp_path)
        assert r.returncode == 2 and "invalid out=" in r.stderr and "Traceback" not in r.stderr, (
            r.stderr
        )
    assert list(tmp_path.iterdir()) == []
    r = cli("generate", "--customers", "20", "--days", "3", "--out", str(tmp_path), "--overwrite")
    assert r.returncode == 2 and "not written by the workbench" in r.stderr


def test_second_writer_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "ds"
    with target_lock(out):
        with pytest.raises(InputError, match=f"pid {os.getpid()}"):
            generate(TINY, out, backend="serial")
        with pytest.raises(InputError, match="is writing it"):
            write_json(out, {})
    assert not out.exists()
    # a real second process writing a bigger dataset slowly (one shard sleeps)
    slow = (
        "import sys, time; from workbench.simulate import SimulationConfig, generate; "
        "generate(SimulationConfig(customers=600, days=10, shard_size=200), sys.argv[1], "
        "backend='serial', "
        "hooks=[lambda world: time.sleep(1.5) if world.shard == 0 else None])"
    )
    first = subprocess.Popen(
        [sys.executable, "-c", slow, str(out)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / ".ds.lock"
    deadline = time.time() + 60
    while not lock.exists() and time.time() < deadline:
        time.sleep(0.05)
    second = cli(
        "generate", "--customers", "50", "--days", "5", "--backend", "serial", "--out", str(out)
    )
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr, second.stderr
    card = open_dataset(out).card
    assert card["row_counts"]["customers"] == 600 == len(open_dataset(out).table("customers"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_missing_extra_and_truncated_parts_are_errors_naming_the_part(tiny, tmp_path):
    ds = _copy(tiny, tmp_path / "a")
    part = sorted((ds / "transactions").glob("*.parquet"))[0]
    part.unlink()
    with pytest.raises(InputError, match=f"part transactions/{part.name}.*missing"):
        open_dataset(ds)
    r = cli("features", "--dataset", str(ds), "--out", str(tmp_path / "f.parquet"))
    assert r.returncode == 2 and f"transactions/{part.name}" in r.stderr
    ds = _copy(tiny, tmp_path / "b")
    (ds / "transactions" / "part-99999.parquet").write_bytes(
        (tiny / "transactions" / part.name).read_bytes()
    )
    with pytest.raises(InputError, match="extra"):
        open_dataset(ds)
    ds = _copy(tiny, tmp_path / "c")
    data = (ds / "transactions" / part.name).read_bytes()
    (ds / "transactions" / part.name).write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="readable Parquet part"):
        open_dataset(ds)


def test_changed_bytes_are_found_by_verify(tiny, tmp_path):
    ds = _copy(tiny, tmp_path / "d")
    ok = cli("verify", str(ds))
    assert ok.returncode == 0 and "match the card" in ok.stdout, ok.stderr
    part = sorted((ds / "customers").glob("*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[64:78] = b"\xff" * 14  # inside the first column chunk, far from the footer
    part.write_bytes(bytes(data))
    bad = cli("verify", str(ds))
    assert (
        bad.returncode == 2
        and f"part customers/{part.name}" in bad.stderr
        and "SHA-256" in bad.stderr
    )
    with pytest.raises(InputError, match="SHA-256"):
        verify(ds)


def test_stats_counts_what_is_on_disk(tiny, tmp_path):
    ds = _copy(tiny, tmp_path / "e")
    card = json.loads((ds / "card.json").read_text())
    card["row_counts"]["customers"] = 123_456  # a card claiming more than the parts hold
    (ds / "card.json").write_text(json.dumps(card))
    assert summary(ds)["row_counts"]["customers"] == TINY.customers


def test_reruns_clean_what_a_crash_left(tmp_path):
    out = tmp_path / "f.json"
    stale = [
        tmp_path / ".f.json.wb-tmp-999999-dead",
        tmp_path / ".f.json.wb-old-dead",
        tmp_path / ".f.json.tmp-4242",
    ]
    for p in stale:
        p.write_text("half")
    write_json(out, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    with pytest.raises(RuntimeError):
        with writing(tmp_path / "g", kind="dataset"):
            raise RuntimeError("crash")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    with scratch_dir("probe", base=tmp_path / "scratch") as s:
        (s / "x").write_text("x")
    assert list((tmp_path / "scratch").iterdir()) == []


def _external():
    import pandas as pd

    from workbench.features.external import EXAMPLE_MAPPING, EXAMPLE_TABLE, load_mapping

    return pd.read_csv(EXAMPLE_TABLE).head(300), load_mapping(EXAMPLE_MAPPING)


def _bad(frame, column, rows, value):
    frame = frame.copy()
    if isinstance(value, str) or value is None:
        frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value
    return frame


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("TX_ID", 10**9, "unique transaction ids"),
        ("CUSTOMER_ID", None, "a value in every row"),
        ("TX_DATETIME", None, "a value in every row"),
        ("TX_DATETIME", "2025-02-30 10:00:00", "a timestamp"),
        ("TX_AMOUNT", float("inf"), "finite number >= 0"),
        ("TX_AMOUNT", -5.0, "finite number >= 0"),
        ("TX_AMOUNT", float("nan"), "amount"),
        ("TX_AMOUNT", "twelve", "finite number >= 0"),
        ("TX_FRAUD", "maybe", "boolean"),
    ],
)
@pytest.mark.parametrize("as_csv", [False, True])
def test_bad_values_in_external_tables_name_column_and_rows(
    tmp_path, column, value, words, as_csv
):
    from workbench.features.store import table_source

    frame, mapping = _external()
    bad = _bad(frame, column, [4, 9], value)
    table = bad
    if as_csv:
        table = tmp_path / "t.csv"
        bad.to_csv(table, index=False)
    with pytest.raises(InputError, match=words) as err:
        table_source(table, mapping)
    assert err.value.param == f"table.{column}" and "first at rows 5, 10" in str(err.value)
    if as_csv and value == "twelve":  # the command line says the same and exits 2
        r = cli(
            "features",
            "--table",
            str(table),
            "--mapping",
            str(_mapping_file(tmp_path, mapping)),
            "--out",
            str(tmp_path / "f.parquet"),
        )
        assert r.returncode == 2 and "table.TX_AMOUNT" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "f.parquet").exists()


def _mapping_file(tmp_path, mapping):
    import yaml

    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def test_times_with_offsets_are_converted_to_utc(tmp_path):
    from workbench.features.store import compute_features, table_source

    frame, mapping = _external()
    plain = frame.assign(TX_DATETIME=frame["TX_DATETIME"] + "+00:00")
    shifted = pd_shift(frame)
    a = compute_features(table_source(plain, mapping))
    b = compute_features(table_source(shifted, mapping))
    assert a["ts"].equals(b["ts"]) and a.drop(columns="ts").equals(b.drop(columns="ts"))


def pd_shift(frame):
    """The same moments written in +05:30 local time."""
    import pandas as pd

    local = pd.to_datetime(frame["TX_DATETIME"]).dt.tz_localize("UTC").dt.tz_convert("+05:30")
    return frame.assign(TX_DATETIME=local.dt.strftime("%Y-%m-%d %H:%M:%S%z"))


def _market_file(tmp_path, change):
    import yaml

    from workbench.simulate.profiles import MARKETS_DIR

    doc = yaml.safe_load((MARKETS_DIR / "india.yaml").read_text())
    change(doc)
    path = tmp_path / "market.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _set(*keys_value):
    *keys, value = keys_value

    def change(doc):
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    "change, param",
    [
        (_set("cities", "Mumbai"), "cities"),
        (_set("festivals", 0, "dates", 1, "2025-02-30"), "festivals.Diwali.dates"),
        (_set("festivals", 4, "month_day", "02-30"), "month_day"),
        (_set("faker_locale", "xx_YY"), "faker_locale"),
        (_set("categories", {}), "categories"),
        (_set("phone", "digits", "ten"), "phone.digits"),
        (_set("colour", "blue"), "colour"),  # an unknown key would be ignored
    ],
)
def test_bad_market_files_name_the_field(tmp_path, change, param):
    with pytest.raises(InputError) as err:
        SimulationConfig(customers=50, days=5, market=_market_file(tmp_path, change))
    assert err.value.param.startswith("market[market.yaml].") and err.value.param.endswith(param)


@pytest.mark.parametrize(
    "kw, param",
    [
        (dict(start="9999-12-20", days=30), "start"),
        (dict(start="0001-01-01"), "start"),
        (dict(start="2031-03-01"), "start"),  # festivals would silently not happen
        (dict(scenarios="none", fraud_rate=0.1), "fraud_rate"),
    ],
)
def test_out_of_range_and_contradicting_configs_are_refused(kw, param):
    with pytest.raises(InputError) as err:
        SimulationConfig(customers=50, days=kw.pop("days", 5), **kw)
    assert err.value.param == param


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "scenarios: {}\nrings: {}\n",
        "scenarios: {card_testing: {prevalence: 0}}\n",
    ],
)
def test_a_mix_without_fraud_is_refused(tmp_path, text):
    mix = tmp_path / "mix.yaml"
    mix.write_text(text)
    with pytest.raises(InputError, match="makes no fraud") as err:
        SimulationConfig(customers=50, days=5, scenarios=str(mix))
    assert err.value.param == "scenarios"


def test_numpy_numbers_are_numbers():
    import numpy as np

    config = SimulationConfig(
        customers=np.int64(60), days=np.int32(5), seed=np.uint32(4), fraud_rate=np.float64(0.1)
    )
    assert (config.customers, config.days, config.seed) == (60, 5, 4) and type(
        config.customers
    ) is int


def test_tracebacks_become_messages(tmp_path, tiny):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    from workbench.features.store import dataset_source, write_features
    from workbench.report_builds import build_report

    for out in (tmp_path / "dir", "/proc/x/f.parquet"):  # refused before computing anything
        with pytest.raises(InputError, match="out"):
            write_features(dataset_source(tiny), out, overwrite=True)
    with pytest.raises(InputError, match="a file is in the way"):  # before the whole run
        build_report(tmp_path / "file", overwrite=True)
    r = cli(
        "generate",
        "--customers",
        "50",
        "--days",
        "30",
        "--start",
        "9999-12-20",
        "--out",
        str(tmp_path / "a"),
    )
    assert (
        r.returncode == 2
        and r.stderr.startswith("error: invalid start=")
        and "Traceback" not in r.stderr
    ), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]


def test_pool_workers_exit_when_generate_is_killed(tmp_path):
    import psutil

    out = tmp_path / "ds"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench",
            "generate",
            "--customers",
            "4000",
            "--days",
            "30",
            "--shard-size",
            "200",
            "--workers",
            "2",
            "--no-progress",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proc = psutil.Process(parent.pid)
    deadline = time.time() + 60
    while len(proc.children()) < 2 and time.time() < deadline:
        time.sleep(0.05)
    workers = proc.children(recursive=True)
    assert len(workers) >= 2
    parent.kill()
    parent.wait()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, alive
    # the rerun takes over: the crash's temporary is removed, the dataset complete
    generate(SimulationConfig(customers=100, days=5), out, backend="serial")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_hand_run_notebooks_reuse_one_scratch_study_and_leave_no_temporary(tmp_path):
    code = (
        "from workbench.notebook import product_path, scratch_study; "
        "p = product_path(None, 'data', scratch_study(50, 5, 1, 0.1), 'generate'); "
        "p.parent.joinpath('x').write_text('x'); print(p)"
    )
    env = {**ENV, "WORKBENCH_SCRATCH": str(tmp_path / "scratch")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    first, second = (Path(r.stdout.strip()) for r in runs)
    assert first == second and first.parent.joinpath("x").is_file()
    assert len(list((tmp_path / "scratch").iterdir())) == 1


def test_fraud_rate_zero_means_no_fraud_and_rings_scale_with_the_population(tmp_path):
    from workbench.fraud.rings import ring_count

    none = open_dataset(
        generate(
            SimulationConfig(customers=200, days=10, fraud_rate=0),
            tmp_path / "a",
            backend="serial",
        )
    )
    assert (
        not none.table("transactions", ["is_fraud"])["is_fraud"].any()
        and len(none.table("rings")) == 0
    )
    for customers in (50, 200):
        ds = open_dataset(
            generate(
                SimulationConfig(customers=customers, days=10, fraud_rate=0.05),
                tmp_path / f"s{customers}",
                backend="serial",
            )
        )
        members = sum(len(m.split(",")) for m in ds.table("rings")["members"])
        assert members <= 0.2 * customers, (customers, members)
    assert (
        ring_count(2, (6, 10), 5000) == 1 == ring_count(1, (5, 8), 5000)
    )  # default size: one ring per shape
    assert (
        ring_count(2, (6, 10), 100) == 0
        and ring_count(2, (6, 10), 160) == 1
        and ring_count(2, (6, 10), 50_000) == 10
    )


def _make_dataset(product, seed):
    generate(
        SimulationConfig(customers=40, days=4, seed=seed),
        str(product),
        backend="serial",
        overwrite=True,
    )


def _count(upstream, product):
    Path(str(product)).write_text(str(len(open_dataset(str(upstream["make"])).table("customers"))))


def test_pipeline_fails_when_a_skipped_task_was_built_from_other_data(tmp_path):
    from ploomber import DAG
    from ploomber.exceptions import DAGBuildError, DAGRenderError
    from ploomber.products import File
    from ploomber.tasks import PythonCallable

    from workbench.provenance import check_build, check_render, ledger_path

    def dag():
        d = DAG(executor="serial")
        make = PythonCallable(
            _make_dataset, File(tmp_path / "raw"), d, name="make", params={"seed": 43}
        )
        PythonCallable(_count, File(tmp_path / "n.txt"), d, name="count").set_upstream(make)
        d.on_render, d.on_finish = check_render, check_build
        return d

    dag().build(show_progress=False)
    assert (
        json.loads(ledger_path(tmp_path / "raw").read_text())["count"]
        == open_dataset(tmp_path / "raw").card["content_hash"]
    )
    dag().build(show_progress=False)  # nothing changed: up to date, no error
    _make_dataset(tmp_path / "raw", 44)  # replaced outside the pipeline
    with pytest.raises(DAGRenderError, match="count"):  # `ploomber status` says so too
        dag().render(show_progress=False)
    stale = dag()
    stale.on_render = None  # the check after the build catches it as well
    with pytest.raises(DAGBuildError, match="count"):
        stale.build(show_progress=False)
    dag().build(force=True, show_progress=False)
    dag().build(show_progress=False)
