# The README's commands. Each target creates .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book

.PHONY: book test lab slides bench kernels lint clean

# Browser assets (MathJax 3, reveal.js) from the npm registry, exactly as package-lock.json
# pins them; served from the build so the book and the slides work offline.
NPM_STAMP := node_modules/.installed
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The execution cache (_build/.jupyter_cache) is keyed on the chapters' code cells only:
# when rnnlib changes (the explorers' frames, any computed number), start it and Sphinx's
# environment (which would skip unchanged chapters) afresh.
LIB_STAMP := _build/.rnnlib-stamp
$(LIB_STAMP): $(shell find rnnlib -name '*.py')
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $(LIB_STAMP)

## book: build the HTML book into _build/html (strict: any warning fails)
BUILD_BOOK := $(JB) build . -W -n --keep-going
book: $(STAMP) $(NPM_STAMP) $(LIB_STAMP)
	$(BUILD_BOOK)

## test: lint; the tests that need no book while it builds (strictly); then every other test
# The fast unit tests run first, in one process beside the book build (its log is printed
# when they are done): a failure among them shows within about a minute. The slow tests
# that need no book (JupyterLab, kernels, finite differences) follow while the build goes
# on: with the build, two processes for the two cores (a second pytest worker only made
# the three compete: 121 s for these two stages against 99 s in one process, measured).
# The book and browser tests run once the book is built, spread by pytest-xdist over the
# cores (at most 4 workers), the longest modules first (tests/conftest.py;
# --no-loadscope-reorder keeps that order); a module's tests share one worker and fixtures.
# Every stage runs even when an earlier one fails; the target fails if any stage did.
PYTEST := $(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadfile --no-loadscope-reorder
BESIDE_BUILD := $(BIN)/python -m pytest -n 0
FAST   := not slow and not book and not browser
BESIDE := slow and not book and not browser
REST   := book or browser
# The processes of each stage run side by side on the cores: one BLAS thread each, so
# that no OpenBLAS thread waits for a core another process holds.
test: export OPENBLAS_NUM_THREADS = 1
test: $(STAMP) $(NPM_STAMP) $(LIB_STAMP)
	$(MAKE) --no-print-directory lint
	@echo "$(BUILD_BOOK) > _build/book.log &"; \
	( $(BUILD_BOOK) > _build/book.log 2>&1; echo $$? > _build/book.status ) & \
	echo "$(BESIDE_BUILD) -m \"$(FAST)\""; \
	$(BESIDE_BUILD) -m "$(FAST)"; status=$$?; \
	echo "$(BESIDE_BUILD) -m \"$(BESIDE)\""; \
	$(BESIDE_BUILD) -m "$(BESIDE)" || status=$$?; \
	wait; cat _build/book.log; \
	test "$$(cat _build/book.status)" = 0 || { echo "make test: the strict book build failed"; exit 1; }; \
	echo "$(PYTEST) -m \"$(REST)\""; \
	$(PYTEST) -m "$(REST)" || status=$$?; \
	exit $$status

## lab: open every chapter as a live notebook in JupyterLab
# .jupyter/labconfig makes Jupytext's notebook view the default for .md files and turns
# off the news feed and update check; .jupyter/jupyter_server_config.py opens chapters
# with the cells the book hides collapsed and its LaTeX macros defined (jupyterlab-myst
# renders MyST), and with jupytext.toml (found from the repository root) keeps the saved
# .md files unchanged.
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/.jupyter $(BIN)/jupyter lab \
	  --ServerApp.root_dir=$(CURDIR) --ContentsManager.preferred_dir=book

## slides: every chapter as a reveal.js deck in _build/slides (works offline)
# The decks reuse the chapters as the book build ran them (outputs, explorers' frames and
# glued numbers); a chapter whose code changed since is run again.
slides: book
	$(BIN)/python -m tools.slides --executed _build/jupyter_execute

## bench: performance scripts (benchmarks/bptt.py, widgets.py, ...), printing ratios measured in one run
bench: book
	for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

## kernels: build the book twice more, with OpenBLAS's Prescott and Sandybridge kernels
# Another processor rounds matrix products differently, and a chaotic training run then ends
# elsewhere (chapter 6's network parts ways within a few steps). Every claim a chapter asserts
# must survive that: these builds (into _build/kernels, ~2 x the build time; not run by
# `make test`) execute each chapter with other last bits than this machine's own kernel.
KERNELS := Prescott Sandybridge
kernels: $(STAMP) $(NPM_STAMP)
	for k in $(KERNELS); do \
	  echo "== OPENBLAS_CORETYPE=$$k"; \
	  OPENBLAS_CORETYPE=$$k $(BUILD_BOOK) --path-output _build/kernels/$$k || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check rnnlib tests benchmarks tools

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
