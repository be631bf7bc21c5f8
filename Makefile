# Two commands matter: `make demo` and `make test`. Both work on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test demo demo-copies app notebooks server lint bench clean chromium front-end

$(PY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

LAB_OVERRIDES := jupyter-config/overrides.d/rethink_widgets.json

# The widgets' front end: js/ bundled by esbuild into the package (js/README.md); rebuilt when a source changes.
# An editable install reads the bundles where they are built, so a rebuild needs no new install.
STATIC  := rethink_widgets/jupyter/static
BUNDLES := $(STATIC)/live_table.js $(STATIC)/todo_list.js $(STATIC)/live_chart.js $(STATIC)/chart_table.js

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	@command -v npm >/dev/null || { \
	  echo "Installing Debian's nodejs and npm to bundle the widgets' front end"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd js && npm ci --no-audit --no-fund

$(BUNDLES) &: js/node_modules/.package-lock.json $(wildcard js/*.js js/*.css)
	cd js && npm run build

front-end: $(BUNDLES)

$(STAMP): $(PY) setup.py pyproject.toml $(LAB_OVERRIDES) | $(BUNDLES)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,demo,charts,app]'
	@# An editable install leaves out setup.py's data_files: put JupyterLab's settings defaults where a wheel would.
	install -D -m 644 $(LAB_OVERRIDES) $(VENV)/share/jupyter/lab/settings/overrides.d/rethink_widgets.json
	touch $(STAMP)

# The browser tests drive Debian's chromium; install it when missing (needs root, as on CI and new machines).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; } \
	  || { echo "Could not install chromium: run 'apt-get install -y chromium' as root" >&2; exit 1; }; }

# Lint and types first: a failure there stops the run before any test starts.
test: lint chromium
	$(PY) -m pytest

# The demo opens working copies of the notebooks in demo/ (git-ignored), each copied from notebooks/ only when it is
# missing there: running and saving them never changes the tracked ones, and a person's edits are kept. JupyterLab
# starts no server: `%load_ext rethink_widgets` in a notebook starts the embedded one when no database answers.
DEMO       := demo
DEMO_BOOKS := $(patsubst notebooks/%,$(DEMO)/%,$(wildcard notebooks/*.ipynb))

# Order-only: a copy that exists is never replaced, even by a newer notebook (delete it for a fresh one).
$(DEMO)/%.ipynb: | notebooks/%.ipynb
	@mkdir -p $(DEMO)
	cp notebooks/$*.ipynb $@

demo-copies: $(DEMO_BOOKS)

demo: $(STAMP) demo-copies
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(DEMO)/

# The todo app: notebooks/05-todo-app.ipynb served by Voilà on http://127.0.0.1:8866, a kernel per visitor (README:
# "A notebook as a web app"). Like JupyterLab, it starts the embedded server when no database answers.
app: $(STAMP)
	$(PY) -m rethink_widgets.jupyter.app notebooks/05-todo-app.ipynb

# Re-run the demo notebooks against a fresh server, storing the outputs nbval compares with.
notebooks: $(STAMP)
	cd tests && ../$(PY) notebook_server.py $(patsubst %,../%,$(wildcard notebooks/*.ipynb))

server: $(STAMP)
	$(VENV)/bin/rethink-widgets-server

# mypy's settings (strict) are in pyproject.toml. Two conftest modules cannot share one mypy run: the browser
# tests' own is checked in a second one. Every `type: ignore` names its error code and says why.
lint: $(STAMP)
	$(VENV)/bin/ruff check rethink_widgets tests benchmarks
	$(VENV)/bin/ruff format --check rethink_widgets tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests/browser/conftest.py
	@! grep -rn --include='*.py' 'type: *ignore' rethink_widgets tests benchmarks \
	  | grep -vE 'type: ignore\[[a-z0-9, -]+\]  # [^ ]' \
	  || { echo 'Each `type: ignore[code]` needs its reason: `# type: ignore[code]  # why`' >&2; exit 1; }

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[peers,profile]'
	$(PY) benchmarks/server.py
	$(PY) -m benchmarks.changefeeds
	$(PY) -m benchmarks.geospatial
	$(PY) -m benchmarks.livetable
	$(PY) -m benchmarks.big_results
	$(PY) -m benchmarks.browser
	$(PY) -m benchmarks.livechart
	$(PY) -m benchmarks.hostile
	$(PY) -m benchmarks.peers

clean:
	rm -rf $(VENV) build *.egg-info js/node_modules $(STATIC)
