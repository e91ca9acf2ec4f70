"""The explorer base class: one object, two faces.

* **Live** (a notebook with a kernel): ``.ui`` holds ipywidgets controls; moving
  one calls ``update``, which recomputes and redraws the picture.
* **Frames** (the built book and the slides, no kernel): the same controls,
  limited to a declared grid of values (``grid``), switch between
  pictures drawn in advance by the same ``_draw``.  The switching is
  done in the browser by ipywidgets' own ``jslink`` and ``Stack`` widgets, whose
  state the page embeds.

Which face a cell shows is decided where it is displayed: the frames face when
the environment variable ``RNNLIB_EXPLORERS`` is ``frames`` (set by the book's
Sphinx extension and by ``tools/slides.py``), the live face otherwise.  The live
widgets are only made when first used, so the book stores just the frames.
"""

from __future__ import annotations

import os

import ipywidgets as W
import numpy as np
from traitlets import Unicode

from .. import plots
from .controls import Choice, Slider, Toggle

C = plots.OKABE_ITO
FACE_ENV = "RNNLIB_EXPLORERS"


def frames_face() -> bool:
    """True when explorers should show their precomputed frames (book and slides)."""
    return os.environ.get(FACE_ENV, "").strip().lower() == "frames"


class DescribedImage(W.Image):
    """An Image whose ``tooltip`` (the alt text) renders in ipywidgets 8.1's JavaScript.

    The widget views' tooltip code reads the model's ``description``, which Image
    lacks; without this trait a view with a tooltip fails to render.
    """

    description = Unicode("").tag(sync=True)


class Explorer:
    """Base class: control specs, a figure, and the live and frames faces.

    Subclasses set ``name``, ``main`` (the control that gets a Play button),
    ``mosaic``/``gridspec``/``figsize`` and ``grid`` (control -> values the frames
    face offers), and implement ``_specs``, ``_build``, ``_draw`` and ``_describe``.
    ``depends`` maps a control to the control whose value is its maximum (the step
    of a walk cannot exceed the sequence length).
    """

    name = ""
    main = ""
    mosaic = [["a"]]
    gridspec: dict = {}
    figsize = (7.6, 4.0)
    dpi = 90  # CSS pixels per inch: the picture is figsize * dpi CSS pixels wide
    density = 2  # device pixels per CSS pixel in the frames face (sharp on HiDPI screens)
    interval = 400  # ms per step of the Play button
    grid: dict = {}
    depends: dict = {}

    def __init__(self, presentation: bool = False):
        self.specs = {
            **self._specs(),
            "presentation": Toggle(
                "presentation", False, "desktop", "larger fonts and lines for a projector"
            ),
        }
        defaults = {k: s.value for k, s in self.specs.items()}
        defaults["presentation"] = presentation
        self._v = self._validated(defaults)
        self.fig, self.ax = plots.figure(self.mosaic, self.figsize, self.dpi, **self.gridspec)
        self.exploded = False
        self.state: dict[str, np.ndarray] = {}
        self.semi: list = []  # artists that change rarely (see plots.Painter); _build may fill
        self.on_top: list = []  # static artists kept above the semi layer; _build may fill
        self.painter = plots.Painter(self.fig, self._build(), semi=self.semi, on_top=self.on_top)
        self._presenting = False
        self._live: dict | None = None
        self._frames: W.Widget | None = None
        self._busy = False
        self.png = b""
        self.alt = ""
        self._render()

    # -- the explorer contract ------------------------------------------------
    def values(self) -> dict:
        """Current control values, name -> value."""
        return dict(self._v)

    def update(self, **values):
        """Validate every value, then set them all, recompute and redraw; returns ``self``.

        All or nothing: an unknown control or a bad value raises ``ValueError``
        naming the control, and nothing changes.  A control whose maximum
        depends on another (``depends``) is clamped after that one is set, in
        any order of the arguments.
        """
        unknown = set(values) - set(self.specs)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown control(s) {sorted(unknown)}; known: {sorted(self.specs)}"
            )
        new = self._validated({**self._v, **values})
        old = self._v
        self._v = new
        try:
            self._render()
        except Exception:
            self._v = old
            self._render()
            raise
        self._sync_live()
        return self

    def describe(self) -> str:
        """The picture in words, for the current values (the image's alt text)."""
        return self.alt

    @property
    def controls(self) -> dict:
        """name -> the live ipywidgets control (made on first use)."""
        return self._live_widgets()["controls"]

    @property
    def ui(self) -> W.Box:
        """The live face: controls above the picture."""
        return self._live_widgets()["ui"]

    @property
    def image(self) -> W.Image:
        """The live picture (PNG bytes in ``.value``, the alt text in ``.tooltip``)."""
        return self._live_widgets()["image"]

    @property
    def play(self) -> W.Play | None:
        """The live Play button of the main control (integer main controls only)."""
        return self._live_widgets()["play"]

    def _repr_mimebundle_(self, include=None, exclude=None):
        ui = self.frames_ui() if frames_face() else self.ui
        data = dict(ui._repr_mimebundle_(include=include, exclude=exclude) or {})
        data["text/plain"] = f"<{type(self).__name__}: {self.name} explorer>"
        return data

    # -- validation and drawing ----------------------------------------------
    def _validated(self, merged: dict) -> dict:
        out = {}
        for k in sorted(merged, key=lambda k: k in self.depends):  # maxima first
            hi = out.get(self.depends.get(k))
            try:
                out[k] = self.specs[k].check(k, merged[k], hi)
            except ValueError as exc:
                raise ValueError(f"{self.name}: {exc}") from None
        return out

    def _render(self, encode=plots.encode_png):
        v = dict(self._v)
        full = self._present(v.pop("presentation"))
        self._draw(**v)
        self.png = self.painter.png(
            full=full,
            key=self._static_key(v),
            layout=self._presenting,
            semi_key=self._semi_key(v),
            encode=encode,
        )
        self.alt = self._describe(**v)

    def _present(self, on: bool) -> bool:
        if on == self._presenting:
            return False
        plots.set_presentation(self.fig, on)
        self._presenting = on
        return True

    def _explode(self, text, bad: bool, message="exploded: values overflowed to inf/NaN"):
        self.exploded = bool(bad)
        plots.set_exploded(text, message if bad else None)

    # -- the live face --------------------------------------------------------
    def _live_widgets(self) -> dict:
        if self._live is None:
            controls = {k: s.widget() for k, s in self.specs.items()}
            play = None
            main = self.specs[self.main]
            if isinstance(main, Slider) and main.kind == "int":
                play = W.Play(
                    value=self._v[self.main],
                    min=int(main.lo),
                    max=int(main.hi),
                    interval=self.interval,
                    description="play",
                    tooltip=f"play {main.description}",
                )
                W.jslink((play, "value"), (controls[self.main], "value"))
            image = DescribedImage(format="png", layout=W.Layout(width="auto", max_width="100%"))
            self._live = {"controls": controls, "play": play, "image": image}
            self._sync_live()
            for k, c in controls.items():
                c.observe(lambda change, k=k: self._on_change(k, change), names="value")
            self._live["ui"] = W.VBox(
                [self._control_box(controls, play), image],
                layout=W.Layout(max_width=f"{self.css_width}px"),
            )
        return self._live

    @property
    def css_width(self) -> int:
        return round(self.figsize[0] * self.dpi)

    def _control_box(self, controls, play):
        first = [play] if play is not None else []
        cs = [c for k, c in controls.items() if k not in (self.main, "presentation")]
        return W.VBox(
            [
                W.HBox([*first, controls[self.main], controls["presentation"]]),
                W.HBox(cs[:2]),
                *([W.HBox(cs[2:])] if cs[2:] else []),
            ]
        )

    def _sync_live(self):
        if self._live is None:
            return
        self._busy = True
        try:
            controls = self._live["controls"]
            for k, dep in self.depends.items():
                controls[k].max = self._v[dep]
                if k == self.main and self._live["play"] is not None:
                    self._live["play"].max = self._v[dep]
            for k, c in controls.items():
                if c.value != self._v[k]:
                    c.value = self._v[k]
            self._live["image"].value = self.png
            self._live["image"].tooltip = self.alt
        finally:
            self._busy = False

    def _on_change(self, name, change):
        if self._busy:
            return
        try:
            self.update(**{name: change["new"]})
        except ValueError:
            self._sync_live()  # a slider moved outside the declared range: show the old state

    # -- the frames face ------------------------------------------------------
    def frame_grid(self) -> dict:
        """control -> the values the frames face offers (validated, in order)."""
        out = {}
        for k, vals in self.grid.items():
            if k not in self.specs or k == "presentation":
                raise ValueError(f"{self.name}: grid names an unknown control {k!r}")
            out[k] = [self.specs[k].check(k, v) for v in vals]
            if not out[k]:
                raise ValueError(f"{self.name}: grid of {k!r} is empty")
        if self.main not in out:
            raise ValueError(f"{self.name}: the grid must include the main control {self.main!r}")
        return out

    def frame(self, **values) -> bytes:
        """The frames face's picture for these values: ``density`` times sharper, palette PNG.

        The controls not named keep their current values; presentation mode is off.
        """
        self._v = self._validated({**self._v, **values, "presentation": False})
        base = self.fig.get_dpi()
        self.fig.set_dpi(self.dpi * self.density)
        try:
            self._render(encode=plots.encode_png_palette)
            return self.png
        finally:
            self.fig.set_dpi(base)

    def frames_ui(self) -> W.Box:
        """The kernel-free face: grid controls over a nested Stack of precomputed frames."""
        if self._frames is not None:
            return self._frames
        grid = self.frame_grid()
        saved = dict(self._v)
        start = {
            k: min(vals, key=lambda x: self._distance(k, x, saved[k])) for k, vals in grid.items()
        }
        names = list(grid)
        controls = {k: self.specs[k].frames_widget(grid[k], start[k]) for k in names}
        shared = W.Layout(width=f"{self.css_width}px", max_width="100%", height="auto")
        images: dict[bytes, W.Image] = {}
        drawn: dict[tuple, W.Image] = {}  # by the values after clamping (step <= N draws step N)

        def leaf(combo):
            values = dict(zip(names, combo, strict=True))
            key = tuple(self._validated({**saved, **values, "presentation": False}).items())
            if key not in drawn:
                png = self.frame(**values)
                if png not in images:
                    images[png] = DescribedImage(
                        value=png, format="png", layout=shared, tooltip=self.alt
                    )
                drawn[key] = images[png]
            return drawn[key]

        def nest(depth, combo):
            if depth == len(names):
                return leaf(combo)
            k = names[depth]
            stack = W.Stack(
                [nest(depth + 1, (*combo, v)) for v in grid[k]],
                selected_index=grid[k].index(start[k]),
            )
            W.jslink((controls[k], "index"), (stack, "selected_index"))
            return stack

        try:
            pictures = nest(0, ())
        finally:
            self._v = saved
            self._render()
        main = controls[self.main]
        play = W.Play(
            value=grid[self.main].index(start[self.main]),
            min=0,
            max=len(grid[self.main]) - 1,
            interval=self.interval,
            description="play",
            tooltip=f"play {self.specs[self.main].description}",
        )
        W.jslink((play, "value"), (main, "index"))
        others = [controls[k] for k in names if k != self.main]
        fixed = [
            f"{s.description} = {s.label(self._v[k])}"
            for k, s in self.specs.items()
            if k not in grid and k != "presentation"
        ]
        note = "Precomputed pictures"
        if fixed:
            note += f" ({', '.join(fixed)})"
        note += "; run the chapter as a notebook for every value."
        self._frames = W.VBox(
            [
                W.HBox([play, main]),
                W.HBox(others),
                pictures,
                W.HTML(f'<small class="rl-frames-note">{note}</small>'),
            ],
            layout=W.Layout(max_width=f"{self.css_width}px"),
        )
        self._frames.add_class(f"rl-explorer-{self.name}")
        return self._frames

    def _distance(self, name, a, b):
        s = self.specs[name]
        if isinstance(s, Choice) or isinstance(s, Toggle):
            return 0 if a == b else 1
        if s.kind == "log":
            return abs(np.log(a) - np.log(b))
        return abs(a - b)

    # -- what subclasses provide ----------------------------------------------
    def _specs(self) -> dict:
        raise NotImplementedError

    def _build(self) -> list:
        raise NotImplementedError

    def _draw(self, **v):
        raise NotImplementedError

    def _describe(self, **v) -> str:
        raise NotImplementedError

    def _static_key(self, v):
        """What the background depends on besides axis ranges and presentation mode."""
        return None

    def _semi_key(self, v):
        """What the ``semi`` artists depend on."""
        return None
