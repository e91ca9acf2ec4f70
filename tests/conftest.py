"""Shared test configuration: a deterministic Hypothesis profile, and how the suite runs.

``derandomize=True`` makes every run draw the same examples, so CI is
reproducible; select another profile with ``HYPOTHESIS_PROFILE=dev``.

Markers (pyproject.toml): ``book`` tests read the built book, ``browser`` tests drive
Chromium, ``slow`` tests take more than a few seconds. The modules and tests in SLOW are
marked here, so ``-m "not slow and not book and not browser"`` selects the fast unit
tests, which ``make test`` runs first (about a minute), beside the book build; then,
while the build goes on, ``-m "slow and not book and not browser"``; then, on the built
book, ``-m "book or browser"``. A test that reads the build must be marked ``book``.

Under pytest-xdist (``make test`` runs its last stage with ``-n auto --dist loadfile
--no-loadscope-reorder``), each module runs on one worker, so its module fixtures are
made once; the longest modules are sent first (LONGEST_FIRST; xdist would otherwise
reorder them by test count).
bookinfra's builds of the book and the decks hold a lock, so two workers never build into
_build at once.
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
    "test_notebooks.py",  # the explorers on fresh kernels, and JupyterLab
    "test_glue.py::test_take_glue_reads_myst_nb_glue",  # runs a kernel
    "test_glue.py::test_slides_and_notes_show_glued_values",
    "test_widgets.py::test_frames_face_switches_precomputed_pictures",  # a whole grid of frames
    "test_inputs.py::test_wrong_types_for_p_and_tr_name_them",  # 100 examples a model
    "test_lstm.py::test_gradients_match_finite_differences",
)

# Under pytest-xdist, `make test` sends each module's tests to one worker
# (`--dist loadfile`): module fixtures (a browser, a JupyterLab server, every chapter run
# on a fresh kernel, the explorers, SymPy's expressions) are made once. The modules go to
# the workers in this order, the longest first (measured), so the two workers finish
# together; the others follow in their own order.
LONGEST_FIRST = (
    "test_slides.py",
    "test_browser.py",
    "test_explorers_online.py",
    "test_notebooks.py",
    "test_book.py",
    "test_widgets.py",
    "test_symbolic.py",
)


def _is_slow(item) -> bool:
    short = re.sub(r"^.*?(?=test_\w+\.py)", "", item.nodeid)  # from the module's file name
    return any(short == s or short.startswith((s + "::", s + "[")) for s in SLOW)


def _rank(item) -> int:
    module = item.nodeid.split("::")[0].rsplit("/", 1)[-1]
    return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark the SLOW tests (tryfirst: before ``-m`` deselects); the longest modules first."""
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
    items.sort(key=_rank)  # stable: each module keeps its own order
