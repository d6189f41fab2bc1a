# caddy-morpheus — developer and operator commands.
#
#   make test    gofmt check, go vet, staticcheck, and every test (the CI command)
#   make run     a local gateway: fake proxy-router + Caddy with Caddyfile.example (embedded store)
#   make build   ./caddy: Caddy + standard modules + this plugin (go build ./cmd/caddy)
#   make xcaddy  ./caddy built with xcaddy at the Caddy version pinned in xcaddy.json
#   make smoke   checks a built ./caddy: modules listed, Caddyfile.example validates
#   make bench   the gateway vs bare reverse_proxy vs the fake router → BENCHMARKS.md

GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
XCADDY        ?= github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.7
MODULE        := $(shell sed -n 's/^module //p' go.mod)
CADDY_VERSION := $(shell sed -n 's/.*"caddy_version": *"\([^"]*\)".*/\1/p' xcaddy.json)

.PHONY: test fmt-check vet staticcheck gotest run build xcaddy smoke bench

test: fmt-check vet staticcheck gotest

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# -p 1: the end-to-end tests start one in-process Caddy per test binary on
# fixed ports, so test binaries run one at a time.
gotest:
	$(GO) test -p 1 -count=1 ./...

run:
	bash scripts/demo.sh

build:
	$(GO) build -o caddy ./cmd/caddy

# The zero pseudo-version makes `go get` use the local replacement instead
# of asking the module proxy for a version of this module.
xcaddy:
	$(GO) run $(XCADDY) build $(CADDY_VERSION) --output ./caddy \
		--with $(MODULE)@v0.0.0-00010101000000-000000000000=.

# Smoke test of the built binary: the modules are registered and the example
# Caddyfile adapts and validates.
smoke:
	./caddy list-modules | grep -qx morpheus
	./caddy list-modules | grep -qx http.handlers.morpheus
	XDG_DATA_HOME=$$(mktemp -d) PROXY_ROUTER_USERNAME=admin PROXY_ROUTER_PASSWORD=fake \
		./caddy validate --config Caddyfile.example --adapter caddyfile

# Benchmark (≈4 minutes): SQLite store unless MORPHEUS_BENCH_DATABASE_URL
# names a PostgreSQL server; wrk is used when installed.
bench:
	$(GO) run ./bench -out BENCHMARKS.md
