#!/usr/bin/env bash
# Snapshots, compaction and retention after "one hour of 100 tx/s on a 1 GiB
# database", litesync against Litestream v0.3.13 on the same workload:
# restore of the latest state against a restore of the snapshot alone, the files
# that restore reads, and the replica size against the database size.
#
#   bash bench/lifecycle.sh BUILD_DIR [quick|full]      (full: the 1 GiB figure)
#
# Time is compressed by FACTOR (default 20): the writer commits the hour's 360,000
# transactions at 100 x FACTOR tx/s, and every interval that shapes the replica is
# divided by FACTOR (sync-interval, compaction-intervals, retention, Litestream's
# monitor-interval and retention-check-interval). Method: bench/README.md.
# Everything happens in one mktemp -d directory, removed on exit; every process
# started is stopped by its PID.
set -euo pipefail

usage() { echo "usage: bash bench/lifecycle.sh BUILD_DIR [quick|full]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "lifecycle: no build directory $1" >&2; exit 2; }
MODE=${2:-full}
case $MODE in
  quick) DB_MIB=128; TXNS=36000 ;;    # six minutes of 100 tx/s on 128 MiB
  full) DB_MIB=1024; TXNS=360000 ;;   # one hour of 100 tx/s on 1 GiB
  *) usage ;;
esac
FACTOR=${FACTOR:-20}
RATE=$((100 * FACTOR))
PAYLOAD=100         # bytes per inserted row (test_writer -mode insert), as bench/run.sh
FILL_PAYLOAD=16000  # bytes per row when pre-filling, as bench/run.sh
ROUNDS=3            # restores of each kind; the median is reported
# scaled DURATION_IN_SECONDS: the interval divided by FACTOR, in ms.
scaled() { echo "$(($1 * 1000 / FACTOR))ms"; }
SYNC=$(scaled 1)
COMPACTION="[$(scaled 30), $(scaled 300), $(scaled 3600)]"
RETENTION=$(scaled 86400)

LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
TOOL=$BUILD/bench/bench_tool
LITESTREAM=$ROOT/tests/node_modules/@flydotio/litestream-linux-x64/litestream
for f in "$LITESYNC" "$WRITER" "$TOOL"; do
  [[ -x $f ]] || { echo "lifecycle: $f is not built (make build)" >&2; exit 2; }
done
"$LITESTREAM" version 2>/dev/null | grep -q '^v0.3.13' ||
  { echo "lifecycle: Litestream v0.3.13 not at $LITESTREAM (bash .ci/deps)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-lifecycle.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit

log() { printf 'lifecycle: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
seq_of() { "$TOOL" seq "$1" 2>/dev/null || echo unreadable; }
declare -A R

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 60); reaps it.
stop_pid() {
  local pid=$1 limit=${2:-60} i keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
# wait_file SECONDS PID DIR GLOB: until a file matching GLOB exists under DIR.
wait_file() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [[ -n $(find "$3" -path "$4" -print -quit 2>/dev/null) ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# verify OUT WANT WHAT: the restored file must be byte-identical to WANT (a
# checkpointed copy of the source at that state) and hold the same seq.
verify() {
  local out=$1 want=$2 what=$3
  [[ $(seq_of "$out") == "$(seq_of "$want")" ]] ||
    die "$what: restored seq $(seq_of "$out"), want $(seq_of "$want")"
  cmp -s "$out" "$want" || die "$what: restored file differs from the source database"
}

# timed_restore KEY OUT CMD...: runs a restore, times it, leaves OUT; R[KEY] += seconds.
timed_restore() {
  local key=$1 out=$2 t0; shift 2
  rm -f "$out" "$out"-wal "$out"-shm
  sync -f "$WORK"  # no dirty pages of earlier phases waiting for writeback
  t0=$(now_ns)
  "$@" >"$WORK/$key.log" 2>&1 || die "$key: $(tail -n 2 "$WORK/$key.log")"
  R[$key]+=" $(secs "$t0" "$(now_ns)")"
}

# --- the hour ------------------------------------------------------------------------
# run_hour KIND DIR: replicates a copy of the pre-filled database while the writer
# commits TXNS transactions at RATE tx/s; leaves DIR/app.db checkpointed and a
# copy of its state at the snapshot in DIR/at-snapshot.db (litesync only).
run_hour() {
  local kind=$1 dir=$2 db=$2/app.db repl=$2/replica sidecar writer t0
  mkdir -p "$repl"
  cp "$SEED" "$db"
  if [[ $kind == litesync ]]; then
    cat >"$dir/sidecar.yml" <<EOF
dbs:
  - path: $db
    replica:
      path: $repl
      sync-interval: $SYNC
      retention: $RETENTION
      compaction-intervals: $COMPACTION
EOF
    "$LITESYNC" replicate -config "$dir/sidecar.yml" >"$dir/sidecar.log" 2>&1 &
  else
    cat >"$dir/sidecar.yml" <<EOF
dbs:
  - path: $db
    monitor-interval: $SYNC
    replicas:
      - type: file
        path: $repl
        sync-interval: $SYNC
        retention: $RETENTION
        retention-check-interval: $(scaled 3600)
EOF
    "$LITESTREAM" replicate -config "$dir/sidecar.yml" >"$dir/sidecar.log" 2>&1 &
  fi
  sidecar=$!
  PIDS+=("$sidecar")
  local glob='*/9/*.ltx'
  [[ $kind == litestream ]] && glob='*/snapshots/*.snapshot.lz4'
  wait_file 600 "$sidecar" "$repl" "$glob" || die "$kind took no snapshot: $(tail -n 3 "$dir/sidecar.log")"
  sleep 1
  log "$kind: $TXNS transactions at $RATE tx/s"
  t0=$(now_ns)
  "$WRITER" "$db" -mode insert -rate "$RATE" -txns "$TXNS" -payload "$PAYLOAD" \
    2>"$dir/writer.err" &
  writer=$!
  PIDS+=("$writer")
  wait "$writer" || die "writer failed: $(tail -n 1 "$dir/writer.err")"
  R[$kind.writer_s]=$(secs "$t0" "$(now_ns)")
  sleep 2  # the last sync
  kill -0 "$sidecar" 2>/dev/null || die "$kind exited: $(tail -n 3 "$dir/sidecar.log")"
  stop_pid "$sidecar" 120
  "$WRITER" "$db" -checkpoint TRUNCATE >/dev/null || die "checkpoint $db"
  R[$kind.db_bytes]=$(stat -c %s "$db")
  R[$kind.replica_bytes]=$(du -sb "$repl" | cut -f1)
  R[$kind.replica_files]=$(find "$repl" -type f | wc -l)
}

# ======================================================================================
log "mode $MODE: $TXNS tx at $RATE tx/s (x$FACTOR) on a $DB_MIB MiB database; sync $SYNC," \
  "compaction $COMPACTION, retention $RETENTION; work dir $WORK"
SEED=$WORK/seed.db
log "pre-filling a $DB_MIB MiB database"
"$WRITER" "$SEED" -mode insert -rate 0 -txns $((DB_MIB * 1048576 / (FILL_PAYLOAD + 400))) \
  -payload "$FILL_PAYLOAD" >/dev/null
"$WRITER" "$SEED" -checkpoint TRUNCATE >/dev/null

# litesync: the hour, then restores of the snapshot alone and of the latest state.
LS=$WORK/litesync
run_hour litesync "$LS"
SNAP_TXID=$(find "$LS/replica" -path '*/9/*.ltx' -printf '%f\n' | sort | head -n 1 | cut -c18-33)
[[ $(find "$LS/replica" -path '*/9/*.ltx' | wc -l) == 1 ]] ||
  log "note: more than one snapshot in the replica; the oldest is 'the snapshot alone'"
"$LITESYNC" restore -dry-run -o "$WORK/x.db" "file://$LS/replica" >"$WORK/plan.latest"
"$LITESYNC" restore -dry-run -o "$WORK/x.db" -txid "$SNAP_TXID" "file://$LS/replica" \
  >"$WORK/plan.snapshot"
grep -q "files:     1 (1 snapshot" "$WORK/plan.snapshot" ||
  die "the snapshot-alone plan is not one snapshot: $(cat "$WORK/plan.snapshot")"
for ((round = 1; round <= ROUNDS; round++)); do
  for kind in snapshot latest; do  # alternate which goes first
    if ((round % 2 == 0)); then kind=$([[ $kind == snapshot ]] && echo latest || echo snapshot); fi
    if [[ $kind == snapshot ]]; then
      timed_restore ls.snapshot "$WORK/r.db" "$LITESYNC" restore -o "$WORK/r.db" -txid "$SNAP_TXID" \
        "file://$LS/replica"
      verify "$WORK/r.db" "$SEED" "litesync restore of the snapshot alone"
    else
      timed_restore ls.latest "$WORK/r.db" "$LITESYNC" restore -o "$WORK/r.db" "file://$LS/replica"
      verify "$WORK/r.db" "$LS/app.db" "litesync restore of the latest state"
    fi
  done
done
rm -f "$WORK/r.db"

# Litestream: the same hour on a fresh copy, then its restore of the latest state.
LT=$WORK/litestream
run_hour litestream "$LT"
for ((round = 1; round <= ROUNDS; round++)); do
  timed_restore lt.latest "$WORK/r.db" "$LITESTREAM" restore -o "$WORK/r.db" "file://$LT/replica"
  verify "$WORK/r.db" "$LT/app.db" "Litestream restore of the latest state"
done
rm -f "$WORK/r.db"

# ======================================================================================
ls_snap=$(median <<<"${R[ls.snapshot]}")
ls_latest=$(median <<<"${R[ls.latest]}")
lt_latest=$(median <<<"${R[lt.latest]}")
ratio=$(awk -v a="$ls_latest" -v b="$ls_snap" 'BEGIN {printf "%.2f", a / b}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 1.2) ? "PASS" : "FAIL"}')
files=$(sed -n 's/^  files: *//p' "$WORK/plan.latest")
levels=$(awk '/\.ltx/ {split($1, p, "/"); n[p[2]]++} END {
  for (l = 0; l <= 9; l++) if (l in n) s = s sprintf("%sL%d %d", s == "" ? "" : ", ", l, n[l]); print s}' \
  "$WORK/plan.latest" | sed 's/L9/snapshot/')
plan_bytes=$(sed -n 's/^  bytes: *//p' "$WORK/plan.latest")
lt_files=$(find "$LT/replica" -type f \( -name '*.wal.lz4' -o -name '*.snapshot.lz4' \) | wc -l)
lt_segments=$(find "$LT/replica" -type f -name '*.wal.lz4' | wc -l)
lt_bytes=$(find "$LT/replica" -type f \( -name '*.wal.lz4' -o -name '*.snapshot.lz4' \) -printf '%s\n' |
  awk '{s += $1} END {print s + 0}')

printf '\nlifecycle (%s): %d transactions on a %d MiB database = one hour of 100 tx/s, time compressed %dx\n' \
  "$MODE" "$TXNS" "$DB_MIB" "$FACTOR"
printf '  settings: writer %d tx/s; sync-interval %s; litesync compaction-intervals %s, retention %s;\n' \
  "$RATE" "$SYNC" "$COMPACTION" "$RETENTION"
printf '            Litestream monitor-interval %s, retention %s, retention-check-interval %s\n' \
  "$SYNC" "$RETENTION" "$(scaled 3600)"
printf '  writer wall time: litesync run %s s, Litestream run %s s\n\n' "${R[litesync.writer_s]}" \
  "${R[litestream.writer_s]}"
fmt_row() { printf '  %-44s %-22s %-22s %s\n' "$@"; }
fmt_row "" "litesync" "Litestream v0.3.13" "litesync/Litestream"
fmt_row "restore latest state (s, median of $ROUNDS)" "$ls_latest" "$lt_latest" \
  "$(awk -v a="$ls_latest" -v b="$lt_latest" 'BEGIN {printf "%.2f", a / b}')"
fmt_row "restore snapshot alone (s, median of $ROUNDS)" "$ls_snap" "-" "-"
fmt_row "latest / snapshot alone (target <= 1.20)" "$ratio $verdict" "-" "-"
fmt_row "files the latest restore reads" "$files" "$lt_files (1 snapshot, $lt_segments wal)" "-"
fmt_row "bytes the latest restore reads (MiB)" "$(mib "$plan_bytes")" "$(mib "$lt_bytes")" \
  "$(awk -v a="$plan_bytes" -v b="$lt_bytes" 'BEGIN {printf "%.2f", a / b}')"
fmt_row "database size after the hour (MiB)" "$(mib "${R[litesync.db_bytes]}")" \
  "$(mib "${R[litestream.db_bytes]}")" "-"
fmt_row "replica size after the hour (MiB)" "$(mib "${R[litesync.replica_bytes]}")" \
  "$(mib "${R[litestream.replica_bytes]}")" \
  "$(awk -v a="${R[litesync.replica_bytes]}" -v b="${R[litestream.replica_bytes]}" 'BEGIN {printf "%.2f", a / b}')"
fmt_row "replica size / database size" \
  "$(awk -v a="${R[litesync.replica_bytes]}" -v b="${R[litesync.db_bytes]}" 'BEGIN {printf "%.2f", a / b}')" \
  "$(awk -v a="${R[litestream.replica_bytes]}" -v b="${R[litestream.db_bytes]}" 'BEGIN {printf "%.2f", a / b}')" "-"
fmt_row "files in the replica" "${R[litesync.replica_files]}" "${R[litestream.replica_files]}" "-"
printf '\n  litesync latest-restore plan: %s\n' "$levels"
printf '  each restore (s): litesync latest%s; snapshot alone%s; Litestream latest%s\n' \
  "${R[ls.latest]}" "${R[ls.snapshot]}" "${R[lt.latest]}"
printf '  every restore was verified byte for byte against the source database at that state\n'
printf '  load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
