# kubebank. `make run` starts the whole bank locally; `make test` runs every
# test. Both install what they need (redis-server, chromium) from Debian's
# packages when missing and running as root, or say what to install.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/bank
PKGS  := ./src/... ./tests/...

.PHONY: chaos e2e screenshots screenshot-alerts deps-monitoring deps-redocly run test bench bench-jobs lint validate build deps deps-browser deps-axe image loadgen clean

# -buildvcs=auto: `bank version` and bank_build_info name the commit
# (GOFLAGS may turn the stamp off).
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./src/cmd/bank

# need CMD,PACKAGE,WHAT: install Debian's PACKAGE when CMD is missing and we
# are root with apt-get; otherwise stop and say what to install.
need = @command -v $(1) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(2) (Debian package)"; \
	    (apt-get install -y $(2) >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y $(2) >/dev/null)); \
	  else echo "$(1) is required$(3): install it (e.g. sudo apt-get install $(2)) and re-run" >&2; exit 1; fi; }

# deps makes sure redis-server is installed.
deps:
	$(call need,redis-server,redis-server,)

# deps-sentinel makes sure redis-sentinel is installed for the failover
# tests (three Sentinels on loopback).
.PHONY: deps-sentinel
deps-sentinel:
	$(call need,redis-sentinel,redis-sentinel, for the failover tests)

# deps-browser makes sure Chromium is installed for the browser tests.
deps-browser:
	$(call need,chromium,chromium, for the browser tests)

# deps-monitoring makes sure Prometheus (with promtool) and the Redis
# exporter are installed for tests/monitoring.
deps-monitoring:
	$(call need,promtool,prometheus, for the monitoring tests)
	$(call need,prometheus-redis-exporter,prometheus-redis-exporter, for the monitoring tests)

# deps-axe puts the pinned axe-core (the accessibility checker the browser
# test injects into every page) under .cache/axe/, with Debian's nodejs and
# npm when they are missing. Nothing is fetched when it is already there.
AXE_VERSION := 4.14.1
AXE_DIR     := $(CURDIR)/.cache/axe/$(AXE_VERSION)
export BANK_AXE_JS := $(AXE_DIR)/node_modules/axe-core/axe.min.js
deps-axe:
	@if [ ! -s "$(BANK_AXE_JS)" ]; then \
	  $(MAKE) --no-print-directory deps-node && \
	  echo "installing axe-core $(AXE_VERSION) into .cache/axe/ (npm)" && \
	  mkdir -p "$(AXE_DIR)" && \
	  npm install --prefix "$(AXE_DIR)" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts "axe-core@$(AXE_VERSION)" >/dev/null && \
	  test -s "$(BANK_AXE_JS)"; \
	fi

# deps-redocly puts the pinned Redocly CLI (the OpenAPI linter
# tests/openapi runs) under .cache/redocly/, with Debian's nodejs and npm
# when they are missing. Nothing is fetched when it is already there.
REDOCLY_VERSION := 2.77.0
REDOCLY_DIR     := $(CURDIR)/.cache/redocly/$(REDOCLY_VERSION)
export BANK_REDOCLY := $(REDOCLY_DIR)/node_modules/.bin/redocly
deps-redocly:
	@if [ ! -x "$(BANK_REDOCLY)" ]; then \
	  $(MAKE) --no-print-directory deps-node && \
	  echo "installing @redocly/cli $(REDOCLY_VERSION) into .cache/redocly/ (npm)" && \
	  mkdir -p "$(REDOCLY_DIR)" && \
	  npm install --prefix "$(REDOCLY_DIR)" --no-save --no-package-lock --no-audit --no-fund "@redocly/cli@$(REDOCLY_VERSION)" >/dev/null && \
	  test -x "$(BANK_REDOCLY)"; \
	fi

.PHONY: deps-node
deps-node:
	$(call need,node,nodejs, for the accessibility checks and the OpenAPI linter)
	$(call need,npm,npm, for the accessibility checks and the OpenAPI linter)

run: deps build
	$(BIN) dev

test: deps deps-sentinel deps-browser deps-axe deps-monitoring deps-redocly
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m -p 2 $(PKGS)

# chaos is the long form of the failover test (tests/system, TestChaos):
# 3 redis-servers, 3 redis-sentinels, two `bank api`, a worker and a
# scheduler on loopback under transfers and holds, while SIGKILL of the
# primary, SIGSTOP of the primary, SIGKILL of a replica and of a Sentinel
# repeat for BANK_CHAOS_DURATION; prints the summary (make test runs the
# short form).
BANK_CHAOS_DURATION ?= 150s
chaos: deps deps-sentinel
	BANK_CHAOS_DURATION=$(BANK_CHAOS_DURATION) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 30m ./tests/system

# e2e runs kubectl and Flux against a real control plane on 127.0.0.1
# (tests/e2e, a Go module of its own): kube-apiserver, controller-manager,
# scheduler, etcd, KWOK's simulated nodes and Flux's source- and
# kustomize-controller, all built from source through the Go module proxy
# on the first run and cached in .cache/e2e/ (a version change rebuilds).
e2e:
	$(call need,git,git, for the e2e test's git server)
	cd tests/e2e && $(GO) vet ./... && $(GO) test -count=1 -v -timeout 75m .

# screenshots regenerates docs/screenshots/ (the README's) in Chromium from
# the demo data a fresh `make run` seeds, at desktop and phone width.
screenshots: deps deps-browser
	BANK_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 -run TestScreenshotsOfTheDemo ./tests/browser

# bench prints one table from one run: the transfer script's ceiling
# (redis-benchmark replaying the exact call an HTTP transfer makes), bank
# loadgen at 16 and 32 clients against a fresh api + redis in both fsync
# modes, each row's ratio to its ceiling, the Go benchmarks, api RSS,
# Redis bytes per posting and commands per transfer, and the machine.
# Nothing in it fails on a slow machine.
bench: deps build
	$(call need,redis-benchmark,redis-tools, for the ceiling)
	$(GO) run ./tests/bench --bank $(BIN)

# screenshot-alerts regenerates docs/screenshots/prometheus-alerts.png:
# Prometheus's alerts page from the scrape test (tests/monitoring), with
# the deployed rules evaluated on a live local stack.
screenshot-alerts: deps deps-browser deps-monitoring
	BANK_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 -run TestScrapeTheStack ./tests/monitoring

# BANK_BENCH_ACCOUNTS=100000 make bench-jobs measures interest over 100k accounts.
bench-jobs: deps
	$(GO) test -run '^$$' -bench NoopJobs -benchtime 20000x ./src/jobs
	$(GO) test -run '^$$' -bench InterestAccrual -benchtime 1x -timeout 20m ./src/jobs

# loadgen drives a running `make run` with concurrent transfers through the API.
loadgen: build
	$(BIN) loadgen --duration 10s --concurrency 16

lint:
	@out=$$(gofmt -l src tests); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin .dev-data test-output

# validate runs the manifest checks alone, offline: every overlay renders,
# validates strictly against generated schemas, passes kube-score, and
# keeps its environment facts.
validate:
	$(GO) test -count=1 ./tests/manifests/...

# image builds the container image without a Docker daemon: dist/bank-image.tar
# (docker load, kind load image-archive) and dist/bank-oci.tar (OCI layout).
image:
	$(GO) run ./src/cmd/imagebuild -out dist
