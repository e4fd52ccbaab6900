# The two commands of the README: `make run` (the app) and `make test` (the suite).
# Both set up everything they need on a fresh machine and are fast when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := .cache/system-packages.stamp
# Debian packages: chromium for the browser tests, ffmpeg for the CLI peers in benchmarks.
DEBIAN_PACKAGES := chromium ffmpeg

.PHONY: run test lint format system-packages

run: $(STAMP)
	$(BIN)/heaters serve $(ARGS)

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest $(ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

system-packages: $(SYSTEM_STAMP)
$(SYSTEM_STAMP):
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	mkdir -p $(dir $@) && touch $@
