# Sourced by the bench scripts: the processes a script starts go in PIDS; on exit
# (or INT/TERM) each gets SIGTERM, then SIGKILL after STOP_GRACE seconds (default
# 5), is reaped, and $WORK is removed. Set WORK (and STOP_GRACE) before sourcing.
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq $((${STOP_GRACE:-5} * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
