"""JupyterLab in a real browser (`make test-browser`): headless Chromium opens Lab from
`make lab`, opens notebook 01 from the file browser, runs all cells through the Run menu and
finds no error or warning output; a screenshot goes to reports/screenshots/.

The REST test (tests/test_lab.py) proves the server side; this one proves what a student
sees: Lab's own front end, its file browser, the menu and the rendered outputs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from workbench.browser import CHROMIUM, chromium, save_screenshot

if not CHROMIUM.exists():
    pytest.skip(
        "make test-browser runs the JupyterLab browser check; no Chromium here",
        allow_module_level=True,
    )

from playwright.sync_api import Page  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_generate.ipynb"
SCREENSHOT = ROOT / "reports" / "screenshots" / "lab-01_generate.png"
RUN_TIMEOUT_S = 300


def _prompts(page: Page) -> list[str]:
    """The execution prompts of the open notebook's code cells ("[3]:", "[*]:", "[ ]:")."""
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt",
        "nodes => nodes.map(n => n.textContent.trim())",
    )


def _kernel_idle(lab, path: str) -> bool:
    """Whether the server's session for ``path`` has a started, idle kernel."""
    status, sessions = lab.request("GET", "/api/sessions")
    return status == 200 and any(
        s["path"] == path and s["kernel"]["execution_state"] == "idle" for s in sessions
    )


def _wait_until_run(page: Page) -> list[str]:
    """Wait until Run All has finished: the kernel is idle and no cell is queued ("[*]"),
    either every cell ran or Lab stopped at an error. Chooses the notebook's kernel if Lab
    asks. Returns the prompts."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    prompts: list[str] = []
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count():
            dialog.locator(".jp-mod-accept").click()
        prompts = _prompts(page)
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
        if idle and prompts and prompts[0] != "[ ]:" and "[*]:" not in prompts:
            return prompts
        time.sleep(1)
    pytest.fail(f"Run All did not finish in {RUN_TIMEOUT_S} s; prompts: {prompts}")


def test_lab_runs_notebook_01_in_chromium(lab):
    committed = NOTEBOOK.read_bytes()
    cells = nbformat.reads(committed.decode(), as_version=4).cells
    n_code = sum(c.cell_type == "code" for c in cells)
    remote: list[str] = []
    with chromium(viewport={"width": 1400, "height": 950}) as browser:
        page = browser.new_page()
        local = (f"http://{lab.base}", f"ws://{lab.base}", "data:", "blob:")
        page.on("request", lambda r: None if r.url.startswith(local) else remote.append(r.url))
        page.goto(f"http://{lab.base}/lab?token={lab.token}")
        listing = page.locator(".jp-DirListing-content")
        listing.get_by_text("notebooks", exact=True).dblclick(timeout=60_000)
        listing.get_by_text(NOTEBOOK.name, exact=True).dblclick(timeout=30_000)
        page.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for(timeout=60_000)
        # Run All before the kernel is up can land on a kernel Lab then replaces
        deadline = time.monotonic() + 60
        while not _kernel_idle(lab, f"notebooks/{NOTEBOOK.name}") and time.monotonic() < deadline:
            time.sleep(0.5)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        prompts = _wait_until_run(page)
        stderr = page.eval_on_selector_all(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
            "nodes => nodes.map(n => n.textContent)",
        )
        images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")
        n_images = images.count()
        # the file browser's "modified" ages change every run; without them the screenshot is
        # the same from run to run (and git sees no change)
        page.keyboard.press("Control+b")
        if n_images:
            # the first figure's cell at the top of the view; cells off screen are laid out
            # lazily (content-visibility), so the position settles after a few scrolls
            for _ in range(4):
                images.first.evaluate(
                    "n => n.closest('.jp-Cell').scrollIntoView({block: 'start'})"
                )
                page.wait_for_timeout(500)
        save_screenshot(page, SCREENSHOT)
    # errors render as stderr outputs too; a warning box is a tutorial defect as well
    assert not [t for t in stderr if "Traceback" in t or "Error" in t], stderr
    assert not stderr, stderr
    assert len(prompts) == n_code and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), prompts
    assert n_images > 0, "notebook 01 shows no figure"
    assert not remote, f"Lab fetched from outside the server: {remote}"
    # Lab's autosave is off for the test server: Run All leaves the committed notebook as it was
    assert NOTEBOOK.read_bytes() == committed
