"""Every chapter as a student meets it: a notebook that runs top to bottom.

The book build already ran every chapter top to bottom on a fresh kernel (myst-nb, with
the working directory book/, into _build/jupyter_execute/); these tests read that run
rather than run the chapters again. Every code cell ran, in order, without an error, and
the notebook jupytext makes of the chapter (what ``make lab`` opens) has exactly the
code cells that ran. The build ran with ``RNNLIB_EXPLORERS=frames``, which only chooses
the face an explorer shows when it is displayed (a test below reads rnnlib and the
chapters for that), so its run stands for a student's. Each explorer must also be a
live widget in a notebook (a widget view backed by a model in the kernel, not only its
frames): for each chapter with explorers, its cells up to its import of rnnlib and its
explorer cells run again on a fresh kernel (two at a time) without that setting.

Then ``make lab``, as a student meets it: chapters open as notebooks, MyST renders
(jupyterlab-myst), the cells the book hides start collapsed, no news pop-up and nothing
fetched from the internet, and opening then saving a chapter leaves its .md unchanged.
"""

from __future__ import annotations

import ast
import difflib
import json
import multiprocessing
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from bookinfra import (
    BIN,
    BOOK_EXECUTED,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    chapters,
    ensure_book,
    is_local,
    need_chromium,
    save_screenshot,
    source,
)

WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
EXPLORER = re.compile(r"widgets\.(EXPLORERS\[|[A-Z]\w*\()")
IMPORTS_RNNLIB = re.compile(r"^\s*(import|from)\s+rnnlib\b", re.M)
FACE_ENV = "RNNLIB_EXPLORERS"  # rnnlib.widgets.FACE_ENV


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def explorer_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and EXPLORER.search(c.source)]


def with_explorers() -> list[str]:
    return [d for d in chapters() if explorer_cells(jupytext.read(source(d)))]


@pytest.fixture(scope="module")
def book_runs():
    """The book build's run of each chapter (built first if the book is stale)."""
    ensure_book()
    return {doc: nbformat.read(BOOK_EXECUTED / f"{doc}.ipynb", as_version=4) for doc in chapters()}


@pytest.mark.book  # reads the book build: `make test` runs it after the build, not beside it
@pytest.mark.parametrize("doc", chapters())
def test_chapter_runs_top_to_bottom(book_runs, doc):
    nb = book_runs[doc]
    run = BOOK_EXECUTED / f"{doc}.ipynb"
    newer = [
        str(f.relative_to(ROOT))
        for f in sorted((ROOT / "rnnlib").rglob("*.py"))
        if f.stat().st_mtime > run.stat().st_mtime
    ]
    assert not newer, f"{doc}: the book ran it before {newer[:3]} changed: run `make book`"
    code = code_cells(nb)
    counts = [c.execution_count for c in code]
    assert all(counts), f"{doc}: not every cell ran"
    assert counts == sorted(counts), f"{doc}: the cells ran out of order: {counts}"
    errors = [
        f"{c.source[:200]}\n{o.get('ename')}: {o.get('evalue')}"
        for c in code
        if "raises-exception" not in c.metadata.get("tags", [])
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"{doc} failed in the book's run:\n" + "\n".join(errors)
    ran = [c.source for c in code]
    opened = [c.source for c in code_cells(jupytext.read(source(doc)))]
    assert opened == ran, (
        f"{doc}: the notebook `make lab` opens differs from the one the book ran:\n"
        + ("\n".join(difflib.unified_diff(ran, opened, "ran", "opened", lineterm="")))
    )


def environment_reads(tree: ast.AST) -> list[tuple[str, int, str | None]]:
    """Each read of the environment in a module or cell: (enclosing class.function or "",
    line, the variable's name, or None when it is not a literal: a read of any variable)."""
    found = []

    def key(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id == "FACE_ENV":
            return FACE_ENV
        return None

    def visit(node, where, parent, grand):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = f"{where}.{node.name}" if where else node.name
        name = getattr(node, "id", getattr(node, "attr", None))
        if isinstance(getattr(node, "ctx", None), ast.Load) and name in ("environ", "environb"):
            if isinstance(parent, ast.Subscript) and parent.value is node:
                found.append((where, node.lineno, key(parent.slice)))
            elif (
                isinstance(parent, ast.Attribute)
                and parent.attr in ("get", "setdefault", "pop")
                and isinstance(grand, ast.Call)
                and grand.func is parent
                and grand.args
            ):
                found.append((where, node.lineno, key(grand.args[0])))
            elif isinstance(parent, ast.Compare) and parent.comparators[-1] is node:
                found.append((where, node.lineno, key(parent.left)))
            else:
                found.append((where, node.lineno, None))
        if isinstance(getattr(node, "ctx", None), ast.Load) and name == "getenv":
            called = isinstance(parent, ast.Call) and parent.func is node and parent.args
            found.append((where, node.lineno, key(parent.args[0]) if called else None))
        for child in ast.iter_child_nodes(node):
            visit(child, where, node, parent)

    visit(tree, "", None, None)
    return found


def references(tree: ast.AST, name: str) -> list[str]:
    """The enclosing class.function ("" at module level) of each use of ``name``."""
    found = []

    def visit(node, where):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = f"{where}.{node.name}" if where else node.name
        if isinstance(getattr(node, "ctx", None), ast.Load) and name in (
            getattr(node, "id", None),
            getattr(node, "attr", None),
        ):
            found.append(where)
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, "")
    return found


def python(cell_source: str) -> ast.AST:
    """A code cell as Python (IPython's %magic and !shell lines left out)."""
    return ast.parse(re.sub(r"(?m)^\s*[%!].*$", "", cell_source))


def test_face_setting_is_read_only_to_pick_a_face():
    """``RNNLIB_EXPLORERS`` changes nothing but the face an explorer shows when displayed:
    rnnlib reads it (or the whole environment) only in ``frames_face``, which only
    ``Explorer._repr_mimebundle_`` uses, and no chapter's code reads it. So the book's run
    (``frames``) computes what a student's run (unset) computes."""
    from rnnlib.widgets import base

    assert base.FACE_ENV == FACE_ENV
    reads, refs = [], []
    for path in sorted((ROOT / "rnnlib").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), name)
        reads += [(name, where, line, k) for where, line, k in environment_reads(tree)]
        refs += [f"{name}:{where}" for where in references(tree, "frames_face")]
    face = [r for r in reads if r[3] in (FACE_ENV, None)]
    assert face, "frames_face no longer reads the environment: update this test"
    outside = [r for r in face if r[:2] != ("rnnlib/widgets/base.py", "frames_face")]
    assert not outside, f"the setting (or the whole environment) is read elsewhere: {outside}"
    assert sorted(set(refs)) == ["rnnlib/widgets/base.py:Explorer._repr_mimebundle_"], refs
    for doc in chapters():
        for c in code_cells(jupytext.read(source(doc))):
            tree = python(c.source)
            bad = [r for r in environment_reads(tree) if r[2] in (FACE_ENV, None)]
            bad += references(tree, "frames_face") + references(tree, "FACE_ENV")
            assert not bad, f"{doc}: a cell reads the explorers' face setting:\n{c.source}"


def live_cells(nb) -> list:
    """The chapter's code cells up to its first import of rnnlib (or else up to its setup
    cell, tagged remove-cell), then its explorer cells."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    setup = [i for i, c in enumerate(cells) if IMPORTS_RNNLIB.search(c.source)]
    setup = setup or [i for i, c in enumerate(cells) if "remove-cell" in c.metadata.get("tags", [])]
    if not setup:
        raise ValueError("no cell imports rnnlib and no setup cell (tagged remove-cell)")
    first = setup[0]
    return cells[: first + 1] + [c for c in cells[first + 1 :] if EXPLORER.search(c.source)]


def run_explorers(doc: str) -> tuple[str, nbformat.NotebookNode | None, str | None]:
    """Run ``live_cells`` of one chapter on a fresh kernel, in book/, with the explorers'
    face setting unset. Returns (doc, the executed notebook, error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(source(doc))
    try:
        nb.cells = live_cells(nb)
    except ValueError as exc:
        return doc, None, str(exc)
    env = {k: v for k, v in os.environ.items() if k != FACE_ENV}
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(source(doc).parent)}},
    )
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        return doc, None, str(exc)[-3000:]
    return doc, nb, None


@pytest.fixture(scope="module")
def live():
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        return {doc: (nb, err) for doc, nb, err in pool.map(run_explorers, with_explorers())}


@pytest.mark.parametrize("doc", with_explorers())
def test_explorers_are_live_widgets(live, doc):
    nb, error = live[doc]
    assert error is None, f"{doc}: its explorers failed on a fresh kernel:\n{error}"
    cells = explorer_cells(nb)
    assert cells
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for c in cells:
        views = [o["data"][WIDGET] for o in c.outputs if WIDGET in o.get("data", {})]
        assert views, f"{doc}: explorer cell has no live widget output:\n{c.source}"
        for v in views:
            assert v["model_id"] in models, f"{doc}: widget view without a model in the kernel"
            kinds = widget_tree(models, v["model_id"])
            assert "ImageModel" in kinds, f"{doc}: the explorer shows no live picture"
            assert "StackModel" not in kinds, f"{doc}: the explorer shows its frames face"


def widget_tree(models: dict, model_id: str) -> set[str]:
    """The model names of a widget and everything it contains."""
    m = models[model_id]
    children = m["state"].get("children", [])
    names = {m["model_name"]}
    for ref in children:
        names |= widget_tree(models, ref.removeprefix("IPY_MODEL_"))
    return names


# -- make lab: the chapters in JupyterLab ---------------------------------------------
# Each test starts what `make lab` starts (read from `make -n lab`), plus test-only flags:
# a free localhost port, a token, and config, runtime and workspace directories of its
# own, so neither a user's ~/.jupyter nor an earlier run changes what it sees. Tests that
# save work on a copy of book/ and jupytext.toml, never on the repository's files.

LAB_CHAPTER = "book/05-vanishing-exploding"  # a setup cell, LaTeX macros, cross-references
TOKEN = "bptt-test"
NOTIFICATION = "@jupyterlab/apputils-extension:notification"
OVERRIDES = ROOT / ".jupyter" / "labconfig" / "default_setting_overrides.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_lab_command() -> tuple[list[str], dict[str, str]]:
    """The argv and the environment variables of `make lab`'s command."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True, text=True
    )
    line = " ".join(dry.stdout.replace("\\\n", " ").splitlines()[-1:])
    cmd = shlex.split(line)
    env_assign = [c for c in cmd if re.match(r"^[A-Z_]+=", c)]
    argv = [c for c in cmd if c not in env_assign]
    assert argv and "jupyter" in argv[0] and argv[1] == "lab", dry.stdout
    return argv, dict(a.split("=", 1) for a in env_assign)


class Lab:
    """A running `make lab` server: its URL and a JSON client for its REST API."""

    def __init__(self, url: str, root: Path, log: Path):
        self.url, self.root, self.log = url, root, log

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def notebook(self, doc: str) -> dict:
        return self.api(f"/api/contents/{doc}.md?type=notebook&content=1")["content"]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def make_lab(root: Path, tmp: Path):
    """Run `make lab` serving ``root``; yield a Lab once it answers."""
    argv, assigned = make_lab_command()
    for d in ("config", "runtime"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        **assigned,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
    )
    port = free_port()
    argv = [a for a in argv if not a.startswith("--ServerApp.root_dir=")]
    argv += [
        f"--ServerApp.root_dir={root}",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
        "--allow-root",
    ]
    log = tmp / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", root, log)
    try:
        for _ in range(240):
            try:
                lab.api("/api/status")
                break
            except OSError:
                assert proc.poll() is None, "make lab exited:\n" + lab.log_tail()
                time.sleep(0.25)
        else:
            pytest.fail("make lab did not answer within 60 s:\n" + lab.log_tail())
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def lab_at_root(tmp_path_factory):
    """`make lab` as a student starts it, on the repository (only read, never saved to)."""
    with make_lab(ROOT, tmp_path_factory.mktemp("lab-root")) as lab:
        yield lab


@pytest.fixture(scope="module")
def lab_on_copy(tmp_path_factory):
    """`make lab` on a copy of book/ and jupytext.toml; ``.original`` maps doc -> bytes."""
    tmp = tmp_path_factory.mktemp("lab-copy")
    root = tmp / "repo"
    shutil.copytree(ROOT / "book", root / "book")
    shutil.copy2(ROOT / "jupytext.toml", root / "jupytext.toml")
    with make_lab(root, tmp) as lab:
        lab.original = {doc: (root / f"{doc}.md").read_bytes() for doc in chapters()}
        yield lab


def tagged(cell: dict, tag: str) -> bool:
    return tag in cell["metadata"].get("tags", [])


def test_make_lab_opens_chapters_as_notebooks(lab_at_root):
    plugin = lab_at_root.api("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    viewers = plugin["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers.get("markdown") == "Jupytext Notebook", viewers
    assert viewers.get("myst") == "Jupytext Notebook", viewers
    for doc in chapters():
        model = lab_at_root.api(f"/api/contents/{doc}.md?type=notebook&content=1")
        assert model["type"] == "notebook" and model["content"]["cells"], doc


def test_jupyterlab_myst_is_enabled_for_make_lab():
    """MyST in markdown cells needs jupyterlab-myst installed (at the pinned version) and
    enabled for `make lab`. `labextension list` also marks it as not matching this
    JupyterLab (it declares @jupyter/ydoc 3, JupyterLab 4.6 ships 4), but it does not load
    that package; test_lab_in_chromium sees it render."""
    pin = re.search(r"^jupyterlab-myst==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin, "requirements.txt pins jupyterlab-myst"
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(ROOT / ".jupyter"))
    out = subprocess.run(
        [str(BIN / "jupyter"), "labextension", "list"], env=env, capture_output=True, text=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((ln for ln in text.splitlines() if ln.strip().startswith("jupyterlab-myst ")), "")
    assert f"jupyterlab-myst v{pin[1]} enabled" in line, text
    server = subprocess.run(
        [str(BIN / "jupyter"), "server", "extension", "list"],
        env=env,
        capture_output=True,
        text=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", server.stdout + server.stderr)
    assert re.search(r"jupyterlab_myst\s+enabled", text), text


def test_lab_settings_exist_in_this_jupyterlab():
    """Every override names a plugin and a setting of the installed JupyterLab, with a valid
    value: a misspelt or renamed key is silently ignored by the lab."""
    import jsonschema
    from jupyterlab.commands import get_app_dir

    schemas = Path(get_app_dir()) / "schemas"
    overrides = json.loads(OVERRIDES.read_text())
    for plugin, settings in overrides.items():
        package, name = plugin.rsplit(":", 1)
        schema_file = schemas / package / f"{name}.json"
        assert schema_file.exists(), f"{plugin}: no such plugin in {schemas}"
        props = json.loads(schema_file.read_text())["properties"]
        for key, value in settings.items():
            assert key in props, f"{plugin}: no setting {key!r} (has {sorted(props)})"
            jsonschema.validate(value, props[key])
    # no news feed and no update check: "Never" is the string "false" in this schema
    assert overrides[NOTIFICATION] == {"fetchNews": "false", "checkForUpdates": False}


def test_make_lab_fetches_no_news(lab_at_root):
    schema = lab_at_root.api(f"/lab/api/settings/{NOTIFICATION}")["schema"]["properties"]
    assert schema["fetchNews"]["default"] == "false"
    assert schema["checkForUpdates"]["default"] is False
    assert lab_at_root.api("/lab/api/news") == {"news": []}
    assert lab_at_root.api("/lab/api/update") == {"notification": None}


def test_make_lab_collapses_the_cells_the_book_hides(lab_at_root):
    """Setup cells (remove-cell) open with source and outputs collapsed, plotting code
    (hide-input) with its source collapsed; chapters using the book's LaTeX macros open with
    them defined for jupyterlab-myst in a collapsed first cell."""
    seen = 0
    for doc in chapters():
        text = source(doc).read_text()
        cells = lab_at_root.notebook(doc)["cells"]
        for cell in cells:
            hidden = cell["metadata"].get("jupyter", {})
            if tagged(cell, "remove-cell"):
                seen += 1
                assert hidden == {"source_hidden": True, "outputs_hidden": True}, (doc, cell)
            elif tagged(cell, "hide-input"):
                assert hidden == {"source_hidden": True}, (doc, cell)
            elif cell["metadata"].get("bptt_lab") != "macros":
                assert not hidden, (doc, cell)
        if re.search(r"\\(diag|R|ipartial)\b", text):
            first = cells[0]
            assert first["metadata"].get("bptt_lab") == "macros", doc
            front = yaml.safe_load(first["source"].strip().strip("-"))
            assert front["math"]["\\diag"] == "\\operatorname{diag}", (doc, front)
    assert seen, "no remove-cell cell in any chapter"


def lab_kernelspec(lab: Lab) -> dict:
    """The kernelspec the lab writes into a notebook it runs with its default kernel."""
    specs = lab.api("/api/kernelspecs")
    spec = specs["kernelspecs"][specs["default"]]["spec"]
    # in the lab's key order, which jupytext keeps when it writes the header
    return {
        "name": specs["default"],
        "display_name": spec["display_name"],
        "language": spec["language"],
    }


def test_lab_round_trip_leaves_chapters_unchanged(lab_on_copy):
    """Open each chapter and save it as the lab does once a kernel started: with the
    kernel's language_info, and its kernelspec where the stored one differs (the lab then
    replaces it). The .md must not change by a byte."""
    lab = lab_on_copy
    language_info = {
        "name": "python",
        "version": platform.python_version(),
        "mimetype": "text/x-python",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "pygments_lexer": "ipython3",
        "nbconvert_exporter": "python",
        "file_extension": ".py",
    }
    changed = []
    for doc in chapters():
        nb = lab.notebook(doc)
        if nb["metadata"].get("kernelspec") != lab_kernelspec(lab):
            nb["metadata"]["kernelspec"] = lab_kernelspec(lab)
        nb["metadata"]["language_info"] = language_info
        lab.api(
            f"/api/contents/{doc}.md", "PUT", {"type": "notebook", "format": "json", "content": nb}
        )
        saved = (lab.root / f"{doc}.md").read_bytes()
        if saved != lab.original[doc]:
            diff = difflib.unified_diff(
                lab.original[doc].decode().splitlines(), saved.decode().splitlines(), lineterm=""
            )
            changed.append(f"{doc}:\n" + "\n".join(list(diff)[:20]))
    assert not changed, "saving from the lab rewrites:\n" + "\n".join(changed)


# Chromium resolves no host name but the lab's: anything fetched from the internet fails
# (and is listed), without routing every request through Playwright, which would stall
# the lab's many script loads whenever the test waits.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@contextmanager
def offline_chromium():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, OFFLINE])
        try:
            yield browser
        finally:
            browser.close()


def test_lab_in_chromium(lab_on_copy):
    """A student opens a chapter in `make lab`: MyST and math render, the setup cell is
    collapsed, no news pop-up, nothing is fetched from the internet, and saving after the
    kernel started writes back the same bytes."""
    lab, doc = lab_on_copy, LAB_CHAPTER
    setup = next(c for c in lab.notebook(doc)["cells"] if tagged(c, "remove-cell"))
    lines = setup["source"].strip().splitlines()
    first_line, last_line = lines[0], lines[-1]  # the collapsed cell shows only its first
    external = []
    with offline_chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: None if is_local(r.url) else external.append(r.url))
        page.goto(f"{lab.url}/lab/tree/{doc}.md?reset&token={TOKEN}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60000)
        wait_for_kernel(lab, f"{doc}.md", page)
        page.wait_for_selector(".jp-NotebookPanel .jp-MarkdownCell .myst h1", timeout=20000)
        page.wait_for_timeout(1500)  # let the first screen of cells render and typeset
        save_screenshot(page, "lab-" + Path(doc).name)

        rendered = page.locator(".jp-NotebookPanel .jp-MarkdownCell .myst")
        text = "\n".join(rendered.all_inner_texts())
        assert rendered.count() >= 3, "jupyterlab-myst did not render the markdown cells"
        assert "Vanishing and exploding gradients" in page.locator(".myst h1").first.inner_text()
        for raw in ("(ch-vanishing)=", "{ref}`", "{eq}`", "{cite:", "Undefined control"):
            assert raw not in text, f"raw MyST or a math error in the rendered cells: {raw}"
        math = page.locator(".jp-NotebookPanel .myst").locator(".katex, mjx-container")
        assert math.count() > 0, "no typeset math"

        collapsed = page.locator(".jp-NotebookPanel .jp-CodeCell").filter(
            has=page.locator(".jp-InputPlaceholder")
        )
        assert collapsed.count() and collapsed.first.is_visible(), "the setup cell is open"
        shown = collapsed.first.inner_text()
        assert first_line in shown and last_line not in shown, shown
        assert not page.get_by_text(last_line).first.is_visible(), last_line
        assert page.get_by_text("rng = np.random.default_rng(0)").first.is_visible()

        assert page.get_by_text("official Jupyter news").count() == 0, "news pop-up shown"

        page.locator(".jp-NotebookPanel .jp-MarkdownCell").nth(1).click()
        with page.expect_response(
            lambda r: r.request.method == "PUT" and f"/api/contents/{doc}.md" in r.url
        ) as saved:
            page.keyboard.press("Control+s")
        assert saved.value.status == 200, saved.value.status
        page.close()
    assert not external, f"the lab fetched from the internet: {external}"
    after = (lab.root / f"{doc}.md").read_bytes()
    assert after == lab.original[doc], "saving from the lab changed the .md"


def wait_for_kernel(lab: Lab, path: str, page, timeout: float = 60) -> None:
    """Until the chapter's kernel has started and is idle (the lab then set its metadata)."""
    name = Path(path).name  # the lab names a notebook's session after the file
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        sessions = [s for s in lab.api("/api/sessions") if name in (s["name"], s["path"])]
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            return
        page.wait_for_timeout(250)  # not time.sleep: Playwright must keep serving the page
    pytest.fail(f"no idle kernel for {path} after {timeout} s: {sessions}\n" + lab.log_tail())
