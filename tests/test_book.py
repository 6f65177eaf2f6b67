"""The tutorial book (`make book`), built small: a two-task pipeline of tiny notebooks, one
left executed by "the pipeline" (an .ipynb product), one with an HTML product that the
builder executes on its defaults; the site has an index, a page per notebook with its
figure, and loads nothing from the internet."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.book import ROOT, build_book, chapters, collect, remote_references
from workbench.validation import InputError

PIPELINE = """
tasks:
  - source: nb/first.ipynb
    name: first
    product:
      nb: out/first.html
  - source: nb/second.ipynb
    name: second
    product:
      nb: out/second.ipynb
    nbconvert_export_kwargs:
      exclude_input: true
"""


def _notebook(title: str) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell(f"# {title}\n\nA fee of $250 per alert and $300 per case."),
            new_code_cell("n = 3", metadata={"tags": ["parameters"]}),
            new_code_cell(
                "import matplotlib.pyplot as plt\n\nfig, ax = plt.subplots(figsize=(3, 2))\n"
                "ax.plot(range(n))\nplt.show()"
            ),
            new_code_cell("print(f'rows {n}')"),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    (root / "nb").mkdir()
    (root / "out").mkdir()
    for name, title in [("first", "First steps"), ("second", "Second steps")]:
        nbformat.write(_notebook(title), str(root / "nb" / f"{name}.ipynb"))
    (root / "pipeline.yaml").write_text(PIPELINE)
    # what a pipeline build leaves for a task whose product is a notebook (parameters injected)
    papermill.execute_notebook(
        str(root / "nb" / "second.ipynb"),
        str(root / "out" / "second.ipynb"),
        parameters={"n": 5},
        progress_bar=False,
        kernel_name="python3",
    )
    # as in a fresh `python -m workbench book`: tempfile has not looked up its directory yet
    saved, tempfile.tempdir = tempfile.tempdir, None
    try:
        index = build_book(root / "pipeline.yaml", root / "book")
        tempdir_after = tempfile.gettempdir()
    finally:
        tempfile.tempdir = saved
    return root, index, tempdir_after


def _page(index: Path, name: str) -> str:
    return (index.parent / f"{name}.html").read_text()


def test_the_book_has_an_index_and_a_page_per_notebook(book):
    root, index, _ = book
    assert index == root / "book" / "_build" / "html" / "index.html"
    html = index.read_text()
    assert "fraud-workbench tutorials" in html
    assert 'href="first.html"' in html and 'href="second.html"' in html
    for name, title in [("first", "First steps"), ("second", "Second steps")]:
        page = _page(index, name)
        assert title in page
        images = re.findall(r'<img [^>]*src="(_images/[^"]+\.png)"', page)
        assert images, name
        assert all((index.parent / src).stat().st_size > 1000 for src in images)


def test_executed_notebooks_come_from_the_pipeline_or_their_defaults(book):
    _, index, _ = book
    # the pipeline's executed notebook (n=5) is used as it is; the other ran on its default n=3
    assert "rows 5" in _page(index, "second") and "rows 3" not in _page(index, "second")
    assert "rows 3" in _page(index, "first")
    # the report hides code for the second task: the book folds it; injected parameters folded
    second = _page(index, "second")
    assert "tag_hide-input" in second and "tag_injected-parameters tag_hide-cell" in second
    assert "tag_hide-input" not in _page(index, "first")


def test_the_book_loads_nothing_from_the_internet(book):
    _, index, _ = book
    assert remote_references(index.parent) == []
    for page in index.parent.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"""\bsrc=["']https?:""", text), page.name
        # dollar amounts stay text: no math renderer (MathJax would come from a CDN)
        assert "mathjax" not in text.lower(), page.name
    assert not (index.parents[2] / "_scratch").exists()


def test_the_build_leaves_the_temporary_directory_as_it_was(book):
    # notebooks ran with their scratch as TMPDIR; the process (a screenshot next) must not
    # go on with that removed directory
    root, _, tempdir_after = book
    assert not Path(tempdir_after).is_relative_to(root)


def test_an_executed_notebook_is_reused_while_newer_than_its_source(book, capsys):
    root, _, _ = book
    collect(root / "pipeline.yaml", root / "book")
    assert "executing" not in capsys.readouterr().out


def test_remote_references_are_found(tmp_path):
    (tmp_path / "page.html").write_text(
        '<script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/f.css">'
        '<script src="_static/local.js"></script>'
    )
    found = remote_references(tmp_path)
    assert len(found) == 2 and all(f.startswith("page.html: ") for f in found)


def test_the_project_pipeline_gives_the_chapters_in_task_order():
    found = chapters(ROOT / "pipeline.yaml")
    assert [c.source.name for c in found][:3] == [
        "01_generate.ipynb",
        "01b_fraud_scenarios.ipynb",
        "02_features.ipynb",
    ]
    assert found[-1].source.name == "07_evaluation.ipynb" and found[-1].hide_input
    assert all(c.source.is_file() for c in found)


def test_a_bad_pipeline_names_the_parameter(tmp_path):
    with pytest.raises(InputError, match="pipeline"):
        chapters(tmp_path / "missing.yaml")
    (tmp_path / "p.yaml").write_text("tasks:\n  - source: a.ipynb\n    product: {data: x}\n")
    with pytest.raises(InputError, match="nb"):
        chapters(tmp_path / "p.yaml")


def test_a_task_keeping_its_notebook_in_several_formats_gives_the_ipynb(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text(
        "tasks:\n  - source: nb/a.ipynb\n    name: a\n    nb_product_key: [nb, nb_ipynb]\n"
        "    product: {nb: out/a.html, nb_ipynb: out/a.ipynb}\n"
        "  - source: tasks/clean.py\n    name: clean\n    product: out/clean.parquet\n"
    )
    (chapter,) = chapters(tmp_path / "p.yaml")
    assert chapter.executed == tmp_path / "out" / "a.ipynb" and not chapter.hide_input
    # a task that is not a notebook is left out with a note
    out = capsys.readouterr().out
    assert "not in the book" in out and "clean" in out


def test_the_command_line_names_a_bad_pipeline(tmp_path, capsys):
    from workbench.cli import main

    missing = str(tmp_path / "missing.yaml")
    assert main(["book", "--pipeline", missing, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "invalid pipeline=" in err and "allowed is" in err
