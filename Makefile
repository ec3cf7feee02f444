# metlog — one entry point for building, linting and testing.
#
#   make test    install what the tests need, lint, run every test with -race
#   make lint    gofmt, go vet, staticcheck
#   make fuzz    run every fuzz target for FUZZTIME each
#   make bench   client and codec micro-benchmarks
#   make build   the static metlog binary in ./bin

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
FUZZTIME  ?= 30s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION ?= v0.8.2

export CGO_ENABLED ?= 0

.PHONY: all build test lint deps tools apt-deps npm-deps fuzz bench clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/metlog ./cmd/metlog

## deps: everything the test suite needs that a fresh machine lacks (idempotent)
deps: tools apt-deps npm-deps

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

npm-deps:
	@if [ -f testdeps/package.json ]; then \
	  if [ ! -d testdeps/node_modules ] || [ testdeps/package-lock.json -nt testdeps/node_modules ]; then \
	    cd testdeps && npm ci --no-audit --no-fund --silent && touch node_modules; \
	  fi; \
	fi

tools:
	@$(GOBIN)/staticcheck -version 2>/dev/null | grep -q "$(STATICCHECK_VERSION:v%=%)" || \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# -race needs cgo; the shipped binary does not.
test: deps lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
