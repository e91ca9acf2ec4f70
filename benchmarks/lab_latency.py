"""Latency of a live explorer in `make lab`: a slider moved, to the new picture on screen.

Starts JupyterLab as `make lab` does (its command read from `make -n lab`), on a free
localhost port with the token disabled and runtime, config and workspace directories of
its own, serving a copy of book/ so that nothing the lab saves touches the repository.
Headless Chromium opens chapter 5 (book/05-vanishing-exploding.md) as a notebook and
runs all cells. Then the decay explorer's "N" slider is moved with the keyboard (arrow
keys on its handle) a number of times, and the page itself times each change: from the
keydown to the moment the explorer's <img> gets its new src. Goal: p95 <= 150 ms.

The time is split at the kernel websocket (instrumented in the page): keydown -> the
update sent to the kernel (browser), sent -> the message carrying the new PNG back
(server, kernel, transfer), that message -> the new src (browser). Inside the middle
stage, the explorer's ``update`` calls are timed in the kernel itself (wrapped from a
silent execute, not a cell), and the same N changes are timed again in this process as
bare ``explorer.update(N=...)`` calls, what benchmarks/widgets.py measures.

    .venv/bin/python benchmarks/lab_latency.py [--changes 20]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "book/05-vanishing-exploding.md"
EXPLORER = 'EXPLORERS["decay"]'
CONTROL = "N"
GOAL_MS = 150
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # resolve no host but the lab's: nothing can be fetched from the internet
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Timestamps on the page's clock: keydowns, the kernel websocket's frames, <img> srcs.
INSTRUMENT = """
window.__bench = {key: [], sent: [], recv: [], src: []};
const NativeWebSocket = window.WebSocket;
const size = d => d.byteLength ?? d.size ?? d.length ?? 0;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.__kernel = String(args[0]).includes('/api/kernels/');
    if (this.__kernel) this.addEventListener('message',
      e => window.__bench.recv.push([performance.now(), size(e.data)]));
  }
  send(data) {
    if (this.__kernel) window.__bench.sent.push([performance.now(), size(data)]);
    return super.send(data);
  }
};
document.addEventListener('keydown', () => window.__bench.key.push(performance.now()), true);
"""

# In the kernel: time every explorer.update the notebook's live controls call.
IN_KERNEL = """
import gc as _gc, json as _json, time as _time
from rnnlib.widgets.decay import Decay as _Decay
_bench_ms = []
def _bench_wrap(ex):
    update = ex.update
    def timed(**values):
        t0 = _time.perf_counter()
        try:
            return update(**values)
        finally:
            _bench_ms.append((_time.perf_counter() - t0) * 1000)
    ex.update = timed
for _ex in [o for o in _gc.get_objects() if isinstance(o, _Decay)]:
    _bench_wrap(_ex)
"""

KERNEL = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
RUN_IN_KERNEL = f"""async (code) => {{
  const user_expressions = {{out: '_json.dumps(_bench_ms)'}};
  const reply = await {KERNEL}.requestExecute(
    {{code, silent: true, store_history: false, user_expressions}}
  ).done;
  const out = reply.content.user_expressions && reply.content.user_expressions.out;
  return out && out.data ? out.data['text/plain'] : JSON.stringify(reply.content);
}}"""

ALL_CELLS_RAN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code' && c.sharedModel.getSource().trim() && !c.executionCount) return false;
  }
  return true;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def make_lab(tmp: Path):
    """`make lab` on a copy of book/ (token off, test-only flags); yields its URL."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True, text=True
    )
    cmd = shlex.split(dry.stdout.replace("\\\n", " ").splitlines()[-1])
    assigned = dict(c.split("=", 1) for c in cmd if re.match(r"^[A-Z_]+=", c))
    argv = [c for c in cmd if not re.match(r"^[A-Z_]+=", c) and "root_dir=" not in c]
    root = tmp / "repo"
    shutil.copytree(ROOT / "book", root / "book")
    shutil.copy2(ROOT / "jupytext.toml", root / "jupytext.toml")
    for d in ("config", "runtime"):
        (tmp / d).mkdir()
    env = dict(
        os.environ,
        **assigned,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
    )
    port = free_port()
    argv += [
        f"--ServerApp.root_dir={root}",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--LabApp.expose_app_in_browser=True",  # to run all cells and scroll from the test
        "--allow-root",
    ]
    log = tmp / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/api/status", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit("make lab exited:\n" + log.read_text()[-3000:])
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def open_explorer(page, url: str):
    """Open the chapter, run all cells, bring the explorer into view; its N slider handle."""
    page.add_init_script(INSTRUMENT)
    page.goto(f"{url}/lab/tree/{CHAPTER}?reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    page.wait_for_function(
        "() => { const p = window.jupyterapp.shell.currentWidget; return p.sessionContext"
        " && p.sessionContext.session && p.sessionContext.session.kernel"
        " && p.sessionContext.session.kernel.status === 'idle'; }",
        timeout=120_000,
    )
    t0 = time.perf_counter()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_CELLS_RAN, timeout=600_000, polling=250)
    print(f"ran all cells of {CHAPTER} in {time.perf_counter() - t0:.1f} s")
    index = page.evaluate(
        """(needle) => {
          const nb = window.jupyterapp.shell.currentWidget.content;
          const cells = nb.model.cells;
          for (let i = 0; i < cells.length; i++)
            if (cells.get(i).sharedModel.getSource().includes(needle)) {
              nb.activeCellIndex = i;
              nb.scrollToItem(i, 'start');
              return i;
            }
          return -1;
        }""",
        EXPLORER,
    )
    if index < 0:
        sys.exit(f"no cell with {EXPLORER} in {CHAPTER}")
    cell = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    image = cell.locator(".widget-image").first
    try:
        image.wait_for(timeout=60_000)
    except Exception:  # e.g. "Could not create a view for model id ..." in the output
        sys.exit(f"the explorer shows no picture; its cell reads:\n{cell.inner_text()[-1500:]}")
    slider = cell.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^{CONTROL}$"))
    )
    handle = slider.locator(".noUi-handle").first
    handle.wait_for()
    image.scroll_into_view_if_needed()
    page.evaluate(
        """(img) => new MutationObserver(() => window.__bench.src.push(performance.now()))
                  .observe(img, {attributes: true, attributeFilter: ['src']})""",
        image.element_handle(),
    )
    page.evaluate(RUN_IN_KERNEL, IN_KERNEL)
    readout = slider.locator(".widget-readout").first
    return handle, readout


def measure(page, handle, readout, changes: int) -> list[dict]:
    """Press arrow keys on the handle; per change the page-clock times of each stage."""
    handle.focus()
    rows = []
    keys = ["ArrowRight"] * (changes // 2) + ["ArrowLeft"] * (changes - changes // 2)
    for key in keys:
        before = readout.inner_text()
        page.evaluate("() => { const b = window.__bench; b.key = []; b.src = []; }")
        page.keyboard.press(key)
        page.wait_for_function("() => window.__bench.src.length > 0", timeout=30_000)
        page.wait_for_timeout(300)  # let the kernel go idle and the last messages arrive
        b = page.evaluate("() => window.__bench")
        t_key, t_src = b["key"][0], b["src"][0]
        sent = [t for t, _ in b["sent"] if t >= t_key]
        back = [(n, t) for t, n in b["recv"] if sent and sent[0] <= t <= t_src]
        t_png = max(back)[1] if back else float("nan")  # the largest: the PNG's message
        rows.append(
            {
                "N": f"{before} -> {readout.inner_text()}",
                "total": t_src - t_key,
                "browser_out": (sent[0] if sent else float("nan")) - t_key,
                "kernel": t_png - (sent[0] if sent else float("nan")),
                "browser_in": t_src - t_png,
                "png_kb": (max(back)[0] / 1024) if back else float("nan"),
            }
        )
    return rows


def update_only(ns: list[int]) -> list[float]:
    """The same N changes as bare explorer.update calls in this process (ms)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from rnnlib.widgets import EXPLORERS

    ex = EXPLORERS["decay"]()
    times = []
    for n in ns:
        t0 = time.perf_counter()
        ex.update(N=n)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def stats(xs) -> str:
    xs = np.asarray(xs, float)
    return f"{np.nanmedian(xs):8.1f} {np.nanpercentile(xs, 95):8.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=20, help="slider changes to time")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():  # `make bench` runs every script: skip, do not fail
        print(f"skipped: Chromium not found at {CHROMIUM} (set CHROMIUM=/path/to/chromium)")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, make_lab(Path(tmp)) as url:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                handle, readout = open_explorer(page, url)
                rows = measure(page, handle, readout, args.changes)
                in_kernel = json.loads(ast.literal_eval(page.evaluate(RUN_IN_KERNEL, "")))
            finally:
                browser.close()

    print(f'\n{len(rows)} changes of the decay explorer\'s "{CONTROL}" slider (arrow keys)')
    print(f"{'stage':<46} {'median':>8} {'p95':>8}  (ms)")
    stages = [
        ("keydown -> update sent to the kernel", "browser_out"),
        ("sent -> new PNG's message back (server+kernel)", "kernel"),
        ("PNG's message -> new <img> src", "browser_in"),
    ]
    for label, key in stages:
        print(f"{label:<46} {stats([r[key] for r in rows])}")
        if key == "kernel":
            print(f"{'  of which explorer.update in the kernel':<46} {stats(in_kernel)}")
    total = [r["total"] for r in rows]
    print(f"{'TOTAL keydown -> new <img> src':<46} {stats(total)}")
    print(f"{'  first change alone':<46} {total[0]:8.1f}")
    ns = [int(r["N"].split("->")[1]) for r in rows]
    print(f"{'explorer.update(N=...) in this process':<46} {stats(update_only(ns))}")
    if len(in_kernel) != len(rows):
        print(f"note: {len(in_kernel)} updates ran in the kernel for {len(rows)} changes")
    print(f"PNG message size: median {np.nanmedian([r['png_kb'] for r in rows]):.0f} KiB")
    p95 = np.percentile(total, 95)
    verdict = "meets" if p95 <= GOAL_MS else "misses"
    print(f"goal: p95 <= {GOAL_MS} ms; measured p95 {p95:.1f} ms ({verdict} it)")


if __name__ == "__main__":
    main()
