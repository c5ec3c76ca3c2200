# seqkit developer tasks. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Pinned here: an unpinned torch pulls a multi-GB CUDA build; pyproject.toml keeps a range.
TORCH   = torch==2.13.0
PLUGINS = $(wildcard plugins/*/pyproject.toml)

.PHONY: install install-dev node-deps web-deps demo lint test test-fast bench clean

# seqkit itself (what `make demo` needs)
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e .
	touch $@

# the test extra: pytest, ruff, and every optional extra (serve, tune, tracking, translation, forecast) so that
# `make test` tests each feature
EXTRAS = $(VENV)/.extras
$(EXTRAS): $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# the plugin packages in plugins/, installed for real (not editable), as a user would
install-dev: $(EXTRAS) $(VENV)/.plugins
$(VENV)/.plugins: $(EXTRAS) $(PLUGINS) $(shell find plugins -name '*.py' 2>/dev/null)
	for p in $(dir $(PLUGINS)); do $(BIN)/python -m pip install -q --no-deps --force-reinstall ./$$p || exit 1; done
	touch $@

# examples/node's onnxruntime-node (its install script downloads; the package bundles the Linux x64 binary, so
# --ignore-scripts). Needs node 20 and npm: without them `make test` fails rather than skip the JavaScript test.
NODE_DEPS = examples/node/node_modules/.installed
node-deps: $(NODE_DEPS)
$(NODE_DEPS): examples/node/package.json examples/node/package-lock.json
	cd examples/node && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# examples/web's onnxruntime-web (its wasm files are served from node_modules: no CDN). The browser test also needs
# Debian's chromium + chromium-driver: `apt-get install chromium chromium-driver` (.ci/run does it, as root).
WEB_DEPS = examples/web/node_modules/.installed
web-deps: $(WEB_DEPS)
$(WEB_DEPS): examples/web/package.json examples/web/package-lock.json
	cd examples/web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

demo: install
	$(BIN)/seqkit export --cell gru --force

lint: $(EXTRAS)
	$(BIN)/ruff check .

# pytest-xdist: one worker per core (2 on CI), a test file stays on one worker (module-scoped servers, exports)
PYTEST_WORKERS ?= 2
PYTEST = $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: install-dev lint $(NODE_DEPS) $(WEB_DEPS)
	$(PYTEST) tests $(dir $(PLUGINS))

# the same without the tests marked slow (@pytest.mark.slow: ~20 s or more each), for quick rounds while coding
test-fast: install-dev lint
	$(PYTEST) -m "not slow" tests $(dir $(PLUGINS))

bench: install
	$(BIN)/python benchmarks/bench_runtime.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info examples/node/node_modules \
		examples/web/node_modules examples/out
