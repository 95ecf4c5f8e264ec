#!/usr/bin/env bash
# make image-test: builds the image (etc/image.sh) and proves it, with a dockerd of
# its own (stopped by its PID at exit) and containers without a network:
#   1. `litesync version` runs; the image runs as a non-root user and holds no
#      compiler, GoogleTest, Node or test server;
#   2. a replicating container, database and replica on volumes, ships writes the
#      application makes while it runs;
#   3. `docker stop` gives a final sync and exit status 0;
#   4. with the database volume lost, a fresh container running
#      `restore -if-db-not-exists -if-replica-exists` restores it exactly (same
#      rows, integrity_check ok), and a second run leaves it alone.
# Usage: bash tests/image_test.sh [BUILD_DIR]   (BUILD_DIR holds test_writer)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=$(cd "${1:-build}" && pwd)
writer=$build_dir/tests/test_writer
[[ -x $writer ]] || { echo "image-test: $writer missing: cmake --build $build_dir --target test_writer" >&2; exit 1; }
source etc/image.sh

work=$(mktemp -d)
name=litesync-image-test-$$
cleanup() {
  "$DOCKER" rm -f "$name" "$name-restore" >/dev/null 2>&1 || true
  stop_dockerd
  rm -rf "$work"
}
fail() {
  echo "image-test: FAIL: $*" >&2
  if "$DOCKER" inspect "$name" >/dev/null 2>&1; then
    echo "--- container log:" >&2
    "$DOCKER" logs "$name" 2>&1 | tail -n 40 >&2
  fi
  exit 1
}
pass() { echo "image-test: ok: $*" >&2; }
# docker CMD... bounded (no docker call may hang the test)
d() { timeout 300 "$DOCKER" "$@"; }
# dump DB: every row of every table (Debian's python3 and its sqlite3 module)
dump() {
  /usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
assert c.execute("pragma integrity_check").fetchone()[0] == "ok", "integrity_check"
print("\n".join(c.iterdump()))' "$1"
}

install_tools
start_dockerd "$build_dir/docker"
trap cleanup EXIT
build_image "$root"

# 1. The image itself.
version=$(d run --rm --network none "$IMAGE" version) || fail "litesync version exited $?"
[[ $version == *litesync* ]] || fail "litesync version printed: $version"
pass "litesync version: $version"
uid=$(d run --rm --network none --entrypoint /usr/bin/id "$IMAGE" -u)
[[ $uid != 0 ]] || fail "the image runs as root"
pass "runs as uid $uid ($(d image inspect -f '{{.Config.User}}' "$IMAGE"))"
found=$(d run --rm --network none --entrypoint /bin/sh "$IMAGE" -c \
  'for p in gcc cc c++ g++ clang cmake make node nodejs npm s3rver; do command -v $p; done;
   ls -d /usr/include/gtest /usr/lib/x86_64-linux-gnu/libgtest* 2>/dev/null' || true)
[[ -z $found ]] || fail "the runtime stage holds build or test tools: $found"
pass "no compiler, GoogleTest, Node or test server in the runtime image"

# 2. Replicating, database and replica on volumes (bind mounts of $work).
mkdir -p "$work/data" "$work/backup"
timeout 60 "$writer" "$work/data/app.db" -txns 50 -seed 1 >/dev/null
chown -R "$uid:$uid" "$work/data" "$work/backup"
cat >"$work/litesync.yml" <<YML
dbs:
  - path: /data/app.db
    replica:
      path: /backup/app
      sync-interval: 1s
YML
chmod 0644 "$work/litesync.yml"
volumes=(-v "$work/data:/data" -v "$work/backup:/backup" -v "$work/litesync.yml:/etc/litesync.yml:ro")
d run -d --name "$name" --network none "${volumes[@]}" "$IMAGE" replicate >/dev/null
for ((i = 0; i < 60; i++)); do
  d logs "$name" 2>&1 | grep -q 'msg="new lineage"' && break
  [[ $(d inspect -f '{{.State.Running}}' "$name") == true ]] || fail "the container exited"
  sleep 1
done
d logs "$name" 2>&1 | grep -q 'msg="new lineage"' || fail "no first sync within 60s"
running_uid=$(d top "$name" -o pid,uid,comm | awk '$3 == "litesync" { print $2 }')
[[ $running_uid == "$uid" ]] || fail "litesync runs as uid '$running_uid', not $uid"
pass "replicating as uid $uid"
# The application writes while litesync runs (same kernel: SQLite's locks hold).
timeout 120 "$writer" "$work/data/app.db" -txns 200 -seed 2 >/dev/null

# 3. docker stop: SIGTERM, a final sync, exit 0.
d stop -t 60 "$name" >/dev/null
code=$(d inspect -f '{{.State.ExitCode}}' "$name")
[[ $code == 0 ]] || fail "exit status $code after docker stop"
d logs "$name" 2>&1 | grep -q 'msg="final sync done"' || fail "no final sync in the log"
pass "docker stop: final sync done, exit status 0"
dump "$work/data/app.db" >"$work/want.sql"

# 4. The database volume is lost; a fresh container restores it.
rm -rf "$work/data"
mkdir -p "$work/data"
chown "$uid:$uid" "$work/data"
restore=(restore -if-db-not-exists -if-replica-exists /data/app.db)
d run --rm --name "$name-restore" --network none "${volumes[@]}" "$IMAGE" "${restore[@]}" \
  >"$work/restore.log" 2>&1 || { cat "$work/restore.log" >&2; fail "restore exited $?"; }
dump "$work/data/app.db" >"$work/got.sql" || fail "the restored database does not pass integrity_check"
cmp -s "$work/want.sql" "$work/got.sql" || fail "the restored database differs from the lost one"
pass "restore -if-db-not-exists -if-replica-exists: $(wc -l <"$work/got.sql") SQL lines, exact"
d run --rm --name "$name-restore" --network none "${volumes[@]}" "$IMAGE" "${restore[@]}" \
  >"$work/restore2.log" 2>&1 || fail "second restore exited $?"
grep -q 'restore skipped: the database exists' "$work/restore2.log" || fail "second restore did not skip"
pass "a second start leaves the database alone"
echo "image-test: all checks passed ($IMAGE, $(d image inspect -f '{{.Size}}' "$IMAGE" |
  awk '{printf "%.0f MB", $1 / 1000000}'))"
