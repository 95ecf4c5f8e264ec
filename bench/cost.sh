#!/usr/bin/env bash
# What replication costs in requests: litesync vs Litestream v0.3.13 on one s3rver
# (127.0.0.1), every request counted by the logging proxy (bench_tool s3proxy).
#
#   bash bench/cost.sh BUILD_DIR [quick|full]
#
# Phases (COST_PHASES="idle active many" picks some; COST_KINDS="litesync" one sidecar):
#   idle    one database, no writes, heartbeat configured (interval 5m, the default)
#   active  one database at 1 tx/s and at 100 tx/s
#   many    N idle databases in one process (a dirs: entry; Litestream: one dbs: entry each)
# quick: idle 120 s, active 60 s per rate, many 50 dbs x 120 s (~12 min).
# full:  idle 600 s, active 600 s per rate, many 1000 dbs x 600 s (~75 min).
# Counts start after the sidecar's first snapshot (many: after the last one), so
# start-up is reported apart. Per hour = count x 3600 / window. Everything lives in
# one mktemp -d directory, removed on exit; every process is stopped by its PID.
set -euo pipefail

usage() { echo "usage: bash bench/cost.sh BUILD_DIR [quick|full]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
MODE=${2:-quick}
case $MODE in
  quick) IDLE_S=120; ACTIVE_S=60; MANY_N=50; MANY_S=120 ;;
  full) IDLE_S=600; ACTIVE_S=600; MANY_N=1000; MANY_S=600 ;;
  *) usage ;;
esac
IDLE_S=${COST_IDLE_S:-$IDLE_S}
ACTIVE_S=${COST_ACTIVE_S:-$ACTIVE_S}
MANY_N=${COST_MANY_N:-$MANY_N}
MANY_S=${COST_MANY_S:-$MANY_S}
PHASES=${COST_PHASES:-idle active many}
BUCKET=bench
KEY=S3RVER

LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
TOOL=$BUILD/bench/bench_tool
LITESTREAM=$ROOT/tests/node_modules/@flydotio/litestream-linux-x64/litestream
S3RVER=$ROOT/tests/node_modules/.bin/s3rver

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-cost.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit
log() { printf 'bench: %s\n' "$*" >&2; }

for f in "$LITESYNC" "$WRITER" "$TOOL" "$S3RVER"; do
  [[ -x $f ]] || { echo "bench: $f is missing (make build; bash .ci/deps)" >&2; exit 2; }
done
KINDS="litesync"
if [[ -x $LITESTREAM ]] && "$LITESTREAM" version 2>/dev/null | grep -q '^v0.3.13'; then
  KINDS="litesync litestream"
else
  log "Litestream v0.3.13 not installed (bash .ci/deps): its column is n/a"
fi
KINDS=${COST_KINDS:-$KINDS}  # e.g. COST_KINDS=litestream: one sidecar only

start_bg() {  # start_bg LOG CMD...: BG = its PID
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}
stop_pid() {  # stop_pid PID [SECONDS]
  local pid=$1 limit=${2:-30} i keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do if [[ $p != "$pid" ]]; then keep+=("$p"); fi; done
  PIDS=("${keep[@]}")
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
now_ns() { date +%s%N; }

# s3rver 3.7.1 on 127.0.0.1 (as in bench/s3.sh), its data under WORK.
start_s3rver() {
  local dir=$WORK/s3rver
  mkdir -p "$dir"
  start_bg "$WORK/s3rver.log" env S3RVER_LIB="$ROOT/tests/node_modules/s3rver/lib" \
    NODE_OPTIONS="--openssl-legacy-provider --require $ROOT/bench/s3rver_list_fix.js ${NODE_OPTIONS:-}" \
    "$S3RVER" --directory "$dir" --address 127.0.0.1 --port 0 --silent --configure-bucket "$BUCKET"
  S3PID=$BG
  wait_for 30 "$S3PID" grep -q 'listening on 127.0.0.1:' "$WORK/s3rver.log" ||
    { echo "bench: s3rver did not start: $(cat "$WORK/s3rver.log")" >&2; exit 1; }
  S3PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/s3rver.log" | head -n 1)
  S3DIR=$dir
}
# start_proxy DIR: bench_tool s3proxy in front of s3rver; PROXY = PID, PPORT = its port.
start_proxy() {
  start_bg "$1/proxy.err" "$TOOL" s3proxy "$S3PORT" "/$BUCKET/" "$1/events"
  PROXY=$BG
  wait_for 10 "$PROXY" grep -q listening "$1/events" 2>/dev/null ||
    { echo "bench: s3proxy failed: $(cat "$1/proxy.err")" >&2; exit 1; }
  PPORT=$(awk '$2 == "listening" {print $3; exit}' "$1/events")
}

s3_replica_yaml() {  # s3_replica_yaml INDENT PREFIX
  local i=$1
  cat <<EOF
${i}url: s3://$BUCKET/$2
${i}endpoint: http://127.0.0.1:$PPORT
${i}region: us-east-1
${i}force-path-style: true
${i}access-key-id: $KEY
${i}secret-access-key: $KEY
${i}sync-interval: 1s
EOF
}
# config KIND DIR DB...: DIR/KIND.yml for the databases (prefix = db file name).
# litesync: heartbeat-url on a closed loopback port (the pings fail; they are not
# replica requests, but the health rule's interval, 5m, drives its idle requests).
config() {
  local kind=$1 dir=$2 db; shift 2
  if [[ $kind == litesync ]]; then
    {
      echo "heartbeat-url: http://127.0.0.1:9/ping"
      echo "heartbeat-interval: 5m"
      echo "dbs:"
      for db in "$@"; do
        echo "  - path: $db"
        echo "    replica:"
        s3_replica_yaml "      " "$(basename "$db" .db)"
      done
    } >"$dir/litesync.yml"
  else
    {
      echo "dbs:"
      for db in "$@"; do
        echo "  - path: $db"
        echo "    monitor-interval: 1s"
        echo "    replicas:"
        echo "      - type: s3"
        echo "        bucket: $BUCKET"
        echo "        path: $(basename "$db" .db)"
        echo "        endpoint: http://127.0.0.1:$PPORT"
        echo "        region: us-east-1"
        echo "        force-path-style: true"
        echo "        access-key-id: $KEY"
        echo "        secret-access-key: $KEY"
        echo "        sync-interval: 1s"
      done
    } >"$dir/litestream.yml"
  fi
}
bin_of() { if [[ $1 == litesync ]]; then echo "$LITESYNC"; else echo "$LITESTREAM"; fi; }
# snapshots KIND: how many snapshot objects s3rver holds (complete: their metadata file).
snapshots() {
  if [[ $1 == litesync ]]; then
    find "$S3DIR/$BUCKET" -path '*/9/*.ltx._S3rver_metadata.json' 2>/dev/null | wc -l
  else
    find "$S3DIR/$BUCKET" -path '*/snapshots/*.snapshot.lz4._S3rver_metadata.json' 2>/dev/null |
      wc -l
  fi
}
at_least() { (($(snapshots "$1") >= $2)); }
new_db() {
  "$WRITER" "$1" -mode insert -txns 1 -payload 100 >/dev/null
  "$WRITER" "$1" -checkpoint TRUNCATE >/dev/null
}

# count EVENTS FROM_NS TO_NS KIND: "PUT GET HEAD LIST DELETE total data_syncs max_per_s"
# over the requests in [FROM, TO). A data-carrying sync is a PUT of a level-0 tx
# file (litesync, <lineage>/0/...) or of a WAL segment (Litestream, .../wal/...).
count() {
  awk -v a="$2" -v b="$3" -v kind="$4" '
    $2 == "request" && $1 >= a && $1 < b {
      split($3, f, ","); m = f[2]; t = f[3]
      op = m
      if (m == "GET" && t ~ /[?&]list-type=|[?&]prefix=|\?delimiter=/) op = "LIST"
      else if (m == "GET" && t ~ /^\/[^\/]+\/?(\?.*)?$/) op = "LIST"
      else if (m == "POST" && t ~ /[?&]delete/) op = "DELETE"
      else if (m == "POST") op = "PUT"
      n[op]++; total++
      s = int($1 / 1e9); per[s]++; if (per[s] > max) max = per[s]
      if (m == "PUT" && ((kind == "litesync" && t ~ /\/0\/[0-9a-f]+-[0-9a-f]+-/) ||
                         (kind == "litestream" && t ~ /\/wal\//))) data++
    }
    END { printf "%d %d %d %d %d %d %d %d\n", n["PUT"], n["GET"], n["HEAD"], n["LIST"],
          n["DELETE"], total, data, max }' "$1"
}
per_hour() { awk -v c="$1" -v s="$2" 'BEGIN {printf "%.0f", c * 3600 / s}'; }

declare -A R
# row NAME KIND COUNTS SECONDS: the per-hour line of one measurement.
row() {
  local name=$1 kind=$2 s=$4 put get head list del total data max ratio
  read -r put get head list del total data max <<<"$3"
  ratio=n/a
  ((data > 0)) && ratio=$(awk -v t="$total" -v d="$data" 'BEGIN {printf "%.3f", t / d}')
  R[$name.$kind]=$(printf '%-9s %-10s %7s %7s %7s %7s %7s %8s %7s %6s %5s' "$name" "$kind" \
    "$(per_hour "$put" "$s")" "$(per_hour "$get" "$s")" "$(per_hour "$head" "$s")" \
    "$(per_hour "$list" "$s")" "$(per_hour "$del" "$s")" "$(per_hour "$total" "$s")" \
    "$(per_hour "$data" "$s")" "$ratio" "$max")
  log "${R[$name.$kind]}  (raw over ${s}s: $3)"
}

# --- idle and active: one database -------------------------------------------------------
one_db() {  # one_db KIND NAME RATE SECONDS (RATE 0: idle)
  local kind=$1 name=$2 rate=$3 secs=$4 dir side writer t0 t1
  dir=$WORK/$name-$kind
  mkdir -p "$dir"
  new_db "$dir/$name.db"
  start_proxy "$dir"
  config "$kind" "$dir" "$dir/$name.db"
  start_bg "$dir/sidecar.log" "$(bin_of "$kind")" replicate -config "$dir/$kind.yml"
  side=$BG
  local before; before=$(snapshots "$kind")
  wait_for 120 "$side" at_least "$kind" $((before + 1)) ||
    { log "$kind did not snapshot: $(tail -n 3 "$dir/sidecar.log")"; exit 1; }
  sleep 5  # the first sync after the snapshot, compaction's and retention's start-up pass
  t0=$(now_ns)
  if ((rate > 0)); then
    start_bg "$dir/writer.err" "$WRITER" "$dir/$name.db" -mode insert -rate "$rate" \
      -duration "$secs" -payload 100
    writer=$BG
    wait "$writer" 2>/dev/null || true
    stop_pid "$writer" 5
  else
    sleep "$secs"
  fi
  t1=$(now_ns)
  row "$name" "$kind" "$(count "$dir/events" "$t0" "$t1" "$kind")" "$secs"
  R[$name.$kind.startup]=$(count "$dir/events" 0 "$t0" "$kind")
  stop_pid "$side" 30
  stop_pid "$PROXY" 5
}

# --- many idle databases in one process --------------------------------------------------
many() {  # many KIND
  local kind=$1 dir=$WORK/many-$kind side i dbs=() t0 t1 before
  mkdir -p "$dir/data"
  python3 - "$dir/data" "$MANY_N" <<'PY'
import sqlite3, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    c = sqlite3.connect(f"{d}/m{i:04d}.db")
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t(v) VALUES('x')")
    c.commit(); c.close()
PY
  for ((i = 0; i < MANY_N; i++)); do dbs+=("$dir/data/$(printf 'm%04d' "$i").db"); done
  start_proxy "$dir"
  config "$kind" "$dir" "${dbs[@]}"
  before=$(snapshots "$kind")
  start_bg "$dir/sidecar.log" "$(bin_of "$kind")" replicate -config "$dir/$kind.yml"
  side=$BG
  wait_for 900 "$side" at_least "$kind" $((before + MANY_N)) ||
    { log "$kind: not every database snapshotted: $(tail -n 3 "$dir/sidecar.log")"; }
  sleep 5  # the last databases' first sync and start-up maintenance after their snapshot
  t0=$(now_ns)
  sleep "$MANY_S"
  t1=$(now_ns)
  row "many$MANY_N" "$kind" "$(count "$dir/events" "$t0" "$t1" "$kind")" "$MANY_S"
  R[many$MANY_N.$kind.startup]=$(count "$dir/events" 0 "$t0" "$kind")
  stop_pid "$side" 60
  stop_pid "$PROXY" 5
}

start_s3rver
for kind in $KINDS; do
  for phase in $PHASES; do
    case $phase in
      idle) log "$kind: idle ${IDLE_S}s"; one_db "$kind" idle 0 "$IDLE_S" ;;
      active)
        log "$kind: 1 tx/s and 100 tx/s, ${ACTIVE_S}s each"
        one_db "$kind" tx1 1 "$ACTIVE_S"
        one_db "$kind" tx100 100 "$ACTIVE_S"
        ;;
      many) log "$kind: $MANY_N idle databases, ${MANY_S}s"; many "$kind" ;;
    esac
  done
done

echo "requests per hour (window after start-up; mode $MODE: idle ${IDLE_S}s, active ${ACTIVE_S}s, many $MANY_N dbs x ${MANY_S}s)"
printf '%-9s %-10s %7s %7s %7s %7s %7s %8s %7s %6s %5s\n' run sidecar PUT GET HEAD LIST DELETE \
  total syncs req/sync max/s
for key in idle tx1 tx100 "many$MANY_N"; do
  for kind in litesync litestream; do
    [[ -n ${R[$key.$kind]:-} ]] && echo "${R[$key.$kind]}"
  done
done
echo "start-up (until the first snapshot + 5 s; many: until every snapshot): PUT GET HEAD LIST DELETE total syncs max/s"
for key in idle tx1 tx100 "many$MANY_N"; do
  for kind in litesync litestream; do
    [[ -n ${R[$key.$kind.startup]:-} ]] && printf '%-9s %-10s %s\n' "$key" "$kind" "${R[$key.$kind.startup]}"
  done
done
