#!/usr/bin/env bash
# .ci/deps, when a step fails, names the step and the command and shows the
# command's output (it used to send everything to /dev/null). A fake dpkg-query
# reports every package missing and a fake apt-get fails, so nothing is installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
cat >"$fake/dpkg-query" <<'SH'
#!/bin/sh
exit 1
SH
cat >"$fake/apt-get" <<'SH'
#!/bin/sh
echo "E: The repository 'http://deb.example/debian bookworm Release' does not have a Release file." >&2
exit 100
SH
chmod +x "$fake/dpkg-query" "$fake/apt-get"
rc=0
out=$(PATH="$fake:$PATH" timeout 60 bash "$root/.ci/deps" 2>&1) || rc=$?
fail() { echo "FAIL: $*"; echo "--- .ci/deps printed:"; echo "$out"; exit 1; }
((rc == 100)) || fail "exit status $rc, want apt-get's 100"
grep -q "step failed: apt-get update" <<<"$out" || fail "the step is not named"
grep -q "command (exit 100): apt-get update -qq" <<<"$out" || fail "the command is not shown"
grep -q "does not have a Release file" <<<"$out" || fail "the command's output is not shown"
echo "ok: .ci/deps named the failed step, its command and its output"
