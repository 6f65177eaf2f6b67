"""JupyterLab as a researcher starts it (`make lab`): the file browser lists the notebooks,
each one opens through the contents API, and a kernel runs a notebook's first cells.

nbval executes notebooks without a server, so only this test goes through the Jupyter
server's contents manager (which a server extension can replace and break).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat
import pytest
import websocket

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


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
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "session": session,
                    "username": "test",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                },
            }
        )
    )
    replies = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id or msg["channel"] != "iopub":
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return replies
        replies.append(msg)


def test_a_kernel_runs_the_first_cells_of_a_notebook(lab):
    status, session = lab.request(
        "POST",
        "/api/sessions",
        {
            "path": "notebooks/01_generate.ipynb",
            "type": "notebook",
            "name": "01_generate.ipynb",
            "kernel": {"name": "python3"},
        },
    )
    assert status == 201, session
    kernel = session["kernel"]["id"]
    ws = websocket.create_connection(
        f"ws://{lab.base}/api/kernels/{kernel}/channels?token={lab.token}", timeout=300
    )
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
    stderr = "".join(
        m["content"]["text"]
        for m in outputs
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )
    assert "Warning" not in stderr, stderr
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert "transactions" in printed, printed
