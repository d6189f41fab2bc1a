#!/usr/bin/env bash
# Regenerates the committed artefacts of package contracts from SessionRouterMock.sol:
#
#   SessionRouterMock.abi      ABI (JSON, pretty-printed)      ← solcjs --abi
#   SessionRouterMock.bin      creation bytecode (hex)         ← solcjs --bin --optimize
#   session_router_mock.go     Go binding (package contracts)  ← abigen
#
# Usage (one command, from anywhere in the repository):
#
#   bash chain/contracts/generate.sh        # or: go generate ./chain/contracts/
#
# Needs: node + npm (npm registry), go (Go module proxy). Nothing is installed
# globally: solc-js goes into a temporary --prefix that is removed afterwards,
# and abigen runs with `go run …@<version>`, where <version> is the
# go-ethereum version in go.mod, so the binding matches the library the
# gateway links against.
#
# Pins (override for an upgrade, then commit the regenerated files):
#   SOLC_VERSION   solc-js (npm "solc") version, default below.
#   GETH_VERSION   abigen version, default: go-ethereum's version in go.mod.
#
# The output is deterministic for a given SOLC_VERSION (the bytecode's metadata
# hash covers the source file name and content), so a clean regeneration
# leaves `git status` unchanged.
set -euo pipefail

SOLC_VERSION="${SOLC_VERSION:-0.8.30}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [[ -z "${GETH_VERSION:-}" ]]; then
	GETH_VERSION="$(go list -m -f '{{.Version}}' github.com/ethereum/go-ethereum)"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "generate: installing solc-js ${SOLC_VERSION} into a temporary prefix" >&2
npm install --no-save --no-audit --no-fund --loglevel=error \
	--prefix "$tmp" "solc@${SOLC_VERSION}" >/dev/null

echo "generate: compiling SessionRouterMock.sol" >&2
"$tmp/node_modules/.bin/solcjs" --abi --bin --optimize \
	--base-path . -o "$tmp/out" SessionRouterMock.sol

# solcjs names its outputs <file>_sol_<Contract>.{abi,bin}.
abi_out="$tmp/out/SessionRouterMock_sol_SessionRouterMock.abi"
bin_out="$tmp/out/SessionRouterMock_sol_SessionRouterMock.bin"
node -e '
const fs = require("fs");
const abi = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
fs.writeFileSync(process.argv[2], JSON.stringify(abi, null, 2) + "\n");
' "$abi_out" SessionRouterMock.abi
tr -d '\n' <"$bin_out" >SessionRouterMock.bin
echo >>SessionRouterMock.bin

echo "generate: abigen ${GETH_VERSION} → session_router_mock.go" >&2
go run "github.com/ethereum/go-ethereum/cmd/abigen@${GETH_VERSION}" \
	--abi SessionRouterMock.abi --bin SessionRouterMock.bin \
	--pkg contracts --type SessionRouterMock --out session_router_mock.go

chmod 0644 session_router_mock.go
gofmt -l . | (! grep .) || { echo "generate: gofmt reports files above" >&2; exit 1; }
echo "generate: done (solc ${SOLC_VERSION}, abigen ${GETH_VERSION})" >&2
