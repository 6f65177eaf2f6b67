"""Shared fixtures: small generated datasets reused by the read-only tests, and a running
`make lab` for the JupyterLab tests (REST and browser)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")

from workbench import SimulationConfig, generate  # noqa: E402
from workbench.dataset.reader import open_dataset  # noqa: E402
from workbench.dataset.schema import TABLES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# a legitimate-only world for the behaviour tests
SMALL = dict(
    customers=1500, days=75, seed=11, shard_size=500, start="2025-01-01", scenarios="none"
)
# many victims so every scenario has episodes to test; rings span the three shards
FRAUD = dict(customers=2400, days=90, seed=21, shard_size=800, start="2025-01-01", fraud_rate=0.25)


def _suite(params: dict):
    """Session fixtures for one dataset: its config, the dataset, and all its tables."""
    config = SimulationConfig(**params)

    @pytest.fixture(scope="session")
    def config_fixture():
        return config

    @pytest.fixture(scope="session")
    def dataset_fixture(tmp_path_factory):
        out = tmp_path_factory.mktemp("ds") / "ds"
        generate(config, out, backend="serial")
        return open_dataset(out)

    return config_fixture, dataset_fixture


def _tables(ds):
    return {name: ds.table(name) for name in TABLES}


small_config, dataset = _suite(SMALL)
fraud_config, fraud_dataset = _suite(FRAUD)


@pytest.fixture(scope="session")
def tables(dataset):
    return _tables(dataset)


@pytest.fixture(scope="session")
def fraud_tables(fraud_dataset):
    return _tables(fraud_dataset)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running `make lab` on a free loopback port with a known token."""

    def __init__(self, port: int, token: str, proc: subprocess.Popen):
        self.base, self.token, self.proc = f"127.0.0.1:{port}", token, proc

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, {"body": e.read().decode(errors="replace")}


# A test server's own Lab settings: no autosave (a notebook run in the browser would be saved
# with its outputs into notebooks/) and no news or update checks (they fetch from outside).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _lab_settings(directory: Path) -> Path:
    for plugin, values in LAB_SETTINGS.items():
        path = directory / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return directory


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` in its own process group, with hand-run notebooks writing to a temporary
    scratch directory; stopped (the whole group) after the module's tests."""
    port, token = _free_port(), uuid.uuid4().hex
    log = tmp_path_factory.mktemp("lab") / "lab.log"
    env = {
        **os.environ,
        "WORKBENCH_SCRATCH": str(tmp_path_factory.mktemp("scratch")),
        "JUPYTERLAB_SETTINGS_DIR": str(_lab_settings(tmp_path_factory.mktemp("settings"))),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("workspaces")),
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_TOKEN={token}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = Lab(port, token, proc)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"make lab exited: {log.read_text()[-3000:]}"
            try:
                if server.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not answer in 90 s: {log.read_text()[-3000:]}")
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
