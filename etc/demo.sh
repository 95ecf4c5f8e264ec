#!/usr/bin/env bash
# `make run`: a working demo. Creates demo/app.db, starts a small writer that plays
# the application, and runs `litesync replicate` in the foreground with a file
# replica in demo/replica (config demo/litesync.yml). Ctrl-C stops both; litesync
# makes its final sync. Then try, in another terminal:
#   BUILD/cmd/litesync status  -config demo/litesync.yml
#   BUILD/cmd/litesync restore -config demo/litesync.yml -o /tmp/restored.db demo/app.db
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
ROOT=$PWD
LITESYNC=$ROOT/$BUILD/cmd/litesync
WRITER=$ROOT/$BUILD/tests/test_writer
mkdir -p demo
cat > demo/litesync.yml <<YAML
# Demo configuration written by etc/demo.sh; see etc/litesync.yml for every key.
addr: 127.0.0.1:9090
dbs:
  - path: $ROOT/demo/app.db
    replica:
      path: $ROOT/demo/replica
      sync-interval: 1s
      retention: 24h
YAML
"$WRITER" "$ROOT/demo/app.db" -mode random -rate 5 -duration 86400 -seed 1 >/dev/null 2>&1 &
writer=$!
trap 'kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true' EXIT
echo "demo: writer (pid $writer) writes 5 tx/s to demo/app.db; litesync replicates to demo/replica" >&2
echo "demo: metrics http://127.0.0.1:9090/metrics, health /healthz; Ctrl-C to stop" >&2
"$LITESYNC" replicate -config demo/litesync.yml
