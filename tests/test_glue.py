"""Numbers in the prose are the numbers the cells computed (myst-nb ``glue``).

Every chapter's prose, math and ``% say:`` / ``% ask:`` speaker notes are scanned for
numbers. A number must be one of:

* glued: inserted by a ``{glue:...}`` role (so it is not in the text at all);
* an integer 0-12 (small counts, indices, equation numbers) or a year 1900-2099;
* defined by the text, and then listed, exactly as written, on the chapter's
  ``% numbers: ...`` comment line(s) (an example's input: N = 50, seed 0, lag 40).

Not scanned: the front matter, code cells and code blocks, inline code, labels
(``(name)=``, ``$$ (eq-name)``, ``\\label{...}``), the roles ``{ref}``, ``{eq}``,
``{numref}``, ``{cite...}``, ``{doc}``, ``{glue...}``, URLs and link targets, HTML tags,
directive options (``:width: 80%``) and the argument of directives that name a file
or a key (``{figure} path``, ``{glue:math} key``), and MyST comments other than the
notes.

Each of chapters 3-9 binds at least MIN_GLUE_PER_CHAPTER numbers with glue and the book
at least MIN_GLUE_BOOK; every glued key a chapter's prose uses is glued by a code cell of
that chapter, with the chapter's prefix (``ch7-...``). The book has at least
MIN_DISPLAY_EQUATIONS display equations, counted as in ``display_equations``.

The slide tool (tools/slides.py) shows the glued values in slides and speaker notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest
from bookinfra import ROOT

from tools import slides

BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("*.md"))
GLUE_CHAPTERS = [md for md in CHAPTERS if re.match(r"0[3-9]-", md.name)]
MIN_GLUE_PER_CHAPTER = 2
MIN_GLUE_BOOK = 30
MIN_DISPLAY_EQUATIONS = 60

# a number as written: 7, 0.75, 1,000, 1e-4, 2.5E+3, 1.4.0, the 10 of 10x; not part of a
# name (x1, L2, W_12, ch7) and not the tail of a longer number
NUMBER = re.compile(
    r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)*(?:[eE][-+−]?\d+)?(?![\d_])(?!\.\d)"
)
FENCE = re.compile(r"^\s*(`{3,}|:{3,})\s*(?:\{([^}]*)\})?\s*(.*)$")
# directives whose body is code or data, not prose
CODE_DIRECTIVES = {
    "code-cell",
    "code-block",
    "code",
    "sourcecode",
    "literalinclude",
    "raw-cell",
    "raw",
    "bibliography",
    "eval-rst",
}
# directives whose argument names a file or a label, not prose
PATH_ARG_DIRECTIVES = {
    "figure",
    "image",
    "include",
    "literalinclude",
    "bibliography",
    "solution",
    "solution-start",
    "solution-end",
}
NOTE = re.compile(r"^\s*%\s*(say|ask)\b:?\s*(.*)$")
NUMBERS_LINE = re.compile(r"^\s*%\s*numbers:(.*)$")
IGNORED_ROLE = re.compile(r"\{(?:ref|eq|numref|doc|download|cite(?::\w+)?|glue(?::\w*)?)\}`[^`]*`")
GLUE_ROLE = re.compile(r"\{(glue(?::\w*)?)\}`([^`]*)`")
GLUE_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{(glue(?::\w*)?)\}\s*(\S+)")
GLUE_CALL = re.compile(r"\bglue\(\s*(?:name\s*=\s*)?(f?)([\"'])(.*?)\2")


@dataclass
class Chapter:
    path: Path
    prose: list[tuple[int, str]]  # (line number, text to scan), code and markup removed
    numbers: set[str]  # the chapter's `% numbers:` line(s)
    code: list[str]  # the code cells' sources
    markdown: str  # everything outside code cells


def strip_inline(text: str) -> str:
    """Remove from one line of prose what is not read as a number in it."""
    text = re.sub(r"<!--.*?-->", " ", text)
    text = IGNORED_ROLE.sub(" ", text)
    text = re.sub(r"``.*?``|`[^`]*`", " ", text)  # inline code (other roles' content stays)
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # link targets
    text = re.sub(r"<https?://[^>]*>|https?://\S+|www\.\S+", " ", text)
    text = re.sub(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>", " ", text)  # HTML tags, attributes
    text = re.sub(r"\\label\{[^}]*\}", " ", text)
    text = re.sub(r"\$\$\s*\([\w:.-]+\)\s*$", "$$", text)  # $$ (eq-label)
    text = re.sub(r"\[\^[\w-]+\]", " ", text)  # footnote references
    return text


def read_chapter(path: Path) -> Chapter:
    lines = path.read_text(encoding="utf-8").splitlines()
    prose: list[tuple[int, str]] = []
    numbers: set[str] = set()
    code: list[str] = []
    markdown: list[str] = []
    i = 0
    if lines and lines[0].strip() == "---":  # front matter (jupytext header)
        i = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), 0) + 1
    fences: list[tuple[str, str | None]] = []  # open directives: (fence, name)
    after_opener = False
    while i < len(lines):
        line, n = lines[i], i + 1
        i += 1
        m = FENCE.match(line)
        if m and fences and m.group(1)[0] == fences[-1][0][0] and not m.group(2):
            if len(m.group(1)) >= len(fences[-1][0]) and not m.group(3):
                fences.pop()  # a closing fence
                after_opener = False
                markdown.append(line)
                continue
        if m and (m.group(2) is not None or m.group(1)[0] == "`"):
            name = (m.group(2) or "").strip()
            if name in CODE_DIRECTIVES or (m.group(2) is None and m.group(1)[0] == "`"):
                # a code cell or code block: skip to its closing fence
                fence, body = m.group(1), []
                close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
                while i < len(lines) and not close.match(lines[i]):
                    body.append(lines[i])
                    i += 1
                i += 1
                if name == "code-cell":
                    code.append("\n".join(body))
                else:
                    markdown.append("")
                continue
            fences.append((m.group(1), name))
            after_opener = True
            markdown.append(line)
            arg = m.group(3)
            if name.startswith("glue") or name in PATH_ARG_DIRECTIVES:
                arg = ""
            prose.append((n, strip_inline(arg)))
            continue
        markdown.append(line)
        if after_opener and re.match(r"^\s*:[\w-]+:", line):
            continue  # a directive option
        after_opener = False
        numbers_line = NUMBERS_LINE.match(line)
        if numbers_line:
            numbers.update(numbers_line.group(1).split())
            continue
        note = NOTE.match(line)
        if note:
            prose.append((n, strip_inline(note.group(2))))
            continue
        if re.match(r"^\s*%", line) or re.match(r"^\s*\([\w:.-]+\)=\s*$", line):
            continue  # other MyST comments, labels
        if line.startswith("+++"):
            continue  # cell break (with its metadata)
        prose.append((n, strip_inline(line)))
    return Chapter(path, prose, numbers, code, "\n".join(markdown))


def allowed(token: str, defined: set[str]) -> bool:
    if token in defined:
        return True
    if re.fullmatch(r"\d+", token):
        value = int(token)
        return value <= 12 or 1900 <= value <= 2099
    return False


def stray_numbers(ch: Chapter) -> list[str]:
    """Every number in the chapter's prose that is neither glued nor allowed."""
    out = []
    for n, text in ch.prose:
        for m in NUMBER.finditer(text):
            if not allowed(m.group(0), ch.numbers):
                context = text[max(0, m.start() - 40) : m.end() + 40].strip()
                out.append(f"{ch.path.name}:{n}: {m.group(0)!r} in ...{context}...")
    return out


def glue_uses(ch: Chapter) -> list[str]:
    """The keys of the chapter's glue roles and glue directives, in order."""
    keys = []
    for m in GLUE_ROLE.finditer(ch.markdown):
        text = m.group(2)
        keys.append(text.rpartition(":")[0] if m.group(1) == "glue:text" and ":" in text else text)
    for line in ch.markdown.splitlines():
        d = GLUE_DIRECTIVE.match(line)
        if d:
            keys.append(d.group(2))
    return keys


def glued_keys(ch: Chapter) -> list[re.Pattern]:
    """What the chapter's code cells glue: each key, or the pattern of an f-string key."""
    out = []
    for src in ch.code:
        for f, _, key in GLUE_CALL.findall(src):
            if f:
                parts = re.split(r"\{[^}]*\}", key)
                out.append(re.compile(".+".join(re.escape(p) for p in parts)))
            else:
                out.append(re.compile(re.escape(key)))
    return out


def display_equations(ch: Chapter) -> int:
    """Display equations in the chapter's Markdown (code cells not counted).

    Each ``$$ ... $$`` block counts once however many lines it aligns, as does each
    ``{math}`` directive, each ``{glue:math}`` directive and each top-level amsmath
    environment (``\\begin{align}`` ... outside $$, which the amsmath extension displays).
    """
    text = re.sub(r"`[^`\n]*`", " ", ch.markdown)
    count = len(re.findall(r"\$\$.+?\$\$", text, re.S))
    count += len(re.findall(r"^\s*(?:`{3,}|:{3,})\{(?:math|glue:math)\}", text, re.M))
    outside = re.sub(r"\$\$.+?\$\$", " ", text, flags=re.S)
    env = r"equation|align|gather|multline|flalign|alignat|eqnarray"
    count += len(re.findall(rf"^\s*\\begin\{{(?:{env})\*?\}}", outside, re.M))
    return count


@pytest.fixture(scope="module")
def book() -> dict[str, Chapter]:
    return {md.name: read_chapter(md) for md in CHAPTERS}


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_glued_or_defined(book, md):
    stray = stray_numbers(book[md.name])
    assert not stray, (
        f"{len(stray)} number(s) in {md.name} neither glued ({{glue:text}}), nor 0-12, nor "
        "a year, nor on its `% numbers:` line:\n" + "\n".join(stray)
    )


@pytest.mark.parametrize("md", GLUE_CHAPTERS, ids=lambda p: p.stem)
def test_chapter_binds_numbers_with_glue(book, md):
    uses = glue_uses(book[md.name])
    assert len(uses) >= MIN_GLUE_PER_CHAPTER, f"{md.name}: {len(uses)} glue role(s)"


def test_book_binds_numbers_with_glue(book):
    total = sum(len(glue_uses(ch)) for ch in book.values())
    assert total >= MIN_GLUE_BOOK, f"{total} glue roles in the book"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_glued_keys_come_from_the_same_chapter(book, md):
    ch = book[md.name]
    glued = glued_keys(ch)
    missing = [k for k in glue_uses(ch) if not any(p.fullmatch(k) for p in glued)]
    assert not missing, f"{md.name}: no code cell of the chapter glues {missing}"
    prefix = re.match(r"(\d+)-", md.name)
    if prefix:
        want = f"ch{int(prefix.group(1))}-"
        wrong = [p.pattern for p in glued if not p.pattern.replace("\\", "").startswith(want)]
        assert not wrong, f"{md.name}: glue keys without the prefix {want!r}: {wrong}"


def test_book_has_enough_display_equations(book):
    total = sum(display_equations(ch) for ch in book.values())
    assert total >= MIN_DISPLAY_EQUATIONS, f"{total} display equations"


# -- the checker itself, on text made up for it ------------------------------------------
SAMPLE = """---
jupytext:
  formats: md:myst
---

(ch-sample)=
# A sample 2025

% numbers: 50 0.75 1e-4
% slide: Ignored title 999
% say: The horizon is {glue:text}`ch7-horizon:.1f` steps, not 31.

With N = 50 and $\\lambda_1 = 0.75$ the step is 1e-4 and `lr = 0.3` (see {eq}`eq-17`,
{numref}`fig-42`, {cite:p}`pascanu2013` and https://example.org/page-77). It
grows to 3.7 times its start, <img src="a-21.png" width="300"> 100x faster:

$$
x_{t} = 2 x_{t-1}
$$ (eq-label-88)

```{code-cell} ipython3
x = 123.4
glue("ch7-horizon", 14.0, display=False)
glue(f"ch7-run-{seed}", 0.5, display=False)
```

```{figure} images/fig-55.png
:width: 80%
:name: fig-sample

A caption that quotes 0.001.
```

$$
\\frac{dE}{dW} = 0.9^{40} \\label{eq-99}
$$

Again {glue:text}`ch7-run-3:.2f`, {glue}`ch7-missing` and [a link](https://x.org/a-66).
"""


def test_checker_reads_prose_math_and_notes(tmp_path):
    md = tmp_path / "07-sample.md"
    md.write_text(SAMPLE, encoding="utf-8")
    ch = read_chapter(md)
    found = sorted(s.split("'")[1] for s in stray_numbers(ch))
    # 31 (a note), 3.7 and 100 (prose), 0.001 (a caption), 0.9 and 40 (math); not the year,
    # the defined numbers, code, roles, labels, URLs, HTML, options or the figure's path
    assert found == ["0.001", "0.9", "100", "3.7", "31", "40"], stray_numbers(ch)
    assert ch.numbers == {"50", "0.75", "1e-4"}
    assert glue_uses(ch) == ["ch7-horizon", "ch7-run-3", "ch7-missing"]
    glued = glued_keys(ch)
    missing = [k for k in glue_uses(ch) if not any(p.fullmatch(k) for p in glued)]
    assert missing == ["ch7-missing"]
    assert display_equations(ch) == 2


def test_number_tokens():
    text = "x1 L2 W_12 v1.4.0 1,000 1e-4 2.5E+3 0.75. (7, 8) 95% 10x"
    assert [m.group(0) for m in NUMBER.finditer(text)] == [
        "1,000",
        "1e-4",
        "2.5E+3",
        "0.75",
        "7",
        "8",
        "95",
        "10",
    ]


# -- glued numbers on the slides ----------------------------------------------------------
DECK_SOURCE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# Glue on slides

% numbers: 0.25

% slide: A measured horizon
% say: The horizon is {glue:text}`ch3-horizon:.1f` steps at rate 0.25.

```{code-cell} ipython3
from myst_nb import glue

horizon = 13.987
glue("ch3-horizon", horizon, display=False)
glue("ch3-count", 1234567, display=False)
glue("ch3-ratio", 0.123456)
```

% show
After {glue:text}`ch3-count:,` updates the ratio is {glue:text}`ch3-ratio:.2%`.

The plain value: {glue}`ch3-horizon`.
"""


@pytest.fixture(scope="module")
def glued_deck(tmp_path_factory):
    """The sample chapter run on a kernel (glue as myst-nb stores it), then made a deck."""
    from nbclient import NotebookClient

    nb = jupytext.reads(DECK_SOURCE, fmt="md:myst")
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    glued = slides.take_glue(nb)
    deck = slides.lecture(nb, slides.Converter({}, glued))
    return glued, deck


def test_take_glue_reads_myst_nb_glue(glued_deck):
    glued, deck = glued_deck
    assert set(glued) == {"ch3-horizon", "ch3-count", "ch3-ratio"}
    assert glued["ch3-horizon"]["text/plain"] == "13.987"
    code = [c for c in deck.cells if c.cell_type == "code"]
    # the display=False outputs are gone; the displayed one stays
    for c in code:
        for o in c.outputs:
            assert not any(k.startswith("application/papermill") for k in o.get("data", {}))


def test_slides_and_notes_show_glued_values(glued_deck):
    _, deck = glued_deck
    shown = "\n".join(
        c.source
        for c in deck.cells
        if c.cell_type == "markdown" and c.metadata["slideshow"]["slide_type"] != "notes"
    )
    everything = "\n".join(c.source for c in deck.cells if c.cell_type == "markdown")
    assert "The horizon is 14.0 steps at rate 0.25." in shown  # a `% say:` line
    assert "After 1,234,567 updates the ratio is 12.35%." in shown
    assert "The plain value: 13.987." in everything
    assert "{glue" not in everything and "numbers:" not in everything


def test_slides_name_a_key_no_cell_glued():
    conv = slides.Converter({}, {"ch3-a": {"text/plain": "1.5"}})
    assert conv.inline("x {glue:text}`ch3-a:.0f` y") == "x 2 y"
    with pytest.raises(ValueError, match="ch3-b"):
        conv.inline("{glue:text}`ch3-b:.2f`")


def test_decks_read_the_glue_the_book_build_stored(tmp_path):
    # myst-nb writes display=False glue to <doc>.glue.json beside the executed notebook
    (tmp_path / "book").mkdir()
    record = {
        "output_type": "display_data",
        "data": {"text/plain": "0.75"},
        "metadata": {
            "scrapbook": {"name": "ch3-x", "mime_prefix": "application/papermill.record/"}
        },
    }
    import json

    (tmp_path / "book" / "03-x.glue.json").write_text(json.dumps({"ch3-x": record}))
    glued = slides.stored_glue("book/03-x", tmp_path)
    assert glued == {"ch3-x": {"text/plain": "0.75"}}
    assert slides.glue_text(glued, "glue:text", "ch3-x:.1f") == "0.8"
    assert slides.stored_glue("book/04-y", tmp_path) == {}
    assert slides.stored_glue("book/03-x", None) == {}
