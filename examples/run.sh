#!/usr/bin/env bash
# `make run`: start Envoy on localhost:$PORT (default 10000) with examples/policy.json and print
# two ready-to-paste curl commands with freshly minted tokens (one allowed, one denied).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-10000}"
UPSTREAM_PORT="${UPSTREAM_PORT:-10001}"
POLICY="${POLICY:-examples/policy.json}"
WASM="${WORKLOAD_AUTHZ_WASM:-$PWD/target/wasm32-wasip1/release/workload_authz.wasm}"
ENVOY_BIN="${ENVOY_BIN:-$PWD/.venv/bin/envoy}"
CLI="${CLI:-$PWD/target/release/workload-authz}"
KEY=examples/keys/demo-es256.pem
WORK=target/run
mkdir -p "$WORK"

"$CLI" check "$POLICY" >/dev/null || { "$CLI" check "$POLICY"; exit 1; }

python3 - "$POLICY" "$WASM" "$PORT" "$UPSTREAM_PORT" envoy/run.yaml "$WORK/envoy.yaml" "$PWD/$WORK/access.log" <<'PY'
import json, sys
policy, wasm, port, upstream, template, out, access_log = sys.argv[1:]
text = open(template).read()
compact = lambda path: json.dumps(json.load(open(path)))
text = text.replace("@POLICY@", json.dumps(open(policy).read()))
text = text.replace("@STATS_CONFIG@", compact("envoy/stats-config.json"))
text = text.replace("@ACCESS_LOG_FORMAT@", compact("envoy/access-log-format.json"))
text = text.replace("@ACCESS_LOG@", access_log)
text = text.replace("@WASM@", wasm).replace("@UPSTREAM_PORT@", upstream).replace("@PORT@", port)
open(out, "w").write(text)
PY

mint() { "$CLI" mint --key "$KEY" --kid demo-es256 --iss https://issuer.prod.example --aud orders "$@"; }
ALLOWED=$(mint --sub spiffe://prod.example/ns/shop/sa/checkout --scope "orders:read" --claim tenant=acme --ttl 300)
DENIED=$(mint --sub spiffe://prod.example/ns/shop/sa/checkout --scope "orders:read" --claim tenant=globex --ttl 300)

cat <<MSG

workload-authz is starting on http://localhost:$PORT with $POLICY (Ctrl-C stops it).
Envoy admin: http://localhost:9901   Envoy log: $WORK/envoy.log
Decision records (JSON access log): $WORK/access.log
Counters: curl -s localhost:9901/stats/prometheus | grep workload_authz

Allowed (200, reaches the upstream):
  curl -i -H "Authorization: Bearer $ALLOWED" http://localhost:$PORT/tenants/acme/orders/42

Denied (403 claim_mismatch: the token is for tenant globex, the path is tenant acme):
  curl -i -H "Authorization: Bearer $DENIED" http://localhost:$PORT/tenants/acme/orders/42

Also try: curl -i http://localhost:$PORT/healthz   (public)   and without a token (401).

MSG
exec "$ENVOY_BIN" -c "$WORK/envoy.yaml" --disable-hot-restart --concurrency 2 -l info \
  --component-log-level wasm:debug --log-path "$WORK/envoy.log"
