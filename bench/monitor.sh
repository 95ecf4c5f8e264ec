#!/usr/bin/env bash
# The independent monitor (`litesync monitor -once`) against one s3rver (127.0.0.1):
# its requests per check of one replica, and how long after a sidecar's death its
# verdict turns stale with -once run in a loop.
#
#   bash bench/monitor.sh BUILD_DIR [ROUNDS]
#
# requests: one database, replicated by `litesync replicate` (sync-interval 1s,
#   liveness-interval 2s), checked 5 times idle and 5 times while test_writer
#   writes 20 tx/s; then once with -verify. The counts are the monitor's own
#   (-json "requests", counted where requests leave the process; the test suite
#   checks they equal what a proxy sees).
# death: ROUNDS times (default 3): max-age 10s; the sidecar is killed (-9) at a
#   random point of its liveness interval (idle database, liveness-interval 5s),
#   and `monitor -once` runs every 0.5 s until it exits 1; the time from the kill
#   to that exit is reported. The same for a writing database without liveness.
# Everything lives in one mktemp -d directory, removed on exit; every process is
# stopped by its PID.
set -euo pipefail

usage() { echo "usage: bash bench/monitor.sh BUILD_DIR [ROUNDS]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
ROUNDS=${2:-3}
BUCKET=bench
LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
S3RVER=$ROOT/tests/node_modules/.bin/s3rver

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-monitor.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit
log() { printf 'bench: %s\n' "$*" >&2; }
for f in "$LITESYNC" "$WRITER" "$S3RVER"; do
  [[ -x $f ]] || { echo "bench: $f is missing (make build; bash .ci/deps)" >&2; exit 2; }
done

start_bg() {  # start_bg LOG CMD...: BG = its PID
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}
stop_pid() {  # stop_pid PID SIGNAL
  kill "-$2" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
wait_for() {  # wait_for SECONDS PID CMD...
  local limit=$1 pid=$2 i; shift 2
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

mkdir -p "$WORK/s3rver"
start_bg "$WORK/s3rver.log" env S3RVER_LIB="$ROOT/tests/node_modules/s3rver/lib" \
  NODE_OPTIONS="--openssl-legacy-provider --require $ROOT/bench/s3rver_list_fix.js ${NODE_OPTIONS:-}" \
  "$S3RVER" --directory "$WORK/s3rver" --address 127.0.0.1 --port 0 --silent \
  --configure-bucket "$BUCKET"
S3PID=$BG
wait_for 30 "$S3PID" grep -q 'listening on 127.0.0.1:' "$WORK/s3rver.log" ||
  { echo "bench: s3rver did not start: $(cat "$WORK/s3rver.log")" >&2; exit 1; }
S3PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/s3rver.log" | head -n 1)
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
ENDPOINT=http://127.0.0.1:$S3PORT

# sidecar NAME LIVENESS: replicates $WORK/NAME.db to s3://bench/NAME; SIDECAR = PID.
sidecar() {
  local name=$1 liveness=$2
  cat >"$WORK/$name.yml" <<YML
dbs:
  - path: $WORK/$name.db
    replica:
      url: s3://$BUCKET/$name
      endpoint: $ENDPOINT
      sync-interval: 1s
      liveness-interval: $liveness
YML
  start_bg "$WORK/$name.log" "$LITESYNC" replicate -config "$WORK/$name.yml"
  SIDECAR=$BG
  wait_for 30 "$SIDECAR" grep -qs 'msg="new lineage"' "$WORK/$name.log" ||
    { echo "bench: the sidecar did not start: $(cat "$WORK/$name.log")" >&2; exit 1; }
}
url() { echo "s3://$BUCKET/$1?endpoint=$ENDPOINT&force-path-style=true"; }
# requests_of JSON: "GET=1 LIST=4" from -json's requests.
requests_of() {
  python3 -c 'import json,sys; r=json.load(sys.stdin)["replicas"][0]["requests"]; print(" ".join(f"{k}={v}" for k,v in r.items()), sum(r.values()))'
}

echo "## requests per check (one replica, s3rver)"
"$WRITER" "$WORK/req.db" -txns 50 -seed 1 >/dev/null
sidecar req 2s
sleep 3
for i in 1 2 3 4 5; do
  printf 'idle check %d: %s\n' "$i" "$("$LITESYNC" monitor -once -json -max-age 10s "$(url req)" | requests_of)"
done
start_bg "$WORK/writer.log" "$WRITER" "$WORK/req.db" -duration 30 -rate 20 -seed 2
WPID=$BG
sleep 2
for i in 1 2 3 4 5; do
  printf 'writing check %d: %s\n' "$i" "$("$LITESYNC" monitor -once -json -max-age 10s "$(url req)" | requests_of)"
  sleep 1
done
stop_pid "$WPID" KILL
sleep 2
printf 'check with -verify: %s\n' "$("$LITESYNC" monitor -once -verify -json -max-age 10s "$(url req)" | requests_of)"
stop_pid "$SIDECAR" TERM

# death NAME LIVENESS WRITING: one round; prints the seconds from kill -9 to exit 1.
death() {
  local name=$1 liveness=$2 writing=$3 start end code wpid=""
  "$WRITER" "$WORK/$name.db" -txns 20 -seed 1 >/dev/null
  sidecar "$name" "$liveness"
  if [[ $writing == yes ]]; then
    start_bg "$WORK/$name-writer.log" "$WRITER" "$WORK/$name.db" -duration 120 -rate 20 -seed 3
    wpid=$BG
  fi
  sleep $((12 + RANDOM % 5))  # past max-age, and a random point of the liveness interval
  "$LITESYNC" monitor -once -max-age 10s "$(url "$name")" >/dev/null ||
    { echo "bench: $name not fresh before the kill" >&2; exit 1; }
  start=$(now_ms)
  stop_pid "$SIDECAR" KILL
  while true; do
    code=0
    "$LITESYNC" monitor -once -max-age 10s "$(url "$name")" >"$WORK/$name.out" 2>"$WORK/$name.err" ||
      code=$?
    [[ $code == 1 ]] && break
    [[ $code == 0 ]] || { echo "bench: monitor exited $code: $(cat "$WORK/$name.err")" >&2; exit 1; }
    (($(now_ms) - start < 60000)) || { echo "bench: $name never turned stale" >&2; exit 1; }
    sleep 0.5
  done
  end=$(now_ms)
  [[ -n $wpid ]] && stop_pid "$wpid" KILL
  printf '%s: stale %.1f s after the kill (%s)\n' "$name" "$(echo "($end - $start) / 1000" | bc -l)" \
    "$(awk '{print $1}' "$WORK/$name.out" | head -n 1)"
}

echo "## sidecar death -> monitor -once verdict stale (max-age 10s, checks every 0.5 s)"
for ((r = 1; r <= ROUNDS; r++)); do
  death "idle-$r" 5s no
  death "writing-$r" 0 yes
done
