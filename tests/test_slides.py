"""The reveal.js decks (``make slides``) in headless Chromium, offline.

Every deck opens with no errors and no request leaving 127.0.0.1, its math is typeset
by the local MathJax, its embedded widgets are rendered by the local html-manager, the
right arrow key advances the slides (but moves a focused slider, not the deck), and axe-core
finds no serious or critical accessibility violation except reveal.js's own (REVEAL_AXE).
The fixture builds the book and then the decks if they are missing or older than a
chapter, reusing the notebooks the book build executed (widget state included).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bookinfra import (
    WIDGET_ROOT,
    Watch,
    chapters,
    check_animations,
    chromium_browser,
    ensure_slides,
    run_axe,
    save_screenshot,
    serious_violations,
    serve,
    typeset_math,
    wait_widgets,
)

pytestmark = pytest.mark.browser

# Serious axe-core violations in reveal.js's own markup: (rule, CSS selector of the node)
# -> why it is accepted. None with reveal.js 5.2.1 and the white theme.
REVEAL_AXE: dict[tuple[str, str], str] = {}
CDN = re.compile(r"jsdelivr|unpkg|cdnjs|googleapis|https?://[^\s\"')]*\.js\b")


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


def test_decks_load_nothing_from_a_cdn(decks):
    out, _ = decks
    for d in chapters():
        text = (out / f"{Path(d).name}.slides.html").read_text(encoding="utf-8")
        assert not CDN.findall(text), f"{d}: {sorted(set(CDN.findall(text)))}"
        if "application/vnd.jupyter.widget-state+json" in text:
            for asset in ("widgets/require.js", "widgets/config.js", "widgets/embed-amd.js"):
                assert asset in text and (out / asset).is_file(), f"{d}: no local {asset}"


def on_slide(page, element) -> None:
    """Show the slide that holds ``element`` (a locator)."""
    h = element.evaluate("e => Reveal.getIndices(e.closest('section')).h")
    page.evaluate(f"() => Reveal.slide({h})")
    page.wait_for_timeout(300)


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
        wait_widgets(page)
        before = page.evaluate("() => Reveal.getIndices().h")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => Reveal.getIndices().h > {before}", timeout=5000)
        explorers = page.locator(f"{WIDGET_ROOT}, div.animation")
        if explorers.count():  # show the first explorer's slide in the screenshot
            on_slide(page, explorers.first)
        save_screenshot(page, f"slides-{name}")
        failures = check_animations(page)
        assert not failures, f"{name}: " + "; ".join(failures)
        page.wait_for_timeout(200)
        assert not watch.problems(), f"{name}: {watch.problems()}"
    finally:
        page.close()


@pytest.mark.parametrize("doc", chapters())
def test_deck_accessibility(decks, context, doc):
    """axe-core over every slide at once: reveal.js's scroll view shows them all."""
    out, url = decks
    name = Path(doc).name
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{url}/{name}.slides.html?view=scroll", wait_until="load")
        page.wait_for_function("() => window.Reveal && Reveal.isReady() && Reveal.isScrollView()")
        wait_widgets(page)
        bad = serious_violations(page, run_axe(page), REVEAL_AXE)
        assert not bad, f"{name}: accessibility (axe-core):\n" + "\n".join(bad)
        assert not watch.problems(), f"{name}: {watch.problems()}"
    finally:
        page.close()


def test_arrow_keys_on_a_widget_move_the_widget(decks, context):
    """A focused slider handle takes the arrow keys; reveal.js does not change slides."""
    out, url = decks
    decks_with_sliders = [
        p
        for p in (out / f"{Path(d).name}.slides.html" for d in chapters())
        if "SliderModel" in p.read_text(encoding="utf-8")
    ]
    if not decks_with_sliders:
        pytest.skip("no deck has a slider widget")
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{url}/{decks_with_sliders[0].name}", wait_until="load")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        wait_widgets(page)
        handle = page.locator(f"{WIDGET_ROOT} .noUi-handle").first
        on_slide(page, handle)
        h = page.evaluate("() => Reveal.getIndices().h")
        value = handle.get_attribute("aria-valuenow")
        at_max = float(value) >= float(handle.get_attribute("aria-valuemax"))
        handle.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        page.wait_for_timeout(300)
        assert page.evaluate("() => Reveal.getIndices().h") == h, "the arrow key changed slides"
        assert handle.get_attribute("aria-valuenow") != value, f"the slider stayed at {value}"
        page.mouse.click(5, 400)  # off the widget, arrow keys move the deck again
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"() => Reveal.getIndices().h < {h}", timeout=5000)
        assert not watch.problems(), watch.problems()
    finally:
        page.close()
