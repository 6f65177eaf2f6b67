"""The HTML exporter of every report: nbconvert's JupyterLab template without the scripts
it fetches from a CDN (require.js, MathJax, Mermaid: reports are read offline and use
none of them), titled by the notebook's ``metadata.title``, and without the absolute
product paths Ploomber injects (the parameter values stay).

Ploomber uses it by import path (``nbconvert_exporter_name:
workbench.report_html.ReportExporter`` in ``pipeline.yaml``), so it works wherever the
package is installed, whatever the working directory.
"""

from __future__ import annotations

import re
from typing import Any

from workbench._extras import require
from workbench._resources import resource

_nbconvert = require("nbconvert.preprocessors", "HTML reports")
HTMLExporter, Preprocessor = require("nbconvert").HTMLExporter, _nbconvert.Preprocessor

TEMPLATES = resource("data", "nbconvert")
_PATHS = re.compile(r"^(upstream|product) = .*$", re.M)


class HidePaths(Preprocessor):
    """In Ploomber's injected-parameters cell, replace the ``upstream``/``product`` lines
    (absolute paths of this machine) by a note; the parameter values are kept."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = _PATHS.sub(r"# \1: the pipeline's paths (pipeline.yaml)", cell.source)
        return cell, resources


class ReportExporter(HTMLExporter):
    """HTMLExporter with the workbench template (``workbench/data/nbconvert/workbench``)."""

    export_from_notebook = "workbench report"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("template_name", "workbench")
        kwargs.setdefault("extra_template_basedirs", [str(TEMPLATES)])
        super().__init__(**kwargs)
        self.register_preprocessor(HidePaths, enabled=True)
