"""JupyterLab as a researcher starts it (`make lab`): the file browser lists the notebooks,
each one opens through the contents API, and a kernel runs a notebook's first cells.

nbval executes notebooks without a server, so only this test goes through the Jupyter
server's contents manager (which a server extension can replace and break).
"""

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

import nbformat
import pytest
import websocket

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


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
        req = urllib.request.Request(f"http://{self.base}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, {"body": e.read().decode(errors="replace")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = _free_port(), uuid.uuid4().hex
    log = tmp_path_factory.mktemp("lab") / "lab.log"
    env = {**os.environ, "WORKBENCH_SCRATCH": str(tmp_path_factory.mktemp("scratch"))}
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_TOKEN={token}"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
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


def test_lab_lists_the_notebooks(lab):
    status, listing = lab.request("GET", "/api/contents/notebooks")
    assert status == 200, listing
    names = {item["name"] for item in listing["content"]}
    assert set(NOTEBOOKS) <= names, names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lab_opens_every_notebook(lab, name):
    status, model = lab.request("GET", f"/api/contents/notebooks/{name}?content=1")
    assert status == 200, model
    nb = nbformat.from_dict(model["content"])
    nbformat.validate(nb)
    # what the user sees is the committed notebook, with nothing injected by a server extension
    on_disk = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in on_disk.cells]


def _execute(ws: websocket.WebSocket, session: str, code: str) -> list[dict]:
    """Run ``code`` on the kernel behind ``ws``; the iopub messages it caused."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                                   "username": "test", "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False}}))
    replies = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id or msg["channel"] != "iopub":
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return replies
        replies.append(msg)


def test_a_kernel_runs_the_first_cells_of_a_notebook(lab):
    status, session = lab.request("POST", "/api/sessions", {
        "path": "notebooks/01_generate.ipynb", "type": "notebook", "name": "01_generate.ipynb",
        "kernel": {"name": "python3"}})
    assert status == 201, session
    kernel = session["kernel"]["id"]
    ws = websocket.create_connection(f"ws://{lab.base}/api/kernels/{kernel}/channels?token={lab.token}",
                                     timeout=300)
    try:
        cells = nbformat.read(ROOT / "notebooks" / "01_generate.ipynb", as_version=4).cells
        code = [c.source for c in cells if c.cell_type == "code"][:3]
        outputs = []
        for source in code:
            outputs += _execute(ws, session["id"], source)
    finally:
        ws.close()
        lab.request("DELETE", f"/api/sessions/{session['id']}")
    errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
    assert not errors, errors
    stderr = "".join(m["content"]["text"] for m in outputs
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert "Warning" not in stderr, stderr
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert "transactions" in printed, printed
