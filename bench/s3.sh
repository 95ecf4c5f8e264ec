#!/usr/bin/env bash
# litesync vs Litestream v0.3.13 on the same S3 server (s3rver 3.7.1 on 127.0.0.1):
# replication lag at 500 tx/s, restore throughput of a large database, peak RSS while
# snapshotting a larger one. Prints a table of figures and litesync/Litestream ratios.
#
#   bash bench/s3.sh BUILD_DIR [quick|full]     (make bench-s3: full)
#
# quick: 10 s of writes, 128 MiB restore, 256 MiB snapshot (~2 min).
# full:  60 s of writes, 1 GiB restore, 2 GiB snapshot (~10 min).
# S3_BENCH_PHASES (default "lag big huge") picks phases: big is the restore of
# RESTORE_MIB, with its ceiling (parallel curl) and cp yardsticks.
# Everything lives in one mktemp -d directory (s3rver's data too), removed on exit;
# every process started is tracked by PID and stopped by PID. Method and error bars:
# bench/README.md ("S3 replicas").
set -euo pipefail

usage() { echo "usage: bash bench/s3.sh BUILD_DIR [quick|full]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
MODE=${2:-full}
case $MODE in
  quick) DUR=10; RESTORE_MIB=128; SNAP_MIB=256; RESTORE_ROUNDS=3 ;;
  full) DUR=60; RESTORE_MIB=1024; SNAP_MIB=2048; RESTORE_ROUNDS=3 ;;
  *) usage ;;
esac
RATE=500            # tx/s of the lag runs
PAYLOAD=100         # bytes per row in the lag runs
FILL_PAYLOAD=16000  # bytes per row when pre-filling the large databases
RSS_TARGET=128      # MiB, litesync's peak RSS while snapshotting
BUCKET=bench
KEY=S3RVER          # s3rver's one account: access key id and secret are both S3RVER

LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
TOOL=$BUILD/bench/bench_tool
LITESTREAM=$ROOT/tests/node_modules/@flydotio/litestream-linux-x64/litestream
S3RVER=$ROOT/tests/node_modules/.bin/s3rver
TICK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-s3bench.XXXXXX")
S3DIR=$WORK/s3rver
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit

log() { printf 'bench: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }
declare -A R  # results; R[KEY.err] = "n/a: reason" when not measured

for f in "$LITESYNC" "$WRITER" "$TOOL" "$S3RVER"; do
  [[ -x $f ]] || { echo "bench: $f is missing (make build; bash .ci/deps)" >&2; exit 2; }
done
LT_WHY=""
if [[ ! -x $LITESTREAM ]]; then
  LT_WHY="Litestream not installed (bash .ci/deps)"
elif ! "$LITESTREAM" version 2>/dev/null | grep -q '^v0.3.13'; then
  LT_WHY="$LITESTREAM is not v0.3.13"
fi

# --- processes ------------------------------------------------------------------------
start_bg() {  # start_bg LOG CMD...: CMD in the background; BG = its PID
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}
stop_pid() {  # stop_pid PID [SECONDS]: SIGTERM, SIGKILL after SECONDS (default 60)
  local pid=$1 limit=${2:-60} i keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do if [[ $p != "$pid" ]]; then keep+=("$p"); fi; done
  PIDS=("${keep[@]}")
}
wait_for() {  # wait_for SECONDS PID CMD...: polls CMD; fails when PID dies or time is up
  local limit=$1 pid=$2 i; shift 2
  for ((i = 0; i < limit * 20; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
has_file() { [[ -n $(find "$1" -path "$2" -print -quit 2>/dev/null) ]]; }
cpu_s() { sed 's/^.*) //' "/proc/$1/stat" | awk -v h="$TICK" '{printf "%.2f", ($12 + $13) / h}'; }
hwm_mib() { awk '$1 == "VmHWM:" {printf "%d", $2 / 1024}' "/proc/$1/status"; }

# s3rver 3.7.1 on 127.0.0.1, port chosen by the kernel. NODE_OPTIONS: s3rver makes
# ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 refuses without
# the legacy provider (as in tests/testutil/s3_server.cc); s3rver_list_fix.js lets
# its delimiter listings see nested keys, which Litestream's restore needs.
start_s3rver() {
  mkdir -p "$S3DIR"
  start_bg "$WORK/s3rver.log" env S3RVER_LIB="$ROOT/tests/node_modules/s3rver/lib" \
    NODE_OPTIONS="--openssl-legacy-provider --require $ROOT/bench/s3rver_list_fix.js ${NODE_OPTIONS:-}" \
    "$S3RVER" --directory "$S3DIR" --address 127.0.0.1 --port 0 --silent \
    --configure-bucket "$BUCKET"
  S3PID=$BG
  wait_for 30 "$S3PID" grep -q 'listening on 127.0.0.1:' "$WORK/s3rver.log" ||
    { echo "bench: s3rver did not start: $(cat "$WORK/s3rver.log")" >&2; exit 1; }
  S3PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/s3rver.log" | head -n 1)
  S3URL=http://127.0.0.1:$S3PORT
}

# write_config KIND DB PREFIX ENDPOINT DIR: the sidecar's config, DIR/KIND.yml.
write_config() {
  local kind=$1 db=$2 prefix=$3 endpoint=$4 dir=$5
  if [[ $kind == litesync ]]; then
    cat >"$dir/litesync.yml" <<EOF
dbs:
  - path: $db
    replica:
      url: s3://$BUCKET/$prefix
      endpoint: $endpoint
      region: us-east-1
      force-path-style: true
      access-key-id: $KEY
      secret-access-key: $KEY
      sync-interval: 1s
EOF
  else
    # monitor-interval = sync-interval = 1s (both Litestream's defaults).
    cat >"$dir/litestream.yml" <<EOF
dbs:
  - path: $db
    monitor-interval: 1s
    replicas:
      - type: s3
        bucket: $BUCKET
        path: $prefix
        endpoint: $endpoint
        region: us-east-1
        force-path-style: true
        access-key-id: $KEY
        secret-access-key: $KEY
        skip-verify: true
        sync-interval: 1s
EOF
  fi
}
bin_of() { if [[ $1 == litesync ]]; then echo "$LITESYNC"; else echo "$LITESTREAM"; fi; }
# The snapshot object, complete: s3rver writes <key>._S3rver_metadata.json after the
# object's bytes and before it answers.
snapshot_glob() {
  if [[ $1 == litesync ]]; then echo "$S3DIR/$BUCKET/$2/*/9/*.ltx._S3rver_metadata.json"
  else echo "$S3DIR/$BUCKET/$2/generations/*/snapshots/*.snapshot.lz4._S3rver_metadata.json"; fi
}

# start_sidecar KIND DB PREFIX ENDPOINT DIR: starts it, waits for its first snapshot
# in s3rver; SIDECAR = PID, SNAPSHOT_S = seconds from start. Fails with the log.
start_sidecar() {
  local kind=$1 db=$2 prefix=$3 endpoint=$4 dir=$5 t0
  write_config "$kind" "$db" "$prefix" "$endpoint" "$dir"
  t0=$(now_ns)
  start_bg "$dir/sidecar.log" "$(bin_of "$kind")" replicate -config "$dir/$kind.yml"
  SIDECAR=$BG
  wait_for 900 "$SIDECAR" has_file "$S3DIR/$BUCKET/$prefix" "$(snapshot_glob "$kind" "$prefix")" ||
    { log "$kind did not snapshot: $(tail -n 3 "$dir/sidecar.log")"; return 1; }
  SNAPSHOT_S=$(secs "$t0" "$(now_ns)")
}

# restore KIND DIR OUT: restores DIR/KIND.yml's database from s3rver into OUT.
restore() {
  local db
  db=$(awk '$1 == "-" && $2 == "path:" {print $3; exit}' "$2/$1.yml")
  "$(bin_of "$1")" restore -config "$2/$1.yml" -o "$3" "$db" >>"$2/restore.log" 2>&1
}

# new_db PATH: test_writer's tables with seq 1, checkpointed.
new_db() {
  "$WRITER" "$1" -mode insert -txns 1 -payload "$PAYLOAD" >/dev/null
  "$WRITER" "$1" -checkpoint TRUNCATE >/dev/null
}
# fill_db PATH MIB: appends rows until the file holds about MIB MiB.
fill_db() {
  local have rows
  have=$(($(stat -c %s "$1" 2>/dev/null || echo 0) / 1048576))
  rows=$((($2 - have) * 1048576 / (FILL_PAYLOAD + 400)))
  ((rows > 0)) || return 0
  "$WRITER" "$1" -mode insert -rate 0 -txns "$rows" -payload "$FILL_PAYLOAD" >/dev/null
  "$WRITER" "$1" -checkpoint TRUNCATE >/dev/null
}

# mirror PREFIX DIR: DIR/<key below PREFIX> hard-linked to s3rver's object files
# (<key>._S3rver_object), so bench_tool's lag analysis reads the replica as a tree.
mirror() {
  local src=$S3DIR/$BUCKET/$1 f rel
  while IFS= read -r -d '' f; do
    rel=${f#"$src/"}
    rel=${rel%._S3rver_object}
    mkdir -p "$2/$(dirname "$rel")"
    ln "$f" "$2/$rel"
  done < <(find "$src" -name '*._S3rver_object' -print0)
}

# --- 1. replication lag at RATE tx/s, through the logging proxy ---------------------------
# lag_run KIND: a new database, KIND replicating to s3rver through `bench_tool s3proxy`
# while the writer commits RATE tx/s for DUR s. R[KIND.lag] = bench_tool's lag line.
lag_run() {
  local kind=$1 dir=$WORK/lag-$1 prefix=lag-$1 db proxy port writer last got
  mkdir -p "$dir"; db=$dir/app.db
  new_db "$db"
  start_bg "$dir/proxy.err" "$TOOL" s3proxy "$S3PORT" "/$BUCKET/$prefix/" "$dir/events"
  proxy=$BG
  wait_for 10 "$proxy" grep -q listening "$dir/events" 2>/dev/null ||
    { R[$kind.lag.err]="n/a: s3proxy failed: $(cat "$dir/proxy.err")"; return; }
  port=$(awk '$2 == "listening" {print $3; exit}' "$dir/events")
  log "$kind: replicate to s3rver (sync-interval 1s, ${DUR}s at $RATE tx/s)"
  if ! start_sidecar "$kind" "$db" "$prefix" "http://127.0.0.1:$port" "$dir"; then
    R[$kind.lag.err]="n/a: $kind did not start: $(tail -n 1 "$dir/sidecar.log")"
    stop_pid "$SIDECAR" 10; stop_pid "$proxy" 5
    return
  fi
  local pid=$SIDECAR c0
  sleep 1  # let the first sync after the snapshot settle
  c0=$(cpu_s "$pid")
  start_bg "$dir/writer.err" "$WRITER" "$db" -mode insert -rate "$RATE" -duration "$DUR" \
    -payload "$PAYLOAD" -log "$dir/writer.log"
  writer=$BG
  local wrc=0
  wait "$writer" || wrc=$?
  stop_pid "$writer" 1
  sleep 3  # one sync-interval + 2 s for the last commits
  if ! kill -0 "$pid" 2>/dev/null; then
    R[$kind.lag.err]="n/a: $kind exited during the run: $(tail -n 1 "$dir/sidecar.log")"
    stop_pid "$proxy" 5; return
  fi
  R[$kind.lag.cpu]=$(awk -v a="$c0" -v b="$(cpu_s "$pid")" 'BEGIN {printf "%.2f", b - a}')
  R[$kind.lag.hwm]=$(hwm_mib "$pid")
  stop_pid "$pid" 120
  stop_pid "$proxy" 5
  if ((wrc != 0)); then R[$kind.lag.err]="n/a: writer failed: $(tail -n 1 "$dir/writer.err")"; return; fi
  last=$(awk 'END {print $1}' "$dir/writer.log")
  # The replica must restore the writer's last commit, else the lag means nothing.
  write_config "$kind" "$db" "$prefix" "$S3URL" "$dir"
  if ! restore "$kind" "$dir" "$dir/restored.db"; then
    R[$kind.lag.err]="n/a: restore failed: $(tail -n 1 "$dir/restore.log")"; return
  fi
  got=$("$TOOL" check "$dir/restored.db" || true)
  rm -f "$dir/restored.db"*
  if [[ $got != "ok $last" ]]; then
    R[$kind.lag.err]="n/a: replica restores \"$got\", writer's last commit is seq $last"; return
  fi
  mirror "$prefix" "$dir/mirror"
  local line
  if [[ $kind == litesync ]]; then
    line=$("$TOOL" lag-litesync "$dir/writer.log" "$dir/events" "$dir/mirror" "$last" 2>&1) ||
      { R[$kind.lag.err]="n/a: lag analysis failed: $line"; return; }
    line+=$(mid_check "$dir" "$line")
  else
    line=$("$TOOL" lag-litestream "$dir/writer.log" "$dir/events" "$dir/mirror" "$db" 2>&1) ||
      { R[$kind.lag.err]="n/a: lag analysis failed: $line"; return; }
  fi
  R[$kind.lag]=$line
  R[$kind.lag.puts]=$(grep -c ' request 2[0-9][0-9],PUT,' "$dir/events" || true)
  log "$kind lag: $line"
  rm -rf "$dir/mirror" "${S3DIR:?}/$BUCKET/$prefix"
}

# mid_check DIR LAG_LINE: litesync's TXID = seq + offset mapping, checked mid-run: the
# TXID ending the middle level-0 tx file, restored with -txid, must hold seq TXID - offset.
mid_check() {
  local dir=$1 offset mid_txid mid_seq db
  offset=$(sed -n 's/.*offset=\(-\?[0-9]*\).*/\1/p' <<<"$2")
  mid_txid=$(find "$dir/mirror" -path '*/0/*.ltx' -printf '%f\n' | sort |
    awk '{n[NR] = substr($0, 18, 16)} END {if (NR) print n[int((NR + 1) / 2)]}')
  [[ -n $mid_txid ]] || { echo " (no level-0 tx file for the mid-run check)"; return; }
  db=$(awk '$1 == "-" && $2 == "path:" {print $3; exit}' "$dir/litesync.yml")
  if ! "$LITESYNC" restore -config "$dir/litesync.yml" -o "$dir/mid.db" -txid "$mid_txid" "$db" \
    >>"$dir/restore.log" 2>&1; then
    echo " (mid-run -txid check failed: $(tail -n 1 "$dir/restore.log"))"; return
  fi
  mid_seq=$("$TOOL" seq "$dir/mid.db" || echo unreadable)
  rm -f "$dir/mid.db"*
  if [[ $((16#$mid_txid - offset)) == "$mid_seq" ]]; then
    echo " mid_check=ok(txid $((16#$mid_txid)) = seq $mid_seq + $offset)"
  else
    echo " MAPPING-MISMATCH(txid $((16#$mid_txid)) holds seq $mid_seq, want $((16#$mid_txid - offset)))"
  fi
}

# --- 2 and 3. a large database: snapshot to s3rver (peak RSS), then restore -------------
# snapshot_run KIND SEED TAG [keep]: KIND snapshots a copy of SEED to s3rver (direct,
# no proxy). R[KIND.TAG.*]: snapshot wall s, CPU s, VmHWM MiB. With keep, the replica
# and WORK/TAG-KIND/KIND.yml stay for restore_run; else both are removed.
snapshot_run() {
  local kind=$1 seed=$2 tag=$3 keep=${4:-} dir=$WORK/$3-$1 prefix=$3-$1 db pid
  mkdir -p "$dir"; db=$dir/app.db
  cp "$seed" "$db"
  sync -f "$WORK"  # the copy's writeback must not slow the snapshot
  log "$kind: snapshot the $(($(stat -c %s "$db") / 1048576)) MiB database to s3rver"
  if ! start_sidecar "$kind" "$db" "$prefix" "$S3URL" "$dir"; then
    R[$kind.$tag.err]="n/a: $kind did not snapshot: $(tail -n 1 "$dir/sidecar.log")"
    stop_pid "$SIDECAR" 10; rm -rf "$dir" "${S3DIR:?}/$BUCKET/$prefix"; return
  fi
  pid=$SIDECAR
  R[$kind.$tag.snapshot_s]=$SNAPSHOT_S
  R[$kind.$tag.cpu]=$(cpu_s "$pid")
  sleep 2  # the sync after the snapshot
  R[$kind.$tag.hwm]=$(hwm_mib "$pid")
  stop_pid "$pid" 120
  rm -f "$db" "$db"-wal "$db"-shm
  if [[ -z $keep ]]; then rm -rf "$dir" "${S3DIR:?}/$BUCKET/$prefix"; fi
}

# restore_run KIND DIR SEED: times a restore of KIND's replica (DIR/KIND.yml) from
# s3rver; the result must pass integrity_check and hold SEED's seq (checked after the
# clock stops). Appends the seconds to R[KIND.restore.all].
restore_run() {
  local kind=$1 dir=$2 out=$2/restored.db t0 t1 got want
  if [[ -n ${R[$kind.big.err]:-} ]]; then R[$kind.restore.err]=${R[$kind.big.err]}; return; fi
  if [[ -n ${R[$kind.restore.err]:-} ]]; then return; fi
  log "$kind: restore from s3rver"
  sync -f "$WORK"
  t0=$(now_ns)
  if ! restore "$kind" "$dir" "$out"; then
    R[$kind.restore.err]="n/a: restore failed: $(tail -n 1 "$dir/restore.log")"; return
  fi
  t1=$(now_ns)
  R[$kind.restore.bytes]=$(stat -c %s "$out")
  got=$("$TOOL" check "$out" || true)
  want="ok $("$TOOL" seq "$3" 2>/dev/null || echo '?')"
  rm -f "$out" "$out"-wal "$out"-shm
  if [[ $got != "$want" ]]; then
    R[$kind.restore.err]="n/a: restored database: \"$got\", want \"$want\""; return
  fi
  R[$kind.restore.all]+=" $(secs "$t0" "$t1")"
  R[$kind.restore]=$(median <<<"${R[$kind.restore.all]}")
  R[$kind.restore.check]=$got
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# ceiling_run DIR: what s3rver can serve of litesync's restore. The files of its plan
# (restore -dry-run -json: the same keys and sizes) fetched by `curl` to /dev/null,
# as restore fetches them: a file of 32 MiB or more in 16 MiB ranges
# (ParallelReadOptions in replica/storage/parallel_reader.h), a smaller one whole,
# CEIL_CONNS requests at once (the parallel reader's 4 connections).
# Appends the seconds to R[ceiling.all].
CEIL_CONNS=4
CEIL_PART=$((16 << 20))
ceiling_run() {
  local dir=$1 db jobs=$1/ceiling.jobs t0 path size off
  db=$(awk '$1 == "-" && $2 == "path:" {print $3; exit}' "$dir/litesync.yml")
  if ! "$LITESYNC" restore -config "$dir/litesync.yml" -dry-run -json "$db" >"$dir/plan.json" \
    2>>"$dir/restore.log"; then
    R[ceiling.err]="n/a: restore -dry-run failed: $(tail -n 1 "$dir/restore.log")"; return
  fi
  : >"$jobs"
  while read -r path size; do
    if ((size >= 2 * CEIL_PART)); then
      for ((off = 0; off < size; off += CEIL_PART)); do
        echo "$path $off-$(((off + CEIL_PART < size ? off + CEIL_PART : size) - 1))" >>"$jobs"
      done
    else
      echo "$path 0-" >>"$jobs"
    fi
  done < <(jq -r '.files[] | "\(.path) \(.size)"' "$dir/plan.json")
  R[ceiling.bytes]=$(jq '[.files[].size] | add' "$dir/plan.json")
  R[ceiling.files]=$(jq '.files | length' "$dir/plan.json")
  sync -f "$WORK"
  t0=$(now_ns)
  if ! xargs -P "$CEIL_CONNS" -L 1 sh -c 'curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
      --user "$0:$0" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -r "$3" -o /dev/null \
      "$1/$2"' "$KEY" "$S3URL/$BUCKET/big-litesync" <"$jobs"; then
    R[ceiling.err]="n/a: a curl GET failed"; return
  fi
  R[ceiling.all]+=" $(secs "$t0" "$(now_ns)")"
  R[ceiling]=$(median <<<"${R[ceiling.all]}")
}
# cp_run: the yardstick of run.sh, cp + fsync of the seed database file.
cp_run() {
  local t0
  sync -f "$WORK"
  t0=$(now_ns)
  cp "$SEED" "$WORK/cp.db" && sync "$WORK/cp.db"
  R[cp.all]+=" $(secs "$t0" "$(now_ns)")"
  R[cp]=$(median <<<"${R[cp.all]}")
  rm -f "$WORK/cp.db"
}

# ======================================================================================
log "mode $MODE: ${DUR}s at $RATE tx/s, ${RESTORE_MIB} MiB restore, ${SNAP_MIB} MiB snapshot; work dir $WORK"
if [[ -n $LT_WHY ]]; then log "unavailable: $LT_WHY"; fi
start_s3rver
log "s3rver on $S3URL (pid $S3PID)"
KINDS=(litesync)
if [[ -z $LT_WHY ]]; then KINDS+=(litestream); fi

PHASES=" ${S3_BENCH_PHASES:-lag big huge} "
for p in lag big huge; do
  if [[ $PHASES != *" $p "* ]]; then
    for kind in litesync litestream; do R[$kind.$p.err]="n/a: phase $p skipped"; done
  fi
done
if [[ $PHASES != *" big "* ]]; then R[ceiling.err]="n/a: phase big skipped"; fi
if [[ $PHASES == *" lag "* ]]; then for kind in "${KINDS[@]}"; do lag_run "$kind"; done; fi

SEED=$WORK/seed.db
log "pre-filling a ${RESTORE_MIB} MiB database"
new_db "$SEED"
fill_db "$SEED" "$RESTORE_MIB"
if [[ $PHASES == *" big "* ]]; then
  for kind in "${KINDS[@]}"; do snapshot_run "$kind" "$SEED" big keep; done
  # Restores alternate the order round by round, so drift on the shared cores hits
  # them all; litesync's ceiling and cp follow each round.
  for ((round = 1; round <= RESTORE_ROUNDS; round++)); do
    order=("${KINDS[@]}")
    if ((round % 2 == 0)); then order=($(printf '%s\n' "${KINDS[@]}" | tac)); fi
    for kind in "${order[@]}"; do restore_run "$kind" "$WORK/big-$kind" "$SEED"; done
    if [[ -z ${R[litesync.big.err]:-} ]]; then ceiling_run "$WORK/big-litesync"; fi
    cp_run
  done
  for kind in "${KINDS[@]}"; do rm -rf "$WORK/big-$kind" "${S3DIR:?}/$BUCKET/big-$kind"; done
fi
SEED_MIB=$(($(stat -c %s "$SEED") / 1048576))
if [[ $PHASES == *" huge "* ]]; then
  log "growing it to ${SNAP_MIB} MiB"
  fill_db "$SEED" "$SNAP_MIB"
  for kind in "${KINDS[@]}"; do snapshot_run "$kind" "$SEED" huge; done
  SEED_MIB=$(($(stat -c %s "$SEED") / 1048576))
fi
rm -f "$SEED"
stop_pid "$S3PID" 10

# ======================================================================================
# The table: a figure, or n/a with the reason in a footnote below it.
note() {
  local n
  n=$(grep -nxF -- "$1" "$WORK/notes" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  if [[ -z $n ]]; then echo "$1" >>"$WORK/notes"; n=$(wc -l <"$WORK/notes"); fi
  echo "[$n]"
}
na() { echo "n/a $(note "${1#n/a: }")"; }
# val KIND KEY: R[KIND.KEY], or n/a with the reason (R[KIND.<first word of KEY>.err]).
val() {
  local k=$1.$2 e=$1.${2%%.*}.err
  if [[ $1 == litestream && -n $LT_WHY ]]; then na "$LT_WHY"
  elif [[ -n ${R[$e]:-} ]]; then na "${R[$e]}"
  elif [[ -n ${R[$k]:-} ]]; then echo "${R[$k]}"
  else na "$k: not measured"; fi
}
lagv() {  # lagv KIND FIELD: a field of the lag line
  local v; v=$(val "$1" lag)
  if [[ $v == n=* ]]; then sed -n "s/.* $2=\([0-9.]*\).*/\1/p" <<<" $v"; else echo "$v"; fi
}
mibps() {  # mibps KIND: restore throughput
  local s; s=$(val "$1" restore)
  if [[ $s =~ ^[0-9.]+$ ]]; then
    awk -v b="${R[$1.restore.bytes]}" -v s="$s" 'BEGIN {printf "%.0f", b / 1048576 / s}'
  else echo "$s"; fi
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}
check() {
  awk -v v="$1" -v l="$2" 'BEGIN {
    if (v !~ /^[0-9.]+$/) print "-"; else print (v + 0 < l + 0 ? "PASS" : "FAIL") }'
}
row() { printf '%-52s %14s %14s %8s  %s\n' "$@"; }
pair() {  # pair LABEL A B [TARGET]: a row with the ratio
  row "$1" "$2" "$3" "$(ratio "$2" "$3")" "${4:-}"
}

declare -A F
for k in litesync litestream; do
  F[$k.p50]=$(lagv "$k" p50_ms); F[$k.p99]=$(lagv "$k" p99_ms)
  F[$k.cpu]=$(val "$k" lag.cpu); F[$k.lhwm]=$(val "$k" lag.hwm)
  F[$k.rs]=$(mibps "$k"); F[$k.rt]=$(val "$k" restore)
  F[$k.bsnap]=$(val "$k" big.snapshot_s); F[$k.bhwm]=$(val "$k" big.hwm)
  F[$k.hsnap]=$(val "$k" huge.snapshot_s); F[$k.hcpu]=$(val "$k" huge.cpu)
  F[$k.hhwm]=$(val "$k" huge.hwm)
done

echo
echo "litesync vs Litestream v0.3.13 on s3rver 3.7.1 (127.0.0.1) — bench/s3.sh $MODE, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "lag workload: test_writer -mode insert -payload $PAYLOAD at $RATE tx/s for ${DUR}s, sync-interval 1s"
echo "ratio = litesync / Litestream (lower is better for lag, CPU, RSS; higher for throughput)"
echo
row "metric" "litesync" "Litestream" "ratio" "litesync target"
row "----------------------------------------------------" "--------------" "--------------" "--------" "---------------"
pair "lag p50 to s3rver, sync-interval 1s (ms)" "${F[litesync.p50]}" "${F[litestream.p50]}"
pair "lag p99 to s3rver, sync-interval 1s (ms)" "${F[litesync.p99]}" "${F[litestream.p99]}"
pair "sidecar CPU s during the ${DUR}s of writes" "${F[litesync.cpu]}" "${F[litestream.cpu]}"
pair "peak RSS MiB (VmHWM), lag run" "${F[litesync.lhwm]}" "${F[litestream.lhwm]}"
pair "${RESTORE_MIB} MiB db: snapshot to s3rver, wall s" "${F[litesync.bsnap]}" "${F[litestream.bsnap]}"
pair "${RESTORE_MIB} MiB db: restore from s3rver, s (median of $RESTORE_ROUNDS)" "${F[litesync.rt]}" "${F[litestream.rt]}"
pair "${RESTORE_MIB} MiB db: restore throughput MiB/s" "${F[litesync.rs]}" "${F[litestream.rs]}"
F[ceil]=$(if [[ -n ${R[ceiling.err]:-} ]]; then na "${R[ceiling.err]}"; else echo "${R[ceiling]:-}"; fi)
F[cp]=${R[cp]:-$(na "cp: not measured")}
row "  ceiling: the same GETs by $CEIL_CONNS curl at once, s" "${F[ceil]}" "" "" ""
row "  cp + fsync of the db file, s" "${F[cp]}" "" "" ""
row "  litesync restore / ceiling" "$(ratio "${F[litesync.rt]}" "${F[ceil]}")" "" "" \
  "<= 1.25 $(check "$(ratio "${F[litesync.rt]}" "${F[ceil]}")" 1.25001)"
row "  restore / cp" "$(ratio "${F[litesync.rt]}" "${F[cp]}")" \
  "$(ratio "${F[litestream.rt]}" "${F[cp]}")" "" ""
pair "${SEED_MIB} MiB db: snapshot to s3rver, wall s" "${F[litesync.hsnap]}" "${F[litestream.hsnap]}"
pair "${SEED_MIB} MiB db: sidecar CPU s to snapshot" "${F[litesync.hcpu]}" "${F[litestream.hcpu]}"
pair "${SEED_MIB} MiB db: peak RSS MiB (VmHWM)" "${F[litesync.hhwm]}" "${F[litestream.hhwm]}" \
  "< $RSS_TARGET $(check "${F[litesync.hhwm]}" "$RSS_TARGET")"
echo
echo "detail:"
for k in litesync litestream; do
  if [[ ${R[$k.lag]:-} == n=* ]]; then
    printf '  %-10s lag %s acknowledged_PUTs=%s\n' "$k" "${R[$k.lag]}" "${R[$k.lag.puts]}"
  fi
  if [[ -n ${R[$k.restore.check]:-} ]]; then
    printf '  %-10s restored %s bytes, integrity_check+seq: %s; restore s per round:%s\n' "$k" \
      "${R[$k.restore.bytes]}" "${R[$k.restore.check]}" "${R[$k.restore.all]}"
  fi
done
if [[ -n ${R[ceiling.all]:-} ]]; then
  printf '  ceiling    %s files, %s bytes; s per round:%s\n' "${R[ceiling.files]}" \
    "${R[ceiling.bytes]}" "${R[ceiling.all]}"
fi
if [[ -n ${R[cp.all]:-} ]]; then printf '  cp + fsync s per round:%s\n' "${R[cp.all]}"; fi
if [[ -s $WORK/notes ]]; then
  echo
  awk '{print "[" NR "] " $0}' "$WORK/notes"
fi
exit 0
