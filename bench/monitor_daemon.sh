#!/usr/bin/env bash
# The time from a sidecar's death to the independent monitor's down notification:
# a writer commits 10 tx/s, `litesync replicate` ships it to s3rver
# (sync-interval 1s), `litesync monitor -config` judges the replica (max-age
# MAX_AGE, check-interval default max-age / 5) and pushes to an HTTP receiver on
# loopback standing in for Uptime Kuma. Each round kills the sidecar with SIGKILL,
# takes the time until the receiver gets status=down, then restarts the sidecar
# and waits for status=up.
#
#   bash bench/monitor_daemon.sh BUILD_DIR [ROUNDS]     (MAX_AGE=10s by default)
#
# Everything happens in one mktemp -d directory, removed on exit; every process
# started is stopped by its PID (bench/lib.sh).
set -euo pipefail

usage() { echo "usage: bash bench/monitor_daemon.sh BUILD_DIR [ROUNDS]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "monitor: no build directory $1" >&2; exit 2; }
ROUNDS=${2:-5}
MAX_AGE=${MAX_AGE:-10s}
BUCKET=bench
LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
S3RVER=$ROOT/tests/node_modules/.bin/s3rver
for f in "$LITESYNC" "$WRITER" "$S3RVER"; do
  [[ -x $f ]] || { echo "monitor: $f is missing (make build; bash .ci/deps)" >&2; exit 2; }
done
PYTHON=$(command -v python3) || { echo "monitor: python3 is missing" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-monitor-bench.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit

log() { printf 'monitor: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ns() { date +%s%N; }
start_bg() {  # start_bg LOG CMD...: CMD in the background; BG = its PID
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}
wait_for() {  # wait_for SECONDS CMD...: polls CMD every 20 ms
  local limit=$1 i; shift
  for ((i = 0; i < limit * 50; i++)); do "$@" && return 0; sleep 0.02; done
  return 1
}
count() { local n; n=$(grep -c "$1" "$WORK/received" 2>/dev/null) || true; echo "${n:-0}"; }
more_than() { (($(count "$1") > $2)); }

# s3rver 3.7.1 on 127.0.0.1 (as bench/s3.sh starts it).
mkdir -p "$WORK/s3rver"
start_bg "$WORK/s3rver.log" env NODE_OPTIONS="--openssl-legacy-provider ${NODE_OPTIONS:-}" \
  "$S3RVER" --directory "$WORK/s3rver" --address 127.0.0.1 --port 0 --silent \
  --configure-bucket "$BUCKET"
wait_for 30 grep -q 'listening on 127.0.0.1:' "$WORK/s3rver.log" ||
  die "s3rver did not start: $(cat "$WORK/s3rver.log")"
S3URL=http://127.0.0.1:$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
  "$WORK/s3rver.log" | head -n 1)

# The receiver: one line per request, "<unix ns> <path?query>", answered 200.
cat >"$WORK/receiver.py" <<'EOF'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write("%d %s\n" % (time.time_ns(), self.path))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"OK")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
start_bg "$WORK/receiver.port" "$PYTHON" "$WORK/receiver.py" "$WORK/received"
wait_for 10 test -s "$WORK/receiver.port" || die "the receiver did not start"
KUMA=http://127.0.0.1:$(head -n 1 "$WORK/receiver.port")

DB=$WORK/app.db
cat >"$WORK/litesync.yml" <<EOF
dbs:
  - path: $DB
    replica:
      url: s3://$BUCKET/app
      endpoint: $S3URL
      access-key-id: S3RVER
      secret-access-key: S3RVER
      sync-interval: 1s
EOF
cat >"$WORK/monitor.yml" <<EOF
defaults:
  url: s3://$BUCKET/{name}
  endpoint: $S3URL
  access-key-id: S3RVER
  secret-access-key: S3RVER
  max-age: $MAX_AGE
  push-url: $KUMA/api/push/{token}?status={status}&msg={msg}
replicas:
  - name: app
    push-token: benchtoken
EOF

start_bg "$WORK/writer.log" "$WRITER" "$DB" -duration 3600 -rate 10
start_sidecar() {
  start_bg "$WORK/sidecar.log" "$LITESYNC" replicate -config "$WORK/litesync.yml"
  SIDECAR=$BG
}
start_sidecar
start_bg "$WORK/monitor.log" "$LITESYNC" monitor -config "$WORK/monitor.yml"
wait_for 60 more_than status=up 0 || die "no up notification: $(tail -n 5 "$WORK/monitor.log")"
CHECK=$(sed -n 's/.*monitoring.*check_interval=\([^ ]*\).*/\1/p' "$WORK/monitor.log" | head -n 1)
log "max-age $MAX_AGE, check interval $CHECK, sync-interval 1s, writer 10 tx/s; $ROUNDS rounds"

TIMES=()
for ((r = 1; r <= ROUNDS; r++)); do
  downs=$(count status=down)
  ups=$(count status=up)
  sleep 3  # let the sidecar ship a few seconds of writes first
  kill -KILL "$SIDECAR"
  killed=$(now_ns)
  { wait "$SIDECAR" || true; } 2>/dev/null
  wait_for 120 more_than status=down "$downs" || die "round $r: no down notification"
  got=$(grep status=down "$WORK/received" | tail -n 1 | awk '{print $1}')
  secs=$(awk -v a="$killed" -v b="$got" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
  TIMES+=("$secs")
  log "round $r: down ${secs}s after the sidecar's death"
  start_sidecar
  wait_for 120 more_than status=up "$ups" || die "round $r: no up after the restart"
done
sorted=$(printf '%s\n' "${TIMES[@]}" | sort -n)
printf 'sidecar death -> down notification (max-age %s, check %s): min %s s, median %s s, max %s s (%s rounds: %s)\n' \
  "$MAX_AGE" "$CHECK" "$(head -n 1 <<<"$sorted")" \
  "$(awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}' <<<"$sorted")" \
  "$(tail -n 1 <<<"$sorted")" "$ROUNDS" "${TIMES[*]}"
