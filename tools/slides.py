"""Turn every chapter into a reveal.js deck that works offline: ``make slides``.

For each chapter in ``_toc.yml``: jupytext reads the MyST notebook, nbclient runs it on a
fresh kernel with ``RNNLIB_EXPLORERS=frames`` (or ``--executed DIR`` takes the outputs and
widget state of notebooks already run there, such as the book build's
``_build/jupyter_execute``, while their code is the chapter's), the cells get
slide metadata chosen for a lecture, and ``jupyter nbconvert --to slides`` (the
SlidesExporter, with ``tools/slides_template``) writes ``_build/slides/<chapter>.slides.html``.
reveal.js, MathJax, the icon font and the widget renderer (require.js and
``@jupyter-widgets/html-manager``, see ``offline_book.copy_widgets``) are copied next to the
decks from ``node_modules``.

How cells become slides: a chapter with slide markup (MyST comments such as
``% slide: Title``, ``% say: ...``, ``% ask: ...``; the book does not render them) is
made into a lecture deck by ``lecture()``: the author chose what each slide shows, one
idea a slide, and the book's prose goes into the speaker notes. Every chapter in
``_toc.yml`` is marked. For a chapter without markup, ``slideshow()`` falls back to a
heuristic:

* every heading starts a slide; long stretches of prose are split at paragraph breaks,
  and a slide that would overflow the projector continues on the next one;
* cells tagged ``remove-cell`` or ``book-only`` are dropped, except a ``remove-cell`` cell
  also tagged ``slides-only`` (a figure drawn for the projector, which the book leaves
  out: see :func:`on_slides`); ``hide-input``/``remove-input`` cells, the
  explorers and plotting cells show only their figure; code whose printed result is the
  point (the gradient checks) stays visible;
* MyST markup the slide renderer does not know is rewritten: exercises become slides of
  their own, solutions go to the speaker notes (press ``s``), admonitions become quotes,
  equation labels become numbers, citations become ``(key)``;
* an explorer shows its widget view: the notebook's widget state is embedded in the deck
  and rendered by html-manager, so its controls switch the precomputed frames with no
  kernel; arrow keys on a focused control move the control, not the deck.

Numbers a cell computes reach the prose through myst-nb's ``glue``: the slides and the
speaker notes show the value the executed chapter glued (the code on a slide leaves out
its ``glue(..., display=False)`` statements), formatted as the book formats it
(``{glue:text}`key:.2f` ``, ``{glue}`key` ``, ``{glue:md}`key` `` and the
``{glue:math}`` directive); a glue output with ``display=False`` shows nothing on a slide.
MyST comments other than the slide markup (such as ``% numbers: ...``) are dropped.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import yaml

from tools.offline_book import ROOT, WIDGETS_DIR, copy_mathjax, copy_reveal, copy_widgets
from tools.toc import chapters as toc_chapters

WIDGET = "application/vnd.jupyter.widget-view+json"
BUDGET = 16  # roughly the lines of text a slide holds at projector size
FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:.-]+)\}\s*(.*)$")
ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
LABEL = re.compile(r"^\(([\w:.-]+)\)=\s*$")
EQ_LABEL = re.compile(r"\$\$\s*\(([\w:.-]+)\)")
# a chapter's slide markup: MyST comments, which the book does not render (see lecture())
MARKER = re.compile(r"^%\s*(slide|say|ask|show|skip|merge|output)\b:?\s*(.*)$")
NOTE_LIKE = {
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
    "admonition",
    "margin",
    "sidebar",
    "topic",
}
DROP = {
    "literalinclude",
    "bibliography",
    "toctree",
    "tableofcontents",
    "eval-rst",
    "glossary",
    "only",
    "raw",
    "include",
}
FA_CDN = re.compile(r"<link[^>]*font-awesome[^>]*>", re.S)


# -- reading the book --------------------------------------------------------
def label_titles() -> dict[str, tuple[str, str]]:
    """``(label)=`` followed by a heading, across the book: label -> (heading, number).

    The number is the chapter's (its file's prefix, as the book numbers them) for a
    chapter title, the heading text otherwise."""
    out = {}
    for md in (ROOT / "book").glob("*.md"):
        lines = md.read_text(encoding="utf-8").splitlines()
        prefix = re.match(r"(\d+)-", md.name)
        for i, line in enumerate(lines[:-1]):
            m = LABEL.match(line)
            h = re.match(r"(#+)\s+(.*)", lines[i + 1])
            if m and h:
                title = h.group(2).strip()
                chapter = prefix and len(h.group(1)) == 1
                out[m.group(1)] = (title, str(int(prefix.group(1))) if chapter else title)
    return out


def mathjax_config() -> str:
    """The book's MathJax 3 settings (macros from _config.yml) for ``window.MathJax``."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    mj = (cfg.get("sphinx", {}).get("config", {}) or {}).get("mathjax3_config", {}) or {}
    tex = {
        **mj.get("tex", {}),
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "tags": "none",
    }
    return json.dumps({**mj, "tex": tex})


# -- numbers glued by the chapter's cells (myst-nb glue) ----------------------------
def take_glue(nb) -> dict[str, dict]:
    """Key -> mime bundle of every ``glue(key, value)`` in the executed notebook ``nb``.

    As myst-nb reads them: an output whose metadata ``scrapbook`` names the key, its mime
    types prefixed with ``scrapbook.mime_prefix`` when glued with ``display=False``. Those
    hidden outputs are removed from their cells here (the book does not show them either).
    """
    glued: dict[str, dict] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            book = out.get("metadata", {}).get("scrapbook")
            if not book:
                kept.append(out)
                continue
            n = len(book.get("mime_prefix", ""))
            glued[book["name"]] = {k[n:]: v for k, v in out.get("data", {}).items()}
            if not n:
                kept.append(out)
        cell.outputs = kept
    return glued


def stored_glue(doc: str, executed_dir: Path | None) -> dict[str, dict]:
    """Key -> mime bundle of the values the book build glued for ``doc``.

    myst-nb 1.4 moves ``glue(..., display=False)`` outputs out of the notebooks it writes to
    ``_build/jupyter_execute`` into ``<doc>.glue.json`` beside them; a deck made from those
    notebooks reads them there.
    """
    path = executed_dir / f"{doc}.glue.json" if executed_dir else None
    if not path or not path.exists():
        return {}
    return {key: dict(out.get("data", {})) for key, out in json.loads(path.read_text()).items()}


def _plain(text) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def _latex(text) -> str:
    """A glued value's text/latex without its $ or $$ delimiters."""
    return re.sub(r"^\$+|\$+$", "", _plain(text).strip()).strip()


def glue_text(glued: dict[str, dict], name: str, text: str) -> str:
    """Markdown for the glue role ``{name}`text` `` from the glued values ``glued``."""
    from myst_nb.core.variables import format_plain_text

    key, fmt = text, ""
    if name == "glue:text":
        key, _, fmt = text.rpartition(":") if ":" in text else (text, "", "s")
    if key not in glued:
        raise ValueError(f"{{{name}}}`{text}`: no cell of this chapter glues {key!r}")
    data = glued[key]
    if name == "glue:text":
        if "text/plain" not in data:
            raise ValueError(f"{{{name}}}`{text}`: {key!r} has no text/plain value")
        return format_plain_text(_plain(data["text/plain"]), fmt or "s")
    if name == "glue:md" or (name in ("glue", "glue:", "glue:any") and "text/markdown" in data):
        return _plain(data.get("text/markdown", data.get("text/plain", "")))
    if "text/latex" in data:
        return f"${_latex(data['text/latex'])}$"
    return format_plain_text(_plain(data.get("text/plain", "")), "s")


# -- MyST to the Markdown nbconvert renders ----------------------------------
class Converter:
    """Rewrite one chapter's MyST Markdown for nbconvert; numbers its equations.

    ``glued`` (from ``take_glue``) holds the values the chapter's glue roles show."""

    def __init__(self, titles: dict[str, tuple[str, str]], glued: dict[str, dict] | None = None):
        self.titles = titles
        self.glued = glued or {}
        self.eqs: dict[str, int] = {}
        self.keep_markers = False  # lecture(): slide markers become ("marker", ...) items

    def number_equations(self, cells) -> None:
        for c in cells:
            if c.cell_type == "markdown":
                for label in EQ_LABEL.findall(c.source):
                    self.eqs.setdefault(label, len(self.eqs) + 1)
                for m in re.finditer(r":label:\s*([\w:.-]+)", c.source):
                    self.eqs.setdefault(m.group(1), len(self.eqs) + 1)

    def role(self, m: re.Match) -> str:
        name, text = m.group(1), m.group(2)
        explicit = re.match(r"(.*?)\s*<([^>]+)>$", text, re.S)
        shown, target = (explicit.group(1), explicit.group(2)) if explicit else (None, text)
        if name == "eq":
            return f"({self.eqs[target]})" if target in self.eqs else "(in the book)"
        if name == "glue" or name.startswith("glue:"):
            return glue_text(self.glued, name, text)
        if name.startswith("cite"):
            keys = [k.strip() for k in text.split(",")]
            return ", ".join(keys) if name == "cite:t" else "(" + "; ".join(keys) + ")"
        if name == "math":
            return f"${text}$"
        if name in ("code", "literal"):
            return f"`{text}`"
        title, number = self.titles.get(target, (target, target))
        if name == "numref":
            return shown.replace("%s", number) if shown else number
        if name in ("ref", "doc", "any"):
            return shown or title
        return shown or text

    def inline(self, text: str) -> str:
        def tag(m):
            n = self.eqs.get(m.group(1))
            return f"\\tag{{{n}}}$$" if n else "$$"

        text = EQ_LABEL.sub(tag, text)
        return ROLE.sub(self.role, text)

    def convert(self, source: str) -> list[tuple[str, str]]:
        """MyST text -> [("md" | "notes" | "exercise", markdown), ...] in order."""
        out: list[tuple[str, str]] = []
        buf: list[str] = []

        def flush():
            if "".join(buf).strip():
                out.append(("md", self.inline("\n".join(buf))))
            buf.clear()

        lines = source.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if LABEL.match(line) or re.match(r"^\s*%", line):
                marker = MARKER.match(line)
                if marker and self.keep_markers:
                    flush()
                    # roles in a note (glued numbers, references) as in the prose
                    arg = self.inline(marker.group(2).strip())
                    out.append(("marker", f"{marker.group(1)}:{arg}"))
                i += 1
                continue
            m = FENCE.match(line)
            if not m:
                buf.append(line)
                i += 1
                continue
            indent, fence, name, arg = m.groups()
            body, options, i = self._directive_body(lines, i + 1, fence)
            kind, text = self._directive(name, arg, options, body)
            if kind is None:
                continue
            if kind == "md":
                buf.append(text)
            else:
                flush()
                out.append((kind, text))
        flush()
        return out

    @staticmethod
    def _directive_body(lines, i, fence):
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        options, body, depth = {}, [], 0
        while i < len(lines) and re.match(r"^\s*:[\w-]+:", lines[i]):
            k, _, v = lines[i].strip()[1:].partition(":")
            options[k] = v.strip()
            i += 1
        while i < len(lines):
            if FENCE.match(lines[i]) and FENCE.match(lines[i]).group(2)[0] == fence[0]:
                depth += 1
            elif close.match(lines[i]):
                if depth == 0:
                    return "\n".join(body), options, i + 1
                depth -= 1
            body.append(lines[i])
            i += 1
        return "\n".join(body), options, i

    def _directive(self, name, arg, options, body):
        if name in DROP:
            return None, ""
        if name in ("math", "glue:math"):
            label = options.get("label", options.get("name"))
            tag = f"\\tag{{{self.eqs[label]}}}" if label in self.eqs else ""
            if name == "glue:math":
                data = self.glued.get(arg.strip())
                if not data or "text/latex" not in data:
                    raise ValueError(f"{{glue:math}} {arg}: no text/latex glued as {arg!r}")
                body = _latex(data["text/latex"])
            return "md", f"$$\n{body}\n{tag}$$"
        if name in ("code-block", "code", "sourcecode"):
            return "md", f"```{arg}\n{body}\n```"
        if name in ("figure", "image"):
            return "md", f"![{body.strip() or options.get('alt', '')}]({arg})"
        if name in ("solution-start", "solution-end"):
            return ("marker", f"{name}:") if self.keep_markers else (None, "")
        if name == "solution":
            return "notes", "**Solution.**\n\n" + self._nested(body)
        if name == "exercise":
            title = f" ({arg})" if arg else ""
            return "exercise", f"**Exercise{title}.**\n\n" + self._nested(body)
        if name in NOTE_LIKE or name.startswith("admonition"):
            title = arg or name.capitalize()
            text = self._nested(body)
            return "md", "\n".join(
                ["> **" + title + ".**", ">"] + ["> " + ln for ln in text.splitlines()]
            ) + "\n"
        return "md", self._nested(body)

    def _nested(self, body: str) -> str:
        keep, self.keep_markers = self.keep_markers, False
        try:
            return "\n\n".join(text for _, text in self.convert(body))
        finally:
            self.keep_markers = keep


# -- choosing slides -----------------------------------------------------------
def blocks(text: str) -> list[str]:
    """Paragraph blocks, never splitting a fenced code block or a display equation."""
    out, cur, in_fence, in_math = [], [], False, False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and s.count("$$") % 2 == 1:
            in_math = not in_math
        if not s and not in_fence and not in_math and cur:
            out.append("\n".join(cur))
            cur = []
        elif s or cur:
            cur.append(line)
    if cur:
        out.append("\n".join(cur))
    return out


def weight_md(text: str) -> float:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return sum(1 + len(ln) // 90 for ln in lines) + 1


def is_explorer(cell) -> bool:
    return "widgets.EXPLORERS" in cell.source or any(
        WIDGET in o.get("data", {}) for o in cell.get("outputs", [])
    )


def has_figure(cell) -> bool:
    for o in cell.get("outputs", []):
        d = o.get("data", {})
        animation = 'class="animation"' in d.get("text/html", "")
        if {"image/png", "image/svg+xml", WIDGET} & set(d) or animation:
            return True
    return False


def weight_outputs(cell) -> float:
    w = 0.0
    for o in cell.get("outputs", []):
        d = o.get("data", {})
        if WIDGET in d or 'class="animation"' in d.get("text/html", ""):
            w += 14
        elif "image/png" in d or "image/svg+xml" in d:
            w += 11
        elif "text/html" in d:
            w += min(12, d["text/html"].count("<tr") + 2)
        elif "text/latex" in d:
            w += 2
        elif "text/markdown" in d:  # a table a cell built: its rows are taller than code lines
            md = d["text/markdown"]
            lines = ("".join(md) if isinstance(md, list) else md).splitlines()
            rows = [ln for ln in lines if ln.lstrip().startswith("|")]
            rules = [ln for ln in rows if set(ln.replace(" ", "")) <= set("|-:")]
            text = [ln for ln in lines if ln.strip() and ln not in rows]
            w += 1.3 * (len(rows) - len(rules)) + weight_md("\n".join(text)) * bool(text)
        else:
            text = o.get("text", "") or d.get("text/plain", "")
            w += min(12, text.count("\n") + 1)
    return w


def without_glue(source: str) -> str:
    """``source`` without its top-level ``glue(..., display=False)`` statements.

    They hand a number to the prose, which on a slide is already shown with the value;
    on the projector they are noise. Code that does not parse is returned unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    drop: set[int] = set()
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "glue"
            and any(
                k.arg == "display" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in call.keywords
            )
        ):
            drop.update(range(stmt.lineno, stmt.end_lineno + 1))
    if not drop:
        return source
    lines = source.split("\n")
    return "\n".join(line for i, line in enumerate(lines, start=1) if i not in drop)


def clean_outputs(cell) -> None:
    """Drop links to a CDN from HTML outputs (matplotlib's Font Awesome stylesheet)."""
    for o in cell.get("outputs", []):
        d = o.get("data")
        if d and "text/html" in d:
            d["text/html"] = FA_CDN.sub("", "".join(d["text/html"]))


def on_slides(cell) -> bool:
    """Whether a cell goes into the deck.

    Not when the book removes it (``remove-cell``), unless it is tagged ``slides-only``,
    and not when it is tagged ``book-only``. The pair lets a chapter draw one figure
    twice, for the page's column (``book-only``) and for a 16:9 slide (``remove-cell``
    and ``slides-only``); both run in the book build, so the deck reuses its output.
    """
    tags = set(cell.metadata.get("tags", []))
    return "book-only" not in tags and ("remove-cell" not in tags or "slides-only" in tags)


def slideshow(nb, conv: Converter) -> nbformat.NotebookNode:
    """A new notebook with one idea per slide; see the module docstring."""
    cells = [c for c in nb.cells if on_slides(c)]
    conv.number_equations(cells)
    out: list = []
    room, bare_heading = 0.0, False

    def add(cell, kind, weight):
        nonlocal room, bare_heading
        # a heading never stands alone: what follows it joins its slide, however long
        if kind == "slide" or (kind == "-" and weight > room and not bare_heading):
            kind, room = "slide", BUDGET
        if kind != "notes":
            room -= weight
            bare_heading = cell.cell_type == "markdown" and all(
                ln.startswith("#") for ln in cell.source.strip().splitlines()
            )
        cell.metadata["slideshow"] = {"slide_type": kind}
        out.append(cell)

    for cell in cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            for kind, text in conv.convert(cell.source):
                if kind == "marker":
                    continue
                if kind == "notes":
                    add(nbformat.v4.new_markdown_cell(text), "notes", 0)
                    continue
                for j, block in enumerate(blocks(text)):
                    new = block.startswith("#") or (kind == "exercise" and j == 0)
                    start = "slide" if new else "-"
                    add(nbformat.v4.new_markdown_cell(block), start, weight_md(block))
        elif cell.cell_type == "code":
            clean_outputs(cell)
            cell.source = without_glue(cell.source)
            hide = (
                bool({"hide-input", "remove-input"} & tags)
                or is_explorer(cell)
                or (has_figure(cell) and cell.source.count("\n") >= 3)
            )
            if hide:
                cell.metadata["transient"] = {"remove_source": True}
            if {"remove-output", "hide-output"} & tags:
                cell.outputs = []
            if hide and not cell.outputs:
                continue
            w = (0 if hide else cell.source.count("\n") + 2) + weight_outputs(cell)
            add(cell, "slide" if is_explorer(cell) else "-", w)
    if out:
        out[0].metadata["slideshow"] = {"slide_type": "slide"}
    # keeps metadata.widgets: the state every widget view in the deck is rendered from
    return nbformat.v4.new_notebook(cells=out, metadata=dict(nb.metadata))


# -- a lecture deck from the chapter's slide markup -------------------------------
SPAN = re.compile(r"\$\$.*?\$\$|\$[^$]+\$|`[^`]*`", re.S)
DISPLAY = re.compile(r"\$\$.*?\$\$", re.S)
SAY_WORDS = 45  # of an exercise's text on its slide; the rest goes to the notes


def is_marked(nb) -> bool:
    """A chapter with slide markup (``% slide: ...`` and friends) gets a lecture deck."""
    return any(
        MARKER.match(line)
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
    )


def words(md: str) -> int:
    """Words a reader sees in Markdown, not counting math and code."""
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", SPAN.sub(" ", md)))


def sentences(text: str) -> list[str]:
    """Split prose into sentences without looking inside math or code."""
    spans: list[str] = []

    def hide(m):
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = SPAN.sub(hide, " ".join(text.split()))
    parts = re.split(r"(?<=[.?!])\s+(?=[A-Z*(\x00])", masked)
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], p) for p in parts]


class Deck:
    """Slides under construction: each a title, the cells shown, and speaker notes."""

    def __init__(self):
        self.slides: list[dict] = []
        self.title: str | None = None
        self.pending: list[str] = []  # notes for the slide of what is shown next

    def new(self, title: str | None = None, fresh: bool = False, carry: bool = False) -> None:
        if self.slides and not carry:
            self.slides[-1]["notes"] += self.pending
            self.pending = []
        self.title = title
        cells = [nbformat.v4.new_markdown_cell(f"## {title}")] if title else []
        self.slides.append(
            {"cells": cells, "notes": [], "room": BUDGET - 2 * bool(title), "fresh": fresh}
        )

    def show(self, cell, weight: float) -> None:
        cur = self.slides[-1] if self.slides else None
        if cur is None or (weight > cur["room"] and len(cur["cells"]) > bool(self.title)):
            # prose that finishes the sentence of what is on this slide stays in its notes
            while cur and self.pending and re.match(r"[a-z]", self.pending[0]):
                cur["notes"].append(self.pending.pop(0))
            self.new(self.title, carry=True)  # a continuation, under the same title
            cur = self.slides[-1]
        cur["notes"] += self.pending
        self.pending = []
        cur["cells"].append(cell)
        cur["room"] -= weight
        cur["fresh"] = False

    def say(self, md: str) -> None:
        self.show(nbformat.v4.new_markdown_cell(md), weight_md(md))

    def note(self, md: str) -> None:
        self.pending.append(md)

    def notebook(self, metadata) -> nbformat.NotebookNode:
        if not self.slides:
            self.new()
        self.slides[-1]["notes"] += self.pending
        self.pending = []
        cells, carry = [], []
        for k, slide in enumerate(self.slides):
            # a heading with nothing under it (such as "Exercises") is no slide of its own
            bare = len(slide["cells"]) == 1 and slide["cells"][0].source.startswith("## ")
            if k + 1 < len(self.slides) and (not slide["cells"] or bare):
                carry += slide["notes"]
                continue
            slide["notes"][:0], carry = carry, []
            if not slide["cells"]:
                slide["cells"].append(nbformat.v4.new_markdown_cell("## " + (self.title or "")))
            for j, c in enumerate(slide["cells"]):
                c.metadata["slideshow"] = {"slide_type": "slide" if j == 0 else "-"}
                cells.append(c)
            if slide["notes"]:
                n = nbformat.v4.new_markdown_cell("\n\n".join(slide["notes"]))
                n.metadata["slideshow"] = {"slide_type": "notes"}
                cells.append(n)
        return nbformat.v4.new_notebook(cells=cells, metadata=dict(metadata))


def lecture(nb, conv: Converter) -> nbformat.NotebookNode:
    """A deck from a marked chapter: the author chose what each slide shows.

    The chapter's MyST comments (invisible in the book) mark it up:

    ``% slide: Title``  start a slide (the next heading then adds no slide of its own);
    ``% say: text`` / ``% ask: text``  slide-only text / a question for the room;
    ``% show`` / ``% skip``  put the next block or cell on the slide / leave it off;
    ``% output``  show only the next code cell's output;
    ``% merge``  the next heading does not start a slide.

    Without markup: the chapter title, each section heading, each explorer and each
    exercise starts a slide; labelled display equations, figures and code cells with
    printed results are shown (a slide that is full continues under the same title);
    all other prose, admonitions and the solutions go into the speaker notes.
    """
    cells = [c for c in nb.cells if on_slides(c)]
    conv.number_equations(cells)
    conv.keep_markers = True
    deck = Deck()
    pending: set[str] = set()
    in_solution = False

    def take(flag: str) -> bool:
        if flag in pending:
            pending.discard(flag)
            return True
        return False

    def block(text: str) -> None:
        show, skip = take("show"), take("skip")
        heading = re.match(r"(#+)\s+(.*)", text)
        if heading and "\n" not in text.strip():
            level, title = len(heading.group(1)), heading.group(2).strip()
            if level == 1:
                deck.new()
                deck.say(text)
            elif take("merge") or skip:
                deck.note(f"**{title}**")
            elif deck.slides and deck.slides[-1]["fresh"]:
                if deck.title is None:
                    deck.slides[-1]["cells"].insert(0, nbformat.v4.new_markdown_cell(text))
                    deck.title = title
                deck.slides[-1]["fresh"] = False
            else:
                deck.new(title)
            return
        if text.startswith("$$"):
            if (show or "\\tag{" in text) and not skip:
                deck.say(text)
            else:
                deck.note(text)
            return
        if text.startswith("![") and not skip:
            deck.say(text)
            return
        if show:
            deck.say(text)
            return
        deck.note(text)
        if not skip:  # a labelled equation inside a paragraph is still shown
            for eq in DISPLAY.findall(text):
                if "\\tag{" in eq:
                    deck.say(eq)

    def exercise(text: str) -> None:
        head, _, body = text.partition("\n\n")
        shown, rest = [head], []
        for b in blocks(body):
            if rest or words(" ".join(shown + [b])) > SAY_WORDS:
                rest.append(b)
            else:
                shown.append(b)
        if len(shown) == 1 and rest:  # a long first paragraph: its first sentences
            first = sentences(rest.pop(0))
            n = next(
                (k for k in range(len(first), 0, -1) if words(" ".join(first[:k])) <= SAY_WORDS),
                1,
            )
            shown.append(" ".join(first[:n]))
            rest.insert(0, " ".join(first[n:]))
        deck.new()
        deck.say("\n\n".join(shown))
        if any(r.strip() for r in rest):
            deck.note("\n\n".join(rest))

    for cell in cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            for kind, text in conv.convert(cell.source):
                if kind == "marker":
                    name, _, arg = text.partition(":")
                    if name == "solution-start":
                        in_solution = True
                    elif name == "solution-end":
                        in_solution = False
                    elif name == "slide":
                        deck.new(arg or None, fresh=True)
                    elif name == "say":
                        deck.say(arg)
                    elif name == "ask":
                        deck.say(f"**Ask the room.** {arg}")
                    else:
                        pending.add(name)
                    continue
                if kind == "notes" or in_solution:
                    deck.note(text)
                elif kind == "exercise" and not take("skip"):
                    exercise(text)
                else:
                    for b in blocks(text):
                        block(b)
            continue
        if cell.cell_type != "code":
            continue
        clean_outputs(cell)
        cell.source = without_glue(cell.source)
        if {"remove-output", "hide-output"} & tags:
            cell.outputs = []
        if not cell.source.strip() and not cell.outputs:
            continue
        if in_solution:
            deck.note(f"```python\n{cell.source}\n```")
            continue
        show, skip, output = take("show"), take("skip"), take("output")
        if skip:
            continue
        hide = (
            output
            or bool({"hide-input", "remove-input"} & tags)
            or is_explorer(cell)
            or (has_figure(cell) and cell.source.count("\n") >= 3)
        )
        if hide:
            cell.metadata["transient"] = {"remove_source": True}
            if not cell.outputs:
                continue
        elif not cell.outputs and not show:
            deck.note(f"```python\n{cell.source}\n```")
            continue
        if is_explorer(cell):
            if not (deck.slides and deck.slides[-1]["fresh"]):
                deck.new(deck.title)
            deck.slides[-1]["room"] = 0
            deck.slides[-1]["cells"].append(cell)
            deck.slides[-1]["fresh"] = False
            continue
        w = (0 if hide else cell.source.count("\n") + 2) + weight_outputs(cell)
        deck.show(cell, w)
    conv.keep_markers = False
    return deck.notebook(nb.metadata)


# -- executing and exporting --------------------------------------------------
def executed(doc: str, executed_dir: Path | None) -> nbformat.NotebookNode:
    src = ROOT / f"{doc}.md"
    if executed_dir:
        done = executed_dir / f"{doc}.ipynb"
        if done.exists():
            # the chapter as it is now (its slide markup), with the outputs and widget state
            # of that run, as long as the code is the code that ran
            nb = nbformat.read(done, as_version=4)
            fresh = jupytext.read(src)
            code = [c for c in nb.cells if c.cell_type == "code"]
            now = [c for c in fresh.cells if c.cell_type == "code"]
            same = [c.source for c in code] == [c.source for c in now]
            if same and all(c.get("execution_count") for c in code if c.source.strip()):
                for old, new in zip(code, now, strict=True):
                    new.outputs, new.execution_count = old.outputs, old.execution_count
                fresh.metadata = nbformat.from_dict({**fresh.metadata, **nb.metadata})
                return fresh
    from nbclient import NotebookClient

    # the kernel inherits it: explorers become plain widgets over precomputed frames, whose
    # state nbclient saves in the notebook (as the book build does, tools/offline_book.py)
    os.environ.setdefault("RNNLIB_EXPLORERS", "frames")
    nb = jupytext.read(src)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}}
    ).execute()
    return nb


def build_one(doc: str, out: Path, executed_dir: Path | None, titles) -> tuple[str, str, float]:
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    t0 = time.perf_counter()
    source = executed(doc, executed_dir)
    conv = Converter(titles, {**stored_glue(doc, executed_dir), **take_glue(source)})
    nb = lecture(source, conv) if is_marked(source) else slideshow(source, conv)
    c = Config()
    c.SlidesExporter.reveal_url_prefix = "reveal.js"
    c.SlidesExporter.reveal_theme = (
        "white"  # its fonts ship with reveal.js ("simple" uses Google's)
    )
    c.SlidesExporter.reveal_transition = "none"
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    # the widget renderer, from the folder copy_assets fills (the template loads no jQuery)
    c.SlidesExporter.require_js_url = f"{WIDGETS_DIR}/require.js"
    c.SlidesExporter.widget_renderer_url = f"{WIDGETS_DIR}/embed-amd.js"
    exporter = SlidesExporter(
        config=c,
        template_name="slides_template",
        extra_template_basedirs=[str(Path(__file__).parent)],
    )
    name = Path(doc).name
    resources = {
        "metadata": {"name": name, "path": str(ROOT / "book")},
        "slides": {
            "mathjax_url": "mathjax/tex-chtml.js",
            "mathjax_config": mathjax_config(),
            "fontawesome_css": "font-awesome/css/font-awesome.min.css",
            "widgets_config_js": f"{WIDGETS_DIR}/config.js",
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    for img in re.findall(r'<img[^>]+src="(?!data:|https?:)([^"]+)"', body):
        src = (ROOT / "book" / img).resolve()
        if src.is_file() and ROOT in src.parents:
            (out / img).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / img)
    path = out / f"{name}.slides.html"
    path.write_text(body, encoding="utf-8")
    title = next(
        (
            c.source.lstrip("# ").splitlines()[0]
            for c in nb.cells
            if c.cell_type == "markdown" and c.source.startswith("# ")
        ),
        name,
    )
    return path.name, title, time.perf_counter() - t0


def copy_assets(out: Path) -> None:
    copy_reveal(out / "reveal.js")
    copy_mathjax(out / "mathjax")
    copy_widgets(out / WIDGETS_DIR)
    fa = ROOT / "node_modules" / "font-awesome"
    (out / "font-awesome" / "css").mkdir(parents=True, exist_ok=True)
    (out / "font-awesome" / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copy2(fa / "css" / "font-awesome.min.css", out / "font-awesome" / "css")
    for f in (fa / "fonts").glob("fontawesome-webfont.woff*"):
        shutil.copy2(f, out / "font-awesome" / "fonts")


def write_index(out: Path, decks: list[tuple[str, str]]) -> None:
    items = "\n".join(f'  <li><a href="{f}">{html.escape(t)}</a></li>' for f, t in decks)
    out.joinpath("index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        "<title>Backpropagation Through Time: slides</title></head>\n<body>\n"
        "<h1>Backpropagation Through Time: slides</h1>\n"
        "<p>One reveal.js deck per chapter. Arrow keys move between slides, "
        "<kbd>s</kbd> opens the speaker notes (exercise solutions), "
        "<kbd>f</kbd> is full screen. On a control you clicked, arrow keys move the "
        "control; click the slide outside it to move between slides again.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n",
        encoding="utf-8",
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", help="docnames like book/03-bptt-t3 (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "slides")
    ap.add_argument(
        "--executed",
        type=Path,
        default=None,
        help="reuse notebooks already executed under this folder (same docnames)",
    )
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    docs = args.chapters or toc_chapters()
    args.out.mkdir(parents=True, exist_ok=True)
    copy_assets(args.out)
    titles = label_titles()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(build_one, d, args.out, args.executed, titles) for d in docs]
        decks = []
        for f in futures:
            name, title, secs = f.result()
            print(f"{args.out / name}  ({secs:.1f} s)")
            decks.append((name, title))
    if not args.chapters:
        write_index(args.out, decks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
