"""The build tools: importable as a package, one reading of the table of contents, and
the private Sphinx and myst-nb attributes tools/sphinx_private.py relies on still there.
"""

from __future__ import annotations

import importlib
import inspect
from types import SimpleNamespace

import pytest

from tools import sphinx_private, toc


def test_tools_import_as_a_package_without_path_edits():
    for name in ("tools.offline_book", "tools.slides", "tools.toc", "tools.sphinx_private"):
        module = importlib.import_module(name)
        assert "sys.path.insert" not in inspect.getsource(module), name


def test_one_reading_of_the_table_of_contents():
    docs = toc.chapters()
    assert docs[0] == "book/index" and len(docs) == len(set(docs)) >= 10
    from bookinfra import chapters

    assert chapters() == docs
    from tools import slides

    assert slides.toc_chapters is toc.chapters


def test_sphinx_still_has_the_private_parts_we_use():
    # fails by name when a Sphinx upgrade moves what remove_extension edits
    from sphinx.events import EventListener, EventManager
    from sphinx.registry import SphinxComponentRegistry

    assert "listeners" in inspect.signature(EventManager.__init__).parameters or hasattr(
        EventManager(SimpleNamespace()), "listeners"
    )
    assert "handler" in EventListener._fields
    assert isinstance(SphinxComponentRegistry().css_files, list)


def test_remove_extension_unregisters_listeners_and_css():
    def mine(app):
        pass

    def theirs(app):
        pass

    theirs.__module__ = "sphinx_thebe.something"
    from sphinx.events import EventListener

    app = SimpleNamespace(
        events=SimpleNamespace(
            listeners={
                "builder-inited": [EventListener(1, mine, 500), EventListener(2, theirs, 500)]
            }
        ),
        registry=SimpleNamespace(css_files=[("a.css", {}), ("sphinx-thebe.css", {})]),
    )
    sphinx_private.remove_extension(
        app, "sphinx_thebe", ("builder-inited",), css_files=("sphinx-thebe.css",)
    )
    assert [lst.handler for lst in app.events.listeners["builder-inited"]] == [mine]
    assert app.registry.css_files == [("a.css", {})]


def test_mystnb_still_keeps_its_config_on_the_environment():
    # fails by name when myst-nb stops setting env.mystnb_config
    import myst_nb.sphinx_ext as ext

    assert "mystnb_config" in inspect.getsource(ext)
    assert sphinx_private.mystnb_config(SimpleNamespace(env=SimpleNamespace())) is None


@pytest.mark.parametrize("name", ["offline_book", "slides"])
def test_tools_docstrings_name_how_they_run(name):
    module = importlib.import_module(f"tools.{name}")
    assert module.__doc__


@pytest.mark.parametrize(
    "tags, in_deck",
    [
        ([], True),
        (["hide-input"], True),
        (["remove-cell"], False),
        (["hide-input", "book-only"], False),
        (["remove-cell", "slides-only"], True),
        (["slides-only"], True),
        (["book-only", "slides-only"], False),
    ],
)
def test_which_cells_go_into_a_deck(tags, in_deck):
    import nbformat

    from tools.slides import on_slides

    cell = nbformat.v4.new_code_cell("plt.show()", metadata={"tags": tags})
    assert on_slides(cell) is in_deck


def test_chapter_figures_drawn_for_the_deck_are_left_out_of_the_book():
    """A cell tagged slides-only must also be tagged remove-cell, or the book shows it twice."""
    import jupytext

    for doc in toc.chapters():
        for cell in jupytext.read(toc.ROOT / f"{doc}.md").cells:
            tags = cell.metadata.get("tags", [])
            if "slides-only" in tags:
                assert "remove-cell" in tags, f"{doc}: a slides-only cell the book would show"


def test_code_on_a_slide_leaves_out_hidden_glue_statements():
    from tools.slides import without_glue

    src = (
        "x = 2\n"
        'glue("ch1-x", x, display=False)\n'
        'glue("ch1-y",\n     float(x) ** 2,\n     display=False)\n'
        'glue("ch1-shown", x)\n'  # a glue that displays its value stays
        "for k in range(2):\n"
        '    glue(f"ch1-{k}", k, display=False)\n'  # nested: removing it would empty the loop
        'print(f"{x}")'
    )
    out = without_glue(src)
    assert out.splitlines() == [
        "x = 2",
        'glue("ch1-shown", x)',
        "for k in range(2):",
        '    glue(f"ch1-{k}", k, display=False)',
        'print(f"{x}")',
    ]
    assert without_glue("def f(:\n") == "def f(:\n"  # not Python: unchanged


def test_a_table_a_cell_prints_weighs_by_its_rows():
    """A Markdown table output (a cell's ``Markdown(...)``) fills the slide row by row; its
    text/plain is one line, which once let a 12-row table join a full code slide."""
    import nbformat

    from tools.slides import weight_outputs

    table = "| a | b |\n|---|---|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(11))
    out = nbformat.v4.new_output(
        "execute_result",
        data={"text/markdown": table, "text/plain": "<IPython.core.display.Markdown object>"},
    )
    cell = nbformat.v4.new_code_cell("Markdown(t)", outputs=[out])
    assert weight_outputs(cell) >= 12 * 1.3  # header + 11 rows; the rule is not a row
