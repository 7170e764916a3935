#!/usr/bin/env bash
# Runs schemathesis (PyPI) against the admin API's OpenAPI document with the admin token:
# no 5xx (not_a_server_error), every response matches its schema
# (response_schema_conformance), every status is documented (status_code_conformance).
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]      # default 50 per operation
#
# Builds nothing: uses target/release/porchlight, else target/debug/porchlight (under
# $CARGO_TARGET_DIR when set); `cargo build` first. Starts it on a free loopback port over a
# temporary data directory with a known token, and stops it after. schemathesis is installed
# into a venv under ~/.cache/porchlight-schemathesis on first use (pip, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-50}"
target="${CARGO_TARGET_DIR:-target}"

bin=""
for b in "$target/release/porchlight" "$target/debug/porchlight"; do
  if [ -x "$b" ]; then bin="$b"; break; fi
done
if [ -z "$bin" ]; then
  echo "schemathesis: no porchlight binary under $target; run cargo build first" >&2
  exit 2
fi

venv="${SCHEMATHESIS_VENV:-$HOME/.cache/porchlight-schemathesis}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis>=4,<5"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="schemathesis-admin-token-0123456789"
cat >"$dir/porchlight.toml" <<TOML
[server]
listen = "127.0.0.1:$port"

[storage]
path = "$dir/data"
TOML

PORCHLIGHT_ADMIN_TOKEN="$token" RUST_LOG=warn "$bin" serve --config "$dir/porchlight.toml" \
  >"$dir/daemon.log" 2>&1 &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "schemathesis: the daemon exited:" >&2
    cat "$dir/daemon.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "== schemathesis $("$venv/bin/st" --version | awk '{print $NF}') against $base/api/v1/openapi.json ($examples examples per operation)"
status=0
# From the temp dir: schemathesis keeps a cache in its working directory.
(cd "$dir" && "$venv/bin/st" --no-color run "$base/api/v1/openapi.json" \
  --url "$base" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance \
  --max-examples "$examples" \
  --seed 12 \
  --workers 1 \
  --request-timeout 10) || status=$?
if [ "$status" -eq 0 ]; then
  echo "schemathesis: 0 failures"
fi
exit "$status"
