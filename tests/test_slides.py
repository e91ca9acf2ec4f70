"""The reveal.js decks (``make slides``) in headless Chromium, offline.

Every deck opens with no errors and no request leaving 127.0.0.1, its math is typeset
by the local MathJax, its embedded widgets are rendered by the local html-manager, the
right arrow key advances the slides (but moves a focused slider, not the deck), and axe-core
finds no serious or critical accessibility violation except reveal.js's own (REVEAL_AXE).
Every slide of every deck, at 1280x720, fits the projector: nothing wider or taller than
the slide, at most WORDS visible words, no first word in lower case, no text under GLYPH
px on a 1280-wide slide, at most MAX_SLIDES slides a deck (screenshots in
_build/screenshots/slides/<deck>/, except under CI=true, where nobody looks at them).
reveal.js lays every deck out on a 1280x720 slide and scales it to the screen, so a
1920x1080 projector shows the same layout 1.5 times larger: one deck, walked at both
sizes, must measure the same, slide by slide.
The fixture builds the book and then the decks if they are missing or older than a
chapter, reusing the notebooks the book build executed (widget state included).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bookinfra import (
    SCREENSHOTS,
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
MAX_SLIDES = 40  # a 45-50 minute lecture
WORDS = 60  # visible words a slide, not counting math, code and the explorers' labels
GLYPH = 20  # px, the smallest text (math included) on a 1280-wide projector
VIEWPORTS = [(1280, 720), (1920, 1080)]  # the slide's own size, and a 1080p projector
SCALED_DECK = "book/08-lstm"  # the most slides, with math, figures, code and an explorer
CDN = re.compile(r"jsdelivr|unpkg|cdnjs|googleapis|https?://[^\s\"')]*\.js\b")


@pytest.fixture(scope="module")
def decks():
    out = ensure_slides()
    with serve(out) as url:
        yield out, url


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(scope="module")
def contexts(browser):
    """size -> a browser context with that viewport (made once, shared by the decks)."""
    made = {}

    def get(size: tuple[int, int]):
        if size not in made:
            made[size] = browser.new_context(viewport={"width": size[0], "height": size[1]})
            made[size].set_default_timeout(15000)
        return made[size]

    yield get
    for ctx in made.values():
        ctx.close()


@pytest.fixture(scope="module")
def context(contexts):
    return contexts((1280, 800))


class Deck:
    """One chapter's deck, opened once per viewport for all of its tests (a deck loads,
    with its MathJax and widgets, in seconds). ``page(size)`` -> (page, Watch)."""

    def __init__(self, doc: str, url: str, contexts):
        self.doc, self.name = doc, Path(doc).name
        self.url = f"{url}/{self.name}.slides.html"
        self._contexts, self._pages = contexts, {}

    def page(self, size: tuple[int, int]):
        if size not in self._pages:
            page = self._contexts(size).new_page()
            watch = Watch(page)
            self._pages[size] = page, watch
            page.goto(self.url, wait_until="load")
            page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        return self._pages[size]

    def close(self) -> None:
        for page, _ in self._pages.values():
            page.close()


@pytest.fixture(scope="module", params=chapters(), ids=str)
def deck(request, decks, contexts):
    """The deck of one chapter; pytest runs a deck's tests one after another."""
    d = Deck(request.param, decks[1], contexts)
    yield d
    d.close()


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


# a promise kept once the browser has rendered the page as it is now (two animation
# frames: the layout, and anything reveal.js or a widget changes in its next frame)
NEXT_FRAME = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def on_slide(page, element) -> None:
    """Show the slide that holds ``element`` (a locator)."""
    h = element.evaluate("e => Reveal.getIndices(e.closest('section')).h")
    page.evaluate(f"async () => {{ Reveal.slide({h}); await {NEXT_FRAME}; }}")


def test_deck(deck):
    """The deck at 1280x720, in the page test_every_slide_fits then walks: slides, math,
    widgets, the right arrow, its animations, no errors."""
    name = deck.name
    page, watch = deck.page(VIEWPORTS[0])
    page.evaluate("() => Reveal.slide(0, 0)")
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


def test_deck_accessibility(deck, context):
    """axe-core over every slide at once: reveal.js's scroll view shows them all."""
    name = deck.name
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{deck.url}?view=scroll", wait_until="load")
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


# One slide as a lecturer sees it: the elements that stick out of it (or scroll inside
# themselves), whether it is taller than the projector, its visible words (math, code,
# outputs and widgets excluded) and the first of them. The notes are not on the slide.
MEASURE = """() => {
  const slide = Reveal.getCurrentSlide();
  const box = document.querySelector('.reveal .slides').getBoundingClientRect();
  const hidden = 'aside.notes, script, style';
  const describe = e => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
      ? '.' + String(e.className).trim().split(/\\s+/).slice(0, 2).join('.') : '');
  const wide = [];
  let bottom = box.top;
  for (const e of slide.querySelectorAll('*')) {
    if (e.closest(hidden) || !e.getClientRects().length) continue;
    if (e.closest('mjx-container') && e.tagName !== 'MJX-CONTAINER') continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const style = getComputedStyle(e);
    const scrolls = ['auto', 'scroll', 'hidden'].includes(style.overflowX)
        && e.scrollWidth > e.clientWidth + 2 && e !== slide;
    bottom = Math.max(bottom, r.bottom);
    if (r.left < box.left - 2 || r.right > box.right + 2 || scrolls) {
      wide.push(`${describe(e)} ${Math.round(r.width)}px` + (scrolls ? ' (scrolls)' : ''));
    }
  }
  const skip = hidden + ', mjx-container, pre, code, .jp-OutputArea, .widget-subarea,'
      + ' .jupyter-widgets, .jp-CodeCell .jp-InputArea, .slide-number';
  const texts = [];
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && !parent.closest(skip) && parent.getClientRects().length) {
      texts.push(walker.currentNode.textContent);
    }
  }
  // the smallest text on the slide, in screen pixels (math, code, prose, tables)
  let glyph = Infinity;
  const scale = Reveal.getScale();
  const outside = hidden + ', .widget-subarea, .jupyter-widgets, .slide-number';
  for (const e of slide.querySelectorAll('mjx-container, pre, p, li, td, th, h1, h2, h3')) {
    if (e.closest(outside) || !e.getClientRects().length) continue;
    glyph = Math.min(glyph, parseFloat(getComputedStyle(e).fontSize) * scale);
  }
  const words = texts.join(' ').match(/[\\p{L}\\p{N}][\\p{L}\\p{N}'’_-]*/gu) || [];
  return {wide: wide.slice(0, 5), tall: Math.round(bottom - box.bottom),
          words: words.length, first: words[0] || '', glyph: glyph};
}"""


# Show slide i, let the browser render it, then MEASURE it.
SHOW_AND_MEASURE = f"""async i => {{
  const ix = Reveal.getIndices(Reveal.getSlides()[i]);
  Reveal.slide(ix.h, ix.v);
  await {NEXT_FRAME};
  return ({MEASURE})();
}}"""


def walk_deck(page, shots: Path | None = None, measured: list | None = None) -> list[str]:
    """Show every slide (``Reveal.getSlides()``, vertical ones too); return its problems
    (and append each slide's measurement to ``measured``, if given)."""
    problems = []
    n = page.evaluate("() => Reveal.getSlides().length")
    for i in range(n):
        m = page.evaluate(SHOW_AND_MEASURE, i)
        if measured is not None:
            measured.append(m)
        where = f"slide {i + 1}"
        if m["wide"]:
            problems.append(f"{where}: wider than the slide: {m['wide']}")
        if m["tall"] > 4:
            problems.append(f"{where}: {m['tall']} px taller than the slide")
        if m["words"] > WORDS:
            problems.append(f"{where}: {m['words']} words")
        if m["glyph"] < GLYPH * page.viewport_size["width"] / 1280 - 0.5:
            problems.append(f"{where}: text of {m['glyph']:.1f} px")
        first = m["first"]
        if first and first[0].islower():
            problems.append(f"{where}: starts with {first!r} (lower case)")
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{i + 1:02d}.png"))
    return problems


def test_every_slide_fits(deck):
    """The issue-14 goals, slide by slide, as a lecturer projects the deck."""
    name, size = deck.name, VIEWPORTS[0]
    page, _ = deck.page(size)
    typeset_math(page)
    wait_widgets(page)
    total = page.evaluate("() => Reveal.getSlides().length")
    shots = None if os.environ.get("CI") == "true" else SCREENSHOTS / "slides" / name
    problems = walk_deck(page, shots)
    if total > MAX_SLIDES:
        problems.insert(0, f"{total} slides (at most {MAX_SLIDES})")
    assert not problems, f"{name} at {size[0]}x{size[1]}:\n" + "\n".join(problems)


def test_a_larger_projector_shows_the_same_layout_scaled(decks, contexts):
    """At 1920x1080 reveal.js scales the 1280x720 slide by 1.5 and nothing reflows: every
    slide of SCALED_DECK measures as at 1280x720 (sizes in screen pixels times 1.5), so
    test_every_slide_fits holds on the larger projector too."""
    found = {}
    for size in VIEWPORTS:
        d = Deck(SCALED_DECK, decks[1], contexts)
        try:
            page, watch = d.page(size)
            typeset_math(page)
            wait_widgets(page)
            slide = page.evaluate("() => Reveal.getComputedSlideSize()")
            assert (slide["width"], slide["height"]) == VIEWPORTS[0], slide
            scale = page.evaluate("() => Reveal.getScale()")
            assert scale == pytest.approx(size[0] / VIEWPORTS[0][0], rel=1e-3), scale
            measured: list = []
            problems = walk_deck(page, measured=measured)
            assert not problems, f"{SCALED_DECK} at {size}:\n" + "\n".join(problems)
            assert not watch.problems(), watch.problems()
            found[size] = [
                (m["words"], m["first"], len(m["wide"]), m["tall"] / scale, m["glyph"] / scale)
                for m in measured
            ]
        finally:
            d.close()
    small, large = (found[v] for v in VIEWPORTS)
    assert len(small) == len(large)
    for i, (a, b) in enumerate(zip(small, large, strict=True)):
        assert a[:3] == b[:3], f"slide {i + 1}: {a} at 1280x720, {b} at 1920x1080"
        assert abs(a[3] - b[3]) <= 2 and a[4] == pytest.approx(b[4], rel=0.02), (i + 1, a, b)
