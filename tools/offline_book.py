"""Sphinx extension: make the built book work with no network, and offer .ipynb downloads.

Loaded from ``_config.yml`` (``sphinx: local_extensions: {tools.offline_book: .}``). It

* copies MathJax 3 from ``node_modules`` (``npm ci``, see package.json) into
  ``<html>/mathjax/``; ``mathjax_path`` in ``_config.yml`` points there. The folder
  is deliberately not ``_static``: jupyter-book would add every .js under a static
  path to every page;
* copies what embedded ipywidgets need into ``<html>/widgets/`` (``copy_widgets``):
  require.js, ``@jupyter-widgets/html-manager``'s ``embed-amd.js``, the Font Awesome 5
  ``.woff2`` files it asks for, and ``config.js``, which points require.js and the fonts
  at that folder (relative to where it was loaded from, so ``file://`` works too) and
  gives html-manager a local "CDN" for unknown widget modules, so nothing is fetched from
  the network. ``nb_ipywidgets_js`` in ``_config.yml`` lists these files; myst-nb adds them
  only to pages whose notebook carries widget state;
* sets ``RNNLIB_EXPLORERS=frames`` for the kernels myst-nb starts, so explorers save
  their precomputed frames as widget state (see ``setup``);
* makes markup and colours from the toolchain pass axe-core (``tests/test_browser.py``):
  see ``A11Y_MARKUP`` and ``A11Y_CSS``;
* switches sphinx-thebe off (it declares ``THEBE_JS_URL`` twice on every page, a
  JavaScript SyntaxError, and points at unpkg.com); the book's live mode is
  JupyterLab or a launch button, not thebe;
* keeps the outputs and widget state in myst-nb's executed copies
  (``_build/jupyter_execute/``) when they come from the execution cache, so
  ``tools/slides.py --executed`` can reuse them;
* writes each chapter as a notebook (jupytext) next to its source in ``_sources/``
  and tells sphinx-book-theme, so the download menu offers ``.ipynb`` even when no
  launch URL is configured (the theme only does this when one is).

The asset helpers are shared with ``tools/slides.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import sphinx_private

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"

# What a page needs from the MathJax 3 distribution: the TeX + CommonHTML
# component, the extensions and fonts it loads on demand, the menu and
# accessibility parts (speech rules included so the a11y explorer works offline).
MATHJAX_PARTS = ["tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y", "sre", "adaptors"]
# reveal.js 5: the core, its themes (with their fonts) and the speaker-notes plugin.
REVEAL_PARTS = ["dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme", "plugin/notes"]
# The folder, next to the pages or decks, that serves embedded ipywidgets.
WIDGETS_DIR = "widgets"
# Loaded after require.js and before embed-amd.js; see the comments inside.
WIDGETS_CONFIG_JS = """\
// Embedded ipywidgets load everything from this folder (written by tools/offline_book.py).
(function () {
  var script = document.currentScript;
  var here = new URL(".", script.src).href;
  // A widget module html-manager does not bundle is looked up under require's baseUrl
  // and then on the "CDN" named by any script's data-jupyter-widgets-cdn attribute
  // (jsdelivr by default): both are this folder, so it fails here instead of going online.
  require.config({ baseUrl: here });
  script.setAttribute("data-jupyter-widgets-cdn", here);
  script.setAttribute("data-jupyter-widgets-cdn-only", "");
  window.__jupyter_widgets_assets_path__ = here;
  // html-manager's style sheets name their Font Awesome 5 files relative to require.js
  // module URLs, which is wrong for file:// (origin "null") and for this flat folder:
  // rewrite them before any glyph asks for a font.
  var font = /url\\([^)]*?([0-9a-f]{20}\\.(?:woff2|woff|ttf|eot|svg))/g;
  function fixFonts(style) {
    if (style.textContent.indexOf("Font Awesome 5") >= 0) {
      style.textContent = style.textContent.replace(font, "url(" + here + "$1");
    }
  }
  // Each widget as html-manager attaches it. The book theme's Font Awesome 6 script swaps
  // every <i class="fa ..."> for an <svg>, which breaks widgets that later change their
  // icon's class (Play): mark widget icons as done so it leaves them alone. And name the
  // controls ipywidgets leaves nameless for screen readers: Play's icon-only buttons, and
  // slider handles (named after the slider's description).
  var playNames = { "fa-play": "Play or pause", "fa-pause": "Play or pause",
                    "fa-stop": "Stop", "fa-retweet": "Repeat", "fa-repeat": "Repeat" };
  function within(node, selector) {
    var found = Array.prototype.slice.call(node.querySelectorAll(selector));
    return node.matches(selector) ? [node].concat(found) : found;
  }
  function fixWidget(node) {
    within(node, "i").forEach(function (icon) {
      icon.setAttribute("data-fa-i2svg", "");
      var button = icon.closest(".widget-play button");
      Object.keys(playNames).forEach(function (name) {
        if (button && icon.classList.contains(name)) {
          button.setAttribute("aria-label", playNames[name]);
        }
      });
    });
    within(node, ".noUi-handle").forEach(function (handle) {
      var slider = handle.closest(".widget-slider");
      var label = slider && slider.querySelector(".widget-label");
      var name = (label && label.textContent.trim()) || (slider && slider.title);
      if (name) handle.setAttribute("aria-label", name);
    });
  }
  // This observer exists before the theme's (a deferred script), so it sees nodes first.
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        if (node.nodeName === "STYLE") {
          fixFonts(node);
        } else if (node.nodeType === 1 && node.closest(".jupyter-widgets")) {
          fixWidget(node);
        }
      });
    });
  }).observe(document, { childList: true, subtree: true });
  // ipywidgets typesets labels through MathJax 2's MathJax.Hub.Queue; the pages load
  // MathJax 3, so queue the same job on MathJax 3 instead of throwing.
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.typesetPromise && !mj.Hub) {
      mj.Hub = {
        Queue: function (job) {
          mj.startup.promise = mj.startup.promise.then(function () {
            return mj.typesetPromise([job[2]]);
          });
        },
      };
    }
  });
})();
"""

# Markup that axe-core flags, from myst-nb and docutils, made accessible. myst-nb names
# every hide-input toggle "Toggle hidden content" over its visible "Show code cell source"
# (label-content-name-mismatch: the visible text is the better name); docutils gives the
# citation list role="list" although its children are no list items (aria-required-children).
A11Y_MARKUP = [
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    ('<div role="list" class="citation-list">', '<div class="citation-list">'),
]
# sphinx-exercise tints exercises rgba(68, 138, 255, 0.1): the theme's link blue #176de8
# has 4.29:1 contrast on it, under the 4.5:1 of WCAG AA; at half the tint it has 4.54:1.
A11Y_CSS = "div.exercise { background-color: rgba(68, 138, 255, 0.05); }\n"


def _copy_parts(package: str, parts: list[str], dest: Path) -> Path:
    src = NODE_MODULES / package
    if not src.is_dir():
        raise RuntimeError(
            f"{src} is missing: run `npm ci` in {ROOT} (make book and make slides do it)"
        )
    for part in parts:
        s, d = src / part, dest / part
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)
    return dest


def copy_mathjax(dest: Path) -> Path:
    """Copy MathJax 3 into ``dest``; pages load ``dest/tex-chtml.js``."""
    return _copy_parts("mathjax/es5", MATHJAX_PARTS, Path(dest))


def copy_reveal(dest: Path) -> Path:
    """Copy reveal.js into ``dest`` (nbconvert's ``reveal_url_prefix`` points there)."""
    return _copy_parts("reveal.js", REVEAL_PARTS, Path(dest))


def copy_widgets(dest: Path) -> Path:
    """Copy require.js, html-manager's ``embed-amd.js`` and fonts, and ``config.js`` into ``dest``.

    A page loads ``require.js``, ``config.js`` and ``embed-amd.js`` from ``dest``, in that
    order, after the ``application/vnd.jupyter.widget-state+json`` script.
    """
    dist = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
    _copy_parts("requirejs", ["require.js"], Path(dest))
    # embed-amd.js bundles base, controls and output (and their ipywidgets 7 versions);
    # of its assets, the browser fetches only the .woff2 of the Font Awesome 5 faces it uses
    _copy_parts(
        "@jupyter-widgets/html-manager/dist",
        ["embed-amd.js", *sorted(p.name for p in dist.glob("*.woff2"))],
        Path(dest),
    )
    (Path(dest) / "config.js").write_text(WIDGETS_CONFIG_JS, encoding="utf-8")
    return Path(dest)


def _install_assets(app) -> None:
    if app.builder.format == "html":
        copy_mathjax(Path(app.outdir) / "mathjax")
        copy_widgets(Path(app.outdir) / WIDGETS_DIR)
        css = Path(app.outdir) / "_static" / "offline_book.css"
        css.parent.mkdir(parents=True, exist_ok=True)
        css.write_text(A11Y_CSS, encoding="utf-8")


def _accessible_markup(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body:
        for old, new in A11Y_MARKUP:
            body = body.replace(old, new)
        context["body"] = body


def _disable_thebe(app) -> None:
    sphinx_private.remove_extension(
        app,
        "sphinx_thebe",
        ("env-before-read-docs", "doctree-resolved", "builder-inited"),
        css_files=("sphinx-thebe.css",),
    )


def _keep_cached_outputs(app, doctree) -> None:
    """Give myst-nb's ``jupyter_execute/<doc>.ipynb`` the outputs it took from the cache.

    With ``execute_notebooks: cache`` a chapter whose code is unchanged is not run again:
    myst-nb renders the cached outputs but writes the notebook it read, without outputs or
    widget state. ``tools/slides.py --executed`` reuses these notebooks, so merge the
    cached outputs and ``metadata.widgets`` in, as jupyter-cache does for the page.
    """
    config = sphinx_private.mystnb_config(app)
    if config is None or config.execution_mode != "cache" or not config.output_folder:
        return
    path = Path(config.output_folder) / f"{app.env.docname}.ipynb"
    if not path.is_file():
        return
    import nbformat
    from jupyter_cache import get_cache

    nb = nbformat.read(path, as_version=4)
    if any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"):
        return  # executed in this build: myst-nb wrote the outputs
    try:
        _, merged = get_cache(config.execution_cache_path).merge_match_into_notebook(nb)
    except KeyError:
        return  # not in the cache (execution failed or excluded)
    nbformat.write(merged, path)


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Write the chapter as a notebook to _sources/ so the theme's download menu lists it.

    Converted from the MyST source by jupytext: inputs only, ready to run (myst-nb's
    copy in jupyter_execute/ carries outputs and widget state).
    """
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    src = Path(app.env.doc2path(pagename))
    if src.suffix != ".md":
        return
    import jupytext

    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(src), target, fmt="ipynb")
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # The explorers read RNNLIB_EXPLORERS when a chapter builds them: "frames" makes each
    # one a set of plain ipywidgets switching precomputed frames, whose state nbclient
    # saves in the notebook and the page renders without a kernel. Kernels that myst-nb
    # (jupyter-cache, nbclient in this process) starts inherit os.environ. setdefault:
    # a build can still ask for another mode.
    os.environ.setdefault("RNNLIB_EXPLORERS", "frames")
    _disable_thebe(app)
    app.connect("builder-inited", _install_assets)
    app.connect("doctree-read", _keep_cached_outputs)
    app.connect("html-page-context", _accessible_markup)
    app.add_css_file("offline_book.css", priority=800)  # after sphinx-exercise's exercise.css
    # before sphinx-book-theme builds its header buttons (priority 501)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
