#!/usr/bin/env bash
# Builds the container image (etc/Dockerfile) with a dockerd of its own:
#   bash etc/image.sh [BUILD_DIR]     (`make image`)
# Sourced by tests/image_test.sh (`make image-test`) for start_dockerd/build_image.
#
# Debian's docker.io and debootstrap are installed when missing. dockerd runs with
# --bridge=none --iptables=false (no network set-up on the host), its data under
# BUILD_DIR/docker (kept, so later builds are cached), for at most
# LITESYNC_DOCKERD_SECONDS (default 3600), and is stopped by the PID this script
# started. The base image (litesync-base:bookworm) is `debootstrap --variant=minbase
# bookworm` imported with `docker import`: no image registry is needed.
#
# APT_CHECK_VALID_UNTIL (default false) goes to the build stage as a build
# argument: this machine's Debian mirror serves a sid Release file past its
# Valid-Until date. On a normal mirror: APT_CHECK_VALID_UNTIL= bash etc/image.sh
set -euo pipefail

IMAGE=${LITESYNC_IMAGE:-litesync:latest}
BASE_IMAGE=litesync-base:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER=/usr/bin/docker  # Debian's client, matching its dockerd

image_log() { echo "image: $*" >&2; }

install_tools() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if ((${#missing[@]})); then
    image_log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# start_dockerd DIR: dockerd with its data in DIR; DOCKER_HOST points at it.
start_dockerd() {
  local dir=$1
  mkdir -p "$dir"
  export DOCKER_HOST="unix://$dir/docker.sock"
  timeout --signal=TERM --kill-after=30 "${LITESYNC_DOCKERD_SECONDS:-3600}" \
    dockerd --bridge=none --iptables=false --ip-masq=false \
      --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "$DOCKER_HOST" >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  trap stop_dockerd EXIT
  local i
  for ((i = 0; i < 60; i++)); do
    "$DOCKER" version >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 1
  done
  image_log "dockerd did not start; its log ($dir/dockerd.log):"
  tail -n 30 "$dir/dockerd.log" >&2
  exit 1
}

# Stops the dockerd this script started (by its PID: the `timeout` wrapping it
# passes SIGTERM on), waiting for it to exit.
stop_dockerd() {
  [[ -n ${DOCKERD_PID:-} ]] || return 0
  kill -TERM "$DOCKERD_PID" 2>/dev/null || true
  wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=
}

make_base_image() {
  "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  image_log "making $BASE_IMAGE: debootstrap --variant=minbase bookworm $MIRROR"
  local root
  root=$(mktemp -d)
  if ! debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1; then
    image_log "debootstrap failed; its log ($root.log):"
    tail -n 30 "$root.log" >&2
    rm -rf "$root"
    exit 1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | "$DOCKER" import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
}

# build_image ROOT: etc/Dockerfile with ROOT as the context.
build_image() {
  local root=$1
  make_base_image
  image_log "building $IMAGE"
  "$DOCKER" build --network host -f "$root/etc/Dockerfile" -t "$IMAGE" \
    --build-arg "APT_CHECK_VALID_UNTIL=${APT_CHECK_VALID_UNTIL-false}" "$root"
  image_log "$IMAGE: $("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE" |
    awk '{printf "%.0f MB", $1 / 1000000}')"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  cd "$(dirname "$0")/.."
  root=$PWD
  build_dir=$(cd "${1:-build}" 2>/dev/null && pwd || (mkdir -p "${1:-build}" && cd "${1:-build}" && pwd))
  install_tools
  start_dockerd "$build_dir/docker"
  build_image "$root"
fi
