"""Helpers shared by the book, browser, notebook and slides tests (not a test module).

Paths of the built book and decks, the chapter list from ``_toc.yml``, building what
is missing, a local HTTP server, and the headless-Chromium checks both the book and
the slides use (errors, blocked non-local requests, MathJax, embedded ipywidgets,
accessibility with axe-core, matplotlib animations where a page still has one).
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tools import toc

ROOT = Path(__file__).resolve().parent.parent
# BOOK_BUILD_DIR=/tmp/x/_build tests a build made with `--path-output /tmp/x`
BUILD = Path(os.environ.get("BOOK_BUILD_DIR", ROOT / "_build")).resolve()
BIN = Path(sys.executable).parent
HTML = BUILD / "html"
SLIDES = BUILD / "slides"
# the chapters as the book build ran them (RNNLIB_EXPLORERS=frames, widget state kept;
# tools/offline_book.py fills in outputs myst-nb took from its cache), read by the slides
# and by test_notebooks.py
BOOK_EXECUTED = BUILD / "jupyter_execute"
NODE_MODULES = ROOT / "node_modules"
# what tests and builds need from npm (package.json)
NPM_PACKAGES = [
    "mathjax",
    "reveal.js",
    "font-awesome",
    "requirejs",
    "@jupyter-widgets/html-manager",
    "axe-core",
]
SCREENSHOTS = BUILD / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@functools.cache
def chapters() -> list[str]:
    """Docnames in reading order, the root first: ["book/index", "book/01-preface", ...]."""
    return toc.chapters(ROOT)


def source(docname: str) -> Path:
    return ROOT / f"{docname}.md"


SLIDE_TOOLS = [
    ROOT / "tools" / "slides.py",
    ROOT / "tools" / "offline_book.py",
    *sorted((ROOT / "tools" / "slides_template").glob("*")),
]


def stale_pages() -> list[str]:
    """Chapters whose built page is missing or older than their source."""
    out = []
    for d in chapters():
        page = HTML / f"{d}.html"
        if not page.exists() or page.stat().st_mtime < source(d).stat().st_mtime:
            out.append(d)
    return out


def run(cmd: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def ensure_npm() -> None:
    if not all((NODE_MODULES / p).is_dir() for p in NPM_PACKAGES):
        r = run(["npm", "ci", "--no-audit", "--no-fund"])
        assert r.returncode == 0, r.stdout + r.stderr


@contextmanager
def build_lock():
    """Hold an exclusive lock on the build while building into it.

    pytest-xdist workers (``make test``) share _build: when two reach a stale book or
    stale decks at once, one builds and the other waits, then finds them current.
    """
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".tests.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_book() -> Path:
    """Build the book strictly, as ``make book`` does, unless an up-to-date build exists."""
    with build_lock():
        return _ensure_book()


def _ensure_book() -> Path:
    if stale_pages():
        ensure_npm()
        r = run(
            [
                str(BIN / "jupyter-book"),
                "build",
                ".",
                "-W",
                "-n",
                "--keep-going",
                "--path-output",
                str(BUILD.parent),
            ]
        )
        assert r.returncode == 0, "strict book build failed:\n" + (r.stdout + r.stderr)[-6000:]
        assert not stale_pages(), f"pages not rebuilt: {stale_pages()}"
    return HTML


def ensure_slides() -> Path:
    """Build the decks unless they are current, reusing the notebooks the book build ran.

    Those ran with ``RNNLIB_EXPLORERS=frames`` and keep their widget state, which the decks
    embed; tools/slides.py runs any chapter that is missing there or older than its source.
    A deck is stale when it is older than its chapter or than the book's run of it.
    """
    with build_lock():
        return _ensure_slides()


def _ensure_slides() -> Path:
    _ensure_book()

    def stale(doc: str) -> bool:
        deck = SLIDES / f"{Path(doc).name}.slides.html"
        # the chapter, the book's run of it, and what turns it into a deck
        inputs = [source(doc), BOOK_EXECUTED / f"{doc}.ipynb", *SLIDE_TOOLS]
        mtime = max(p.stat().st_mtime for p in inputs if p.exists())
        return not deck.exists() or deck.stat().st_mtime < mtime

    if any(stale(d) for d in chapters()):
        ensure_npm()
        r = run(
            [
                sys.executable,
                "-m",
                "tools.slides",
                "--out",
                str(SLIDES),
                "--executed",
                str(BOOK_EXECUTED),
            ]
        )
        assert r.returncode == 0, "make slides failed:\n" + (r.stdout + r.stderr)[-6000:]
    return SLIDES


def need_chromium():
    """Skip (or, under CI=true, fail) when Chromium or Playwright is missing."""
    why = None
    if not Path(CHROMIUM).exists():
        why = (
            f"Chromium not found at {CHROMIUM}: install it with "
            "`sudo apt-get install chromium` (Debian/Ubuntu) or set CHROMIUM=/path/to/chromium"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "Playwright is missing: `make test` installs requirements.txt into .venv"
    if why:
        if IN_CI:
            pytest.fail(why + " (CI=true: browser tests must run)")
        pytest.skip(why)


@contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) from a background thread."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # a page left while a file was still being sent closes the connection: normal
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)

    handler = functools.partial(Quiet, directory=str(directory))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium_browser():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def is_local(url: str) -> bool:
    u = urlparse(url)
    return u.scheme in ("data", "blob", "about", "file") or u.hostname in ("127.0.0.1", "localhost")


class Watch:
    """Everything that went wrong on one page: JS errors, console errors, failed loads,
    and every non-local request (each one is blocked)."""

    def __init__(self, page):
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("console", self._console)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.route("**/*", self._route)

    def _console(self, msg):
        if msg.type == "error":
            self.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    def _failed(self, req):
        if is_local(req.url):
            self.failed.append(f"{req.url}: {req.failure}")

    def _response(self, resp):
        if resp.status >= 400:
            self.failed.append(f"{resp.url}: HTTP {resp.status}")

    def _route(self, route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def problems(self) -> dict[str, list[str]]:
        found = {
            "page errors": self.page_errors,
            "console errors": [c for c in self.console_errors if not self._blocked(c)],
            "failed loads": self.failed,
            "non-local requests (blocked)": self.external,
        }
        return {k: v for k, v in found.items() if v}

    def _blocked(self, console_text: str) -> bool:
        # a blocked external request also logs a console error; it is reported once, above
        return "net::ERR_FAILED" in console_text and bool(self.external)


def typeset_math(page) -> dict:
    """Wait for MathJax to finish; return counts of math elements, rendered ones, raw TeX."""
    has_math = page.evaluate("() => document.querySelectorAll('.math').length")
    if has_math:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000
        )
        page.evaluate("() => MathJax.startup.promise")
    return page.evaluate(
        """() => {
        const math = [...document.querySelectorAll('.math')];
        const rendered = math.filter(m => m.querySelector('mjx-container')).length;
        const body = document.body.cloneNode(true);
        body.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
            .forEach(e => e.remove());
        const text = body.innerText || '';
        const raw = ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(t => text.includes(t));
        return {math: math.length, rendered: rendered,
                mjx: document.querySelectorAll('mjx-container').length, raw: raw};
    }"""
    )


# html-manager renders each widget view into a new <div class="widget-subarea"> that it
# inserts just before the view's <script>, which stays in the page. The explorer's root
# view is the subarea's child; every view element has the class "jupyter-widgets".
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_ROOT = ".widget-subarea > .jupyter-widgets"
WIDGET_ERROR = ".jupyter-widgets-error-widget"


def wait_widgets(page, timeout: float = 30000) -> int:
    """Wait until html-manager has rendered every embedded widget view on the page.

    Returns how many views there are (0 on a page without widgets). Fails with the
    number left unrendered, or when html-manager shows an error widget instead of a view
    (a model it could not create). The views are ``page.locator(WIDGET_ROOT)``, in page
    order; controls inside them are ipywidgets' own markup, e.g. ``.widget-slider
    .noUi-handle`` (focus it, then arrow keys), ``.widget-toggle-buttons button``,
    ``.widget-dropdown select``, ``.widget-play button``, ``img.widget-image``.
    """
    count = page.locator(WIDGET_VIEW).count()
    if count:
        rendered = f"""() => [...document.querySelectorAll('{WIDGET_VIEW}')].filter(s => {{
            const area = s.previousElementSibling;
            return area && area.matches('.widget-subarea')
                && area.querySelector('.jupyter-widgets');
        }}).length"""
        try:
            page.wait_for_function(f"() => ({rendered})() === {count}", timeout=timeout)
        except Exception:
            done = page.evaluate(rendered)
            pytest.fail(f"html-manager rendered {done} of {count} widget views in {timeout} ms")
    errors = page.locator(WIDGET_ERROR).count()
    assert not errors, f"{errors} widget(s) failed to render (html-manager error widget)"
    return count


def widget_image_digests(scope) -> list[str]:
    """SHA-256 (hex) of the bytes of each ``img.widget-image`` shown in ``scope``.

    ``scope`` is a page or a locator (one explorer, ``page.locator(WIDGET_ROOT).nth(i)``).
    An ipywidgets Image shows its PNG through a blob: URL that changes on every update,
    so compare these digests instead, with each other or with
    ``hashlib.sha256(png_bytes).hexdigest()`` of the PNG Python drew.
    """
    return scope.locator("img.widget-image").evaluate_all(
        """async imgs => Promise.all(imgs.filter(i => i.offsetParent !== null).map(async i => {
            const bytes = await (await fetch(i.src)).arrayBuffer();
            const hash = await crypto.subtle.digest('SHA-256', bytes);
            return [...new Uint8Array(hash)].map(b => b.toString(16).padStart(2, '0')).join('');
        }))"""
    )


AXE = NODE_MODULES / "axe-core" / "axe.min.js"


def run_axe(page, rules_off: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core (node_modules, no network) on the page; return its violations.

    Each is axe's result: ``id`` (the rule), ``impact`` ("minor" ... "critical"),
    ``help``, and ``nodes`` with ``target`` (CSS selectors) and ``html``.
    ``rules_off`` names rules not to run at all.
    """
    if not page.evaluate("() => !!window.axe"):
        # axe bundles UMD libraries that call an anonymous define() when require.js (the
        # widget pages' loader) is present: hide it while axe loads
        page.evaluate("() => { window.__define = window.define; window.define = undefined; }")
        page.add_script_tag(path=str(AXE))
        page.evaluate("() => { window.define = window.__define; delete window.__define; }")
    options = {"resultTypes": ["violations"], "rules": {r: {"enabled": False} for r in rules_off}}
    return page.evaluate("async o => (await axe.run(document, o)).violations", options)


def serious_violations(
    page, violations: list[dict], allowed: dict[tuple[str, str], str]
) -> list[str]:
    """The serious and critical violations' nodes not in ``allowed``, one line each.

    ``allowed`` maps (rule id, CSS selector) to the reason a node of that rule which
    matches the selector is accepted (the theme's markup, not the book's). Matched in the
    page, since axe names the same node by different selectors on different pages.
    """
    out = []
    for v in violations:
        if v["impact"] not in ("serious", "critical"):
            continue
        selectors = [sel for rule, sel in allowed if rule == v["id"]]
        for node in v["nodes"]:
            target = node["target"][-1]  # the node itself (earlier items: enclosing frames)
            ok = selectors and page.evaluate(
                "([t, sels]) => { const e = document.querySelector(t);"
                " return !!e && sels.some(s => e.matches(s)); }",
                [target, selectors],
            )
            if not ok:
                out.append(
                    f"{v['impact']} {v['id']} at {target}: {v['help']} | {node['html'][:160]}"
                )
    return out


def check_animations(page) -> list[str]:
    """Step and play every matplotlib ``to_jshtml`` animation on the page (none is fine).

    Returns a list of failures (empty when every animation advanced both ways)."""
    failures = []
    anims = page.locator("div.animation")
    for i in range(anims.count()):
        a = anims.nth(i)
        slider = a.locator("input.anim-slider")
        img = a.locator("img[id^=_anim_img]")
        page.wait_for_function(
            "s => s.max > 0", arg=slider.element_handle(), timeout=10000
        )  # the Animation object sets the slider range when it starts
        n = int(slider.get_attribute("max") or slider.evaluate("s => s.max"))
        a.locator('button[aria-label="Pause"]').dispatch_event("click")
        a.locator('button[aria-label="First frame"]').dispatch_event("click")
        v0, src0 = int(slider.input_value()), img.get_attribute("src")
        a.locator('button[aria-label="Next frame"]').dispatch_event("click")
        v1 = int(slider.input_value())
        if (v0, v1) != (0, 1):
            failures.append(f"animation {i}: Next frame moved the slider {v0} -> {v1}")
        a.locator('button[aria-label="Last frame"]').dispatch_event("click")
        if img.get_attribute("src") == src0:
            failures.append(f"animation {i}: first and last of {n + 1} frames are the same image")
        a.locator('button[aria-label="First frame"]').dispatch_event("click")
        a.locator('button[aria-label="Play"]').dispatch_event("click")
        try:
            page.wait_for_function("s => +s.value > 0", arg=slider.element_handle(), timeout=5000)
        except Exception:
            failures.append(f"animation {i}: Play did not advance the frame within 5 s")
        a.locator('button[aria-label="Pause"]').dispatch_event("click")
    return failures


def save_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def copy_if_missing(src: Path, dest: Path) -> None:
    """Copy a screenshot into the repository once (UPDATE_SCREENSHOT=1 refreshes it)."""
    if not dest.exists() or os.environ.get("UPDATE_SCREENSHOT") == "1":
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
