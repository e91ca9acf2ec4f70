"""The built book: strict build, table of contents, executed outputs, offline assets, size.

``make test`` builds the book strictly (``-W -n --keep-going``) before pytest runs;
if ``_build/html`` is missing or older than a chapter, the fixture builds it the same way.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from bookinfra import ROOT, chapters, ensure_book, source, stale_pages
from bs4 import BeautifulSoup

pytestmark = pytest.mark.book

MB = 2**20
PAGE_LIMIT_MB = 3.0
CDN = re.compile(r"^(https?:)?//", re.I)


@pytest.fixture(scope="module")
def html() -> Path:
    return ensure_book()


def pages(html: Path) -> list[Path]:
    return sorted(html.rglob("*.html"))


@functools.cache
def soup(path: Path) -> BeautifulSoup:
    """The parsed page, parsed once for all the tests (pages are megabytes of widget
    state): the tests only read it."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_strict_build_is_current(html):
    assert (html / "index.html").exists()
    assert stale_pages() == []


def test_every_toc_entry_exists_and_every_chapter_is_in_the_toc():
    listed = set(chapters())
    missing = [d for d in listed if not source(d).exists()]
    assert not missing, f"in _toc.yml but no file: {missing}"
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md")}
    assert not on_disk - listed, f"book/*.md not in _toc.yml: {sorted(on_disk - listed)}"


@pytest.mark.parametrize("doc", chapters())
def test_page_has_executed_outputs_and_no_errors(html, doc):
    page = soup(html / f"{doc}.html")
    if page.select(".tag_raises-exception"):
        page = copy.copy(page)  # the shared parse stays whole
        for demo in page.select(".tag_raises-exception"):
            demo.decompose()  # a cell that is meant to fail may show its traceback
    text = page.get_text(" ")
    assert "Executing notebook failed" not in text
    assert "Traceback" not in text, f"{doc}: a traceback in the page"
    assert not page.select(".output.traceback, .output.error"), f"{doc}: error output"
    nb = jupytext.read(source(doc))
    shown = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and c.source.strip()
        and not {"remove-cell", "remove-output"} & set(c.metadata.get("tags", []))
    ]
    if shown:
        assert page.select(".cell_output"), f"{doc}: code cells but no outputs in the page"


def test_no_cdn_script_or_stylesheet_in_any_page(html):
    bad = []
    for path in pages(html):
        page = soup(path)
        for tag, attr in [
            ("script", "src"),
            ("link", "href"),
            ("img", "src"),
            ("iframe", "src"),
            ("source", "src"),
            ("video", "src"),
        ]:
            for el in page.find_all(tag):
                url = el.get(attr) or ""
                if tag == "link" and not {"stylesheet", "preload", "icon", "modulepreload"} & set(
                    el.get("rel") or []
                ):
                    continue
                if CDN.match(url):
                    bad.append(f"{path.relative_to(html)}: <{tag} {attr}={url}>")
        for el in page.find_all("script", src=False):
            if el.get("type", "text/javascript") in ("text/javascript", "module", "") and re.search(
                r"https?://", el.get_text()
            ):
                bad.append(
                    f"{path.relative_to(html)}: inline script with a URL: {el.get_text()[:120]!r}"
                )
    assert not bad, "pages load from the network:\n" + "\n".join(bad)


def test_mathjax_is_served_from_the_build(html):
    assert (html / "mathjax" / "tex-chtml.js").is_file()
    assert (html / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert not list((html / "_static").rglob("tex-chtml.js")), "MathJax must not be in _static"
    pages_with_math = [p for p in pages(html) if soup(p).select(".math")]
    assert pages_with_math, "no page has math?"
    for p in pages_with_math:
        srcs = [s.get("src", "") for s in soup(p).find_all("script")]
        assert any("mathjax/tex-chtml.js" in s for s in srcs), f"{p.name}: no local MathJax"


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_SCRIPTS = ["widgets/require.js", "widgets/config.js", "widgets/embed-amd.js"]


def test_no_thebe(html):
    for path in pages(html):
        assert "THEBE_JS_URL" not in path.read_text(encoding="utf-8"), f"{path.name}: thebe"


def test_widget_renderer_is_local_and_only_where_widgets_are(html):
    """Pages with widget state load require.js, config.js and html-manager, in that order,
    from <html>/widgets by relative paths; other pages load none of them."""
    for name in ["require.js", "config.js", "embed-amd.js"]:
        assert (html / "widgets" / name).is_file(), f"widgets/{name} missing"
    assert list((html / "widgets").glob("*.woff2")), "html-manager's icon fonts missing"
    assert not list((html / "_static").rglob("embed-amd.js")), "must not be in _static"
    with_state = 0
    for path in pages(html):
        page = soup(path)
        srcs = [s.get("src", "") for s in page.find_all("script")]
        loaded = [w for src in srcs for w in WIDGET_SCRIPTS if w in src]
        cdn = [s.get("data-jupyter-widgets-cdn") for s in page.find_all("script")]
        assert not any(cdn), f"{path.name}: data-jupyter-widgets-cdn={cdn}"
        if page.find("script", type=WIDGET_STATE):
            with_state += 1
            assert loaded == WIDGET_SCRIPTS, f"{path.name}: widget scripts {loaded}"
            assert not any(CDN.match(s) for s in srcs if "widgets/" in s), path.name
        else:
            assert not loaded, f"{path.name} has no widgets but loads {loaded}"
    assert with_state, "no page embeds widget state: the explorers show no controls"


@pytest.mark.parametrize("doc", chapters())
def test_chapter_downloads_as_ipynb(html, doc):
    nb_path = html / "_sources" / f"{doc}.ipynb"
    assert nb_path.is_file(), f"{doc}: no .ipynb in the build"
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    links = [a.get("href", "") for a in soup(html / f"{doc}.html").find_all("a")]
    assert any(h.endswith(f"_sources/{doc}.ipynb") for h in links), f"{doc}: no download link"


def test_page_sizes(html, capsys):
    sizes = sorted(((p.stat().st_size, p) for p in pages(html)), reverse=True)
    total = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    big, biggest = sizes[0]
    with capsys.disabled():
        print(
            f"\n[book size] largest page: {biggest.relative_to(html)} {big / MB:.2f} MB; "
            f"_build/html total {total / MB:.1f} MB"
        )
    over = [f"{p.relative_to(html)} {s / MB:.2f} MB" for s, p in sizes if s > PAGE_LIMIT_MB * MB]
    assert not over, f"pages over {PAGE_LIMIT_MB} MB: {over}"
