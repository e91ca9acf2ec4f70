"""Every chapter as a student meets it: a notebook run top to bottom on a fresh kernel.

Outside the book build: jupytext converts each chapter to .ipynb and nbclient runs it
(two kernels at a time) with the working directory a student would have (book/). Every
explorer shown must be a live widget there (a widget view backed by a model in the
kernel), not only its static twin. The executed notebooks are kept in _build/executed/,
where tools/slides.py can reuse them. Also checks that ``make lab`` opens the chapters
as notebooks by default.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import shlex
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor

import jupytext
import nbformat
import pytest
from bookinfra import EXECUTED, ROOT, chapters, source

WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
EXPLORER = re.compile(r"widgets\.(EXPLORERS\[|[A-Z]\w*\()")


def run_chapter(doc: str) -> tuple[str, float, str | None]:
    """Convert and execute one chapter; save it under EXECUTED. Returns (doc, secs, error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    t0 = time.perf_counter()
    nb = jupytext.read(source(doc))
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(source(doc).parent)}},
    )
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc)[-3000:]
    out = EXECUTED / f"{doc}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return doc, time.perf_counter() - t0, error


@pytest.fixture(scope="module")
def executed(request):
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        results = {doc: (secs, err) for doc, secs, err in pool.map(run_chapter, chapters())}
    slowest = max(results.items(), key=lambda kv: kv[1][0])
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(
            f"\n[notebooks] {len(results)} chapters run in {time.perf_counter() - t0:.0f} s "
            f"(2 kernels); slowest {slowest[0]} {slowest[1][0]:.1f} s"
        )
    return results


@pytest.mark.parametrize("doc", chapters())
def test_chapter_runs_top_to_bottom(executed, doc):
    secs, error = executed[doc]
    assert error is None, f"{doc} failed on a fresh kernel:\n{error}"
    nb = nbformat.read(EXECUTED / f"{doc}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), f"{doc}: not every cell ran"


def explorer_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and EXPLORER.search(c.source)]


def with_explorers() -> list[str]:
    return [d for d in chapters() if explorer_cells(jupytext.read(source(d)))]


@pytest.mark.parametrize("doc", with_explorers())
def test_explorers_are_live_widgets(executed, doc):
    nb = nbformat.read(EXECUTED / f"{doc}.ipynb", as_version=4)
    cells = explorer_cells(nb)
    assert cells
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for c in cells:
        views = [o["data"][WIDGET] for o in c.outputs if WIDGET in o.get("data", {})]
        assert views, f"{doc}: explorer cell has no live widget output:\n{c.source}"
        for v in views:
            assert v["model_id"] in models, f"{doc}: widget view without a model in the kernel"
        html = [o["data"].get("text/html", "") for o in c.outputs if WIDGET in o.get("data", {})]
        assert all('class="animation"' in h for h in html), f"{doc}: no kernel-free twin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_opens_chapters_as_notebooks():
    """Start what ``make lab`` starts (plus test-only flags) and ask it how .md files open."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True, text=True
    )
    line = " ".join(dry.stdout.replace("\\\n", " ").splitlines()[-1:])
    cmd = shlex.split(line)
    assert "jupyter" in cmd[1] or "jupyter" in cmd[0], dry.stdout
    env_assign = [c for c in cmd if re.match(r"^[A-Z_]+=", c)]
    argv = [c for c in cmd if c not in env_assign]
    env = dict(__import__("os").environ, **dict(a.split("=", 1) for a in env_assign))
    port, token = free_port(), "bptt-test"
    argv += [
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--allow-root",
    ]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )

    def get(path):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    try:
        for _ in range(120):
            try:
                get("/api/status")
                break
            except OSError:
                time.sleep(0.5)
        plugin = get("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        viewers = plugin["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers.get("markdown") == "Jupytext Notebook", viewers
        assert viewers.get("myst") == "Jupytext Notebook", viewers
        for doc in chapters():
            model = get(f"/api/contents/{doc}.md?type=notebook&content=1")
            assert model["type"] == "notebook" and model["content"]["cells"], doc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
