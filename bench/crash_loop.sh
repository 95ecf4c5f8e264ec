#!/usr/bin/env bash
# Crash loops (a pod in CrashLoopBackOff, a supervisor restarting a dying
# sidecar): litesync is started, killed with SIGKILL 0.1-2 s later and started
# again, CYCLES times, beside a writer at 250 tx/s with a VACUUM every 2,000
# transactions and SQLite's default autocheckpoint. Reports how many restarts
# began a new lineage (a full snapshot), the replica's size against the database
# size plus the bytes the application wrote, and checks that the replica
# restores exactly to the source after a last clean run.
#
#   bash bench/crash_loop.sh BUILD_DIR [CYCLES] [file|s3]     (default 300, file)
#
# LIFE="MIN MAX" sets how long each life lasts, in seconds (default "0.1 2").
# Against s3rver, which ignores conditional writes, a first lease acquisition
# waits 2 s to confirm itself (docs/FORMAT.md, "One writer per replica"): lives
# shorter than that never write, so the S3 figures use LIFE="2.2 4".
#
# Everything happens in one mktemp -d directory, removed on exit; every process
# started (the writer, litesync, s3rver) is stopped by its PID.
set -euo pipefail

usage() { echo "usage: bash bench/crash_loop.sh BUILD_DIR [CYCLES] [file|s3]" >&2; exit 2; }
(($# >= 1 && $# <= 3)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "crash_loop: no build directory $1" >&2; exit 2; }
CYCLES=${2:-300}
KIND=${3:-file}
read -r LIFE_MIN LIFE_MAX <<<"${LIFE:-0.1 2}"
[[ $CYCLES =~ ^[0-9]+$ && $KIND =~ ^(file|s3)$ ]] || usage
LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
TOOL=$BUILD/bench/bench_tool
for f in "$LITESYNC" "$WRITER" "$TOOL"; do
  [[ -x $f ]] || { echo "crash_loop: $f is not built (make build)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-crash-loop.XXXXXX")
# SIGTERM first (lib.sh): `timeout` passes it on to s3rver (a SIGKILL of
# `timeout` would orphan it), then SIGKILL whatever is left.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit
log() { printf 'crash_loop: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

DB=$WORK/app.db
if [[ $KIND == s3 ]]; then
  PORT=$((20000 + RANDOM % 20000))
  mkdir -p "$WORK/s3" "$WORK/s3/bkt"
  # s3rver encrypts continuation tokens with a cipher OpenSSL 3 keeps in its
  # legacy provider: without it a truncated listing answers 500.
  NODE_OPTIONS=--openssl-legacy-provider timeout 3600 "$ROOT/tests/node_modules/.bin/s3rver" -d "$WORK/s3" -a 127.0.0.1 -p "$PORT" \
    --configure-bucket bkt --silent >"$WORK/s3rver.log" 2>&1 &
  PIDS+=($!)
  sleep 2
  REPLICA="      url: s3://bkt/app
      endpoint: http://127.0.0.1:$PORT
      access-key-id: S3RVER
      secret-access-key: S3RVER"
  RESTORE_URL="s3://bkt/app?endpoint=http://127.0.0.1:$PORT&region=us-east-1&force-path-style=true"
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
else
  REPLICA="      path: $WORK/replica"
  RESTORE_URL=file://$WORK/replica
fi
cat >"$WORK/litesync.yml" <<Y
dbs:
  - path: $DB
    replica:
$REPLICA
      sync-interval: 1s
Y

"$WRITER" "$DB" -rate 250 -vacuum-every 2000 -duration 100000 -log "$WORK/writer.log" \
  >"$WORK/writer.out" 2>&1 &
WRITER_PID=$!
PIDS+=("$WRITER_PID")
sleep 1
start=$(date +%s)
for ((i = 1; i <= CYCLES; i++)); do
  "$LITESYNC" replicate -config "$WORK/litesync.yml" >>"$WORK/litesync.log" 2>&1 &
  pid=$!
  sleep "$(awk -v s=$RANDOM -v a="$LIFE_MIN" -v b="$LIFE_MAX" 'BEGIN {srand(s); printf "%.2f", a + rand() * (b - a)}')"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ((i % 50 == 0)) && log "$i cycles"
done
# The application's bytes written (WAL frames and its own checkpoints), read
# before it stops: the bound the replica's size is held to.
wchar=$(awk '/^wchar/ {print $2}' "/proc/$WRITER_PID/io")
kill -TERM "$WRITER_PID"; wait "$WRITER_PID" 2>/dev/null || true
elapsed=$(($(date +%s) - start))

# A last clean run: its final sync carries everything.
"$LITESYNC" replicate -config "$WORK/litesync.yml" >>"$WORK/litesync.log" 2>&1 &
pid=$!
sleep 3
kill -TERM "$pid"; wait "$pid" || die "the final clean run exited $?"
starts=$(grep -c 'msg="litesync starting"' "$WORK/litesync.log")
lineages=$(grep -c 'msg="new lineage"' "$WORK/litesync.log" || true)
resumed=$(grep -c 'msg="resumed replication"' "$WORK/litesync.log" || true)
tails=$(grep -c 'from="wal tail"' "$WORK/litesync.log" || true)
if [[ $KIND == s3 ]]; then replica_bytes=$(du -sb "$WORK/s3/bkt" | cut -f1)
else replica_bytes=$(du -sb "$WORK/replica" | cut -f1); fi
db_bytes=$(stat -c %s "$DB")
printf '\ncrash loop (%s replica): %d kill -9 cycles in %d s (lives %s-%s s), writer 250 tx/s, VACUUM every 2000\n' \
  "$KIND" "$CYCLES" "$elapsed" "$LIFE_MIN" "$LIFE_MAX"
printf '  starts %d, resumed %d (from the WAL tail %d), new lineages %d (%.1f %%, the first included)\n' \
  "$starts" "$resumed" "$tails" "$lineages" "$(awk -v a="$lineages" -v b="$starts" 'BEGIN {print 100 * a / b}')"
grep -o 'msg="new lineage".*reason="[^"]*"' "$WORK/litesync.log" | grep -o 'reason="[^"]*"' |
  sort | uniq -c | sed 's/^/    /'
printf '  replica %.1f MiB; database %.1f MiB + application bytes written %.1f MiB; ratio %.2f (target <= 3)\n' \
  "$(awk -v b="$replica_bytes" 'BEGIN {print b / 1048576}')" "$(awk -v b="$db_bytes" 'BEGIN {print b / 1048576}')" \
  "$(awk -v b="$wchar" 'BEGIN {print b / 1048576}')" \
  "$(awk -v r="$replica_bytes" -v d="$db_bytes" -v w="$wchar" 'BEGIN {print r / (d + w)}')"
"$LITESYNC" restore -o "$WORK/restored.db" "$RESTORE_URL" >"$WORK/restore.log" 2>&1 ||
  die "restore: $(tail -n 3 "$WORK/restore.log")"
[[ $("$TOOL" check "$WORK/restored.db") == "ok $("$TOOL" seq "$DB")" ]] ||
  die "restored seq $("$TOOL" seq "$WORK/restored.db"), source $("$TOOL" seq "$DB")"

printf '  restore of the latest state: exact (seq %s)\n' "$("$TOOL" seq "$DB")"
