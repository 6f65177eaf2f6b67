"""Headless Chromium for the JupyterLab browser check and the book's screenshot.

The browser is Debian's ``chromium`` package (``make test-browser`` installs it when it is
missing); Playwright drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench._extras import require
from workbench.validation import InputError

CHROMIUM = Path("/usr/bin/chromium")
# nothing may reach the network: no QUIC, updates, sync or background fetches
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def chromium(**options: Any) -> Iterator[Any]:
    """A Playwright browser context on Debian's Chromium with a fresh profile directory
    (removed afterwards); ``options`` go to ``launch_persistent_context`` (e.g. ``viewport``)."""
    if not CHROMIUM.exists():
        raise InputError(
            "browser", str(CHROMIUM), "Debian's chromium package (apt-get install chromium)"
        )
    sync_playwright = require("playwright.sync_api", "the browser check").sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            **options,
        )
        try:
            yield context
        finally:
            context.close()


def save_screenshot(page: Any, out: str | os.PathLike) -> Path:
    """The visible part of a Playwright ``page`` as a PNG at ``out`` (written beside it and
    renamed into place)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix}")
    page.screenshot(path=str(tmp))
    tmp.replace(out)
    return out


def screenshot(
    url: str, out: str | os.PathLike, width: int = 1400, height: int = 950
) -> list[str]:
    """A screenshot of the page at ``url`` once it has loaded, written to ``out``; returns
    the URLs the page requested from anywhere else than ``url``'s origin (a static site
    that works offline requests none)."""
    origin = re.match(r"[a-z]+://[^/]*", url)
    local = (origin.group(0) if origin else url, "data:", "blob:")
    remote: list[str] = []
    with chromium(viewport={"width": width, "height": height}) as browser:
        page = browser.new_page()
        page.on("request", lambda r: None if r.url.startswith(local) else remote.append(r.url))
        page.goto(url, wait_until="networkidle")
        save_screenshot(page, out)
    return remote
