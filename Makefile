# Two entry points: `make demo` (main job on the bundled example) and
# `make test` (whole test suite). Each creates/refreshes its own virtualenv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output

.PHONY: demo test test-fast lint bench clean venv system-deps web-assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all,test]"
	touch $(STAMP)

venv: $(STAMP)

LEAFLET := .cache/web/node_modules/leaflet/dist/leaflet.js

# Leaflet from the npm registry into the git-ignored .cache/web/, so map.html
# works offline (inlined); skipped with a note when npm is not available.
web-assets:
	@if [ ! -f $(LEAFLET) ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    mkdir -p .cache/web && npm install --prefix .cache/web --no-audit --no-fund --silent leaflet@1.9 >/dev/null \
	      || echo "note: npm could not install leaflet; map.html will load Leaflet from the web"; \
	  else echo "note: npm not found; map.html will load Leaflet from the web"; fi; \
	fi

demo: $(STAMP) web-assets
	$(BIN)/trapscape demo --out $(DEMO_OUT) --overwrite $$([ -f $(LEAFLET) ] && echo --offline)

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

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
