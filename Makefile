# Two entry points: `make demo` (main job on the bundled example) and
# `make test` (whole test suite). Each creates/refreshes its own virtualenv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output

.PHONY: demo test test-fast lint docs bench clean venv system-deps screenshots i18n

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all,test,docs]"
	touch $(STAMP)

venv: $(STAMP)

# Leaflet is inlined from the xstatic-leaflet package (a "maps" extra), so
# map.html works offline.
demo: $(STAMP)
	$(BIN)/trapscape demo --out $(DEMO_OUT) --overwrite --offline

# PNG screenshots (map at 1400x900, all layers, a popup; whole report; report
# PDF) of the internal and public demo and of the demo in Russian and Chinese
# (--lang ru|zh), for reviewers, in $(SHOTS).
SHOTS ?= screenshots
screenshots: $(STAMP) system-deps
	$(BIN)/trapscape demo --out $(DEMO_OUT) --overwrite
	$(BIN)/trapscape demo --out $(DEMO_OUT)-public --overwrite --public
	for l in ru zh; do $(BIN)/trapscape demo --out $(DEMO_OUT)-$$l --overwrite --lang $$l || exit 1; done
	$(BIN)/python scripts/screenshots.py $(DEMO_OUT) $(DEMO_OUT)-public $(DEMO_OUT)-ru $(DEMO_OUT)-zh --out $(SHOTS)

# Extract the messages of map, report and figures and update the translation
# catalogs (src/trapscape/present/locale/*/LC_MESSAGES/trapscape.po).
i18n: $(STAMP)
	$(BIN)/python scripts/i18n_catalogs.py

system-deps:
	@if [ -f .ci/system-deps ]; then bash .ci/system-deps; fi

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -n 2 --dist loadfile -m "not slow and not notebook and not browser"

lint: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[lint]"
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

# The documentation site (Sphinx + MyST) into docs/_build/html; warnings are errors.
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) $(DEMO_OUT)-public $(DEMO_OUT)-ru $(DEMO_OUT)-zh $(SHOTS) .pytest_cache docs/_build
