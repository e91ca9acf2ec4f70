"""How fast the explorers answer in the built book, with no kernel: keypress to new picture.

Opens each explorer's chapter from ``_build/html`` (build it first: ``make book``) in
headless Chromium, focuses each slider of the explorer and presses the arrow keys
across its whole range, and measures in the page the time from the ``keydown`` event
to the next animation frame in which a different picture is shown (the Stack has
switched to another precomputed image). Prints the median and 95th percentile per
explorer and the page's size. Goal: well under 50 ms.

    .venv/bin/python benchmarks/explorers_online.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the tests' browser helpers and tools.toc

from bookinfra import HTML, WIDGET_ROOT, chromium_browser, serve, wait_widgets  # noqa: E402
from test_explorers_online import explorer_chapters  # noqa: E402

MEASURE = """async root => {
    const shown = () => [...root.querySelectorAll('img.widget-image')]
        .find(i => i.offsetParent !== null);
    const times = [];
    for (const handle of root.querySelectorAll('.noUi-handle')) {
        handle.focus();
        const steps = +handle.getAttribute('aria-valuemax') - +handle.getAttribute('aria-valuemin');
        for (const key of ['Home', ...Array(steps).fill('ArrowRight')]) {
            const before = shown();
            const t0 = performance.now();
            handle.dispatchEvent(new KeyboardEvent('keydown', {key: key, bubbles: true}));
            let changed = false;
            for (let f = 0; f < 30 && !changed; f++) {
                await new Promise(r => requestAnimationFrame(r));
                changed = shown() !== before;
            }
            if (changed && key !== 'Home') times.push(performance.now() - t0);
        }
    }
    return times;
}"""


def main():
    if not HTML.joinpath("index.html").exists():
        sys.exit("build the book first: make book")
    print(
        f"{'explorer':<12} {'chapter':<24} {'changes':>7} {'median ms':>9} {'p95 ms':>7} {'MB':>5}"
    )
    with serve(HTML) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, doc in sorted(explorer_chapters().items()):
            page.goto(f"{url}/book/{doc}.html", wait_until="load")
            wait_widgets(page)
            root = page.locator(WIDGET_ROOT).first
            root.scroll_into_view_if_needed()
            times = np.array(root.evaluate(MEASURE))
            mb = (HTML / "book" / f"{doc}.html").stat().st_size / 1e6
            print(
                f"{name:<12} {doc:<24} {len(times):>7} {np.median(times):>9.1f}"
                f" {np.percentile(times, 95):>7.1f} {mb:>5.2f}"
            )
    print("Time from keydown to the first animation frame showing another picture (rAF-bound:")
    print("a 60 Hz frame is 16.7 ms). Slider steps that land on the same picture are not counted.")


if __name__ == "__main__":
    main()
