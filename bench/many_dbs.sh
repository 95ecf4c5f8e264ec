#!/usr/bin/env bash
# many_dbs.sh BUILD [N] [SECONDS]: one litesync process replicating N idle
# databases (a `dirs:` entry) to file replicas. Prints idle CPU (% of one core,
# from /proc utime+stime over the window after start-up), peak and current RSS,
# and the thread count. Targets: CPU < 2%, RSS < 256 MiB, threads flat.
set -euo pipefail
BUILD=${1:-build}
N=${2:-1000}
SECS=${3:-30}
cd "$(dirname "$0")/.."
ROOT=$PWD
LITESYNC=$ROOT/$BUILD/cmd/litesync
WORK=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/data"
python3 - "$WORK/data" "$N" <<'PY'
import sqlite3, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    c = sqlite3.connect(f"{d}/db{i:04d}.db")
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t(v) VALUES('x')")
    c.commit(); c.close()
PY
cat > "$WORK/litesync.yml" <<YAML
dirs:
  - dir: $WORK/data
    pattern: "*.db"
    replica:
      path: $WORK/replica
      sync-interval: 1s
YAML
"$LITESYNC" replicate -config "$WORK/litesync.yml" -log-level warn 2>"$WORK/log" &
pid=$!
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
# Start-up: every database gets its first snapshot; wait until all are in the replica.
for _ in $(seq 1 300); do
  n=$( (find "$WORK/replica" -name '*.ltx' -path '*/9/*' 2>/dev/null || true) | wc -l)
  [[ $n -ge $N ]] && break
  sleep 1
done
startup_rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
t0=$(ticks); s0=$(date +%s.%N)
sleep "$SECS"
t1=$(ticks); s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
cpu=$(echo "($t1 - $t0) / $hz / ($s1 - $s0) * 100" | bc -l)
hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
threads=$(awk '/Threads/{print $2}' "/proc/$pid/status")
fds=$(ls "/proc/$pid/fd" | wc -l)
[[ -n ${STRACE:-} ]] && timeout 5 strace -c -f -p "$pid" 2>&1 | head -14
printf 'many databases: %d dbs, idle CPU %.2f%% of a core over %ss, RSS %d MiB (after start-up %d MiB, peak %d MiB), threads %d, open fds %d, snapshots %d\n' \
  "$N" "$cpu" "$SECS" $((rss / 1024)) $((startup_rss / 1024)) $((hwm / 1024)) "$threads" "$fds" "$n"
