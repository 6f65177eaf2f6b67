"""The HTML exporter of every report: nbconvert's JupyterLab template without the scripts
it fetches from a CDN (require.js, MathJax, Mermaid: reports are read offline and use
none of them), titled by the notebook's ``metadata.title``.

Ploomber uses it by import path (``nbconvert_exporter_name:
workbench.report_html.ReportExporter`` in ``pipeline.yaml``), so it works wherever the
package is installed, whatever the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert import HTMLExporter

TEMPLATES = Path(__file__).resolve().parent / "data" / "nbconvert"


class ReportExporter(HTMLExporter):
    """HTMLExporter with the workbench template (``workbench/data/nbconvert/workbench``)."""

    export_from_notebook = "workbench report"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("template_name", "workbench")
        kwargs.setdefault("extra_template_basedirs", [str(TEMPLATES)])
        super().__init__(**kwargs)
