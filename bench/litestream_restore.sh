#!/usr/bin/env bash
# Restoring a replica that Litestream v0.3.13 wrote: litesync's restore against
# Litestream's own, from a directory and from s3rver 3.7.1 on 127.0.0.1, of the
# same replica. Prints a table: median wall time of each, the ratio (target:
# litesync <= 0.5 x Litestream), and whether the two restored files are identical.
#
#   bash bench/litestream_restore.sh BUILD_DIR [SIZE_MIB] [ROUNDS]   (defaults: 1024, 3)
#
# The database: rows of 2000 hex characters of random bytes (LZ4, which has no
# entropy coding, barely shrinks them: the replica is about the database's size),
# SIZE_MIB in all, then 2000 small transactions while Litestream runs so
# the replica holds WAL segments too. Litestream writes both replicas at once (one
# config, two replicas). Every run restores into a new file in the same directory;
# the page cache is warm for both programs alike. Everything lives in one mktemp -d
# directory, removed on exit; every process started is stopped by its PID.
set -euo pipefail

usage() { echo "usage: bash bench/litestream_restore.sh BUILD_DIR [SIZE_MIB] [ROUNDS]" >&2; exit 2; }
(($# >= 1 && $# <= 3)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
SIZE_MIB=${2:-1024}
ROUNDS=${3:-3}
LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
LITESTREAM=$ROOT/tests/node_modules/@flydotio/litestream-linux-x64/litestream
S3RVER=$ROOT/tests/node_modules/.bin/s3rver
BUCKET=bench
KEY=S3RVER  # s3rver's one account: access key id and secret are both S3RVER

for f in "$LITESYNC" "$WRITER" "$LITESTREAM" "$S3RVER" /usr/bin/sqlite3 /usr/bin/curl; do
  [[ -x $f ]] || { echo "bench: $f is missing (make build; bash .ci/deps)" >&2; exit 2; }
done
"$LITESTREAM" version | grep -q '^v0.3.13' || { echo "bench: $LITESTREAM is not v0.3.13" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-ltbench.XXXXXX")
STOP_GRACE=10  # Litestream's final sync of a 1 GiB database
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit
log() { printf 'bench: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
wait_for() {  # wait_for SECONDS PID CMD...: true once CMD succeeds while PID lives
  local deadline=$((SECONDS + $1)) pid=$2
  shift 2
  while ((SECONDS < deadline)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# s3rver, with bench/s3rver_list_fix.js so that Litestream's own restore (which
# lists generations with a delimiter) finds its backup (see bench/s3.sh).
mkdir -p "$WORK/s3rver"
env S3RVER_LIB="$ROOT/tests/node_modules/s3rver/lib" \
  NODE_OPTIONS="--openssl-legacy-provider --require $ROOT/bench/s3rver_list_fix.js" \
  "$S3RVER" --directory "$WORK/s3rver" --address 127.0.0.1 --port 0 --silent \
  --configure-bucket "$BUCKET" >"$WORK/s3rver.log" 2>&1 &
PIDS+=($!)
wait_for 30 "${PIDS[0]}" grep -q 'listening on 127.0.0.1:' "$WORK/s3rver.log" ||
  { echo "bench: s3rver did not start: $(cat "$WORK/s3rver.log")" >&2; exit 1; }
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/s3rver.log" | head -n 1)
ENDPOINT=http://127.0.0.1:$PORT

DB=$WORK/app.db
log "creating a ${SIZE_MIB} MiB database"
ROWS=$((SIZE_MIB * 1024 * 1024 / 2100))
sqlite3 "$DB" "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT $ROWS)
  INSERT INTO t(v) SELECT hex(randomblob(1000)) FROM c;" >/dev/null
cat >"$WORK/litestream.yml" <<YML
dbs:
  - path: $DB
    replicas:
      - name: file
        type: file
        path: $WORK/replica
      - name: s3
        type: s3
        bucket: $BUCKET
        path: app
        endpoint: $ENDPOINT
        region: us-east-1
        force-path-style: true
        access-key-id: $KEY
        secret-access-key: $KEY
YML
log "Litestream v0.3.13 replicates it (snapshot to both replicas)"
env -u AWS_CA_BUNDLE "$LITESTREAM" replicate -config "$WORK/litestream.yml" >"$WORK/litestream.log" 2>&1 &
LT=$!
PIDS+=($LT)
snapshots() { [[ $(grep -c 'msg="snapshot written"' "$WORK/litestream.log") -ge 2 ]]; }
wait_for 900 "$LT" snapshots || { echo "bench: no snapshots: $(tail "$WORK/litestream.log")" >&2; exit 1; }
"$WRITER" "$DB" -txns 2000 -seed 7 >"$WORK/writer.log" 2>&1
sleep 3  # sync-interval 1s: the last WAL segments reach both replicas
kill -TERM "$LT"
wait "$LT" 2>/dev/null || true
WANT=$(sqlite3 "$DB" "SELECT count(*), sum(length(v)) FROM t; PRAGMA integrity_check;" | tr '\n' ' ')

export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$KEY
S3URL="s3://$BUCKET/app?endpoint=$ENDPOINT&region=us-east-1&force-path-style=true"
# run NAME OUT CMD...: times CMD (a restore into OUT), checks OUT, prints seconds.
run() {
  local name=$1 out=$2 t0 t1 got
  shift 2
  rm -f "$out"
  t0=$(now_ns)
  "$@" >"$WORK/$name.log" 2>&1 || { echo "bench: $name failed: $(tail -5 "$WORK/$name.log")" >&2; exit 1; }
  t1=$(now_ns)
  got=$(sqlite3 "$out" "SELECT count(*), sum(length(v)) FROM t; PRAGMA integrity_check;" | tr '\n' ' ')
  [[ $got == "$WANT" ]] || { echo "bench: $name restored \"$got\", expected \"$WANT\"" >&2; exit 1; }
  secs "$t0" "$t1"
}
declare -A T
for r in $(seq "$ROUNDS"); do
  log "round $r of $ROUNDS"
  T[lt.file]+="$(run lt-file "$WORK/lt-file.db" env -u AWS_CA_BUNDLE "$LITESTREAM" restore \
    -config "$WORK/litestream.yml" -replica file -o "$WORK/lt-file.db" "$DB") "
  T[ls.file]+="$(run ls-file "$WORK/ls-file.db" "$LITESYNC" restore -o "$WORK/ls-file.db" \
    "$WORK/replica") "
  T[lt.s3]+="$(run lt-s3 "$WORK/lt-s3.db" env -u AWS_CA_BUNDLE "$LITESTREAM" restore \
    -config "$WORK/litestream.yml" -replica s3 -o "$WORK/lt-s3.db" "$DB") "
  T[ls.s3]+="$(run ls-s3 "$WORK/ls-s3.db" "$LITESYNC" restore -o "$WORK/ls-s3.db" "$S3URL") "
done
# The floor on s3rver: one GET of the snapshot object, to /dev/null (curl).
SNAP_KEY=$(cd "$WORK/replica" && find generations -name '*.snapshot.lz4' | head -n 1)
GETS=""
for r in $(seq "$ROUNDS"); do
  t0=$(now_ns)
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o /dev/null "$ENDPOINT/$BUCKET/app/$SNAP_KEY"
  GETS+="$(secs "$t0" "$(now_ns)") "
done
# The floor from the directory: copying the snapshot object's bytes into a new
# file beside the outputs and fsyncing it (dd), no decoding at all.
COPIES=""
for r in $(seq "$ROUNDS"); do
  rm -f "$WORK/floor.db"
  t0=$(now_ns)
  dd if="$WORK/replica/$SNAP_KEY" of="$WORK/floor.db" bs=4M conv=fsync status=none
  COPIES+="$(secs "$t0" "$(now_ns)") "
done
rm -f "$WORK/floor.db"
same() { cmp -s "$1" "$2" && echo identical || echo DIFFERENT; }
REPLICA_MIB=$(du -sm "$WORK/replica" | cut -f1)
printf '\nRestore of a Litestream v0.3.13 replica (%s MiB database, %s MiB replica), median of %s; %s cores, %s\n' \
  "$SIZE_MIB" "$REPLICA_MIB" "$ROUNDS" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-8s %12s %12s %8s %8s  %s\n' from "Litestream s" "litesync s" ratio target "output"
for k in file s3; do
  lt=$(tr ' ' '\n' <<<"${T[lt.$k]}" | grep . | median)
  ls=$(tr ' ' '\n' <<<"${T[ls.$k]}" | grep . | median)
  printf '%-8s %12s %12s %8s %8s  %s\n' "$k" "$lt" "$ls" \
    "$(awk -v a="$ls" -v b="$lt" 'BEGIN {printf "%.2f", a / b}')" "<= 0.50" \
    "$(same "$WORK/lt-$k.db" "$WORK/ls-$k.db")"
done
printf 'directory: copy + fsync of the %s MiB snapshot object (dd, the floor): %s s\n' \
  "$(du -m "$WORK/replica/$SNAP_KEY" | cut -f1)" "$(tr ' ' '\n' <<<"$COPIES" | grep . | median)"
printf 's3rver: one GET of the %s MiB snapshot object (curl, the floor): %s s\n' \
  "$(du -m "$WORK/replica/$SNAP_KEY" | cut -f1)" "$(tr ' ' '\n' <<<"$GETS" | grep . | median)"
printf 'all runs (s): %s\n' "$(for k in lt.file ls.file lt.s3 ls.s3; do printf '%s=[%s] ' "$k" "${T[$k]% }"; done)"
