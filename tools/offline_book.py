"""Sphinx extension: make the built book work with no network, and offer .ipynb downloads.

Loaded from ``_config.yml`` (``sphinx: local_extensions: {offline_book: tools}``). It

* copies MathJax 3 from ``node_modules`` (``npm ci``, see package.json) into
  ``<html>/mathjax/``; ``mathjax_path`` in ``_config.yml`` points there. The folder
  is deliberately not ``_static``: jupyter-book would add every .js under a static
  path to every page;
* switches sphinx-thebe off (it declares ``THEBE_JS_URL`` twice on every page, a
  JavaScript SyntaxError, and points at unpkg.com); the book's live mode is
  JupyterLab or a launch button, not thebe;
* writes each chapter as a notebook (jupytext) next to its source in ``_sources/``
  and tells sphinx-book-theme, so the download menu offers ``.ipynb`` even when no
  launch URL is configured (the theme only does this when one is).

The asset helpers are shared with ``tools/slides.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"

# What a page needs from the MathJax 3 distribution: the TeX + CommonHTML
# component, the extensions and fonts it loads on demand, the menu and
# accessibility parts (speech rules included so the a11y explorer works offline).
MATHJAX_PARTS = ["tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y", "sre", "adaptors"]
# reveal.js 5: the core, its themes (with their fonts) and the speaker-notes plugin.
REVEAL_PARTS = ["dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme", "plugin/notes"]


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


def _install_mathjax(app) -> None:
    if app.builder.format == "html":
        copy_mathjax(Path(app.outdir) / "mathjax")


def _disable_thebe(app) -> None:
    for event in ("env-before-read-docs", "doctree-resolved", "builder-inited"):
        listeners = app.events.listeners.get(event, [])
        listeners[:] = [
            lst for lst in listeners if not lst.handler.__module__.startswith("sphinx_thebe")
        ]
    app.registry.css_files[:] = [
        (name, attrs) for name, attrs in app.registry.css_files if name != "sphinx-thebe.css"
    ]


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Write the chapter as a notebook to _sources/ so the theme's download menu lists it.

    Converted from the MyST source by jupytext: inputs only, ready to run (myst-nb's
    copy in jupyter_execute/ has no outputs when they come from the execution cache).
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
    _disable_thebe(app)
    app.connect("builder-inited", _install_mathjax)
    # before sphinx-book-theme builds its header buttons (priority 501)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
