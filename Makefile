# arbmm build, test and benchmark entry points. `make test` is what CI runs.
SHELL    := bash
.SHELLFLAGS := -eo pipefail -c
GO       ?= go
PKGS     := ./...
FUZZTIME ?= 20s
BENCHTIME ?= 1s

.PHONY: all build test vet race bench fuzz replay simex demo clean

all: build test

build:
	$(GO) build -o bin/arbmm ./cmd/arbmm

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The full suite: vet and gofmt, every test under the race detector in
# shuffled order, then every test again without it: the zero-allocation tests
# (alloc_test.go, build tag !race) only run there, since -race instruments
# allocations.
test: vet
	$(GO) test -race -shuffle=on $(PKGS)
	@mkdir -p bin
	$(GO) test -count=1 -v $(PKGS) 2>&1 | tee bin/test.log | grep -E '^(ok|FAIL|--- FAIL|panic)'
	@awk '/^--- PASS/{p++} /^--- FAIL/{f++} END{printf "tests: %d passed, %d failed\n", p, f}' bin/test.log

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# Each fuzz target for FUZZTIME (go test -fuzz takes one target per run).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# The main job: the engine against simulated Binance and Kraken venues in
# one process, arbitrage end to end, DURATION long (default 30s).
DURATION ?= 30s
demo: build
	./bin/arbmm demo --duration $(DURATION)

# The simulated Binance and Kraken venues, standalone, until Ctrl-C.
simex: build
	./bin/arbmm simex -c configs/simex.yaml

# Replay the real exchange captures in the repository through the feed code.
replay: build
	./bin/arbmm replay feed/*/testdata/*.jsonl feed/*/testdata/*.jsonl.zst

clean:
	rm -rf bin
