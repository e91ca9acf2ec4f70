"""The built book in a real headless Chromium, served from 127.0.0.1 with the network cut off.

Every page: no JavaScript errors, no console errors, no failed loads, no request leaving
127.0.0.1 (each one is blocked and fails the test); math typeset by the local MathJax;
every embedded widget rendered by the local html-manager (also from file://); no serious
or critical accessibility violation found by axe-core except the theme's own, listed in
THEME_AXE. The search page finds a chapter, each chapter's next-link opens the next one
(so a reader clicking on reaches every chapter), and each chapter is screenshotted to
_build/screenshots/.

Needs Debian's Chromium (``apt-get install chromium``); skipped with that hint when it is
missing, except under ``CI=true``, where a missing browser fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bookinfra import (
    ROOT,
    WIDGET_ROOT,
    Watch,
    chapters,
    check_animations,
    chromium_browser,
    copy_if_missing,
    ensure_book,
    run_axe,
    save_screenshot,
    serious_violations,
    serve,
    typeset_math,
    wait_widgets,
)

pytestmark = pytest.mark.browser

README_SHOT = "05-vanishing-exploding"  # whose explorer screenshot goes into the README

# Serious axe-core violations in sphinx-book-theme / pydata-sphinx-theme markup, which the
# book does not write: (rule, CSS selector of the node) -> why it is accepted.
THEME_AXE = {
    (
        "label-content-name-mismatch",
        ".search-button__button",
    ): "pydata's search button is labelled 'Search' but also shows its Ctrl+K shortcut",
    (
        "label-content-name-mismatch",
        ".theme-switch-button",
    ): "pydata's colour-mode button is labelled 'Color mode' but shows the mode's name",
}


@pytest.fixture(scope="module")
def site():
    html = ensure_book()
    with serve(html) as url:
        yield html, url


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


def open_page(context, url):
    page = context.new_page()
    watch = Watch(page)
    page.goto(url, wait_until="load")
    return page, watch


def other_pages(html: Path) -> list[str]:
    return [p for p in ("search.html", "genindex.html", "py-modindex.html") if (html / p).exists()]


@pytest.mark.parametrize("doc", chapters())
def test_chapter_in_browser(site, context, doc):
    html, url = site
    page, watch = open_page(context, f"{url}/{doc}.html")
    try:
        math = typeset_math(page)
        assert math["rendered"] == math["math"], f"{doc}: MathJax rendered {math}"
        assert not math["raw"], f"{doc}: raw TeX left in the text: {math['raw']}"
        wait_widgets(page)
        save_screenshot(page, Path(doc).name)
        explorers = page.locator(f"{WIDGET_ROOT}, div.animation")
        if explorers.count():
            explorers.first.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            shot = save_screenshot(page, f"{Path(doc).name}-explorer")
            if Path(doc).name == README_SHOT:
                copy_if_missing(shot, ROOT / "docs" / "screenshot.png")
        failures = check_animations(page)
        assert not failures, f"{doc}: " + "; ".join(failures)
        bad = serious_violations(page, run_axe(page), THEME_AXE)
        assert not bad, f"{doc}: accessibility (axe-core):\n" + "\n".join(bad)
        page.wait_for_timeout(200)  # let late errors (fonts, timers) arrive
        assert not watch.problems(), f"{doc}: {watch.problems()}"
        follow_next_link(page, doc)
    finally:
        page.close()


def follow_next_link(page, doc: str) -> None:
    """A reader's click on the page's next-link opens the next chapter of the table of
    contents; the first chapter's sidebar links every other chapter. (Clicked once the
    page has settled: leaving a page while its math fonts still load cancels them.)"""
    order = chapters()
    if doc == order[0]:
        sidebar = page.eval_on_selector_all(
            "nav.bd-docs-nav a.reference.internal", "as => as.map(a => a.href)"
        )
        in_sidebar = {urlparse(h).path for h in sidebar}
        expected = {f"/{d}.html" for d in order[1:]}
        assert expected <= in_sidebar, f"sidebar lacks {expected - in_sidebar}"
    i = order.index(doc)
    if i + 1 == len(order):
        return  # the last chapter may link on to the index pages, or nowhere
    nxt = page.locator("a.right-next")
    assert nxt.count(), f"{doc}: no next-link"
    with page.expect_navigation(wait_until="commit"):
        nxt.first.click()
    assert urlparse(page.url).path == f"/{order[i + 1]}.html", f"{doc}: next-link to {page.url}"


def test_other_pages_in_browser(site, context):
    html, url = site
    page, watch = open_page(context, f"{url}/index.html")
    page.wait_for_url(f"**/{chapters()[0]}.html")  # the root redirects to the first page
    page.close()
    assert not watch.problems(), f"index.html: {watch.problems()}"
    for name in other_pages(html):
        page, watch = open_page(context, f"{url}/{name}")
        page.wait_for_timeout(300)
        bad = serious_violations(page, run_axe(page), THEME_AXE)
        problems = watch.problems()
        page.close()
        assert not problems, f"{name}: {problems}"
        assert not bad, f"{name}: accessibility (axe-core):\n" + "\n".join(bad)


def widget_pages(html: Path) -> list[str]:
    view = 'type="application/vnd.jupyter.widget-view+json"'
    return [d for d in chapters() if view in (html / f"{d}.html").read_text()]


def test_widgets_render_from_file(site, context):
    """Opened straight from disk, a page's widgets load require.js, html-manager and their
    fonts from <html>/widgets with relative paths: nothing fails, nothing goes online."""
    html, _ = site
    docs = widget_pages(html)
    if not docs:
        pytest.skip("no page has embedded widgets")
    page, watch = open_page(context, (html / f"{docs[0]}.html").as_uri())
    try:
        assert wait_widgets(page) > 0
        page.locator(WIDGET_ROOT).first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # icon fonts load when a glyph is shown
        assert not watch.problems(), f"{docs[0]} from file://: {watch.problems()}"
    finally:
        page.close()


def search_word(html: Path) -> tuple[str, str]:
    """A word from a chapter's title, and that chapter's docname."""
    doc = chapters()[2]
    title = re.search(r"<h1[^>]*>(.*?)</h1>", (html / f"{doc}.html").read_text(), re.S)
    words = re.findall(r"[A-Za-z]{5,}", re.sub(r"<[^>]+>", " ", title.group(1)))
    return max(words, key=len).lower(), doc


def test_search_finds_a_chapter(site, context):
    html, url = site
    word, doc = search_word(html)
    page, watch = open_page(context, f"{url}/search.html?q={word}")
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results li').length > 0", timeout=15000
        )
        hrefs = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
        assert any(f"{doc}.html" in h for h in hrefs), f"searching {word!r}: {hrefs}"
        assert not watch.problems(), watch.problems()
    finally:
        page.close()
