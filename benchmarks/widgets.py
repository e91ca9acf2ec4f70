"""Update time of every explorer, and what its frames face costs the book.

Live face: each control swept from its minimum to its maximum.
Prints the median and 95th percentile of ``explorer.update(**{control: value})``
(recompute + Agg draw + PNG encode), per control and per explorer, at the
default size.  Goal: p95 <= 50 ms per explorer, so Play animates smoothly.
The presentation toggle is also shown split into its first switch (which lays
the figure out for the larger fonts, once) and the later ones.

Frames face (the built book and the slides): the time to precompute every
frame of the explorer's grid (what the book build pays), the number of
distinct frames, and their size as embedded in the page (base64), against the
page budget of 3 MB.

    MPLBACKEND=Agg .venv/bin/python benchmarks/widgets.py
"""

import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402

from rnnlib.widgets import EXPLORERS  # noqa: E402

SAMPLES = 25  # values per control


def sweep(control):
    """Values of ``control`` from its minimum to its maximum."""
    if isinstance(control, W.FloatLogSlider):
        return list(np.logspace(control.min, control.max, SAMPLES, base=control.base))
    if isinstance(control, W.IntSlider):
        return list(range(control.min, control.max + 1))
    if isinstance(control, W.FloatSlider):
        return list(np.linspace(control.min, control.max, SAMPLES))
    if isinstance(control, W.ToggleButton):
        return [True, False] * 3
    return list(control.options) * 3


def main():
    rows = []
    for name, cls in EXPLORERS.items():
        ex = cls()
        defaults = ex.values()
        every = []
        for cname, control in ex.controls.items():
            times = []
            for v in sweep(control):
                t0 = time.perf_counter()
                ex.update(**{cname: v})
                times.append(time.perf_counter() - t0)
            ex.update(**defaults)
            every += times
            rows.append((name, cname, len(times), np.median(times), np.percentile(times, 95)))
            if cname == "presentation":  # the first switch lays the figure out; later ones blit
                later = times[1:]
                rows.append((name, "  1st switch", 1, times[0], times[0]))
                rows.append(
                    (name, "  later", len(later), np.median(later), np.percentile(later, 95))
                )
        rows.append((name, "ALL", len(every), np.median(every), np.percentile(every, 95)))
    print(f"{'explorer':<12} {'control':<12} {'n':>4} {'median ms':>10} {'p95 ms':>8}")
    for name, cname, n, med, p95 in rows:
        flag = "  <- over 50 ms" if cname == "ALL" and p95 > 0.050 else ""
        print(f"{name:<12} {cname:<12} {n:>4} {med * 1e3:>10.1f} {p95 * 1e3:>8.1f}{flag}")
    print(
        "ALL includes every sample, the presentation switches too.  The 1st switch into\n"
        "presentation mode computes the constrained layout for the larger fonts and draws\n"
        "the background once (a one-off mode switch, not a scrub control); every later\n"
        "switch reuses the cached layout and background."
    )


def frames():
    import ipywidgets as W

    print(
        f"\n{'explorer':<12} {'grid':>5} {'frames':>6} {'seconds':>8} {'ms/frame':>8}"
        f" {'MB in page':>10}"
    )
    total = 0.0
    for name, cls in EXPLORERS.items():
        ex = cls()
        t0 = time.perf_counter()
        ui = ex.frames_ui()
        secs = time.perf_counter() - t0
        total += secs
        images, stack = {}, [ui]
        while stack:
            w = stack.pop()
            if isinstance(w, W.Image):
                images[id(w)] = len(w.value)
            stack.extend(getattr(w, "children", ()))
        cells = int(np.prod([len(v) for v in ex.frame_grid().values()]))
        mb = sum(images.values()) * 4 / 3 / 1e6
        n = len(images)
        print(f"{name:<12} {cells:>5} {n:>6} {secs:>8.1f} {secs / n * 1e3:>8.0f} {mb:>10.2f}")
    print(
        f"precompute in all: {total:.1f} s (the book build runs it once; cached rebuilds skip it)"
    )


if __name__ == "__main__":
    main()
    frames()
