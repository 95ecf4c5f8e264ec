#!/usr/bin/env bash
# Encryption at rest: litesync with and without `age:`, side by side in one run.
#   replication CPU and peak RSS at 500 tx/s (target: CPU <= 1.2 x plain, RSS within 10 %)
#   restore of a large file replica (target: speed >= 0.8 x plain, RSS within 10 %)
#
#   bash bench/age.sh BUILD_DIR [quick|full]    quick: 10 s runs, 256 MiB; full: 60 s, 1 GiB
#   AGE_BENCH_PHASES="restore" bash bench/age.sh ...   one phase (replication, restore)
#
# Runs alternate plain/age and each figure is the median of its rounds. Everything
# lives in one mktemp -d directory, removed on exit; every process started is
# stopped by its PID. Method: bench/README.md, "Encryption (age)".
set -euo pipefail
usage() { echo "usage: bash bench/age.sh BUILD_DIR [quick|full]" >&2; exit 2; }
(($# >= 1 && $# <= 2)) || usage
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
case ${2:-quick} in
  quick) DUR=10; DB_MIB=256; ROUNDS=3 ;;
  full) DUR=60; DB_MIB=1024; ROUNDS=3 ;;
  *) usage ;;
esac
RATE=500 PAYLOAD=100 FILL_PAYLOAD=16000
LITESYNC=$BUILD/cmd/litesync WRITER=$BUILD/tests/test_writer
TICK=$(getconf CLK_TCK)
for bin in "$LITESYNC" "$WRITER" /usr/bin/age-keygen /usr/bin/time; do
  [[ -x $bin ]] || { echo "bench: missing $bin (make build; bash .ci/deps)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-age-bench.XXXXXX")
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # PIDS, cleanup on exit
log() { printf 'bench: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

/usr/bin/age-keygen -o "$WORK/key.txt" 2>/dev/null
RECIPIENT=$(/usr/bin/age-keygen -y "$WORK/key.txt")

# config MODE DB REPLICA: a litesync config, with age (recipient and identity file) or not.
config() {
  printf 'dbs:\n  - path: %s\n    replica:\n      path: %s\n      sync-interval: 1s\n' "$2" "$3"
  [[ $1 == plain ]] ||
    printf '      age:\n        recipients: [%s]\n        identity-files: [%s]\n' \
      "$RECIPIENT" "$WORK/key.txt"
}

# sidecar MODE DB REPLICA DIR: starts litesync, waits for its first snapshot; sets SIDECAR.
sidecar() {
  config "$1" "$2" "$3" >"$4/litesync.yml"
  "$LITESYNC" replicate -config "$4/litesync.yml" >"$4/sidecar.log" 2>&1 &
  SIDECAR=$!
  PIDS+=("$SIDECAR")
  for _ in $(seq 12000); do
    [[ -n $(find "$3" -path '*/9/*.ltx' -print -quit 2>/dev/null) ]] && return 0
    kill -0 "$SIDECAR" 2>/dev/null || break
    sleep 0.05
  done
  log "litesync ($1) did not snapshot: $(tail -n 3 "$4/sidecar.log")"
  exit 1
}
stop_sidecar() {
  kill -TERM "$SIDECAR"
  wait "$SIDECAR" || { log "litesync exited $?: $(tail -n 3 "$1/sidecar.log")"; exit 1; }
}

declare -A CPU RSS SPEED RRSS
# 1. Replication at RATE tx/s for DUR s: the sidecar's CPU seconds and peak RSS.
replication_run() {
  local mode=$1 dir=$WORK/rep-$1-$2 ticks
  mkdir -p "$dir"
  "$WRITER" "$dir/app.db" -mode insert -txns 1 -payload "$PAYLOAD" >/dev/null
  sidecar "$mode" "$dir/app.db" "$dir/replica" "$dir"
  ticks=$(sed 's/^.*) //' "/proc/$SIDECAR/stat" | awk '{print $12 + $13}')
  "$WRITER" "$dir/app.db" -mode insert -rate "$RATE" -duration "$DUR" -payload "$PAYLOAD" \
    >"$dir/writer.log" 2>&1
  sleep 2  # the last syncs
  ticks=$(($(sed 's/^.*) //' "/proc/$SIDECAR/stat" | awk '{print $12 + $13}') - ticks))
  CPU[$mode]+=" $(awk -v t="$ticks" -v k="$TICK" 'BEGIN {printf "%.2f", t / k}')"
  RSS[$mode]+=" $(awk '$1 == "VmHWM:" {print $2}' "/proc/$SIDECAR/status")"
  stop_sidecar "$dir"
  rm -rf "$dir"
}
PHASES=" ${AGE_BENCH_PHASES:-replication restore} "
for round in $(seq "$ROUNDS"); do
  [[ $PHASES == *" replication "* ]] || break
  for mode in plain age; do
    log "replication round $round/$ROUNDS: $mode, ${DUR}s at $RATE tx/s"
    replication_run "$mode" "$round"
  done
done

# 2. A DB_MIB database replicated once per mode, then restored ROUNDS times each.
restore_phase() {
SEED=$WORK/seed.db
log "pre-filling a $DB_MIB MiB database"
"$WRITER" "$SEED" -mode insert -rate 0 -txns $((DB_MIB * 1024 * 1024 / (FILL_PAYLOAD + 400))) \
  -payload "$FILL_PAYLOAD" >/dev/null
"$WRITER" "$SEED" -checkpoint TRUNCATE >/dev/null
for mode in plain age; do
  mkdir -p "$WORK/big-$mode"
  cp "$SEED" "$WORK/big-$mode/app.db"
  sidecar "$mode" "$WORK/big-$mode/app.db" "$WORK/big-$mode/replica" "$WORK/big-$mode"
  stop_sidecar "$WORK/big-$mode"
  rm -f "$WORK/big-$mode/app.db"
done
BYTES=$(stat -c %s "$SEED")
for round in $(seq "$ROUNDS"); do
  for mode in plain age; do
    log "restore round $round/$ROUNDS: $mode"
    out=$WORK/restored-$mode.db
    key=()
    [[ $mode == plain ]] || key=(-age-identity-file "$WORK/key.txt")
    t0=$(now_ns)
    /usr/bin/time -f '%M' -o "$WORK/rss" "$LITESYNC" restore "${key[@]}" -o "$out" \
      "$WORK/big-$mode/replica" >"$WORK/restore.log" 2>&1 ||
      { log "restore ($mode) failed: $(tail -n 2 "$WORK/restore.log")"; exit 1; }
    t1=$(now_ns)
    cmp -s <(stat -c %s "$out") <(echo "$BYTES") || { log "restored size differs"; exit 1; }
    SPEED[$mode]+=" $(awk -v b="$BYTES" -v s="$(secs "$t0" "$t1")" 'BEGIN {printf "%.1f", b / 1048576 / s}')"
    RRSS[$mode]+=" $(cat "$WORK/rss")"
    rm -f "$out"
  done
done
}
[[ $PHASES != *" restore "* ]] || restore_phase

# The table: medians, the ratio age/plain, and the target.
row() {  # NAME UNIT PLAIN AGE RATIO-OP LIMIT
  local ratio verdict
  if [[ -z $3 || -z $4 ]]; then printf '%-34s %12s\n' "$1 ($2)" "n/a: phase skipped"; return; fi
  ratio=$(awk -v a="$4" -v p="$3" 'BEGIN {printf "%.2f", a / p}')
  verdict=$(awk -v r="$ratio" -v l="$6" -v op="$5" \
    'BEGIN {ok = op == "<=" ? r <= l : op == ">=" ? r >= l : (r >= 1 - l && r <= 1 + l); print ok ? "PASS" : "FAIL"}')
  printf '%-34s %12s %12s %7s  %-14s %s\n' "$1 ($2)" "$3" "$4" "$ratio" "$5 $6" "$verdict"
}
printf '\nlitesync, plain vs age, %s mode (%d rounds each, medians), %s, %s\n' \
  "${2:-quick}" "$ROUNDS" "$(nproc) cores" "load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %12s %7s  %-14s %s\n' metric plain age age/pl target verdict
row "replication CPU, ${DUR}s at $RATE tx/s" s "$(median "${CPU[plain]:-}")" "$(median "${CPU[age]:-}")" "<=" 1.2
row "replication peak RSS" KiB "$(median "${RSS[plain]:-}")" "$(median "${RSS[age]:-}")" "+-" 0.10
row "restore of $DB_MIB MiB, file replica" MiB/s "$(median "${SPEED[plain]:-}")" "$(median "${SPEED[age]:-}")" ">=" 0.8
row "restore peak RSS" KiB "$(median "${RRSS[plain]:-}")" "$(median "${RRSS[age]:-}")" "+-" 0.10
printf 'rounds: cpu plain[%s ] age[%s ]; restore MiB/s plain[%s ] age[%s ]\n' \
  "${CPU[plain]:-}" "${CPU[age]:-}" "${SPEED[plain]:-}" "${SPEED[age]:-}"
