"""The explorers where most readers meet them: the built book and the slides, no kernel.

For every explorer, in headless Chromium with the network cut off, on its chapter's page
and on its slide: the controls carry the same labels as in a notebook; moving each of
them (the keyboard on a slider, a click on a button, a choice in a dropdown) and pressing
Play changes the picture; and every picture shown is, pixel for pixel, the one Python's
``Explorer.frame`` draws for the values the controls then show. The page stays within
its size budget, and nothing errs.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from bookinfra import (
    ROOT,
    WIDGET_ROOT,
    Watch,
    chromium_browser,
    ensure_book,
    ensure_slides,
    save_screenshot,
    serve,
    wait_widgets,
)
from PIL import Image

os.environ.setdefault("MPLBACKEND", "Agg")

from rnnlib.widgets import EXPLORERS  # noqa: E402
from rnnlib.widgets.controls import Choice  # noqa: E402

pytestmark = pytest.mark.browser

PAGE_BUDGET = 3 * 10**6  # bytes of one chapter's page or deck, frames included


def explorer_chapters() -> dict[str, str]:
    """explorer name -> the chapter (file stem) whose cell shows it."""
    out = {}
    for md in sorted((ROOT / "book").glob("*.md")):
        for name in re.findall(r'widgets\.EXPLORERS\["(\w+)"\]\(', md.read_text()):
            out.setdefault(name, md.stem)
    return out


CHAPTERS = explorer_chapters()


def test_every_explorer_is_in_a_chapter():
    assert sorted(CHAPTERS) == sorted(EXPLORERS)


@pytest.fixture(scope="module")
def context():
    with chromium_browser() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(15000)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def book():
    html = ensure_book()
    with serve(html) as url:
        yield html, url


@pytest.fixture(scope="module")
def decks():
    out = ensure_slides()
    with serve(out) as url:
        yield out, url


# -- reading the controls and the picture ---------------------------------------
def control(root, description):
    """The widget box whose label is ``description``."""
    box = root.locator(".widget-inline-hbox, .widget-toggle-buttons, .widget-dropdown").filter(
        has=root.page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$"))
    )
    assert box.count() >= 1, f"no control labelled {description!r}"
    return box.first


def shown_label(box) -> str:
    """The value a control shows: a slider's readout, the active button, the chosen option."""
    if box.locator(".widget-readout").count():
        return box.locator(".widget-readout").inner_text().strip()
    if box.locator("button.mod-active").count():
        return box.locator("button.mod-active").inner_text().strip()
    return box.locator("select").evaluate("s => s.options[s.selectedIndex].text").strip()


def shown_values(ex, root) -> dict:
    """The values the frames face's controls show, as Python values."""
    out = {}
    for k, vals in ex.frame_grid().items():
        spec = ex.specs[k]
        label = shown_label(control(root, spec.description))
        by_label = {spec.label(v): v for v in vals}
        assert label in by_label, f"{k}: the control shows {label!r}, not one of {list(by_label)}"
        out[k] = by_label[label]
    return out


def shown_png(root) -> bytes:
    data = root.locator("img.widget-image").evaluate_all(
        """async imgs => {
            const shown = imgs.filter(i => i.offsetParent !== null);
            const bytes = new Uint8Array(await (await fetch(shown[0].src)).arrayBuffer());
            let s = '';
            for (const b of bytes) s += String.fromCharCode(b);
            return [shown.length, btoa(s), shown[0].title || shown[0].alt];
        }"""
    )
    count, b64, alt = data
    assert count == 1, f"{count} pictures shown at once"
    assert alt, "the picture has no alt text"
    return base64.b64decode(b64)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def wait_new_picture(root, old: bytes, what: str) -> bytes:
    for _ in range(40):
        png = shown_png(root)
        if png != old:
            return png
        root.page.wait_for_timeout(50)
    pytest.fail(f"{what} did not change the picture")


@functools.cache
def explorer(name: str):
    """One explorer per name for the book's and the slides' tests (it only draws frames)."""
    return EXPLORERS[name]()


@functools.cache
def python_frame(name: str, values: tuple) -> bytes:
    """``Explorer.frame`` for these values (the book and the deck show the same ones)."""
    return explorer(name).frame(**dict(values))


def assert_matches_python(ex, root, png: bytes, what: str) -> None:
    values = shown_values(ex, root)
    expected = pixels(python_frame(ex.name, tuple(sorted(values.items()))))
    got = pixels(png)
    assert got.shape == expected.shape, f"{what}: {got.shape} != {expected.shape}"
    diff = np.abs(got - expected)
    # tolerance: none needed so far (same drawing code, same palette); stated for safety
    assert diff.mean() < 0.5 and np.mean(diff.max(axis=-1) > 0) < 0.001, (
        f"{what}: the picture shown for {values} differs from Python's "
        f"(mean |diff| {diff.mean():.3f})"
    )


def move(box, page) -> str:
    """Change one control the way a reader would; returns what was done."""
    handle = box.locator(".noUi-handle")
    if handle.count():
        now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
        handle.focus()
        key = "Home" if float(now) >= float(top) else "End"
        page.keyboard.press(key)
        return f"{key} on the slider"
    buttons = box.locator("button:not(.mod-active)")
    if buttons.count():
        buttons.last.click()
        return f"a click on {buttons.last.inner_text()!r}"
    select = box.locator("select")
    options = select.evaluate("s => [...s.options].map(o => o.value)")
    current = select.input_value()
    select.select_option(next(o for o in reversed(options) if o != current))
    return "a new choice in the dropdown"


def exercise(name: str, root, page) -> None:
    ex = explorer(name)
    grid = ex.frame_grid()
    for k in grid:
        control(root, ex.specs[k].description)  # same labels as the live controls
    png = shown_png(root)
    assert_matches_python(ex, root, png, f"{name}: first picture")
    root.locator(".widget-play button").first.click()
    png = wait_new_picture(root, png, f"{name}: Play")
    root.locator(".widget-play button").nth(1).click()  # stop: back to the first value
    png = wait_new_picture(root, png, f"{name}: Stop")
    assert_matches_python(ex, root, png, f"{name}: after Play and Stop")
    for k in grid:
        box = control(root, ex.specs[k].description)
        if isinstance(ex.specs[k], Choice) or box.locator(".noUi-handle").count():
            what = f"{name}.{k}: " + move(box, page)
            png = wait_new_picture(root, png, what)
            assert_matches_python(ex, root, png, what)


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_explorer_in_the_book(book, context, name):
    html, url = book
    doc = CHAPTERS[name]
    size = (html / "book" / f"{doc}.html").stat().st_size
    assert size <= PAGE_BUDGET, f"{doc}.html is {size / 1e6:.2f} MB"
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{url}/book/{doc}.html", wait_until="load")
        assert wait_widgets(page) == 1
        root = page.locator(WIDGET_ROOT).first
        root.scroll_into_view_if_needed()
        exercise(name, root, page)
        save_screenshot(page, f"explorer-{name}")
        assert not watch.problems(), watch.problems()
    finally:
        page.close()


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_explorer_in_the_slides(decks, context, name):
    out, url = decks
    size = (out / f"{CHAPTERS[name]}.slides.html").stat().st_size
    assert size <= PAGE_BUDGET, f"{CHAPTERS[name]}.slides.html is {size / 1e6:.2f} MB"
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(f"{url}/{CHAPTERS[name]}.slides.html", wait_until="load")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        assert wait_widgets(page) == 1
        root = page.locator(WIDGET_ROOT).first
        h = root.evaluate("e => Reveal.getIndices(e.closest('section')).h")
        # show its slide and wait until the browser has rendered it (two animation frames)
        page.evaluate(
            f"async () => {{ Reveal.slide({h}); await new Promise(done =>"
            " requestAnimationFrame(() => requestAnimationFrame(done))); }"
        )
        box = root.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, f"explorer off the slide: {box}"
        exercise(name, root, page)
        save_screenshot(page, f"slides-explorer-{name}")
        assert not watch.problems(), watch.problems()
    finally:
        page.close()


def test_pages_without_explorers_load_no_widget_renderer(book):
    html, _ = book
    for page in (html / "book").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        has = "application/vnd.jupyter.widget-state+json" in text
        assert has == (Path(page).stem in CHAPTERS.values()), page.name
