#!/usr/bin/env bash
# litesync vs Litestream v0.3.13: replication lag, writer overhead, sidecar CPU and
# RSS, restore throughput. Same workload (tests/tools/test_writer.cc), same machine,
# same script; prints a table of figures and litesync/Litestream ratios.
#
#   bash bench/run.sh BUILD_DIR [quick|full]     (make bench: quick)
#
# quick: 10 s runs, a 256 MiB database, a few minutes. full: 60 s runs, 1 GiB.
# BENCH_PHASES (default "lag overhead big") picks phases; the others print n/a.
# Everything happens in one mktemp -d directory, removed on exit; every process
# started is tracked by PID and stopped by PID. Method and error bars: bench/README.md.
set -euo pipefail

usage() { echo "usage: bash bench/run.sh BUILD_DIR [quick|full]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
MODE=${2:-quick}
case $MODE in
  quick) DUR=10; DB_MIB=256; OVH_DUR=5; OVH_ROUNDS=3; RESTORE_ROUNDS=3 ;;
  full) DUR=60; DB_MIB=1024; OVH_DUR=15; OVH_ROUNDS=5; RESTORE_ROUNDS=5 ;;
  *) usage ;;
esac
RATE=500           # tx/s for lag, CPU and RSS runs
PAYLOAD=100        # bytes per row for those runs
MIN_INTERVAL=10ms  # litesync's smallest sync-interval (cmd/config_replica.cc kMinSyncInterval)
FILL_PAYLOAD=16000 # bytes per row when pre-filling the large database

LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
TOOL=$BUILD/bench/bench_tool
LITESTREAM=$ROOT/tests/node_modules/@flydotio/litestream-linux-x64/litestream
TICK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-bench.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit

log() { printf 'bench: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
declare -A R      # results, "n/a: reason" when not measured
declare -A WHY    # reasons a tool is unavailable

# --- what can be measured -----------------------------------------------------------
[[ -x $WRITER ]] || WHY[writer]="test_writer not built ($WRITER)"
[[ -x $TOOL ]] || WHY[tool]="bench_tool not built ($TOOL): add_subdirectory(bench) and rebuild"
if [[ ! -x $LITESYNC ]]; then
  WHY[litesync]="litesync CLI not built ($LITESYNC)"
elif ! "$LITESYNC" version >/dev/null 2>&1; then
  WHY[litesync]="litesync version fails"
fi
if [[ ! -x $LITESTREAM ]]; then
  WHY[litestream]="Litestream not installed (bash .ci/deps)"
elif ! "$LITESTREAM" version 2>/dev/null | grep -q '^v0.3.13'; then
  WHY[litestream]="$LITESTREAM is not v0.3.13"
fi
# Reason a measurement of KIND (litesync|litestream|none) cannot run, or empty.
blocked() {
  local k
  for k in writer "$@"; do
    [[ -n ${WHY[$k]:-} ]] && { echo "${WHY[$k]}"; return; }
  done
  echo ""
}

# --- processes ---------------------------------------------------------------------
# start_bg LOG CMD...: runs CMD in the background, records its PID in BG.
start_bg() {
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}
# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 60); reaps it.
stop_pid() {
  local pid=$1 limit=${2:-60} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do
    if [[ $p != "$1" ]]; then keep+=("$p"); fi
  done
  PIDS=("${keep[@]}")
}
# wait_for SECONDS PID CMD...: polls CMD every 0.05 s; fails when PID dies or time is up.
wait_for() {
  local limit=$1 pid=$2 i; shift 2
  for ((i = 0; i < limit * 20; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
has_file() { [[ -n $(find "$1" -path "$2" -print -quit 2>/dev/null) ]]; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
seq_of() { "$TOOL" seq "$1" 2>/dev/null || echo "unreadable"; }  # the writer's last seq in DB
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }

# start_sidecar KIND DB REPLICA INTERVAL DIR: starts litesync or Litestream on DB with
# a file replica, waits for its first snapshot (the writer starts after it, so TXIDs
# map to seqs); sets SIDECAR (PID) and R[...snapshot_s] timing. Fails with a reason.
start_sidecar() {
  local kind=$1 db=$2 repl=$3 interval=$4 dir=$5 t0
  mkdir -p "$repl"
  if [[ $kind == litesync ]]; then
    cat >"$dir/litesync.yml" <<EOF
dbs:
  - path: $db
    replica:
      path: $repl
      sync-interval: $interval
EOF
    t0=$(now_ns)
    start_bg "$dir/sidecar.log" "$LITESYNC" replicate -config "$dir/litesync.yml"
    SIDECAR=$BG
    wait_for 600 "$SIDECAR" has_file "$repl" '*/9/*.ltx' ||
      { log "litesync did not snapshot $db: $(tail -n 3 "$dir/sidecar.log")"; return 1; }
  else
    # monitor-interval = sync-interval: Litestream copies the WAL to its shadow WAL every
    # monitor-interval and uploads every sync-interval; both default to 1s.
    cat >"$dir/litestream.yml" <<EOF
dbs:
  - path: $db
    monitor-interval: $interval
    replicas:
      - type: file
        path: $repl
        sync-interval: $interval
EOF
    t0=$(now_ns)
    start_bg "$dir/sidecar.log" "$LITESTREAM" replicate -config "$dir/litestream.yml"
    SIDECAR=$BG
    wait_for 600 "$SIDECAR" has_file "$repl" '*/snapshots/*.snapshot.lz4' ||
      { log "litestream did not snapshot $db: $(tail -n 3 "$dir/sidecar.log")"; return 1; }
  fi
  SNAPSHOT_S=$(secs "$t0" "$(now_ns)")
}

# new_db PATH: a database with test_writer's tables and seq 1, checkpointed.
new_db() {
  "$WRITER" "$1" -mode insert -txns 1 -payload "$PAYLOAD" >/dev/null
  "$WRITER" "$1" -checkpoint TRUNCATE >/dev/null
}

# --- replication run: lag, CPU, RSS ---------------------------------------------------
# replication_run KIND INTERVAL TAG [SEED_DB]: KIND replicates a database (a copy of
# SEED_DB, or a new one) while the writer commits RATE tx/s for DUR s. Fills
# R[KIND.TAG.*]: lag (when no SEED_DB), cpu, hwm, rss range, snapshot time.
replication_run() {
  local kind=$1 interval=$2 tag=$3 seed=${4:-} key="$1.$3"
  local why; why=$(blocked "$kind" tool)
  if [[ -n $why ]]; then R[$key.err]="n/a: $why"; return; fi
  local dir=$WORK/$kind-$tag db repl
  mkdir -p "$dir"; db=$dir/app.db; repl=$dir/replica
  if [[ -n $seed ]]; then cp "$seed" "$db"; else new_db "$db"; fi
  mkdir -p "$repl"
  local watcher=""
  if [[ -z $seed ]]; then
    start_bg "$dir/watch.err" "$TOOL" watch "$repl" "$dir/events"
    watcher=$BG
    wait_for 10 "$watcher" grep -q ready "$dir/events" 2>/dev/null ||
      { R[$key.err]="n/a: inotify watcher failed: $(cat "$dir/watch.err")"; return; }
  fi
  log "$kind: replicate $(basename "$dir") (sync-interval $interval, ${DUR}s at $RATE tx/s)"
  if ! start_sidecar "$kind" "$db" "$repl" "$interval" "$dir"; then
    R[$key.err]="n/a: $kind did not start: $(tail -n 1 "$dir/sidecar.log")"
    if [[ -n $watcher ]]; then stop_pid "$watcher" 5; fi
    stop_pid "$SIDECAR" 10
    return
  fi
  local pid=$SIDECAR
  R[$key.snapshot_s]=$SNAPSHOT_S
  R[$key.snapshot_cpu]=$(awk -v t="$(cpu_ticks "$pid")" -v h="$TICK" 'BEGIN {printf "%.2f", t / h}')
  sleep 1  # let the first sync after the snapshot settle
  local c0 c1 rss_first="" rss_max=0 rss
  c0=$(cpu_ticks "$pid")
  start_bg "$dir/writer.err" "$WRITER" "$db" -mode insert -rate "$RATE" -duration "$DUR" \
    -payload "$PAYLOAD" -log "$dir/writer.log"
  local writer=$BG
  while kill -0 "$writer" 2>/dev/null; do
    rss=$(status_kb "$pid" VmRSS 2>/dev/null || true); rss=${rss:-0}
    rss_first=${rss_first:-$rss}
    ((rss > rss_max)) && rss_max=$rss
    echo "$(now_ns) $rss" >>"$dir/rss.samples"
    sleep 0.5
  done
  local wrc=0
  wait "$writer" || wrc=$?
  forget_pid "$writer"
  if ! kill -0 "$pid" 2>/dev/null; then
    R[$key.err]="n/a: $kind exited during the run: $(tail -n 1 "$dir/sidecar.log")"
    if [[ -n $watcher ]]; then stop_pid "$watcher" 5; fi
    stop_pid "$pid" 1
    return
  fi
  c1=$(cpu_ticks "$pid")
  R[$key.cpu]=$(awk -v a="$c0" -v b="$c1" -v h="$TICK" 'BEGIN {printf "%.2f", (b - a) / h}')
  R[$key.rss]="$((rss_first / 1024))>$((rss / 1024)) max $((rss_max / 1024))"
  # Let the last commits reach the replica: one interval plus slack, bounded.
  sleep "$(awk -v i="$interval" 'BEGIN {v = i + 0; if (i ~ /ms$/) v /= 1000; printf "%.2f", v + 2}')"
  R[$key.hwm]=$(( $(status_kb "$pid" VmHWM 2>/dev/null || echo 0) / 1024 ))
  if [[ -n $watcher ]]; then stop_pid "$watcher" 5; fi
  stop_pid "$pid" 120
  if ((wrc != 0)); then R[$key.err]="n/a: writer failed: $(tail -n 1 "$dir/writer.err")"; return; fi
  local last; last=$(awk 'END {print $1}' "$dir/writer.log")
  R[$key.commits]=$(wc -l <"$dir/writer.log")
  R[$key.db]=$db; R[$key.repl]=$repl; R[$key.last]=$last
  if [[ -n $seed ]]; then return; fi
  lag_analysis "$kind" "$key" "$dir" "$db" "$repl" "$last"
}

# lag_analysis KIND KEY DIR DB REPLICA LAST_SEQ: restores the replica to check it and
# to calibrate TXIDs (litesync), then joins writer log and replica events.
lag_analysis() {
  local kind=$1 key=$2 dir=$3 db=$4 repl=$5 last=$6 got out line
  out=$dir/restored.db
  if [[ $kind == litesync ]]; then
    "$LITESYNC" restore -o "$out" "file://$repl" >"$dir/restore.log" 2>&1 ||
      { R[$key.lag]="n/a: restore failed: $(tail -n 1 "$dir/restore.log")"; return; }
  else
    "$LITESTREAM" restore -o "$out" "file://$repl" >"$dir/restore.log" 2>&1 ||
      { R[$key.lag]="n/a: restore failed: $(tail -n 1 "$dir/restore.log")"; return; }
  fi
  got=$(seq_of "$out")
  rm -f "$out" "$out"-wal "$out"-shm
  if [[ $got != "$last" ]]; then
    R[$key.lag]="n/a: replica restores seq $got, writer's last commit is seq $last"
    return
  fi
  if [[ $kind == litesync ]]; then
    line=$("$TOOL" lag-litesync "$dir/writer.log" "$dir/events" "$repl" "$got") ||
      { R[$key.lag]="n/a: lag analysis failed: $line"; return; }
    # Check the TXID = seq + offset mapping mid-run too: restore the TXID that ends the
    # middle level-0 tx file (restorable by construction) and read its seq.
    local offset mid_txid mid_seq
    offset=$(sed -n 's/.*offset=\(-\?[0-9]*\).*/\1/p' <<<"$line")
    mid_txid=$(find "$repl" -path '*/0/*.ltx' -printf '%f\n' | sort |
      awk '{n[NR] = substr($0, 18, 16)} END {if (NR) print n[int((NR + 1) / 2)]}')
    if [[ -z $mid_txid ]]; then
      line+=" (no level-0 tx file for the mid-run check)"
    elif "$LITESYNC" restore -o "$out" -txid "$mid_txid" "file://$repl" >>"$dir/restore.log" 2>&1; then
      mid_seq=$(seq_of "$out")
      rm -f "$out" "$out"-wal "$out"-shm
      if [[ $((16#$mid_txid - offset)) == "$mid_seq" ]]; then
        line+=" mid_check=ok(txid $((16#$mid_txid)) = seq $mid_seq + $offset)"
      else
        line+=" MAPPING-MISMATCH(txid $((16#$mid_txid)) holds seq $mid_seq, want $((16#$mid_txid - offset)))"
      fi
    else
      line+=" (mid-run -txid check failed: $(tail -n 1 "$dir/restore.log"))"
    fi
  else
    line=$("$TOOL" lag-litestream "$dir/writer.log" "$dir/events" "$repl" "$db") ||
      { R[$key.lag]="n/a: lag analysis failed: $line"; return; }
  fi
  R[$key.lag]=$line
  log "$kind lag: $line"
}

# --- writer overhead --------------------------------------------------------------------
# overhead_run SPEC ROUND: the writer at full speed for OVH_DUR s, with KIND (or none)
# replicating at sync-interval 1s; appends tx/s to R[ovh.SPEC]. SPEC is KIND, or
# KIND@0 for a writer with SQLite's autocheckpoint off (PRAGMA wal_autocheckpoint=0),
# as both tools advise for write-heavy applications: the sidecar checkpoints.
overhead_run() {
  local spec=$1 round=$2 kind=${1%@0} ac=()
  if [[ $spec == *@0 ]]; then ac=(-autocheckpoint 0); fi
  local why
  if [[ $kind == none ]]; then why=$(blocked tool); else why=$(blocked "$kind" tool); fi
  if [[ -n $why ]]; then R[ovh.$spec.err]="n/a: $why"; return; fi
  local dir=$WORK/ovh-${spec/@/-}-$round db s0 s1 pid="" wpid wal=0 size
  mkdir -p "$dir"; db=$dir/app.db
  new_db "$db"
  if [[ $kind != none ]]; then
    if ! start_sidecar "$kind" "$db" "$dir/replica" 1s "$dir"; then
      R[ovh.$spec.err]="n/a: $kind did not start: $(tail -n 1 "$dir/sidecar.log")"
      stop_pid "$SIDECAR" 10
      return
    fi
    pid=$SIDECAR
    sleep 1
  fi
  sync -f "$WORK"  # the previous run's WAL writeback must not slow this one
  s0=$(seq_of "$db")
  local c0=0; if [[ -n $pid ]]; then c0=$(cpu_ticks "$pid"); fi
  "$WRITER" "$db" -mode insert -rate 0 -duration "$OVH_DUR" -payload "$PAYLOAD" "${ac[@]}" \
    2>"$dir/writer.err" &
  wpid=$!
  while kill -0 "$wpid" 2>/dev/null; do  # the largest WAL, sampled every 0.2 s
    size=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
    if ((size > wal)); then wal=$size; fi
    sleep 0.2
  done
  wait "$wpid" || { R[ovh.$spec.err]="n/a: writer failed: $(tail -n 1 "$dir/writer.err")"; }
  s1=$(seq_of "$db")
  R[ovh.$spec.wal]+=" $((wal / 1048576))"
  if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
    R[ovh.$spec.err]="n/a: $kind exited during the run: $(tail -n 1 "$dir/sidecar.log")"
    stop_pid "$pid" 1
  elif [[ -n $pid ]]; then
    R[ovh.$spec.cpu]+=" $(awk -v a="$c0" -v b="$(cpu_ticks "$pid")" -v h="$TICK" -v d="$OVH_DUR" \
      'BEGIN {printf "%.0f%%", 100 * (b - a) / h / d}')"
    stop_pid "$pid" 120
  fi
  R[ovh.$spec]+=" $(awk -v a="$s0" -v b="$s1" -v d="$OVH_DUR" 'BEGIN {printf "%.0f", (b - a) / d}')"
  log "writer alone/with $spec, round $round: $(awk -v a="$s0" -v b="$s1" -v d="$OVH_DUR" 'BEGIN {printf "%.0f", (b - a) / d}') tx/s"
  rm -rf "$dir"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# --- restore ----------------------------------------------------------------------------
# restore_run KIND: restores the large database's replica (made by replication_run
# with a seed) and times it; appends seconds to R[restore.KIND.all], R[restore.KIND.bytes].
restore_run() {
  local kind=$1 key="$1.big" out t0 t1 got
  if [[ -n ${R[$key.err]:-} ]]; then R[restore.$kind.err]=${R[$key.err]}; return; fi
  out=$WORK/restore-$kind.db
  log "$kind: restore the ${DB_MIB} MiB replica"
  sync -f "$WORK"  # start with no dirty pages from earlier phases waiting for writeback
  t0=$(now_ns)
  if [[ $kind == litesync ]]; then
    "$LITESYNC" restore -o "$out" "file://${R[$key.repl]}" >"$WORK/restore-$kind.log" 2>&1 ||
      { R[restore.$kind.err]="n/a: restore failed: $(tail -n 1 "$WORK/restore-$kind.log")"; return; }
  else
    "$LITESTREAM" restore -o "$out" "file://${R[$key.repl]}" >"$WORK/restore-$kind.log" 2>&1 ||
      { R[restore.$kind.err]="n/a: restore failed: $(tail -n 1 "$WORK/restore-$kind.log")"; return; }
  fi
  t1=$(now_ns)
  got=$(seq_of "$out")
  if [[ $got != "${R[$key.last]}" ]]; then
    R[restore.$kind.err]="n/a: restored seq $got, want ${R[$key.last]}"
  else
    R[restore.$kind.all]+=" $(secs "$t0" "$t1")"
    R[restore.$kind.bytes]=$(stat -c %s "$out")
  fi
  rm -f "$out" "$out"-wal "$out"-shm
}
# cp_run: the yardstick, cp + fsync of the seed database; appends to R[restore.cp.all].
cp_run() {
  local t0
  sync -f "$WORK"
  t0=$(now_ns)
  cp "$SEED" "$WORK/cp.db" && sync "$WORK/cp.db"
  R[restore.cp.all]+=" $(secs "$t0" "$(now_ns)")"
  R[restore.cp.bytes]=$(stat -c %s "$SEED")
  rm -f "$WORK/cp.db"
}

# ======================================================================================
log "mode $MODE: ${DUR}s runs at $RATE tx/s, ${DB_MIB} MiB database; work dir $WORK"
for k in writer tool litesync litestream; do
  if [[ -n ${WHY[$k]:-} ]]; then log "unavailable: ${WHY[$k]}"; fi
done

PHASES=" ${BENCH_PHASES:-lag overhead big} "
# 1. Lag, CPU and RSS at sync-interval 1s, then lag at the smallest interval.
if [[ $PHASES == *" lag "* ]]; then
  for kind in litesync litestream; do replication_run "$kind" 1s s1; done
  for kind in litesync litestream; do replication_run "$kind" "$MIN_INTERVAL" min; done
fi

# 2. Writer overhead: rounds alternate the order so drift hits every variant alike.
[[ $PHASES == *" overhead "* ]] || OVH_ROUNDS=0
for ((round = 1; round <= OVH_ROUNDS; round++)); do
  case $((round % 3)) in
    1) order="none litesync litestream litesync@0 litestream@0" ;;
    2) order="litesync litestream@0 none litestream litesync@0" ;;
    0) order="litestream litesync@0 none litestream@0 litesync" ;;
  esac
  for kind in $order; do overhead_run "$kind" "$round"; done
done

# 3. A large pre-filled database: RSS must not grow with it; its replica feeds restore.
SEED=$WORK/seed.db
if [[ $PHASES != *" big "* ]]; then
  for kind in litesync litestream; do R[$kind.big.err]="n/a: phase skipped"; done
elif [[ -z $(blocked tool) ]]; then
  log "pre-filling a ${DB_MIB} MiB database"
  rows=$((DB_MIB * 1024 * 1024 / (FILL_PAYLOAD + 400)))
  "$WRITER" "$SEED" -mode insert -rate 0 -txns "$rows" -payload "$FILL_PAYLOAD" >/dev/null
  "$WRITER" "$SEED" -checkpoint TRUNCATE >/dev/null
  for kind in litesync litestream; do replication_run "$kind" 1s big "$SEED"; done
  # 4. Restore, against cp + fsync of the same database file: this disk's write speed
  # swings (cp + fsync of 1 GiB took 0.8 to 3.4 s here), so rounds alternate and
  # the table shows each one's median.
  # One untimed round first: the root file system here is mounted with online
  # discard, and after the phases before deleted their files the first rounds ran
  # up to twice as slow for all three (2026-12-04 23:46); it also reads every
  # input into the page cache alike.
  for kind in litesync litestream; do restore_run "$kind"; done
  cp_run
  R[restore.litesync.all]="" R[restore.litestream.all]="" R[restore.cp.all]=""
  for ((round = 1; round <= RESTORE_ROUNDS; round++)); do
    for kind in litesync litestream; do restore_run "$kind"; done
    cp_run
  done
  for k in litesync litestream cp; do
    if [[ -n ${R[restore.$k.all]:-} && -z ${R[restore.$k.err]:-} ]]; then
      R[restore.$k]=$(median <<<"${R[restore.$k.all]}")
    fi
  done
else
  for kind in litesync litestream; do R[$kind.big.err]="n/a: $(blocked tool)"; done
  R[restore.litesync.err]="n/a: $(blocked tool)"; R[restore.litestream.err]="n/a: $(blocked tool)"
fi

# ======================================================================================
# The table. Every cell is a figure or "n/a" with the reason below the table.
# note TEXT: files a footnote (a file, so it works inside $(...)); prints its marker.
# The same text keeps its number.
note() {
  local n
  n=$(grep -nxF -- "$1" "$WORK/notes" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  if [[ -z $n ]]; then echo "$1" >>"$WORK/notes"; n=$(wc -l <"$WORK/notes"); fi
  echo "[$n]"
}
na() { echo "n/a $(note "${1#n/a: }")"; }  # na REASON: an n/a cell and its footnote
# lagv KEY FIELD: a field of a lag line, or n/a.
lagv() {
  local key=$1 f=$2 err=${R[$1.err]:-${R[$1.lag]:-n/a: not measured}}
  if [[ -z ${R[$key.err]:-} && ${R[$key.lag]:-} == n=* ]]; then
    sed -n "s/.* $f=\([0-9.]*\).*/\1/p" <<<" ${R[$key.lag]}"
  else
    na "$err"
  fi
}
val() {  # val KEY FIELD
  if [[ -z ${R[$1.err]:-} && -n ${R[$1.$2]:-} ]]; then echo "${R[$1.$2]}"
  else na "${R[$1.err]:-$1.$2: not measured}"; fi
}
ratio() {  # ratio A B: A/B when both are numbers
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}
check() {  # check VALUE OP LIMIT: PASS/FAIL for litesync's targets
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v !~ /^[0-9.]+$/) { print "-"; exit }
    ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print (ok ? "PASS" : "FAIL") }'
}
row() { printf '%-44s %14s %14s %10s  %s\n' "$@"; }

ls_p50=$(lagv litesync.s1 p50_ms); lt_p50=$(lagv litestream.s1 p50_ms)
ls_p99=$(lagv litesync.s1 p99_ms); lt_p99=$(lagv litestream.s1 p99_ms)
ls_m50=$(lagv litesync.min p50_ms); lt_m50=$(lagv litestream.min p50_ms)
ls_m99=$(lagv litesync.min p99_ms); lt_m99=$(lagv litestream.min p99_ms)
min_ms=${MIN_INTERVAL%ms}

declare -A OVH
for k in none litesync litestream litesync@0 litestream@0; do
  if [[ -n ${R[ovh.$k.err]:-} || -z ${R[ovh.$k]:-} ]]; then
    OVH[$k]=$(na "${R[ovh.$k.err]:-writer with $k: not measured}")
  else
    OVH[$k]=$(median <<<"${R[ovh.$k]}")
  fi
done
ls_ovh=$(ratio "${OVH[litesync]}" "${OVH[none]}")
lt_ovh=$(ratio "${OVH[litestream]}" "${OVH[none]}")
ls_ovh0=$(ratio "${OVH[litesync@0]}" "${OVH[none]}")
lt_ovh0=$(ratio "${OVH[litestream@0]}" "${OVH[none]}")

ls_cpu=$(val litesync.s1 cpu); lt_cpu=$(val litestream.s1 cpu)
ls_mcpu=$(val litesync.min cpu); lt_mcpu=$(val litestream.min cpu)
ls_hwm=$(val litesync.s1 hwm); lt_hwm=$(val litestream.s1 hwm)
ls_rss=$(val litesync.s1 rss); lt_rss=$(val litestream.s1 rss)
ls_bsnap=$(val litesync.big snapshot_s); lt_bsnap=$(val litestream.big snapshot_s)
ls_bscpu=$(val litesync.big snapshot_cpu); lt_bscpu=$(val litestream.big snapshot_cpu)
ls_bcpu=$(val litesync.big cpu); lt_bcpu=$(val litestream.big cpu)
ls_bhwm=$(val litesync.big hwm); lt_bhwm=$(val litestream.big hwm)
ls_brss=$(val litesync.big rss); lt_brss=$(val litestream.big rss)

mibps() {  # mibps KIND: MiB/s of a restore
  if [[ -n ${R[restore.$1]:-} ]]; then
    awk -v b="${R[restore.$1.bytes]}" -v s="${R[restore.$1]}" 'BEGIN {printf "%.0f", b / 1048576 / s}'
  else
    na "${R[restore.$1.err]:-restore $1: not measured}"
  fi
}
ls_rs=$(mibps litesync); lt_rs=$(mibps litestream); cp_rs=$(mibps cp)
restore_s() {  # restore_s KIND: seconds of a restore
  if [[ -n ${R[restore.$1]:-} ]]; then echo "${R[restore.$1]}"
  else na "${R[restore.$1.err]:-restore $1: not measured}"; fi
}
ls_rt=$(restore_s litesync); lt_rt=$(restore_s litestream)

echo
echo "litesync vs Litestream v0.3.13 — bench/run.sh $MODE, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "workload: test_writer -mode insert -payload $PAYLOAD at $RATE tx/s for ${DUR}s; file replicas on $(df -P "$WORK" | awk 'NR == 2 {print $1}')"
echo "ratio = litesync / Litestream (lower is better for lag, CPU, RSS; higher for throughput)"
echo
row "metric" "litesync" "Litestream" "ratio" "litesync target"
row "--------------------------------------------" "--------------" "--------------" "----------" "---------------"
row "lag p50, sync-interval 1s (ms)" "$ls_p50" "$lt_p50" "$(ratio "$ls_p50" "$lt_p50")" ""
row "lag p99, sync-interval 1s (ms)" "$ls_p99" "$lt_p99" "$(ratio "$ls_p99" "$lt_p99")" "<= 1050 $(check "$ls_p99" "<=" 1050)"
row "lag p50, sync-interval $MIN_INTERVAL (ms)" "$ls_m50" "$lt_m50" "$(ratio "$ls_m50" "$lt_m50")" ""
row "lag p99, sync-interval $MIN_INTERVAL (ms)" "$ls_m99" "$lt_m99" "$(ratio "$ls_m99" "$lt_m99")" "<= $((min_ms + 50)) $(check "$ls_m99" "<=" $((min_ms + 50)))"
row "writer max tx/s, no sidecar" "${OVH[none]}" "${OVH[none]}" "" ""
row "writer max tx/s, sidecar at 1s" "${OVH[litesync]}" "${OVH[litestream]}" "$(ratio "${OVH[litesync]}" "${OVH[litestream]}")" ""
row "  with sidecar / alone" "$ls_ovh" "$lt_ovh" "" ">= 0.95 $(check "$ls_ovh" ">=" 0.95)"
row "  same, app autocheckpoint off (tx/s)" "${OVH[litesync@0]}" "${OVH[litestream@0]}" "$(ratio "${OVH[litesync@0]}" "${OVH[litestream@0]}")" ""
row "  that / alone with SQLite's defaults" "$ls_ovh0" "$lt_ovh0" "" ">= 0.95 $(check "$ls_ovh0" ">=" 0.95)"
row "sidecar CPU s, ${DUR}s at $RATE tx/s, 1s" "$ls_cpu" "$lt_cpu" "$(ratio "$ls_cpu" "$lt_cpu")" "<= 0.5x $(check "$(ratio "$ls_cpu" "$lt_cpu")" "<=" 0.5)"
row "sidecar CPU s, same, $MIN_INTERVAL" "$ls_mcpu" "$lt_mcpu" "$(ratio "$ls_mcpu" "$lt_mcpu")" ""
row "peak RSS MiB (VmHWM), 1s" "$ls_hwm" "$lt_hwm" "$(ratio "$ls_hwm" "$lt_hwm")" "<= 0.5x $(check "$(ratio "$ls_hwm" "$lt_hwm")" "<=" 0.5)"
row "RSS MiB during run (first>last max), 1s" "$ls_rss" "$lt_rss" "" ""
row "${DB_MIB} MiB db: first snapshot, wall s" "$ls_bsnap" "$lt_bsnap" "$(ratio "$ls_bsnap" "$lt_bsnap")" ""
row "${DB_MIB} MiB db: first snapshot, CPU s" "$ls_bscpu" "$lt_bscpu" "$(ratio "$ls_bscpu" "$lt_bscpu")" ""
row "${DB_MIB} MiB db: CPU s, ${DUR}s at $RATE tx/s" "$ls_bcpu" "$lt_bcpu" "$(ratio "$ls_bcpu" "$lt_bcpu")" "<= 0.5x $(check "$(ratio "$ls_bcpu" "$lt_bcpu")" "<=" 0.5)"
row "${DB_MIB} MiB db: peak RSS MiB (VmHWM)" "$ls_bhwm" "$lt_bhwm" "$(ratio "$ls_bhwm" "$lt_bhwm")" "<= 0.5x $(check "$(ratio "$ls_bhwm" "$lt_bhwm")" "<=" 0.5)"
row "${DB_MIB} MiB db: RSS MiB during run" "$ls_brss" "$lt_brss" "" ""
row "restore ${DB_MIB} MiB from file replica, s" "$ls_rt" "$lt_rt" "$(ratio "$ls_rt" "$lt_rt")" ""
row "restore throughput MiB/s" "$ls_rs" "$lt_rs" "$(ratio "$ls_rs" "$lt_rs")" ""
row "cp + fsync of the db file, MiB/s" "$cp_rs" "$cp_rs" "" ""
row "  restore / cp" "$(ratio "$ls_rs" "$cp_rs")" "$(ratio "$lt_rs" "$cp_rs")" "" ">= 0.70 $(check "$(ratio "$ls_rs" "$cp_rs")" ">=" 0.7)"
echo
echo "lag detail (n commits, missing = never seen durable, negative = seen before commit):"
for k in litesync.s1 litestream.s1 litesync.min litestream.min; do
  if [[ ${R[$k.lag]:-} == n=* ]]; then printf '  %-16s %s\n' "$k" "${R[$k.lag]}"; fi
done
for k in litesync litestream cp; do
  if [[ -n ${R[restore.$k.all]:-} ]]; then
    printf '  restore s, %-10s per round:%s\n' "$k" "${R[restore.$k.all]}"
  fi
done
for k in none litesync litestream litesync@0 litestream@0; do
  if [[ -n ${R[ovh.$k]:-} ]]; then
    printf '  writer tx/s with %-12s per round:%s' "$k" "${R[ovh.$k]}"
    if [[ -n ${R[ovh.$k.cpu]:-} ]]; then printf '  sidecar CPU:%s' "${R[ovh.$k.cpu]}"; fi
    printf '  largest WAL MiB:%s' "${R[ovh.$k.wal]:-}"
    echo
  fi
done
echo
if [[ -x $BUILD/bench/heartbeat_eval ]]; then
  "$BUILD/bench/heartbeat_eval" 1000 2000   # target: one evaluation < 1 ms
else
  echo "heartbeat evaluation: n/a ($BUILD/bench/heartbeat_eval not built)"
fi
if [[ -s $WORK/notes ]]; then
  echo
  awk '{print "[" NR "] " $0}' "$WORK/notes"
fi
exit 0
