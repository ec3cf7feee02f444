# metlog — one entry point for building, linting and testing.
#
#   make test    install what the tests need, lint, run every test with -race
#   make lint    gofmt, go vet, staticcheck
#   make fuzz    run every fuzz target for FUZZTIME each
#   make fuzz-long  every fuzz target for FUZZTIME (default 10m) each, with a
#                results table (executions, new interesting, corpus) in
#                FUZZRESULTS (about 4 hours)
#   make chaos   the fault-injection suite in its full form (about 30 minutes;
#                `make test` runs its short form); see docs/reliability.md
#   make bench   the performance harness: metlog against its peers, side by side
#                (about 17 minutes; writes docs/performance.md)
#   make bench-quick  the same in under two minutes, for development
#                (writes bench/results/performance-quick.md)
#   make bench-statsd the statsd workload alone, 100 lines a datagram, flat out and
#                at 1,000,000 lines/s (writes docs/performance-statsd.md)
#   make bench-micro  client and codec micro-benchmarks
#   make pgo     refresh cmd/metlog/default.pgo, the CPU profile the compiler
#                optimises the binary with, from the harness's routing and
#                statsd workloads (about 2 minutes)
#   make build   the static metlog binary in ./bin
#   make otelcol the OpenTelemetry Collector the OTLP tests send to (part of deps)

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
FUZZTIME  ?= 30s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION ?= v0.8.2
STATSD_EXPORTER_VERSION ?= v0.31.0
# The collector's builder; its version must match the components in
# testdeps/otelcol/builder-config.yaml.
OTELCOL_BUILDER_VERSION ?= v0.162.0
OTELCOL   = testdeps/otelcol/build/otelcol-metlog-test
# Extra flags for the harness, e.g. BENCHFLAGS="-workloads routing -rounds 5"
# (go run ./cmd/perf -h in bench/ lists them).
BENCHFLAGS ?=
SUDO      ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export CGO_ENABLED ?= 0

.PHONY: all build test lint deps tools apt-deps npm-deps otelcol fuzz fuzz-long chaos bench bench-quick bench-statsd bench-micro bench-deps pgo clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/metlog ./cmd/metlog

## deps: everything the test suite needs that a fresh machine lacks (idempotent)
deps: tools apt-deps npm-deps otelcol

APT_PACKAGES = $(shell sed -e 's/\#.*//' testdeps/apt.txt)

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## npm-deps: npm ci installs exactly the lock file; it refuses a lock that
## lacks the optional platform binaries a package lists for other systems
## (@duckdb/node-api's, which this registry does not serve), and then npm
## install, which installs the lock's versions for this platform, does it.
npm-deps:
	@if [ -f testdeps/package.json ]; then \
	  if [ ! -d testdeps/node_modules ] || [ testdeps/package-lock.json -nt testdeps/node_modules ]; then \
	    cd testdeps && { npm ci --no-audit --no-fund --silent 2>/dev/null || \
	      npm install --no-audit --no-fund --silent --no-save; } && touch node_modules; \
	  fi; \
	fi

## otelcol: an OpenTelemetry Collector with the OTLP receiver and the file
## exporter, for the OTLP interop tests; skipped when the binary exists.
## The builder writes the sources and go.mod, then runs `go mod tidy`, which
## also fetches the test dependencies of every component and fails where a
## module proxy lacks one; `go build -mod=mod` then resolves just what the
## collector imports.
otelcol:
	@if [ ! -x $(OTELCOL) ]; then \
	  set -e; \
	  echo "building the OpenTelemetry Collector for the OTLP tests (slow the first time)"; \
	  GOBIN=$(CURDIR)/testdeps/otelcol/bin $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OTELCOL_BUILDER_VERSION); \
	  cd testdeps/otelcol; \
	  ./bin/builder --config builder-config.yaml --skip-compilation || test -f build/go.mod; \
	  cd build && GOFLAGS=-mod=mod $(GO) build -trimpath -o otelcol-metlog-test .; \
	fi

tools:
	@$(GOBIN)/staticcheck -version 2>/dev/null | grep -q "$(STATICCHECK_VERSION:v%=%)" || \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	cd bench && $(GO) vet ./... && $(GOBIN)/staticcheck ./...

# -race needs cgo; the shipped binary does not. bench/ is a module of its
# own: its harness's tests run here too.
test: deps lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...
	cd bench && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 5m ./...

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# FUZZTIME defaults to 30s for `make fuzz`; fuzz-long wants 10m unless told.
FUZZRESULTS ?= fuzz-results.md
fuzz-long:
	FUZZTIME=$(if $(filter command line environment,$(origin FUZZTIME)),$(FUZZTIME),10m) GO=$(GO) \
	  sh chaos/fuzz-long.sh $(FUZZRESULTS)

# The full form of the fault-injection suite (the root-only disk-full
# scenario skips itself for other users). The router is built once, without
# -race, into a temporary directory; the whole log goes to chaos-results.txt
# and the scenarios' figures ("chaos: …" lines) to the terminal.
chaos:
	CGO_ENABLED=1 METLOG_CHAOS=full $(GO) test -race -count=1 -timeout 90m -v ./chaos/ > chaos-results.txt 2>&1; \
	  s=$$?; grep -E 'chaos: |^(--- |ok|FAIL)' chaos-results.txt; exit $$s

## bench: the peer comparison in bench/ (its own module). It installs the
## peers (Debian rsyslog and collectd-core, etsy statsd from npm,
## statsd_exporter with go install into bench/bin), then runs every workload.
bench: build bench-deps
	cd bench && $(GO) run ./cmd/perf -metlog ../bin/metlog -out ../docs/performance.md $(BENCHFLAGS)

bench-quick: build bench-deps
	cd bench && $(GO) run ./cmd/perf -quick -metlog ../bin/metlog -out results/performance-quick.md $(BENCHFLAGS)

bench-statsd: build bench-deps
	cd bench && $(GO) run ./cmd/perf -workloads statsd -statsd-lines 100 -statsd-names 1000 \
	  -statsd-rates 0,1000000 -statsd-duration 5s -out ../docs/performance-statsd.md $(BENCHFLAGS)

## pgo: profile-guided optimisation. `go build` of cmd/metlog uses
## cmd/metlog/default.pgo on its own; this target replaces it with 10 s CPU
## profiles of the router routing log lines and aggregating statsd flat out
## (metlog only: the peers are not run). A profile taken from a binary built
## with the previous one is as good a guide (the compiler's PGO is stable
## under iteration), so refresh it whenever the hot paths change.
pgo: build
	rm -rf bench/results/pgo
	cd bench && $(GO) run ./cmd/perf -workloads routing,statsd -systems metlog -rounds 1 -profile 10 \
	  -metlog ../bin/metlog -results results/pgo -out results/pgo/report.md
	$(GO) tool pprof -proto bench/results/pgo/profiles/routing.pprof bench/results/pgo/profiles/statsd.pprof \
	  > cmd/metlog/default.pgo.tmp
	mv cmd/metlog/default.pgo.tmp cmd/metlog/default.pgo

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./...

BENCH_APT_PACKAGES = rsyslog collectd-core

bench-deps:
	@missing=""; for p in $(BENCH_APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing"; \
	fi
	@if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules ]; then \
	  cd bench && npm ci --no-audit --no-fund --silent && touch node_modules; \
	fi
	@# etsy statsd ships Go examples: a go.mod keeps them out of the bench module.
	@printf 'module ignored.invalid/node_modules\n' > bench/node_modules/go.mod
	@$(GO) version -m bench/bin/statsd_exporter 2>/dev/null | grep -q "statsd_exporter[[:space:]]*$(STATSD_EXPORTER_VERSION)" || \
	  GOBIN=$(CURDIR)/bench/bin $(GO) install github.com/prometheus/statsd_exporter@$(STATSD_EXPORTER_VERSION)

clean:
	rm -rf bin
