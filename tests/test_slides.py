"""The reveal.js decks (``make slides``) in headless Chromium, offline.

Every deck opens with no errors and no request leaving 127.0.0.1, its math is typeset
by the local MathJax, the right arrow key advances the slides, and every animation in it
steps and plays. The fixture builds the decks if they are missing or older than a chapter,
reusing the notebooks tests/test_notebooks.py executed when they are there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bookinfra import (
    Watch,
    chapters,
    check_animations,
    chromium_browser,
    ensure_slides,
    save_screenshot,
    serve,
    typeset_math,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def decks():
    out = ensure_slides()
    with serve(out) as url:
        yield out, url


@pytest.fixture(scope="module")
def context():
    with chromium_browser() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(15000)
        yield ctx
        ctx.close()


def test_index_lists_every_deck(decks):
    out, _ = decks
    index = (out / "index.html").read_text()
    for d in chapters():
        assert f"{Path(d).name}.slides.html" in index


@pytest.mark.parametrize("doc", chapters())
def test_deck(decks, context, doc):
    out, url = decks
    name = Path(doc).name
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{url}/{name}.slides.html", wait_until="load")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        total = page.evaluate("() => Reveal.getTotalSlides()")
        assert total >= 2, f"{name}: only {total} slide(s)"
        math = typeset_math(page)
        assert math["rendered"] == math["math"], f"{name}: MathJax rendered {math}"
        assert not math["raw"], f"{name}: raw TeX left in the text: {math['raw']}"
        before = page.evaluate("() => Reveal.getIndices().h")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => Reveal.getIndices().h > {before}", timeout=5000)
        anims = page.locator("div.animation")
        if anims.count():  # show the first animation's slide in the screenshot
            h = anims.first.evaluate("a => Reveal.getIndices(a.closest('section')).h")
            page.evaluate(f"() => Reveal.slide({h})")
            page.wait_for_timeout(300)
        save_screenshot(page, f"slides-{name}")
        failures = check_animations(page)
        assert not failures, f"{name}: " + "; ".join(failures)
        page.wait_for_timeout(200)
        assert not watch.problems(), f"{name}: {watch.problems()}"
    finally:
        page.close()
