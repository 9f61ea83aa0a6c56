# Two commands set everything up on a machine with only Python 3.11+:
#   make lab    build .venv if needed, then open the course in JupyterLab
#   make test   build .venv if needed, then run every test
# The class server (as root): make hub starts JupyterHub for a class (docs/kursserver.md);
# make hub-install sets it up to run for a term under systemd (docs/drift.md).
# Other targets: make test-fast (no notebooks, no nbgrader), make exercises
# (regenerate exercises/ from solutions/), make lock (refresh the lock file).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/lock.txt
STAMP  := $(VENV)/.installed
PORT   ?= 8888
PYTEST_ARGS ?=
# `make test` runs the suite in this many processes (pytest-xdist); 0 runs it in one.
# --dist loadfile keeps each file in one process: a notebook's cells in one kernel,
# the browser tests on one JupyterLab. Three on two cores: much of the suite waits on
# kernels, servers and the browser, and a third process fills that time (fresh clone,
# 2 cores: 466 s from clone to result with two, 408 s with three).
TEST_WORKERS ?= 3
# The folder JupyterLab opens, and extra server flags: the browser tests start
# `make lab` on a temporary copy of the course with a token of their own.
LAB_ROOT ?= $(CURDIR)
LAB_ARGS ?=
# The class server (JupyterHub): its environment, built from Debian's Python into
# a folder every account can read (deploy/build-env.sh), and the hub's port.
HUB_ENV ?= /opt/samskaping-kurs/env
HUB_PORT ?= 8000
export SAMSKAPING_HUB_ENV := $(HUB_ENV)

# nbgrader shells out to `alembic`, so the environment's bin/ comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Use the platform's standard Jupyter folders (and silence jupyter_core's warning about them).
export JUPYTER_PLATFORM_DIRS := 1

# JupyterLab refuses to run as root unless told to; an ordinary user needs no flag.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-fast system-deps hub-env hub hub-install exercises lock clean-venv benchmark benchmark-hub

# The environment is rebuilt when the project, the lock or the JupyterLab
# settings change. The settings turn off JupyterLab's news and update check,
# so students are not asked (in English) to opt in and nothing is fetched.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

$(STAMP): pyproject.toml $(LOCK) config/jupyterlab-overrides.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[test]"
	install -D -m 644 config/jupyterlab-overrides.json $(LAB_SETTINGS)
	touch $(STAMP)

# Started from inside LAB_ROOT: nbgrader's formgrader reads nbgrader_config.py
# from the folder the server is started in.
lab: $(STAMP)
	cd "$(LAB_ROOT)" && $(CURDIR)/$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir="$(LAB_ROOT)" --LabApp.default_url=/lab/tree/lessons \
		--LabApp.news_url=None \
		--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate $(LAB_ARGS)

# The developers' environment, the class server's and npm's packages are built side by side.
test:
	@$(MAKE) --no-print-directory -j3 $(STAMP) node_modules/.package-lock.json hub-env
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP) system-deps
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Debian packages the tests need (hunspell, chromium, bubblewrap, npm):
# installed with apt when missing and run as root, otherwise named.
system-deps:
	@bash scripts/system-deps.sh

# axe-core for the browser tests' accessibility checks, at the locked version.
node_modules/.package-lock.json: package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund --loglevel=error

# The class server's environment. Only root can build it (and run the hub and
# the tests with real accounts); for anyone else this says so and goes on, and
# those tests skip with the same reason.
hub-env: system-deps
	@if [ "$$(id -u)" -eq 0 ]; then HUB_ENV="$(HUB_ENV)" deploy/build-env.sh; \
	else echo "Hopper over kursserverens miljø ($(HUB_ENV)): det bygges av root."; fi

# The class server on this machine: JupyterHub with real accounts, the shared
# exchange and the gradebook (docs/kursserver.md). Run as root; stop with Ctrl+C.
hub: hub-env node_modules/.package-lock.json
	@test "$$(id -u)" -eq 0 || { echo "make hub kjøres av administrator (root): sudo make hub" >&2; exit 1; }
	deploy/setup-server.sh
	SAMSKAPING_HUB_PORT=$(HUB_PORT) $(HUB_ENV)/bin/jupyterhub -f deploy/jupyterhub_config.py

# The class server for a term (docs/drift.md): the same set-up as `make hub`,
# then the hub and a nightly gradebook backup as systemd units, started at boot.
hub-install: hub-env node_modules/.package-lock.json
	@test "$$(id -u)" -eq 0 || { echo "make hub-install kjøres av administrator (root): sudo make hub-install" >&2; exit 1; }
	deploy/setup-server.sh
	HUB_ENV="$(HUB_ENV)" deploy/install-systemd.sh

exercises: $(STAMP)
	$(BIN)/course --kurs "$(CURDIR)" generate

# Time autograding: plain `nbgrader autograde` against the course's sandboxed,
# parallel grader on the same 40 submissions, and the floor (a bare kernel).
benchmark: $(STAMP) system-deps
	$(BIN)/python scripts/benchmark_grading.py

# The class server under load: N real students work through a hub of its own,
# and every account, folder and process it made is removed afterwards. Two
# scenarios (scripts/benchmark_hub/): `frist` (the default), all log in, fetch
# and submit at once, then `course grade`, with times, memory and capacity;
# `seminar`, students arrive over a window, pull the lessons with the lesson
# link, run a lesson and answer its activities, timed to the feedback (with
# --forhandsstart the servers are started before the seminar, docs/drift.md). As root:
#   sudo make benchmark-hub HUB_BENCH_ARGS="--scenario frist --studenter 60 --json /tmp/frist.json"
#   sudo make benchmark-hub HUB_BENCH_ARGS="--scenario seminar --studenter 60 --vindu 120 --json /tmp/seminar.json"
HUB_BENCH_ARGS ?=
benchmark-hub: $(STAMP) hub-env node_modules/.package-lock.json
	@test "$$(id -u)" -eq 0 || { echo "make benchmark-hub kjøres av administrator (root): sudo make benchmark-hub" >&2; exit 1; }
	$(BIN)/python scripts/benchmark_hub.py $(HUB_BENCH_ARGS)

# Refresh the lock: resolve the project's ranges afresh in a throw-away
# environment and record every version that was installed. Run it with the
# oldest Python the course supports, so that no pin needs a newer one (for
# example `make lock PYTHON=python3.11`; Debian 12 ships 3.11.2).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet ".[test]"
	( echo "# Generated by 'make lock' from pyproject.toml; do not edit by hand."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude pip --exclude samskaping-kurs ) > $(LOCK)
	rm -rf .lock-venv

clean-venv:
	rm -rf $(VENV)
