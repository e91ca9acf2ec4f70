"""The private parts of Sphinx and myst-nb that ``tools/offline_book.py`` relies on.

Each function says why no public API does its job. ``tests/test_tools.py`` checks that
every attribute used here still exists in the installed versions, so an upgrade that
removes one fails there, by name, instead of silently changing the book.
"""

from __future__ import annotations


def remove_extension(app, module_prefix: str, events: tuple[str, ...], css_files=()) -> None:
    """Unregister every listener of ``events`` defined in ``module_prefix``, and its CSS files.

    Why: jupyter-book always loads sphinx-thebe, whatever ``launch_buttons.thebe`` says, and
    sphinx-thebe declares ``THEBE_JS_URL`` twice on every page (a JavaScript SyntaxError)
    and points at unpkg.com. Sphinx can add listeners and CSS files but has no public call
    to remove another extension's, so this edits ``app.events.listeners`` (a dict of event
    -> list of listeners, each with a ``handler``) and ``app.registry.css_files``.
    """
    for event in events:
        listeners = app.events.listeners.get(event, [])
        listeners[:] = [
            lst for lst in listeners if not lst.handler.__module__.startswith(module_prefix)
        ]
    app.registry.css_files[:] = [
        (name, attrs) for name, attrs in app.registry.css_files if name not in css_files
    ]


def mystnb_config(app):
    """myst-nb's parsed configuration for this build (its execution mode, cache and folders).

    Why: myst-nb keeps it on the build environment as ``env.mystnb_config`` and offers no
    accessor; the ``nb_*`` values in ``app.config`` are the raw settings, before myst-nb
    resolves the output folder and the cache path. None outside a myst-nb build.
    """
    return getattr(app.env, "mystnb_config", None)
