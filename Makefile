# The README's commands. Each target creates .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book

.PHONY: book test lab slides bench lint clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

## book: build the HTML book into _build/html (strict: any warning fails)
book: $(STAMP)
	$(JB) build . -W -n --keep-going

## test: lint, build the book strictly, then run every test
test: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) book
	$(BIN)/python -m pytest

## lab: open every chapter as a live notebook in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=book

## bench: performance scripts, printing ratios measured in one run
bench: $(STAMP)
	for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check rnnlib tests benchmarks

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
