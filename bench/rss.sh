#!/usr/bin/env bash
# Peak RSS of litesync over repeated runs of one workload: test_writer -mode random
# (rows with blobs up to ~12 KB) at RATE tx/s for DUR s, replicated to a file
# replica; VmHWM read from /proc just before SIGTERM. Prints one line per run
# (with the level-1 files compaction wrote during it), then median, min, max and
# the largest deviation from the median.
#
#   bash bench/rss.sh BUILD_DIR [RUNS] [DUR] [RATE]     (defaults 10, 20, 500)
#   RSS_S3=1 bash bench/rss.sh ...   the same to an S3 replica on s3rver (127.0.0.1)
set -euo pipefail
BUILD=$(cd "${1:?usage: bash bench/rss.sh BUILD_DIR [RUNS] [DUR] [RATE]}" && pwd)
RUNS=${2:-10}
DUR=${3:-20}
RATE=${4:-500}
LITESYNC=$BUILD/cmd/litesync
WRITER=$BUILD/tests/test_writer
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litesync-rss.XXXXXX")
pid=
s3pid=
cleanup() {
  if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [[ -n $s3pid ]]; then kill -TERM "$s3pid" 2>/dev/null || true; wait "$s3pid" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [[ -n ${RSS_S3:-} ]]; then  # s3rver 3.7.1 as in bench/s3.sh, its data under WORK
  ROOT=$(cd "$(dirname "$0")/.." && pwd)
  mkdir -p "$WORK/s3"
  env NODE_OPTIONS="--openssl-legacy-provider ${NODE_OPTIONS:-}" "$ROOT/tests/node_modules/.bin/s3rver" \
    --directory "$WORK/s3" --address 127.0.0.1 --port 0 --silent --configure-bucket bench \
    >"$WORK/s3rver.log" 2>&1 &
  s3pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$WORK/s3rver.log" && break; sleep 0.1; done
  s3port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/s3rver.log" | head -n 1)
  [[ -n $s3port ]] || { echo "rss: s3rver did not start: $(cat "$WORK/s3rver.log")" >&2; exit 1; }
fi
hwm=()
for ((run = 1; run <= RUNS; run++)); do
  dir=$WORK/run$run
  mkdir -p "$dir"
  "$WRITER" "$dir/app.db" -mode random -txns 1 >/dev/null
  if [[ -n ${RSS_S3:-} ]]; then
    cat >"$dir/litesync.yml" <<EOF
dbs:
  - path: $dir/app.db
    replica:
      url: s3://bench/run$run
      endpoint: http://127.0.0.1:$s3port
      region: us-east-1
      force-path-style: true
      access-key-id: S3RVER
      secret-access-key: S3RVER
      sync-interval: 1s
EOF
    replica=$WORK/s3/bench/run$run
  else
    cat >"$dir/litesync.yml" <<EOF
dbs:
  - path: $dir/app.db
    replica:
      path: $dir/replica
      sync-interval: 1s
EOF
    replica=$dir/replica
  fi
  "$LITESYNC" replicate -config "$dir/litesync.yml" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [[ -n $(find "$replica" -path '*/9/*.ltx*' 2>/dev/null) ]] && break
    sleep 0.1
  done
  "$WRITER" "$dir/app.db" -mode random -rate "$RATE" -duration "$DUR" >/dev/null
  sleep 2
  kb=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  l1=$(find "$replica" -path '*/1/*.ltx' -o -path '*/1/*.ltx._S3rver_object' | wc -l)
  hwm+=("$kb")
  printf 'run %2d: peak RSS %6.1f MiB, level-1 files %d\n' "$run" "$(echo "$kb / 1024" | bc -l)" "$l1"
  rm -rf "$dir"
done
printf '%s\n' "${hwm[@]}" | sort -n | awk '
  { v[NR] = $1 / 1024 }
  END {
    med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    dev = 0
    for (i = 1; i <= NR; i++) { d = (v[i] - med) / med; if (d < 0) d = -d; if (d > dev) dev = d }
    printf "peak RSS over %d runs: median %.1f MiB, min %.1f, max %.1f, largest deviation from the median %.1f %%\n",
      NR, med, v[1], v[NR], dev * 100
  }'
