"""Control specifications: what a control is, apart from any widget that shows it.

An explorer declares its controls as specs.  A spec validates a value
(``check``), makes the live ipywidget a notebook shows (``widget``) and
the kernel-free control the book and the slides show (``frames_widget``):
the same description, the same range, restricted to the values a frame was
precomputed for.  Nothing here opens a widget until asked, so the book's kernel
stores only the widgets the page shows.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import ipywidgets as W

STYLE = {"description_width": "initial"}


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class Slider:
    """A numeric control: ``kind`` is "int", "float" or "log" (value = base**exponent).

    ``lo``, ``hi`` and ``step`` are in value units for "int" and "float", and in
    exponent units for "log" (as ipywidgets' FloatLogSlider has them).
    """

    description: str
    value: float
    lo: float
    hi: float
    step: float
    kind: str = "float"
    fmt: str = ".3g"
    base: float = 10.0

    @property
    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value, in value units."""
        if self.kind == "log":
            return self.base**self.lo, self.base**self.hi
        return self.lo, self.hi

    def check(self, name, value, hi=None):
        """``value`` validated and coerced; ``hi`` is a dependent maximum (clamped to)."""
        lo, top = self.bounds
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                ok = isinstance(value, numbers.Real) and float(value).is_integer()
                if not ok or isinstance(value, bool):
                    raise ValueError(f"{name}: expected an integer, got {value!r}")
            value = int(value)
        else:
            value = _real(name, value)
        tol = 1e-9 * max(1.0, abs(top))
        if not lo - tol <= value <= top + tol:
            raise ValueError(f"{name}: expected a value in [{lo:g}, {top:g}], got {value!r}")
        value = min(max(value, lo), top)
        if hi is not None:
            value = min(value, hi)
        return value

    def label(self, value) -> str:
        return str(int(value)) if self.kind == "int" else format(value, self.fmt)

    def widget(self):
        kw = dict(
            value=self.value,
            min=self.lo,
            max=self.hi,
            step=self.step,
            description=self.description,
            continuous_update=True,
            style=STYLE,
        )
        if self.kind == "int":
            return W.IntSlider(**kw)
        if self.kind == "log":
            return W.FloatLogSlider(base=self.base, readout_format=self.fmt, **kw)
        return W.FloatSlider(readout_format=self.fmt, **kw)

    def frames_widget(self, values, value):
        opts = [(self.label(v), v) for v in values]
        return W.SelectionSlider(
            options=opts,
            value=value,
            description=self.description,
            continuous_update=True,
            style=STYLE,
        )


@dataclass(frozen=True)
class Choice:
    """One of a few options: toggle buttons, or a dropdown when ``dropdown``."""

    description: str
    options: tuple
    value: object
    dropdown: bool = False

    def check(self, name, value, hi=None):
        try:
            ok = value in self.options
        except Exception:
            ok = False
        if not ok:
            raise ValueError(f"{name}: expected one of {list(self.options)}, got {value!r}")
        return value

    def label(self, value) -> str:
        return str(value)

    def widget(self, options=None, value=None):
        cls = W.Dropdown if self.dropdown else W.ToggleButtons
        extra = {} if self.dropdown else {"style": {"button_width": "auto", **STYLE}}
        return cls(
            options=list(self.options if options is None else options),
            value=self.value if value is None else value,
            description=self.description,
            **extra,
        )

    def frames_widget(self, values, value):
        return self.widget(options=values, value=value)


@dataclass(frozen=True)
class Toggle:
    """On or off (the presentation mode)."""

    description: str
    value: bool = False
    icon: str = ""
    tooltip: str = ""

    def check(self, name, value, hi=None):
        if not isinstance(value, (bool, int)) or value not in (0, 1):
            raise ValueError(f"{name}: expected True or False, got {value!r}")
        return bool(value)

    def label(self, value) -> str:
        return "on" if value else "off"

    def widget(self):
        return W.ToggleButton(
            value=self.value, description=self.description, icon=self.icon, tooltip=self.tooltip
        )
