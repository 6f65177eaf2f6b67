"""The tutorial book: the pipeline's notebooks, executed, as one static HTML site.

``build_book`` reads the notebook tasks of ``pipeline.yaml`` in order and takes each one's
executed notebook: Ploomber's own when the task's ``nb`` product is an ``.ipynb`` that a
build left, else the notebook is executed with papermill on its small hand-run defaults
(``upstream=None``, ``product=None``, scratch data under the book directory), as a student
running it in JupyterLab would. Executed notebooks are reused while they are newer than
their source. Jupyter Book (1.x, Sphinx) then renders them without executing anything
into ``<out>/_build/html``: a landing page and a page per notebook, with figures, and no
script, style or font loaded from the internet (the site works offline).
``python -m workbench book`` is its command line (``make book``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from workbench._extras import require
from workbench.products import Kind, register_kind, write_file, writing
from workbench.validation import InputError

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipeline.yaml"
OUT = ROOT / "build" / "book"
TITLE = "fraud-workbench tutorials"
# the built site (out/_build/html): a directory product the book replaces as a whole
SITE = register_kind(
    Kind("book-site", "index.html", lambda root: {p.name for p in root.iterdir()})
)
# Jupyter Book's Sphinx extensions without those that load from the internet (thebe's live
# kernels from a CDN, intersphinx inventories); comment widgets stay off but configured
EXTENSIONS = (
    "sphinx_togglebutton",
    "sphinx_copybutton",
    "myst_nb",
    "jupyter_book",
    "sphinx_comments",
    "sphinx_external_toc",
    "sphinx_design",
    "sphinx_book_theme",
)
# a tag that makes the browser fetch from another host
REMOTE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I
)


@dataclass(frozen=True)
class Chapter:
    """One notebook task of the pipeline, in the pipeline's order."""

    name: str
    source: Path
    executed: Path | None  # the executed notebook the task's ``nb`` product keeps, if any
    hide_input: bool  # the task's report hides code cells (nbconvert ``exclude_input``)


def chapters(pipeline: str | os.PathLike) -> list[Chapter]:
    """The notebook tasks of a Ploomber ``pipeline`` file, in order (paths resolved from the
    file's directory)."""
    pipeline = Path(pipeline)
    if not pipeline.is_file():
        raise InputError("pipeline", str(pipeline), "an existing Ploomber pipeline YAML file")
    tasks = (yaml.safe_load(pipeline.read_text()) or {}).get("tasks")
    if not isinstance(tasks, list):
        raise InputError("pipeline", str(pipeline), "a pipeline file with a list of tasks")
    found, left_out = [], []
    for task in tasks:
        source = Path(str(task.get("source", "")))
        if source.suffix != ".ipynb":
            left_out.append(str(task.get("name", source)))
            continue
        name = str(task.get("name", source.stem))
        # Ploomber's notebook product key; a list keeps the executed notebook in several formats
        keys = task.get("nb_product_key", "nb")
        keys = [keys] if isinstance(keys, str) else list(keys)
        product = task.get("product")
        notebooks = [product.get(k) for k in keys] if isinstance(product, dict) else [product]
        notebooks = [nb for nb in notebooks if isinstance(nb, str)]
        if not notebooks:
            raise InputError(f"tasks.{name}.product", product, f"a notebook product under {keys}")
        ipynb = [nb for nb in notebooks if nb.endswith(".ipynb")]
        executed = pipeline.parent / ipynb[0] if ipynb else None
        hide = bool((task.get("nbconvert_export_kwargs") or {}).get("exclude_input", False))
        found.append(Chapter(name, pipeline.parent / source, executed, hide))
    if not found:
        raise InputError("pipeline", str(pipeline), "a pipeline with at least one notebook task")
    if left_out:
        print(f"not in the book (their source is not an .ipynb notebook): {', '.join(left_out)}")
    return found


@contextlib.contextmanager
def _scratch_env(scratch: Path) -> Iterator[None]:
    """Hand-run notebooks (and their kernels) write their scratch data under ``scratch``."""
    names = ("TMPDIR", "WORKBENCH_SCRATCH")
    saved = {name: os.environ.get(name) for name in names}
    saved_tempdir = tempfile.tempdir
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ.update({name: str(scratch) for name in names})
    try:
        yield
    finally:
        # tempfile caches the directory it first found; it must not stay on the removed scratch
        tempfile.tempdir = saved_tempdir
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(source: Path, out: Path) -> None:
    """Run ``source`` with papermill on its own defaults into ``out`` (written atomically)."""
    papermill = require("papermill", "the tutorial book")
    write_file(
        out,
        lambda tmp: papermill.execute_notebook(
            str(source),
            str(tmp),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(source.parent),
        ),
    )


def _prepare(chapter: Chapter, out: Path) -> Path:
    """The chapter's executed notebook in the book directory, tagged for the book's layout:
    code hidden behind a toggle where the pipeline's report hides it, and the parameters
    Ploomber injected folded away."""
    nbformat = require("nbformat", "the tutorial book")
    nb = nbformat.read(str(out), as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
        elif chapter.hide_input and cell.cell_type == "code" and "hide-input" not in tags:
            tags.append("hide-input")
    nbformat.write(nb, str(out))
    return out


def _newer(path: Path, than: Path) -> bool:
    return path.is_file() and path.stat().st_mtime >= than.stat().st_mtime


def collect(
    pipeline: str | os.PathLike, out: str | os.PathLike, rerun: bool = False
) -> list[Path]:
    """Executed notebooks of the ``pipeline``'s notebook tasks, in order, copied into the
    book directory ``out`` (see the module docstring); returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / "_scratch"
    paths = []
    try:
        for chapter in chapters(pipeline):
            target = out / f"{chapter.source.stem}.ipynb"
            if chapter.executed is not None and chapter.executed.is_file():
                shutil.copy2(chapter.executed, target)
            elif rerun or not _newer(target, chapter.source):
                print(f"executing {chapter.source.name} on its defaults", flush=True)
                with _scratch_env(scratch):
                    _execute(chapter.source, target)
            paths.append(_prepare(chapter, target))
    finally:
        # the figures are in the executed notebooks; their scratch data is not kept
        shutil.rmtree(scratch, ignore_errors=True)
    return paths


def write_config(out: str | os.PathLike, notebooks: list[Path], title: str = TITLE) -> None:
    """The book's ``_config.yml``, ``_toc.yml`` and landing page ``index.md`` in ``out``."""
    out = Path(out)
    config = {
        "title": title,
        "author": "fraud-workbench",
        "copyright": "",
        "logo": "",
        "only_build_toc_files": True,
        "exclude_patterns": ["_scratch", "_build", ".*"],
        "execute": {"execute_notebooks": "off"},
        # "$" is text (amounts), not math: MathJax would come from a CDN
        "parse": {"myst_enable_extensions": ["colon_fence", "linkify"]},
        "html": {
            "use_repository_button": False,
            "use_edit_page_button": False,
            "use_download_button": False,
            "home_page_in_navbar": True,
        },
        "launch_buttons": {
            "notebook_interface": "classic",
            "binderhub_url": "",
            "jupyterhub_url": "",
            "thebe": False,
            "colab_url": "",
        },
        "sphinx": {
            "config": {
                "extensions": list(EXTENSIONS),
                "html_show_copyright": False,
                "html_show_sphinx": False,
                "nb_output_stderr": "show",
                "html_theme_options": {"show_navbar_depth": 1},
            }
        },
    }
    toc = {
        "format": "jb-book",
        "root": "index",
        "chapters": [{"file": nb.stem} for nb in notebooks],
    }
    for name, doc in (("_config.yml", config), ("_toc.yml", toc)):
        text = yaml.safe_dump(doc, sort_keys=False)
        write_file(out / name, lambda tmp, text=text: tmp.write_text(text))
    write_file(
        out / "index.md",
        lambda tmp: tmp.write_text(
            f"# {title}\n\n"
            "The workbench's notebooks in the order the pipeline runs them, executed, with their\n"
            "outputs and figures. Each one runs on its own in JupyterLab (`make lab`); "
            "this book is\n"
            "built by `make book` and reads without a server or a network connection.\n\n"
            "```{tableofcontents}\n```\n"
        ),
    )


def remote_references(html: Path) -> list[str]:
    """Tags of the built site under ``html`` that load a script, style, font or image from
    the internet (the book must work offline)."""
    found = []
    for page in sorted(Path(html).rglob("*.html")):
        text = page.read_text(errors="replace")
        found += [f"{page.relative_to(html)}: {m.group(0)}" for m in REMOTE.finditer(text)]
    return found


def build_book(
    pipeline: str | os.PathLike = PIPELINE,
    out: str | os.PathLike = OUT,
    rerun: bool = False,
    title: str = TITLE,
) -> Path:
    """Build the tutorial book of ``pipeline`` into ``out/_build/html`` (replaced only when
    the build succeeded) and return its ``index.html``."""
    out = Path(out)
    notebooks = collect(pipeline, out, rerun=rerun)
    write_config(out, notebooks, title)
    final = out / "_build" / "html"
    with writing(final, overwrite=True, kind=SITE.name) as site:
        # built inside the site's own temporary (same file system), then moved up into it
        build = site / ".jupyter-book"
        command = [
            sys.executable,
            "-c",
            "from jupyter_book.cli.main import main; main()",
            "build",
            "--quiet",
            "--path-output",
            str(build),
            str(out),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"jupyter-book build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        # Sphinx's warnings (a missing image, a broken cross-reference) are shown, not dropped
        warnings = [ln for ln in done.stderr.splitlines() if "WARNING" in ln]
        if warnings:
            print(f"{len(warnings)} Sphinx warnings:", *warnings[:20], sep="\n", file=sys.stderr)
        html = build / "_build" / "html"
        remote = remote_references(html)
        if remote:
            raise RuntimeError("the book loads from the internet:\n" + "\n".join(remote[:20]))
        for entry in html.iterdir():
            entry.rename(site / entry.name)
        shutil.rmtree(build)
    return final / "index.html"
