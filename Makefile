# Tally: every entry point a developer or CI uses. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# Every target runs on the Node named in .node-version, which `make setup` installs into the cache:
# its bin directory goes first on PATH, so `node`, and npm/npx from the system, run on it.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
NODE_VERSION := $(strip $(file < $(ROOT)/.node-version))
NODE_BIN := $(or $(TALLY_CACHE_DIR),$(HOME)/.cache/tally)/node-$(NODE_VERSION)/bin
export PATH := $(NODE_BIN):$(PATH)
NODE_TS := node --import tsx
STACK := $(NODE_TS) test/env/stack.ts

.PHONY: setup pinned-node stack-up stack-down stack-status lint typecheck unit integration test demo bench e2e e2e-kind kind-prerequisites format

## setup: install everything this project needs on a fresh machine (idempotent, cached)
setup:
	@bash test/env/setup.sh

# Targets that do not run setup themselves need its Node: say so instead of running on another one.
pinned-node:
	@[ -x "$(NODE_BIN)/node" ] || { echo "Node $(NODE_VERSION) (.node-version) is not installed: run 'make setup'" >&2; exit 1; }

## stack-up / stack-down / stack-status: the local stack (Kafka, ClickHouse engine, Redis, Prometheus, Alertmanager)
stack-up: setup
	@$(STACK) up

stack-down:
	@if [ -d node_modules/tsx ]; then $(STACK) down; else echo "[stack] nothing to stop (dependencies not installed)"; fi

stack-status: pinned-node
	@$(STACK) status

lint: pinned-node
	@echo "[test] lint and format check (biome)"
	@npx --no-install biome ci --colors=off .

format: pinned-node
	@npx --no-install biome check --write .

typecheck: pinned-node
	@echo "[test] type-check (tsc --noEmit)"
	@npx --no-install tsc --noEmit -p tsconfig.json
	@npx --no-install tsc --noEmit -p tsconfig.web.json

unit: pinned-node
	@echo "[test] unit tests"
	@npx --no-install vitest run --project unit

integration: stack-up
	@echo "[test] integration tests against the local stack"
	@npx --no-install vitest run --project integration

## test: lint, type-check, unit, integration and e2e tests (starts the stack if it is not up)
test: setup lint typecheck unit integration e2e

## e2e: the end-to-end suite against the local stack
e2e: stack-up
	@echo "[test] end-to-end tests against the local stack"
	@npx --no-install vitest run --project e2e

## e2e-kind: the platform suite on a kind cluster (needs a container engine; kubectl, helm and the Kafka jars come from setup)
# The engine and kind are checked first: without them setup's work would be for nothing.
e2e-kind: kind-prerequisites setup
	@bash test/e2e/kind/run.sh

kind-prerequisites:
	@if ! docker info >/dev/null 2>&1; then \
	  echo "make e2e-kind needs a running container engine for kind; this machine has none. Use 'make e2e' (local control plane)." >&2; \
	  exit 1; \
	fi
	@command -v kind >/dev/null || { echo "make e2e-kind needs 'kind' on PATH (go install sigs.k8s.io/kind@latest)" >&2; exit 1; }

## demo: set up, start the stack, helm install the chart, apply the examples and run live traffic (a bounded check without a terminal)
demo: stack-up
	@$(NODE_TS) test/env/demo.ts

## bench: every benchmark; prints `BENCH <name>=<value> <unit>` lines
bench: stack-up
	@$(NODE_TS) test/bench/run.ts $(ONLY)
