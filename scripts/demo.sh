#!/usr/bin/env bash
# make run: a working local gateway — the fake proxy-router on 127.0.0.1:8082
# and Caddy with Caddyfile.example on the embedded SQLite store (under
# .demo/), with demo secrets. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p .demo/bin
go build -o .demo/bin/caddy ./cmd/caddy
go build -o .demo/bin/fakerouter ./cmd/fakerouter

export XDG_DATA_HOME="$PWD/.demo/data"
export XDG_CONFIG_HOME="$PWD/.demo/config"
export PROXY_ROUTER_USERNAME=admin PROXY_ROUTER_PASSWORD=fake
export MORPHEUS_JWT_SECRET="demo-jwt-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export MORPHEUS_ENCRYPTION_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
export MORPHEUS_DEFAULT_MODEL=llama-3.3-70b
unset MORPHEUS_DATABASE_URL

.demo/bin/fakerouter -listen 127.0.0.1:8082 -user admin -password fake -open-latency 1s &
router=$!
trap 'kill $router 2>/dev/null || true' EXIT

cat <<'MSG'

caddy-morpheus demo: gateway on http://localhost:8080, fake proxy-router on 127.0.0.1:8082.
In another terminal:

  B=http://localhost:8080/api/v1
  curl -s $B/auth/register -H 'Content-Type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}'
  TOKEN=$(curl -s $B/auth/login -H 'Content-Type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  KEY=$(curl -s $B/auth/keys -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"name":"demo"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
  curl -s $B/models
  curl -s $B/chat/completions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"model":"llama-3.3-70b","messages":[{"role":"user","content":"hello Morpheus"}]}'
  curl -sN $B/chat/completions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"model":"llama-3.3-70b","stream":true,"messages":[{"role":"user","content":"stream me some words"}]}'

MSG

.demo/bin/caddy run --config Caddyfile.example --adapter caddyfile
