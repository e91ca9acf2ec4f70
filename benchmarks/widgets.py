"""Update time of every explorer, and what its frames face costs the book.

Live face, cold (as a reader meets it): on a fresh explorer, every control is swept once
from its minimum to its maximum (a slider through at most SAMPLES of its steps, evenly
spread and never repeated; each option of a choice once; a toggle off then on), the other
controls at their defaults. Prints, per explorer, the median, 95th percentile and maximum
of ``explorer.update(**{control: value})`` (recompute + Agg draw + PNG encode) over all
those updates, then per control. Goal: p95 <= 50 ms.

Presentation mode, cold: on another fresh explorer, the first switch into presentation
mode (which lays the figure out for the larger fonts), the switch back, and a second
switch in. Goal: the first switch <= 300 ms.

Frames face (the built book and the slides): the time to precompute every frame of the
explorer's grid (what the book build pays), the number of distinct frames, and their size
as embedded in the page (base64), against the page budget of 3 MB.

    MPLBACKEND=Agg .venv/bin/python benchmarks/widgets.py [--no-frames] [explorer ...]
"""

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from rnnlib.widgets import EXPLORERS  # noqa: E402
from rnnlib.widgets.controls import Choice, Slider, Toggle  # noqa: E402

SAMPLES = 25  # at most this many values of a slider (its minimum and maximum included)
P95_GOAL = 0.050
SWITCH_GOAL = 0.300


def spread(values: list, n: int = SAMPLES) -> list:
    """At most ``n`` of ``values``, evenly spread, the first and the last included."""
    if len(values) <= n:
        return list(values)
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, n)).astype(int))
    return [values[i] for i in idx]


def sweep(spec, hi=None) -> list:
    """The values of one control from its minimum to its maximum, each once.

    ``hi`` is a dependent maximum (the walk's step cannot exceed the sequence length)."""
    if isinstance(spec, Toggle):
        return [False, True]
    if isinstance(spec, Choice):
        return list(spec.options)
    if not isinstance(spec, Slider):
        raise TypeError(f"unknown control spec {spec!r}")
    n = int(round((spec.hi - spec.lo) / spec.step))
    steps = [spec.lo + i * spec.step for i in range(n + 1)]
    if spec.kind == "int":
        values = [int(round(v)) for v in steps]
    elif spec.kind == "log":
        values = [float(spec.base**e) for e in steps]
    else:
        values = [float(round(v, 12)) for v in steps]
    if hi is not None:
        values = [v for v in values if v <= hi]
    return spread(values)


def cold_sweep(cls) -> tuple[float, dict[str, list[float]]]:
    """A fresh explorer (its construction time) and the update times of every control."""
    t0 = time.perf_counter()
    ex = cls()
    built = time.perf_counter() - t0
    defaults = ex.values()
    times: dict[str, list[float]] = {}
    for name, spec in ex.specs.items():
        if name == "presentation":
            continue
        dep = ex.depends.get(name)
        out = []
        for v in sweep(spec, defaults[dep] if dep else None):
            t0 = time.perf_counter()
            ex.update(**{name: v})
            out.append(time.perf_counter() - t0)
        times[name] = out
        ex.update(**defaults)  # the next control moves from the defaults (not timed)
    return built, times


def presentation_switch(cls) -> tuple[float, float, float]:
    """On a fresh explorer: first switch into presentation mode, back out, in again."""
    ex = cls()
    out = []
    for on in (True, False, True):
        t0 = time.perf_counter()
        ex.update(presentation=on)
        out.append(time.perf_counter() - t0)
    return tuple(out)


def ms(x: float) -> str:
    return f"{x * 1e3:.1f}"


def live(names: list[str]) -> None:
    summary, detail = [], []
    for name in names:
        cls = EXPLORERS[name]
        built, times = cold_sweep(cls)
        switch = presentation_switch(cls)
        every = [t for ts in times.values() for t in ts]
        p95 = float(np.percentile(every, 95))
        summary.append((name, built, len(every), np.median(every), p95, max(every), switch))
        for cname, ts in times.items():
            detail.append((name, cname, len(ts), np.median(ts), np.percentile(ts, 95), max(ts)))

    print("Cold updates: a fresh explorer, every control swept once from min to max")
    print(
        f"{'explorer':<13}{'build ms':>9}{'n':>5}{'median':>8}{'p95':>8}{'max':>8}"
        f"{'switch in':>11}{'out':>7}{'in again':>10}   (ms)"
    )
    over = []
    for name, built, n, med, p95, top, (sw_in, sw_out, sw_again) in summary:
        flags = []
        if p95 > P95_GOAL:
            flags.append(f"p95 > {P95_GOAL * 1e3:.0f}")
        if sw_in > SWITCH_GOAL:
            flags.append(f"switch > {SWITCH_GOAL * 1e3:.0f}")
        if flags:
            over.append(name)
        print(
            f"{name:<13}{ms(built):>9}{n:>5}{ms(med):>8}{ms(p95):>8}{ms(top):>8}"
            f"{ms(sw_in):>11}{ms(sw_out):>7}{ms(sw_again):>10}"
            + ("   <- " + ", ".join(flags) if flags else "")
        )
    print(
        f"goals: p95 <= {P95_GOAL * 1e3:.0f} ms, first switch into presentation mode <= "
        f"{SWITCH_GOAL * 1e3:.0f} ms; "
        + (f"over: {', '.join(over)}" if over else "every explorer meets both")
    )
    print(f"\n{'explorer':<13}{'control':<14}{'n':>4}{'median':>8}{'p95':>8}{'max':>8}   (ms)")
    for name, cname, n, med, p95, top in detail:
        print(f"{name:<13}{cname:<14}{n:>4}{ms(med):>8}{ms(p95):>8}{ms(top):>8}")


def frames(names: list[str]) -> None:
    import ipywidgets as W

    print(
        f"\n{'explorer':<13}{'grid':>5}{'frames':>7}{'seconds':>9}{'ms/frame':>9}{'MB in page':>11}"
    )
    total = 0.0
    for name in names:
        ex = EXPLORERS[name]()
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
        print(f"{name:<13}{cells:>5}{n:>7}{secs:>9.1f}{secs / n * 1e3:>9.0f}{mb:>11.2f}")
    print(
        f"precompute in all: {total:.1f} s (the book build runs it once; cached rebuilds skip it)"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("explorers", nargs="*", help=f"default: all of {sorted(EXPLORERS)}")
    ap.add_argument("--no-frames", action="store_true", help="skip the frames precompute")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.explorers) - set(EXPLORERS))
    if unknown:
        ap.error(f"unknown explorer(s) {unknown}; choose from {sorted(EXPLORERS)}")
    names = args.explorers or list(EXPLORERS)
    live(names)
    if not args.no_frames:
        frames(names)


if __name__ == "__main__":
    main()
