"""Shared test configuration: a deterministic Hypothesis profile, and how the suite runs.

``derandomize=True`` makes every run draw the same examples, so CI is
reproducible; select another profile with ``HYPOTHESIS_PROFILE=dev``.

Markers (pyproject.toml): ``book`` tests read the built book, ``browser`` tests drive
Chromium, ``slow`` tests take more than a few seconds. The modules and tests in SLOW are
marked here, so ``-m "not slow and not book and not browser"`` selects the fast unit
tests, which ``make test`` runs first (about a minute), before the book build.

Under pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``), the tests that share
an expensive module fixture (a JupyterLab server, the chapters run on fresh kernels) are
kept on one worker with an ``xdist_group``, and they are collected first, so the other
worker takes the browser tests meanwhile. Everything else is spread test by test;
bookinfra's builds of the book and the decks hold a lock, so two workers never build
into _build at once.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=25,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Measured with `pytest --durations=0` on 2 cores: a module, or a test id prefix
# ("module.py::test_name"), that takes more than about 1.5 s of its own work (not the
# first test of a module that builds what the others reuse, such as SymPy's expressions).
SLOW = (
    "test_notebooks.py",  # every chapter on a fresh kernel, and JupyterLab
    "test_glue.py::test_take_glue_reads_myst_nb_glue",  # runs a kernel
    "test_glue.py::test_slides_and_notes_show_glued_values",
    "test_widgets.py::test_frames_face_switches_precomputed_pictures",  # a whole grid of frames
    "test_inputs.py::test_wrong_types_for_p_and_tr_name_them",  # 100 examples a model
    "test_lstm.py::test_gradients_match_finite_differences",
)

# Modules whose tests share caches or a module fixture (the explorers; SymPy expressions)
# that each xdist worker would build again: all their tests go to one worker.
MODULE_GROUPS = ("test_widgets.py", "test_symbolic.py")
# Tests sharing a module fixture too costly to make once per xdist worker: fixture -> group.
GROUPS = {
    "executed": "notebooks-executed",  # test_notebooks: every chapter run on a fresh kernel
    "lab_at_root": "lab-at-root",  # a JupyterLab server on the repository
    "lab_on_copy": "lab-on-copy",  # a JupyterLab server on a copy of book/
}


def _is_slow(item) -> bool:
    short = re.sub(r"^.*?(?=test_\w+\.py)", "", item.nodeid)  # from the module's file name
    return any(short == s or short.startswith((s + "::", s + "[")) for s in SLOW)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark SLOW tests and group tests that share GROUPS fixtures; collect groups first.

    tryfirst: before ``-m`` deselects and before xdist reads the group marks.
    """
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
        groups = sorted({g for f, g in GROUPS.items() if f in getattr(item, "fixturenames", ())})
        groups += [m for m in MODULE_GROUPS if item.nodeid.split("::")[0].endswith("/" + m)]
        if groups:
            item.add_marker(pytest.mark.xdist_group(groups[0]))
    # the groups first, each to one worker (the chapters' run, the longest, is collected
    # first of all), then the rest in their own order
    grouped = [i for i in items if i.get_closest_marker("xdist_group")]
    items[:] = grouped + [i for i in items if not i.get_closest_marker("xdist_group")]
